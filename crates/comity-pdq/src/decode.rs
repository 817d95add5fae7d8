//! Bytes to RGB pixels, refusing anything that would need more memory than the caller allows.

use std::io::Cursor;

use image::{ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, error::LimitErrorKind};

use crate::hasher::MIN_DIMENSION;
use crate::{DihedralHashes, HashAndQuality, PdqError, RgbPixels, hasher};

/// Bounds checked from the file header before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    pub max_width: u32,
    pub max_height: u32,
    /// Width times height; hashing needs about 11 bytes per pixel on top of the decoder's buffer.
    pub max_pixels: u64,
    /// The most the decoder itself may allocate, in bytes.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    /// Generous for photographs (a 50-megapixel camera fits), small enough to hash on every core
    /// of a modest machine at once.
    fn default() -> Self {
        Self {
            max_width: 20_000,
            max_height: 20_000,
            max_pixels: 60_000_000,
            max_alloc: 512 << 20,
        }
    }
}

/// An image decoded to 8-bit RGB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedImage {
    pub width: u32,
    pub height: u32,
    /// Row-major RGB, 3 bytes per pixel.
    pub rgb: Vec<u8>,
}

impl DecodedImage {
    pub fn pixels(&self) -> Result<RgbPixels<'_>, PdqError> {
        RgbPixels::new(self.width, self.height, &self.rgb)
    }
}

/// Decodes PNG, JPEG, GIF (first frame), BMP, WebP or TIFF bytes. The stored pixel order is kept:
/// EXIF orientation is not applied, as in the reference tools; rotated copies are found by
/// matching the dihedral hashes.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<DecodedImage, PdqError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| PdqError::CorruptImage(e.to_string()))?;
    let Some(format) = reader.format() else {
        return Err(PdqError::UnsupportedFormat);
    };
    let mut reader = reader;
    let mut image_limits = Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let decoder = reader.into_decoder().map_err(map_image_error)?;
    let (width, height) = decoder.dimensions();
    if width < MIN_DIMENSION || height < MIN_DIMENSION {
        return Err(PdqError::ImageTooSmall {
            width,
            height,
            min: MIN_DIMENSION,
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(PdqError::ImageTooLarge(format!(
            "{width}x{height} is {pixels} pixels, the limit is {}",
            limits.max_pixels
        )));
    }
    let needed = decoder.total_bytes();
    if needed > limits.max_alloc {
        return Err(PdqError::ImageTooLarge(format!(
            "decoding needs {needed} bytes, the limit is {}",
            limits.max_alloc
        )));
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(PdqError::CorruptImage(
            "JPEG data ends before its end-of-image marker".into(),
        ));
    }
    let image = image::DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    Ok(DecodedImage {
        width,
        height,
        rgb: image.into_rgb8().into_raw(),
    })
}

/// Decodes and hashes image bytes.
pub fn hash_image_bytes(bytes: &[u8], limits: &DecodeLimits) -> Result<HashAndQuality, PdqError> {
    let image = decode(bytes, limits)?;
    Ok(hasher::hash(image.pixels()?))
}

/// Decodes image bytes and hashes the image with its rotations and mirror images.
pub fn hash_image_bytes_dihedral(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<DihedralHashes, PdqError> {
    let image = decode(bytes, limits)?;
    Ok(hasher::hash_dihedral(image.pixels()?))
}

/// The JPEG decoder fills a truncated scan with grey instead of failing. Entropy-coded data never
/// contains an end-of-image marker (0xFF bytes are stuffed), so a complete file has one after
/// its last start-of-scan.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last = |marker: u8| bytes.windows(2).rposition(|w| w == [0xFF, marker]);
    match (last(0xDA), last(0xD9)) {
        (Some(sos), Some(eoi)) => eoi > sos,
        _ => false,
    }
}

fn map_image_error(err: ImageError) -> PdqError {
    match err {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError => {
                PdqError::ImageTooLarge("width or height above the limit".into())
            }
            LimitErrorKind::InsufficientMemory => {
                PdqError::ImageTooLarge("decoding needs more memory than allowed".into())
            }
            _ => PdqError::ImageTooLarge(limit.to_string()),
        },
        ImageError::Unsupported(_) => PdqError::UnsupportedFormat,
        other => PdqError::CorruptImage(other.to_string()),
    }
}
