//! A small deterministic mutator for the bounded runs of the test suite: stacked byte edits,
//! tokens that matter to our formats, and splices of other inputs, driven by a seeded generator.
//! The coverage-guided runs use libFuzzer's own mutator instead (`scripts/fuzz`).

/// SplitMix64: a seeded, reproducible sequence (no cryptographic use).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Byte strings that change how our parsers branch: JSON syntax and values at the edges,
/// signed-note and entry separators, base64 padding, zip signatures.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"\\u0000",
    b"\n",
    b"\n\n",
    b" ",
    b"{}",
    b"[]",
    b"null",
    b"true",
    b"0",
    b"-1",
    b"1e3",
    b"1.0",
    b"9007199254740993",
    b"18446744073709551615",
    b"-9223372036854775808",
    b"\"\":",
    b",",
    b"=",
    b"==",
    b"+",
    b"/",
    b"..",
    b"\xe2\x80\x94 ",
    b"\xff\xfe",
    b"sha256:",
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b".p/",
    b"x000/",
    b"1970-01-01T00:00:00.000Z",
    b"9999-12-31T23:59:59.999Z",
];

/// A mutation of `input`: one to eight stacked edits, sometimes splicing `other` in.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], max_len: usize) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(8) {
        edit(rng, &mut out, other);
    }
    out.truncate(max_len);
    out
}

fn edit(rng: &mut Rng, out: &mut Vec<u8>, other: &[u8]) {
    let len = out.len();
    let at = |rng: &mut Rng| if len == 0 { 0 } else { rng.below(len + 1) };
    match rng.below(10) {
        0 if len > 0 => {
            let i = rng.below(len);
            out[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            out[i] = rng.next_u64() as u8;
        }
        2 if len > 0 => {
            let i = rng.below(len);
            let interesting = [0u8, 1, 0x7f, 0x80, 0xff, b'0', b'9', b'a', b'z', b'A'];
            out[i] = interesting[rng.below(interesting.len())];
        }
        3 => {
            let i = at(rng);
            let t = TOKENS[rng.below(TOKENS.len())];
            out.splice(i..i, t.iter().copied());
        }
        4 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(16)).min(len);
            out.drain(start..end);
        }
        5 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(32)).min(len);
            let copy = out[start..end].to_vec();
            let i = at(rng);
            out.splice(i..i, copy);
        }
        6 if !other.is_empty() => {
            let start = rng.below(other.len());
            let end = (start + 1 + rng.below(64)).min(other.len());
            let i = at(rng);
            out.splice(i..i, other[start..end].iter().copied());
        }
        7 if len > 0 => out.truncate(rng.below(len)),
        8 if len > 1 => {
            let (a, b) = (rng.below(len), rng.below(len));
            out.swap(a, b);
        }
        _ => {
            let i = at(rng);
            out.insert(i, rng.next_u64() as u8);
        }
    }
}
