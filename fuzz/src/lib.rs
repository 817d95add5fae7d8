//! What every libFuzzer binary shares: the scratch folder of the targets that read files.

use std::sync::OnceLock;

use comity_fuzz::{Scratch, target};

/// Runs the target `name` on one input, in a scratch folder kept for the process's life.
pub fn run(name: &str, data: &[u8]) {
    static SCRATCH: OnceLock<(tempfile::TempDir, Scratch)> = OnceLock::new();
    let (_, scratch) = SCRATCH.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("comity-fuzz-")
            .tempdir()
            .expect("a temporary folder");
        let scratch = Scratch::new(dir.path());
        (dir, scratch)
    });
    let t = target(name).expect("the binary names a target");
    if data.len() <= t.max_len {
        (t.run)(scratch, data);
    }
}
