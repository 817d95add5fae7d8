//! Hostile and degenerate images become typed errors with stable codes, or an honest low quality.

use std::io::Cursor;

use comity_pdq::{DecodeLimits, RgbPixels, decode, hash, hash_image_bytes};
use image::{DynamicImage, ImageFormat, RgbImage};

use crate::support::vectors_dir;

fn code(bytes: &[u8]) -> &'static str {
    hash_image_bytes(bytes, &DecodeLimits::default())
        .unwrap_err()
        .code()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A tiny PNG whose header claims `width` x `height` RGB pixels.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn encode(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(image.clone())
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

fn photo() -> Vec<u8> {
    std::fs::read(vectors_dir().join("reg-test-input/labelme-subset/q0122.jpg")).unwrap()
}

#[test]
fn decompression_bombs_are_refused_before_allocating() {
    assert_eq!(code(&png_claiming(100_000, 100_000)), "pdq.image_too_large");
    assert_eq!(code(&png_claiming(19_000, 19_000)), "pdq.image_too_large");
    let big = RgbImage::from_fn(600, 600, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 7])
    });
    let small_limits = DecodeLimits {
        max_alloc: 100_000,
        ..DecodeLimits::default()
    };
    let err = hash_image_bytes(&encode(&big, ImageFormat::Png), &small_limits).unwrap_err();
    assert_eq!(err.code(), "pdq.image_too_large", "{err}");
}

#[test]
fn truncated_and_corrupt_files_are_reported() {
    let jpeg = photo();
    assert_eq!(code(&jpeg[..jpeg.len() / 3]), "pdq.corrupt_image");
    let decoded = decode(&jpeg, &DecodeLimits::default()).unwrap();
    let png = encode(
        &RgbImage::from_raw(decoded.width, decoded.height, decoded.rgb).unwrap(),
        ImageFormat::Png,
    );
    assert_eq!(code(&png[..png.len() / 2]), "pdq.corrupt_image");
    let mut scrambled = png.clone();
    for b in scrambled.iter_mut().skip(40).take(40) {
        *b ^= 0x5a;
    }
    assert_eq!(code(&scrambled), "pdq.corrupt_image");
    assert_eq!(
        code(b"this is a text file, not a picture"),
        "pdq.unsupported_format"
    );
    assert_eq!(code(b""), "pdq.unsupported_format");
    assert_eq!(code(&png_claiming(64, 64)), "pdq.corrupt_image");
}

#[test]
fn tiny_images_are_refused_and_flat_ones_get_quality_zero() {
    let tiny = RgbImage::from_pixel(4, 9, image::Rgb([10, 200, 30]));
    assert_eq!(
        code(&encode(&tiny, ImageFormat::Png)),
        "pdq.image_too_small"
    );
    assert_eq!(
        RgbPixels::new(4, 9, tiny.as_raw()).unwrap_err().code(),
        "pdq.image_too_small"
    );
    assert_eq!(
        RgbPixels::new(5, 5, &[0; 74]).unwrap_err().code(),
        "pdq.pixel_buffer_size"
    );

    let flat = RgbImage::from_pixel(300, 200, image::Rgb([90, 90, 90]));
    let got = hash_image_bytes(&encode(&flat, ImageFormat::Png), &DecodeLimits::default()).unwrap();
    assert_eq!(got.quality, 0);
    let photo_quality = hash_image_bytes(&photo(), &DecodeLimits::default())
        .unwrap()
        .quality;
    assert!(photo_quality >= 50, "{photo_quality}");
}

#[test]
fn lossless_formats_give_the_same_hash_as_the_pixels() {
    let decoded = decode(&photo(), &DecodeLimits::default()).unwrap();
    let image = RgbImage::from_raw(decoded.width, decoded.height, decoded.rgb.clone()).unwrap();
    let want = hash(decoded.pixels().unwrap());
    for format in [
        ImageFormat::Png,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
        ImageFormat::WebP,
    ] {
        let got = hash_image_bytes(&encode(&image, format), &DecodeLimits::default()).unwrap();
        assert_eq!(got, want, "{format:?}");
    }
    // GIF has a 256-colour palette, so it is lossless only for pictures with few colours.
    let few_colours = RgbImage::from_fn(300, 200, |x, y| {
        image::Rgb([(x / 20 * 17) as u8, (y / 25 * 30) as u8, 99])
    });
    let want = hash(RgbPixels::new(300, 200, few_colours.as_raw()).unwrap());
    let gif = hash_image_bytes(
        &encode(&few_colours, ImageFormat::Gif),
        &DecodeLimits::default(),
    )
    .unwrap();
    assert_eq!(gif, want);
}
