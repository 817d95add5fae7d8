//! Reading a package, folder or zip, as a court-facing reader must: every entry is listed and
//! judged before anything is read, and an entry that two extractors or two file systems could
//! take differently is refused with its name and a stable code, never read.
//!
//! Names. The package layout uses only `A-Z a-z 0-9 . _ -` in components separated by `/`, so
//! any other name is refused (`evidence.package_entry_name`): empty, absolute (`/x`), with a
//! backslash (a folder separator on Windows), an empty, `.` or `..` component, or any character
//! outside that set (Unicode names can be spelled in several ways that look and extract alike).
//! Duplicates (`evidence.package_duplicate`): two entries are one file when their names are equal
//! after what extractors and file systems do to names: `\` read as `/`; empty and `.` components
//! dropped; `..` components dropped, or resolved (both are tried); case ignored by Unicode case
//! mapping (upper then lower case, so `K`, `k` and the Kelvin sign `K` are one); trailing dots and
//! spaces of a component dropped (Windows). Every entry of such a group is refused, the exact name
//! included: `a` is not read when `./a` or `A` is also present.
//!
//! Kinds (`evidence.package_entry_type`): symbolic links and special files (FIFOs, sockets,
//! devices) are refused wherever they are, and never followed or opened; a folder where the index
//! expects a file is refused when that file is read.
//!
//! Limits: at most [`ENTRIES_MAX`] entries; metadata files (index, manifest, events, proofs,
//! descriptors, trust list) at most [`METADATA_MAX`] bytes each (`evidence.package_too_large`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{EvidenceError, Result};
use crate::package_zip;

/// Most bytes a metadata file (index, manifest, event, proof, descriptor, trust list) may hold.
pub const METADATA_MAX: u64 = 16 * 1024 * 1024;
/// Most entries (files and folders) a package may hold; the layout needs two per custody event.
pub const ENTRIES_MAX: usize = 1_000_000;

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    /// A folder; its name ends with `/`.
    Dir,
    Symlink,
    /// A FIFO, socket or device.
    Special,
}

/// One entry of a package, as listed before anything is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The path inside the package, `/`-separated; folders end with `/`.
    pub name: String,
    pub kind: EntryKind,
    /// Bytes of content the entry declares (0 for folders and links).
    pub size: u64,
}

/// Why an entry was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Name,
    Duplicate,
    Kind,
    ZipLayout,
    TooLarge,
}

/// An entry (or, for [`Refusal::ZipLayout`], a place in the zip) refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryProblem {
    pub entry: String,
    pub refusal: Refusal,
    pub reason: String,
}

impl EntryProblem {
    pub fn new(entry: impl Into<String>, refusal: Refusal, reason: impl Into<String>) -> Self {
        Self {
            entry: entry.into(),
            refusal,
            reason: reason.into(),
        }
    }

    /// The error, with its stable code.
    pub fn error(&self) -> EvidenceError {
        let (entry, reason) = (self.entry.clone(), self.reason.clone());
        match self.refusal {
            Refusal::Name => EvidenceError::PackageEntryName { entry, reason },
            Refusal::Duplicate => EvidenceError::PackageDuplicate { entry, reason },
            Refusal::Kind => EvidenceError::PackageEntryType { entry, reason },
            Refusal::ZipLayout => EvidenceError::PackageZipLayout { entry, reason },
            Refusal::TooLarge => EvidenceError::PackageTooLarge { entry, reason },
        }
    }
}

enum Form {
    Dir(PathBuf),
    Zip(Box<zip::ZipArchive<File>>),
}

/// A package opened for reading: its entries, the problems found in listing them, and reads
/// that refuse every entry with a problem.
pub struct PackageSource {
    form: Form,
    entries: Vec<Entry>,
    problems: Vec<EntryProblem>,
    refused: BTreeMap<String, EntryProblem>,
}

