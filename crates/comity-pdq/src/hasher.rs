//! PDQ from decoded pixels: luminance, two-pass Jarosz (box) blur, decimation to 64x64, image-domain
//! quality, a 16x16 DCT without the DC row and column, and one bit per coefficient above the median.
//!
//! The float operations follow the order of Meta's reference so that, fed the same pixels, the
//! hashes are bit-identical rather than merely close.

use std::sync::OnceLock;

use crate::{DihedralHashes, HashAndQuality, PdqError, PdqHash};

/// Below this many rows or columns the reference returns an all-zero hash; we refuse instead.
pub const MIN_DIMENSION: u32 = 5;
const DOWNSAMPLED: usize = 64;
const DCT_SIZE: usize = 16;
const JAROSZ_PASSES: usize = 2;

/// Borrowed 8-bit RGB pixels, row-major, 3 bytes per pixel, no padding.
#[derive(Debug, Clone, Copy)]
pub struct RgbPixels<'a> {
    width: u32,
    height: u32,
    data: &'a [u8],
}

impl<'a> RgbPixels<'a> {
    pub fn new(width: u32, height: u32, data: &'a [u8]) -> Result<Self, PdqError> {
        let want = u64::from(width) * u64::from(height) * 3;
        let got = data.len() as u64;
        if want != got {
            return Err(PdqError::PixelBufferSize {
                width,
                height,
                want,
                got,
            });
        }
        if width < MIN_DIMENSION || height < MIN_DIMENSION {
            return Err(PdqError::ImageTooSmall {
                width,
                height,
                min: MIN_DIMENSION,
            });
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }
}

/// Hashes an image.
pub fn hash(pixels: RgbPixels<'_>) -> HashAndQuality {
    let (dct, quality) = dct16(pixels);
    HashAndQuality {
        hash: bits_above_median(&dct),
        quality,
    }
}

/// Hashes an image and its seven rotations and mirror images at little extra cost: each is a sign
/// pattern and/or a transposition of the same DCT coefficients.
pub fn hash_dihedral(pixels: RgbPixels<'_>) -> DihedralHashes {
    let (dct, quality) = dct16(pixels);
    let hashes = DIHEDRAL_TRANSFORMS.map(|(transpose, negate)| {
        let mut out = [[0f32; DCT_SIZE]; DCT_SIZE];
        for (i, row) in dct.iter().enumerate() {
            for (j, &value) in row.iter().enumerate() {
                let value = if negate(i, j) { -value } else { value };
                let (r, c) = if transpose { (j, i) } else { (i, j) };
                if let Some(cell) = out.get_mut(r).and_then(|row| row.get_mut(c)) {
                    *cell = value;
                }
            }
        }
        bits_above_median(&out)
    });
    DihedralHashes { hashes, quality }
}

/// Mirroring the rows of the 64x64 image multiplies DCT row `i` by (-1)^(i+1), because the DC row
/// is skipped; mirroring columns does the same to columns; a transposition transposes. Each entry
/// is (transpose after negating, which coefficients to negate), in [`crate::Dihedral::ALL`] order.
type Transform = (bool, fn(usize, usize) -> bool);
const DIHEDRAL_TRANSFORMS: [Transform; 8] = [
    (false, |_, _| false),
    (true, |_, j| j % 2 == 0),
    (false, |i, j| (i + j) % 2 == 1),
    (true, |i, _| i % 2 == 0),
    (false, |i, _| i % 2 == 0),
    (false, |_, j| j % 2 == 0),
    (true, |_, _| false),
    (true, |i, j| (i + j) % 2 == 1),
];

fn dct16(pixels: RgbPixels<'_>) -> ([[f32; DCT_SIZE]; DCT_SIZE], u8) {
    let rows = pixels.height as usize;
    let cols = pixels.width as usize;
    let mut luma = luminance(pixels.data);
    jarosz_filter(&mut luma, rows, cols);
    let small = decimate(&luma, rows, cols);
    let quality = quality(&small);
    (dct64_to_16(&small), quality)
}

/// Rec. 601 luma computed in double precision and rounded to single, as the `pdqhash` binding does.
fn luminance(rgb: &[u8]) -> Vec<f32> {
    rgb.chunks_exact(3)
        .map(|p| match p {
            [r, g, b] => {
                (f64::from(*r) * 0.299 + f64::from(*g) * 0.587 + f64::from(*b) * 0.114) as f32
            }
            _ => 0.0,
        })
        .collect()
}

/// The window that makes a box filter roughly cover one output pixel when shrinking to 64.
fn window_size(old: usize) -> usize {
    old.div_ceil(2 * DOWNSAMPLED)
}

fn jarosz_filter(luma: &mut [f32], rows: usize, cols: usize) {
    let along_rows = window_size(cols);
    let along_cols = window_size(rows);
    let mut scratch = vec![0f32; luma.len()];
    for _ in 0..JAROSZ_PASSES {
        for (row_in, row_out) in luma.chunks_exact(cols).zip(scratch.chunks_exact_mut(cols)) {
            box_row(row_in, row_out, along_rows);
        }
        box_columns(&scratch, luma, cols, along_cols);
    }
}

enum Step {
    Add(usize),
    Sub(usize),
    Emit { at: usize, count: usize },
}

/// A centred moving average whose window shrinks at both ends, in the reference's four phases: fill
/// half a window, emit while growing to a full one, slide, emit while shrinking. Sliding adds the
/// entering value before subtracting the leaving one, as the reference does, for bit-equality.
fn box_phases(len: usize, window: usize, mut step: impl FnMut(Step)) {
    let window = window.clamp(1, len.max(1));
    let lead = (window + 2) / 2 - 1;
    let (mut right, mut left, mut at, mut count) = (0, 0, 0, 0);
    for _ in 0..lead {
        step(Step::Add(right));
        right += 1;
        count += 1;
    }
    for _ in 0..(window - lead) {
        step(Step::Add(right));
        right += 1;
        count += 1;
        step(Step::Emit { at, count });
        at += 1;
    }
    for _ in 0..len.saturating_sub(window) {
        step(Step::Add(right));
        step(Step::Sub(left));
        right += 1;
        left += 1;
        step(Step::Emit { at, count });
        at += 1;
    }
    for _ in 0..lead {
        step(Step::Sub(left));
        left += 1;
        count -= 1;
        step(Step::Emit { at, count });
        at += 1;
    }
}

fn box_row(input: &[f32], output: &mut [f32], window: usize) {
    let mut sum = 0f32;
    let get = |i: usize| input.get(i).copied().unwrap_or(0.0);
    box_phases(input.len(), window, |step| match step {
        Step::Add(i) => sum += get(i),
        Step::Sub(i) => sum -= get(i),
        Step::Emit { at, count } => {
            if let Some(cell) = output.get_mut(at) {
                *cell = sum / count as f32;
            }
        }
    });
}

/// The same filter down every column at once, a row at a time, so memory is read in order.
fn box_columns(input: &[f32], output: &mut [f32], cols: usize, window: usize) {
    let rows = input.len() / cols.max(1);
    let mut sums = vec![0f32; cols];
    let row = |r: usize| input.get(r * cols..(r + 1) * cols).unwrap_or_default();
    box_phases(rows, window, |step| match step {
        Step::Add(r) => sums.iter_mut().zip(row(r)).for_each(|(s, v)| *s += v),
        Step::Sub(r) => sums.iter_mut().zip(row(r)).for_each(|(s, v)| *s -= v),
        Step::Emit { at, count } => {
            let out = output
                .get_mut(at * cols..(at + 1) * cols)
                .unwrap_or_default();
            out.iter_mut()
                .zip(&sums)
                .for_each(|(o, s)| *o = s / count as f32);
        }
    });
}

fn decimate(luma: &[f32], rows: usize, cols: usize) -> [[f32; DOWNSAMPLED]; DOWNSAMPLED] {
    let mut out = [[0f32; DOWNSAMPLED]; DOWNSAMPLED];
    let pick = |i: usize, n: usize| ((i as f64 + 0.5) * n as f64 / DOWNSAMPLED as f64) as usize;
    for (i, row) in out.iter_mut().enumerate() {
        let r = pick(i, rows);
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = luma.get(r * cols + pick(j, cols)).copied().unwrap_or(0.0);
        }
    }
    out
}

