use comity_evidence::{Sha256Digest, Vault};
use proptest::prelude::*;

use crate::support::Node;

const CHUNK: u32 = 1024;

fn vaults(tmp: &std::path::Path) -> (Vault, Vault) {
    let a = Vault::local(&tmp.join("a"), Node::new("dz-moj", "DZ").wrap_key())
        .unwrap()
        .with_chunk_size(CHUNK)
        .unwrap();
    let b = Vault::local(&tmp.join("b"), Node::new("fr-ocl", "FR").wrap_key()).unwrap();
    (a, b)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The transfer is cut at random points (the receiver restarts and reopens its staging
    /// file), chunks arrive in a random order with duplicates, and it ends with the exact file.
    #[test]
    fn cut_transfers_resume_to_the_exact_file(
        size in 0usize..9000,
        cuts in proptest::collection::vec(0usize..12, 0..4),
        seed in any::<u64>(),
    ) {
        rt().block_on(async {
            let tmp = tempfile::tempdir().unwrap();
            let (a, b) = vaults(tmp.path());
            let bytes: Vec<u8> = (0..size).map(|i| (i as u64 ^ seed).wrapping_mul(2654435761) as u8).collect();
            let info = a.ingest(bytes.as_slice(), |_| {}).await.unwrap();
            let offer = a.offer(&info.sha256).await.unwrap();
            let mut order: Vec<u64> = (0..info.chunks).collect();
            let mut s = seed;
            for i in (1..order.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (s >> 33) as usize % (i + 1));
            }
            let mut asm = b.assembler(offer.clone()).unwrap();
            let mut sent = 0usize;
            for cut in &cuts {
                // Send `cut` chunks, then "crash": drop and reopen from the staging file.
                for &i in asm.missing().iter().take(*cut) {
                    let idx = order[(i as usize + sent) % order.len()];
                    asm.accept(idx, &a.read_chunk(&info.sha256, idx).await.unwrap()).unwrap();
                }
                sent += cut;
                let before: Vec<u64> = asm.missing();
                drop(asm);
                asm = b.assembler(offer.clone()).unwrap();
                prop_assert_eq!(asm.missing(), before);
            }
            while let Some(&i) = asm.missing().first() {
                asm.accept(i, &a.read_chunk(&info.sha256, i).await.unwrap()).unwrap();
            }
            let got = asm.finish(&b).await.unwrap();
            prop_assert_eq!(got.sha256, Sha256Digest::of(&bytes));
            let mut out = Vec::new();
            b.copy_to(&got.sha256, &mut out).await.unwrap();
            prop_assert_eq!(out, bytes);
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn a_wrong_chunk_is_refused_and_nothing_partial_is_presented() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = vaults(tmp.path());
    let bytes = vec![42u8; 3000];
    let info = a.ingest(bytes.as_slice(), |_| {}).await.unwrap();
    let offer = a.offer(&info.sha256).await.unwrap();
    let mut asm = b.assembler(offer.clone()).unwrap();

    let mut chunk = a.read_chunk(&info.sha256, 1).await.unwrap();
    chunk[0] ^= 1;
    let err = asm.accept(1, &chunk).unwrap_err();
    assert_eq!(err.code(), "evidence.chunk_refused");
    assert!(err.to_string().contains("chunk 1"), "{err}");
    assert_eq!(
        asm.accept(1, &chunk[..10]).unwrap_err().code(),
        "evidence.chunk_refused"
    );
    assert_eq!(
        asm.accept(9, &chunk).unwrap_err().code(),
        "evidence.chunk_range"
    );
    assert_eq!(asm.missing(), vec![0, 1, 2]);

    asm.accept(0, &a.read_chunk(&info.sha256, 0).await.unwrap())
        .unwrap();
    let err = asm.finish(&b).await.unwrap_err();
    assert_eq!(err.code(), "evidence.incomplete");
    assert!(b.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_offer_whose_chunks_do_not_make_the_digest_is_refused_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = vaults(tmp.path());
    let real = a.ingest(&[1u8; 2000][..], |_| {}).await.unwrap();
    let fake = a.ingest(&[2u8; 2000][..], |_| {}).await.unwrap();
    // A sender lists the chunks of one blob under the digest of another. The chunks come in
    // order (hashed as they arrive) or not (hashed again from the staging file at the end).
    let mut offer = a.offer(&fake.sha256).await.unwrap();
    offer.sha256 = real.sha256;
    for in_order in [true, false] {
        let mut asm = b.assembler(offer.clone()).unwrap();
        let mut chunks = asm.missing();
        if !in_order {
            chunks.reverse();
        }
        for i in chunks {
            asm.accept(i, &a.read_chunk(&fake.sha256, i).await.unwrap())
                .unwrap();
        }
        let err = asm.finish(&b).await.unwrap_err();
        assert_eq!(
            err.code(),
            "evidence.digest_mismatch",
            "in order: {in_order}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&real.sha256.hex()) && msg.contains(&fake.sha256.hex()),
            "{msg}"
        );
    }
    assert!(b.list().await.unwrap().is_empty());
    assert_eq!(
        std::fs::read_dir(tmp.path().join("b/staging"))
            .unwrap()
            .count(),
        0
    );
}
