//! Questions to the law engine and law pack files of `comity-law`.

use std::sync::OnceLock;

use comity_law::{LawPacks, SHIPPED};

use crate::Scratch;

fn packs() -> &'static LawPacks {
    static P: OnceLock<LawPacks> = OnceLock::new();
    P.get_or_init(|| LawPacks::shipped().expect("the shipped packs load"))
}

pub(super) fn law_question(_: &Scratch, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let packs = packs();
    let first = packs.eval_json(text);
    if let Ok(answer) = &first {
        let again = packs.eval_json(text).ok();
        assert_eq!(
            again.as_ref(),
            Some(answer),
            "the same question must get the same answer"
        );
    }
    if let Err(e) = &first {
        assert!(!e.code().is_empty(), "every refusal has a stable code");
    }
}

/// The fuzzed text stands in for the shipped file the first byte names; the others stay.
pub(super) fn law_pack(_: &Scratch, data: &[u8]) {
    let Some((which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let replaced = usize::from(*which) % SHIPPED.len();
    let files = SHIPPED
        .iter()
        .enumerate()
        .map(|(i, (name, body))| (*name, if i == replaced { text } else { *body }));
    if let Ok(loaded) = LawPacks::load(files) {
        let q = r#"{"question":"legal_basis","requesting":"DZ","requested":"FR","measure":"preservation","date":"2026-01-15"}"#;
        let _ = loaded.eval_json(q);
    }
}