/// Sum of absolute vertical and horizontal gradients (in percent of full scale, truncated) of the
/// 64x64 image, scaled so that ordinary photographs reach 100.
fn quality(small: &[[f32; DOWNSAMPLED]; DOWNSAMPLED]) -> u8 {
    let step = |u: f32, v: f32| (((u - v) * 100.0) / 255.0) as i32;
    let mut sum: i64 = 0;
    for pair in small.windows(2) {
        if let [above, below] = pair {
            for (u, v) in above.iter().zip(below) {
                sum += i64::from(step(*u, *v).abs());
            }
        }
    }
    for row in small {
        for pair in row.windows(2) {
            if let [u, v] = pair {
                sum += i64::from(step(*u, *v).abs());
            }
        }
    }
    (sum / 90).min(100) as u8
}

fn dct_matrix() -> &'static [[f32; DOWNSAMPLED]; DCT_SIZE] {
    static MATRIX: OnceLock<[[f32; DOWNSAMPLED]; DCT_SIZE]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        // The reference rounds the scale to single precision before multiplying in double.
        let scale = f64::from((2.0f64 / DOWNSAMPLED as f64).sqrt() as f32);
        let mut m = [[0f32; DOWNSAMPLED]; DCT_SIZE];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate() {
                let angle = std::f64::consts::PI / 2.0 / DOWNSAMPLED as f64
                    * (i + 1) as f64
                    * (2 * j + 1) as f64;
                *cell = (scale * angle.cos()) as f32;
            }
        }
        m
    })
}

