//! Loading pack directories and comparing answers with expectations.

use std::path::{Path, PathBuf};

use comity_law::LawPacks;

pub fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// Every `.toml` file under `dir`, as `(path relative to dir, text)`, sorted by path.
pub fn read_dir(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

pub fn load_dir(dir: &Path) -> LawPacks {
    let files = read_dir(dir);
    match LawPacks::load(files.iter().map(|(n, t)| (n.as_str(), t.as_str()))) {
        Ok(p) => p,
        Err(e) => panic!("packs in {} do not load:\n{e}", dir.display()),
    }
}
