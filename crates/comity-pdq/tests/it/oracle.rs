//! Agreement with Meta's reference (`pdqhash`): both hash the very same decoded pixels.

use std::collections::BTreeMap;
use std::io::Cursor;

use comity_pdq::{DecodeLimits, PdqHash, RgbPixels, decode, hash_dihedral};
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, RgbImage};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::support::{image_files, run_oracle, scratch_dir, vectors_dir};

struct Case {
    name: String,
    image: RgbImage,
}

/// The regression images decoded by our decoder; files it cannot read are listed in
/// tests/data/undecodable.txt with the reason, and the test checks that list stays true.
fn vector_cases() -> Vec<Case> {
    let dir = vectors_dir();
    let expected_failures: BTreeMap<String, String> = include_str!("../data/undecodable.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, code) = l.split_once(' ').unwrap();
            (name.to_owned(), code.trim().to_owned())
        })
        .collect();
    let mut cases = Vec::new();
    for path in image_files(&dir) {
        let rel = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(&path).unwrap();
        match decode(&bytes, &DecodeLimits::default()) {
            Ok(img) => {
                assert!(
                    !expected_failures.contains_key(&rel),
                    "{rel} now decodes; update undecodable.txt"
                );
                let image = RgbImage::from_raw(img.width, img.height, img.rgb).unwrap();
                cases.push(Case { name: rel, image });
            }
            Err(err) => assert_eq!(
                expected_failures.get(&rel).map(String::as_str),
                Some(err.code()),
                "{rel}: {err}"
            ),
        }
    }
    cases
}

fn reencode(image: &RgbImage, format: ImageFormat) -> RgbImage {
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(image.clone())
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    let decoded = decode(&bytes, &DecodeLimits::default()).unwrap();
    RgbImage::from_raw(decoded.width, decoded.height, decoded.rgb).unwrap()
}