/// D · A · Dᵀ with D the 16x64 DCT-II basis from frequency 1, accumulated in single precision.
fn dct64_to_16(a: &[[f32; DOWNSAMPLED]; DOWNSAMPLED]) -> [[f32; DCT_SIZE]; DCT_SIZE] {
    let d = dct_matrix();
    let mut t = [[0f32; DOWNSAMPLED]; DCT_SIZE];
    for (d_row, t_row) in d.iter().zip(t.iter_mut()) {
        for (j, cell) in t_row.iter_mut().enumerate() {
            let mut sum = 0f32;
            for (d_ik, a_row) in d_row.iter().zip(a.iter()) {
                sum += d_ik * a_row.get(j).copied().unwrap_or(0.0);
            }
            *cell = sum;
        }
    }
    let mut out = [[0f32; DCT_SIZE]; DCT_SIZE];
    for (t_row, out_row) in t.iter().zip(out.iter_mut()) {
        for (d_row, cell) in d.iter().zip(out_row.iter_mut()) {
            let mut sum = 0f32;
            for (x, y) in t_row.iter().zip(d_row) {
                sum += x * y;
            }
            *cell = sum;
        }
    }
    out
}

/// The reference's median is the 128th smallest of the 256 values (the lower median).
fn bits_above_median(dct: &[[f32; DCT_SIZE]; DCT_SIZE]) -> PdqHash {
    let mut values: Vec<f32> = dct.iter().flatten().copied().collect();
    let mid = values.len().div_ceil(2) - 1;
    let (_, median, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    let median = *median;
    let mut hash = PdqHash::default();
    for (k, value) in dct.iter().flatten().enumerate() {
        if *value > median {
            hash.set_bit(k);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_filter_is_a_shrinking_centred_mean() {
        let input = [1.0, 2.0, 3.0, 4.0, 5.0];
        let mut out = [0.0; 5];
        box_row(&input, &mut out, 3);
        assert_eq!(out, [1.5, 2.0, 3.0, 4.0, 4.5]);
        box_row(&input, &mut out, 1);
        assert_eq!(out, input);
        let mut columns = [0.0; 10];
        let transposed = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0, 5.0, 50.0];
        box_columns(&transposed, &mut columns, 2, 3);
        assert_eq!(
            columns,
            [1.5, 15.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0, 4.5, 45.0]
        );
    }

    #[test]
    fn window_grows_with_the_image() {
        assert_eq!(window_size(64), 1);
        assert_eq!(window_size(128), 1);
        assert_eq!(window_size(129), 2);
        assert_eq!(window_size(1024), 8);
    }
}