impl PackageSource {
    /// Lists a package folder or zip file and judges every entry. An error here means nothing
    /// could be listed (unreadable, not a zip, too many entries); refused entries are in
    /// [`problems`](Self::problems).
    pub fn open(path: &Path) -> Result<Self> {
        let (form, entries, mut problems) = if path.is_dir() {
            let (entries, problems) = walk(path)?;
            (Form::Dir(path.to_owned()), entries, problems)
        } else {
            let z = package_zip::open(path)?;
            (Form::Zip(Box::new(z.archive)), z.entries, z.problems)
        };
        for e in &entries {
            let bare = e.name.strip_suffix('/').unwrap_or(&e.name);
            if let Some(reason) = name_problem(bare) {
                problems.push(EntryProblem::new(&e.name, Refusal::Name, reason));
            }
            match e.kind {
                EntryKind::Symlink => problems.push(EntryProblem::new(
                    &e.name,
                    Refusal::Kind,
                    "a symbolic link, which an extractor would follow elsewhere",
                )),
                EntryKind::Special => problems.push(EntryProblem::new(
                    &e.name,
                    Refusal::Kind,
                    "a special file (FIFO, socket or device)",
                )),
                EntryKind::File | EntryKind::Dir => {}
            }
        }
        problems.extend(collisions(&entries));
        let mut refused = BTreeMap::new();
        for p in &problems {
            refused.entry(p.entry.clone()).or_insert_with(|| p.clone());
        }
        Ok(Self {
            form,
            entries,
            problems,
            refused,
        })
    }

    /// Every entry, files and folders, sorted by name.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Entries refused while listing, each with its reason.
    pub fn problems(&self) -> &[EntryProblem] {
        &self.problems
    }

    /// Whether the entry was refused while listing.
    pub fn is_refused(&self, name: &str) -> bool {
        self.refused.contains_key(name)
    }

    fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Opens the file `name` for reading: refused if it was refused while listing, is missing,
    /// or is a folder.
    pub fn open_file(&mut self, name: &str) -> Result<Box<dyn Read + '_>> {
        if let Some(p) = self.refused.get(name) {
            return Err(p.error());
        }
        if self.entry(&format!("{name}/")).is_some() {
            return Err(EvidenceError::PackageEntryType {
                entry: name.to_owned(),
                reason: "a folder where the index lists a file".into(),
            });
        }
        if self.entry(name).is_none_or(|e| e.kind != EntryKind::File) {
            return Err(EvidenceError::PackageMissing(name.to_owned()));
        }
        let io = |e: std::io::Error| EvidenceError::PackageIo(format!("{name}: {e}"));
        match &mut self.form {
            Form::Dir(root) => {
                let f = File::open(root.join(name)).map_err(io)?;
                // The folder may have changed since it was listed.
                if !f.metadata().map_err(io)?.is_file() {
                    return Err(EvidenceError::PackageEntryType {
                        entry: name.to_owned(),
                        reason: "no longer a plain file".into(),
                    });
                }
                Ok(Box::new(f))
            }
            Form::Zip(z) => {
                let f = z
                    .by_name(name)
                    .map_err(|e| EvidenceError::PackageIo(format!("{name}: {e}")))?;
                Ok(Box::new(f))
            }
        }
    }

    /// Reads a whole metadata file, refusing one larger than [`METADATA_MAX`] before reading it.
    pub fn read_metadata(&mut self, name: &str) -> Result<Vec<u8>> {
        let too_large = |size: String| EvidenceError::PackageTooLarge {
            entry: name.to_owned(),
            reason: format!(
                "{size} bytes, where a metadata file may hold at most {METADATA_MAX} bytes (16 MiB)"
            ),
        };
        if let Some(e) = self.entry(name)
            && e.size > METADATA_MAX
        {
            return Err(too_large(e.size.to_string()));
        }
        let mut out = Vec::new();
        self.open_file(name)?
            .take(METADATA_MAX + 1)
            .read_to_end(&mut out)
            .map_err(|e| EvidenceError::PackageIo(format!("{name}: {e}")))?;
        if out.len() as u64 > METADATA_MAX {
            return Err(too_large(format!("more than {METADATA_MAX}")));
        }
        Ok(out)
    }
}