/// Resized (several filters, shapes and scales), cropped, re-encoded and synthetic images.
fn generated_cases(sources: &[Case]) -> Vec<Case> {
    let mut out = Vec::new();
    let sizes = [
        (5, 5),
        (7, 13),
        (63, 65),
        (64, 64),
        (100, 37),
        (129, 257),
        (400, 300),
        (1100, 900),
    ];
    let filters = [
        FilterType::Nearest,
        FilterType::Triangle,
        FilterType::Lanczos3,
    ];
    for (si, src) in sources.iter().enumerate() {
        let (w, h) = src.image.dimensions();
        for (k, (tw, th)) in sizes.iter().enumerate() {
            let filter = filters[(si + k) % filters.len()];
            // DynamicImage's methods are compiled optimised inside the image crate.
            let image = DynamicImage::ImageRgb8(src.image.clone())
                .resize_exact(*tw, *th, filter)
                .into_rgb8();
            out.push(Case {
                name: format!("gen/{si}-resize-{tw}x{th}"),
                image,
            });
        }
        for (k, (x, y, cw, ch)) in [
            (w / 10, h / 10, w * 8 / 10, h * 8 / 10),
            (0, 0, w / 2, h),
            (w / 3, h / 4, w / 2, h / 2),
        ]
        .iter()
        .enumerate()
        {
            let image = DynamicImage::ImageRgb8(src.image.clone())
                .crop_imm(*x, *y, *cw, *ch)
                .into_rgb8();
            out.push(Case {
                name: format!("gen/{si}-crop-{k}"),
                image,
            });
        }
        out.push(Case {
            name: format!("gen/{si}-jpeg"),
            image: reencode(&src.image, ImageFormat::Jpeg),
        });
        out.push(Case {
            name: format!("gen/{si}-png"),
            image: reencode(&src.image, ImageFormat::Png),
        });
        let gray = DynamicImage::ImageRgb8(src.image.clone())
            .grayscale()
            .into_rgb8();
        out.push(Case {
            name: format!("gen/{si}-gray"),
            image: gray,
        });
        let rotated = DynamicImage::ImageRgb8(src.image.clone())
            .rotate90()
            .into_rgb8();
        out.push(Case {
            name: format!("gen/{si}-rot90"),
            image: rotated,
        });
    }
    let mut rng = StdRng::seed_from_u64(5);
    for k in 0..12 {
        let (w, h) = (rng.random_range(5..300), rng.random_range(5..300));
        let image = RgbImage::from_fn(w, h, |_, _| image::Rgb(rng.random()));
        out.push(Case {
            name: format!("gen/noise-{k}"),
            image,
        });
    }
    type Pattern = (&'static str, fn(u32, u32) -> [u8; 3]);
    let patterns: [Pattern; 5] = [
        ("flat", |_, _| [128, 128, 128]),
        ("black", |_, _| [0, 0, 0]),
        ("hgradient", |x, _| {
            [(x % 256) as u8, 0, 255 - (x % 256) as u8]
        }),
        ("checker", |x, y| {
            if (x / 16 + y / 16) % 2 == 0 {
                [255; 3]
            } else {
                [0; 3]
            }
        }),
        ("stripes", |x, y| {
            [((x * 7 + y * 3) % 256) as u8, (y % 256) as u8, 40]
        }),
    ];
    for (name, f) in patterns {
        let image = RgbImage::from_fn(256, 200, |x, y| image::Rgb(f(x, y)));
        out.push(Case {
            name: format!("gen/{name}"),
            image,
        });
    }
    out
}

#[test]
fn same_pixels_give_the_reference_hash_and_quality() {
    let vectors = vector_cases();
    let photos: Vec<Case> = vectors
        .iter()
        .filter(|c| {
            c.name.contains("labelme")
                || c.name.ends_with("aaa-orig.jpg")
                || c.name.ends_with("pen-and-coaster.png")
        })
        .map(|c| Case {
            name: c.name.clone(),
            image: c.image.clone(),
        })
        .collect();
    let mut cases = generated_cases(&photos);
    cases.extend(vectors);
    assert!(cases.len() >= 150, "corpus too small: {}", cases.len());

    let dir = scratch_dir("oracle");
    let mut manifest = String::new();
    for (i, case) in cases.iter().enumerate() {
        let (w, h) = case.image.dimensions();
        std::fs::write(dir.join(format!("{i}.rgb")), case.image.as_raw()).unwrap();
        manifest.push_str(&format!("{i}\t{w}\t{h}\n"));
    }
    std::fs::write(dir.join("manifest.tsv"), manifest).unwrap();
    let reference = run_oracle(&["pixels", dir.to_str().unwrap()]);
    assert_eq!(reference.len(), cases.len());

    let mut equal = 0usize;
    let mut compared = 0usize;
    let mut worst = (0u32, String::new());
    for (i, (case, want)) in cases.iter().zip(&reference).enumerate() {
        assert_eq!(want.name, i.to_string());
        let (w, h) = case.image.dimensions();
        let pixels = match RgbPixels::new(w, h, case.image.as_raw()) {
            Ok(p) => p,
            Err(err) => {
                assert_eq!(err.code(), "pdq.image_too_small", "{}", case.name);
                assert_eq!(
                    want.quality, 0,
                    "{}: reference quality for a tiny image",
                    case.name
                );
                continue;
            }
        };
        let got = hash_dihedral(pixels);
        assert_eq!(got.quality, want.quality, "{}: quality", case.name);
        for (g, w) in got.hashes.iter().zip(&want.hashes) {
            let w: PdqHash = w.parse().unwrap();
            let d = g.distance(&w);
            compared += 1;
            if d == 0 {
                equal += 1;
            } else {
                eprintln!(
                    "differs: {} distance {d} (quality {})",
                    case.name, want.quality
                );
            }
            if d > worst.0 {
                worst = (d, case.name.clone());
            }
        }
    }
    eprintln!(
        "PDQ vs pdqhash on the same pixels: {equal}/{compared} dihedral hashes equal over {} images, worst distance {} ({})",
        cases.len(),
        worst.0,
        worst.1
    );
    assert!(
        equal * 100 >= compared * 99,
        "only {equal}/{compared} equal"
    );
    assert!(worst.0 <= 4, "distance {} on {}", worst.0, worst.1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Our JPEG decoder and Pillow's (libjpeg) round differently; hashes should still be close.
#[test]
fn our_decoder_stays_close_to_pillow_on_jpeg() {
    let dir = vectors_dir();
    let files: Vec<_> = image_files(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jpg") && !p.ends_with("CMYK.jpg"))
        .collect();
    let args: Vec<String> = std::iter::once("files".to_owned())
        .chain(files.iter().map(|p| p.display().to_string()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let reference = run_oracle(&args);
    let mut distances = Vec::new();
    for (path, want) in files.iter().zip(&reference) {
        assert_eq!(want.name, path.display().to_string());
        let got =
            comity_pdq::hash_image_bytes(&std::fs::read(path).unwrap(), &DecodeLimits::default())
                .unwrap();
        let want_hash: PdqHash = want.hashes[0].parse().unwrap();
        let d = got.hash.distance(&want_hash);
        assert!(
            d <= 12,
            "{}: distance {d} from Pillow+pdqhash",
            path.display()
        );
        assert!(
            got.quality.abs_diff(want.quality) <= 5,
            "{}: quality {} vs {}",
            path.display(),
            got.quality,
            want.quality
        );
        distances.push(d);
    }
    distances.sort_unstable();
    eprintln!(
        "JPEG, our decoder vs Pillow (both then PDQ): {} files, median distance {}, max {}",
        distances.len(),
        distances[distances.len() / 2],
        distances.last().unwrap()
    );
}
