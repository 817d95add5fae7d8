use std::path::{Path, PathBuf};
use std::process::Command;

/// The PDQ regression images from Meta's repository, copied into the tree with their licence
/// (`tests/vectors/README.md`).
pub fn vectors_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/pdq-images");
    assert!(dir.is_dir(), "test vectors missing: {}", dir.display());
    dir
}

pub fn image_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("jpg" | "png" | "webp" | "gif" | "bmp" | "tiff")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("comity-pdq-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One reference answer from tests/oracle/pdq_oracle.py.
#[derive(Debug)]
pub struct OracleHash {
    pub name: String,
    pub quality: u8,
    pub hashes: Vec<String>,
}

/// Runs the Python oracle; fails (never skips) when Python or its packages are missing.
pub fn run_oracle(args: &[&str]) -> Vec<OracleHash> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/pdq_oracle.py");
    let out = Command::new("python3").arg(&script).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run python3 for the PDQ oracle ({e}); install Python 3 and run: pip install -r crates/comity-pdq/tests/requirements.txt")
    });
    assert!(
        out.status.success(),
        "PDQ oracle failed: {}\nrun: pip install -r crates/comity-pdq/tests/requirements.txt",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            OracleHash {
                name: v["name"].as_str().unwrap().to_owned(),
                quality: u8::try_from(v["quality"].as_u64().unwrap()).unwrap(),
                hashes: v["hashes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h.as_str().unwrap().to_owned())
                    .collect(),
            }
        })
        .collect()
}