/// Why `name` (without a folder's trailing `/`) cannot name a package entry, if it cannot.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("an empty name".into());
    }
    if name.starts_with('/') {
        return Some("an absolute name, which an extractor could write outside its folder".into());
    }
    if name.contains('\\') {
        return Some("a backslash, which Windows reads as a folder separator".into());
    }
    for c in name.split('/') {
        match c {
            "" => return Some("an empty component (`//` or a trailing `/`)".into()),
            "." => return Some("a `.` component".into()),
            ".." => {
                return Some(
                    "a `..` component, which an extractor could follow out of its folder".into(),
                );
            }
            _ => {}
        }
    }
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-/".contains(*c)))
        .map(|c| format!("the character {c:?} (U+{:04X})", u32::from(c)))
}

/// The names `name` may take once extracted (see the module documentation): with `..` dropped,
/// and with `..` resolved.
pub(crate) fn collision_keys(name: &str) -> Vec<String> {
    let fold = |c: &str| -> String {
        c.trim_end_matches(['.', ' '])
            .chars()
            .flat_map(char::to_uppercase)
            .flat_map(char::to_lowercase)
            .collect()
    };
    let parts: Vec<&str> = name
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let dropped: Vec<String> = parts
        .iter()
        .filter(|c| **c != "..")
        .map(|c| fold(c))
        .collect();
    let mut resolved: Vec<String> = Vec::new();
    for c in &parts {
        if *c == ".." {
            resolved.pop();
        } else {
            resolved.push(fold(c));
        }
    }
    let mut keys = vec![dropped.join("/"), resolved.join("/")];
    keys.dedup();
    keys
}

/// Entries that would be one file once extracted; each is refused, naming the others.
fn collisions(entries: &[Entry]) -> Vec<EntryProblem> {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for e in entries {
        for k in collision_keys(&e.name) {
            groups.entry(k).or_default().push(&e.name);
        }
    }
    let mut same: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for names in groups.values().filter(|n| n.len() > 1) {
        for a in names {
            same.entry(a)
                .or_default()
                .extend(names.iter().filter(|b| *b != a));
        }
    }
    same.into_iter()
        .map(|(name, others)| {
            let others: Vec<String> = others.iter().map(|o| format!("{o:?}")).collect();
            EntryProblem::new(
                name,
                Refusal::Duplicate,
                format!(
                    "the same file as {} once extracted (names equal ignoring case, `.` or `..` components, backslashes or trailing dots)",
                    others.join(", ")
                ),
            )
        })
        .collect()
}

/// Lists a package folder without following links, folders first by name.
fn walk(root: &Path) -> Result<(Vec<Entry>, Vec<EntryProblem>)> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e: std::io::Error| EvidenceError::PackageIo(format!("{p}: {e}"))
    };
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut stack = vec![(root.to_owned(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let e = e.map_err(io(&dir))?;
            let path = e.path();
            let file_name = e.file_name();
            let component = file_name.to_string_lossy();
            let mut name = format!("{prefix}{component}");
            if file_name.to_str().is_none() {
                problems.push(EntryProblem::new(
                    &name,
                    Refusal::Name,
                    "a name that is not valid UTF-8",
                ));
            }
            if entries.len() >= ENTRIES_MAX {
                return Err(EvidenceError::PackageTooLarge {
                    entry: root.display().to_string(),
                    reason: format!("more than {ENTRIES_MAX} entries"),
                });
            }
            let t = e.file_type().map_err(io(&path))?;
            let (kind, size) = if t.is_dir() {
                name.push('/');
                stack.push((path, name.clone()));
                (EntryKind::Dir, 0)
            } else if t.is_file() {
                (EntryKind::File, e.metadata().map_err(io(&path))?.len())
            } else if t.is_symlink() {
                (EntryKind::Symlink, 0)
            } else {
                (EntryKind::Special, 0)
            };
            entries.push(Entry { name, kind, size });
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((entries, problems))
}
