//! The input file both benchmarks time: pseudo-random bytes (xorshift), so no compression or
//! repeated content helps either side, and a seed per round so no round repeats another's.

use std::io::Write;
use std::path::Path;

pub fn write(path: &Path, mib: u64, seed: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for w in block.chunks_exact_mut(8) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            w.copy_from_slice(&s.to_le_bytes());
        }
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
    f.get_ref().sync_all().unwrap();
}
