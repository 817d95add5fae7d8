//! The zip form of a package, read strictly: the archive must be laid out as the package writer
//! lays it out, so that every zip reader, whether it starts from the central directory (most
//! extractors) or walks the local headers (streaming extractors), sees the same entries with the
//! same bytes.
//!
//! Refused as `evidence.package_zip_layout`: bytes before the first entry, between entries or
//! after the end record; overlapping entries; an archive comment (where a reader may find another
//! end record); a central directory with more or fewer records than its end record counts; a
//! local header that disagrees with its central record (name, CRC-32, sizes, method); sizes
//! deferred to a data descriptor; encrypted or compressed entries (package entries are stored);
//! a second, Unicode path name. A name carried by several records is `evidence.package_duplicate`:
//! the zip library keeps only one of them, an extractor may show the other.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{EvidenceError, Result};
use crate::package_read::{ENTRIES_MAX, Entry, EntryKind, EntryProblem, Refusal};

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
const ZIP64_END_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const LOCAL_LEN: u64 = 30;
const CENTRAL_LEN: u64 = 46;
const END_LEN: u64 = 22;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_EXTRA: u16 = 0x0001;
const UNICODE_PATH_EXTRA: u16 = 0x7075;
const FLAG_ENCRYPTED: u16 = 1;
const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
const MODE_TYPE: u32 = 0o170_000;

/// Where problems of the archive as a whole are reported.
pub const ARCHIVE: &str = "zip archive";

pub(crate) struct Opened {
    pub archive: zip::ZipArchive<File>,
    pub entries: Vec<Entry>,
    pub problems: Vec<EntryProblem>,
}

fn le16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

fn read_at(raw: &mut File, at: u64, n: usize) -> std::io::Result<Vec<u8>> {
    raw.seek(SeekFrom::Start(at))?;
    let mut out = vec![0u8; n];
    raw.read_exact(&mut out)?;
    Ok(out)
}

/// The data of extra field `id`, if present.
fn extra_field(extra: &[u8], id: u16) -> Option<&[u8]> {
    let mut rest = extra;
    while rest.len() >= 4 {
        let (head, tail) = rest.split_at(4);
        let n = usize::from(le16(&head[2..]));
        if tail.len() < n {
            return None;
        }
        if le16(head) == id {
            return Some(&tail[..n]);
        }
        rest = &tail[n..];
    }
    None
}

/// A record of the central directory, as stored.
struct Central {
    name: Vec<u8>,
    extra: Vec<u8>,
}

/// Every record from the start of the central directory, and where they end.
fn central_records(raw: &mut File, start: u64, len: u64) -> Result<(Vec<Central>, u64)> {
    let io = |e: std::io::Error| EvidenceError::PackageIo(format!("central directory: {e}"));
    raw.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut r = BufReader::new(raw);
    let mut out = Vec::new();
    let mut pos = start;
    let mut h = [0u8; CENTRAL_LEN as usize];
    while pos + CENTRAL_LEN <= len {
        r.read_exact(&mut h[..4]).map_err(io)?;
        if le32(&h) != CENTRAL_SIG {
            break;
        }
        r.read_exact(&mut h[4..]).map_err(io)?;
        let (n, x, c) = (le16(&h[28..]), le16(&h[30..]), le16(&h[32..]));
        let mut name = vec![0u8; usize::from(n)];
        let mut extra = vec![0u8; usize::from(x)];
        r.read_exact(&mut name).map_err(io)?;
        r.read_exact(&mut extra).map_err(io)?;
        std::io::copy(&mut (&mut r).take(u64::from(c)), &mut std::io::sink()).map_err(io)?;
        out.push(Central { name, extra });
        if out.len() > ENTRIES_MAX {
            return Err(EvidenceError::PackageTooLarge {
                entry: ARCHIVE.into(),
                reason: format!("more than {ENTRIES_MAX} entries"),
            });
        }
        pos += CENTRAL_LEN + u64::from(n) + u64::from(x) + u64::from(c);
    }
    Ok((out, pos))
}

/// Why the end of the archive is not exactly the end records after the central directory.
fn end_records(raw: &mut File, cd_end: u64, len: u64) -> std::io::Result<Option<String>> {
    let Some(end_at) = len.checked_sub(END_LEN) else {
        return Ok(Some(
            "the file is too short to end with a zip end record".into(),
        ));
    };
    let end = read_at(raw, end_at, END_LEN as usize)?;
    if le32(&end) != END_SIG || le16(&end[20..]) != 0 {
        return Ok(Some(
            "the file does not end with the zip end record (bytes follow it, or it carries a comment)"
                .into(),
        ));
    }
    if cd_end == end_at {
        return Ok(None);
    }
    if let Some(locator_at) = end_at.checked_sub(ZIP64_LOCATOR_LEN)
        && cd_end + 12 <= locator_at
    {
        let record = read_at(raw, cd_end, 12)?;
        let locator = read_at(raw, locator_at, 4)?;
        if le32(&record) == ZIP64_END_SIG
            && le32(&locator) == ZIP64_LOCATOR_SIG
            && (cd_end + 12).checked_add(le64(&record[4..])) == Some(locator_at)
        {
            return Ok(None);
        }
    }
    Ok(Some(if cd_end > end_at {
        "the central directory runs into the end record".into()
    } else {
        format!(
            "{} bytes between the central directory and the end record belong to nothing",
            end_at - cd_end
        )
    }))
}

/// A local header, as stored.
struct Local {
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    name: Vec<u8>,
    extra: Vec<u8>,
    data_start: u64,
}

fn local_record(raw: &mut File, at: u64, len: u64) -> std::result::Result<Local, String> {
    if at.saturating_add(LOCAL_LEN) > len {
        return Err("its local header would lie past the end of the file".into());
    }
    let unreadable = |e: std::io::Error| format!("its local header cannot be read: {e}");
    let h = read_at(raw, at, LOCAL_LEN as usize).map_err(unreadable)?;
    if le32(&h) != LOCAL_SIG {
        return Err("no local header where the central directory points".into());
    }
    let (n, x) = (le16(&h[26..]), le16(&h[28..]));
    let name = read_at(raw, at + LOCAL_LEN, usize::from(n)).map_err(unreadable)?;
    let extra = read_at(raw, at + LOCAL_LEN + u64::from(n), usize::from(x)).map_err(unreadable)?;
    let (c32, u32_) = (le32(&h[18..]), le32(&h[22..]));
    let (mut compressed, mut size) = (u64::from(c32), u64::from(u32_));
    if c32 == u32::MAX || u32_ == u32::MAX {
        let z = extra_field(&extra, ZIP64_EXTRA)
            .ok_or("its local header marks ZIP64 sizes but carries no ZIP64 field")?;
        let mut fields = z.chunks_exact(8).map(le64);
        if u32_ == u32::MAX {
            size = fields.next().ok_or("its local ZIP64 field is short")?;
        }
        if c32 == u32::MAX {
            compressed = fields.next().ok_or("its local ZIP64 field is short")?;
        }
    }
    Ok(Local {
        flags: le16(&h[6..]),
        method: le16(&h[8..]),
        crc: le32(&h[14..]),
        compressed,
        size,
        data_start: at + LOCAL_LEN + u64::from(n) + u64::from(x),
        name,
        extra,
    })
}

/// What the central directory says of an entry.
struct Said {
    name: Vec<u8>,
    crc: u32,
    compressed: u64,
    size: u64,
}

impl Local {
    fn disagreements(&self, central: &Said) -> Vec<String> {
        let mut out = Vec::new();
        if self.name != central.name {
            out.push(format!(
                "its local header names it {:?}, the name streaming extractors use",
                String::from_utf8_lossy(&self.name)
            ));
        }
        if self.flags & FLAG_DATA_DESCRIPTOR != 0 {
            out.push(
                "its sizes come in a data descriptor after the data, so a streaming extractor must guess where it ends"
                    .into(),
            );
        }
        if self.flags & FLAG_ENCRYPTED != 0 {
            out.push("its local header marks it encrypted".into());
        }
        if self.method != 0 {
            out.push(format!(
                "its local header gives compression method {}",
                zip::CompressionMethod::name_from_u16(self.method)
            ));
        }
        if self.crc != central.crc {
            out.push("its local and central CRC-32 differ".into());
        }
        if (self.compressed, self.size) != (central.compressed, central.size) {
            out.push(format!(
                "its local header gives {} bytes ({} stored), the central directory {} ({} stored)",
                self.size, self.compressed, central.size, central.compressed
            ));
        }
        if extra_field(&self.extra, UNICODE_PATH_EXTRA).is_some() {
            out.push("its local header carries a second, Unicode path name".into());
        }
        out
    }
}

/// Opens a package zip and lists its entries, judging the archive's structure.
pub(crate) fn open(path: &Path) -> Result<Opened> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| EvidenceError::PackageIo(format!("{shown}: {e}"));
    let file = File::open(path).map_err(io)?;
    let mut raw = file.try_clone().map_err(io)?;
    let len = raw.metadata().map_err(io)?.len();
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        EvidenceError::PackageFormat(format!("{shown} is neither a folder nor a zip file: {e}"))
    })?;
    let layout = |reason: String| EntryProblem::new(ARCHIVE, Refusal::ZipLayout, reason);
    let mut problems = Vec::new();
    if archive.offset() != 0 {
        problems.push(layout(format!(
            "{} bytes come before the first entry",
            archive.offset()
        )));
    }
    if !archive.comment().is_empty() {
        problems.push(layout(
            "the archive carries a comment, where a reader may find another end record".into(),
        ));
    }
    let cd_start = archive.central_directory_start();
    let (centrals, cd_end) = central_records(&mut raw, cd_start, len)?;
    if let Some(reason) = end_records(&mut raw, cd_end, len).map_err(io)? {
        problems.push(layout(reason));
    }

    let mut counts: BTreeMap<&[u8], usize> = BTreeMap::new();
    for c in &centrals {
        *counts.entry(&c.name).or_default() += 1;
        if extra_field(&c.extra, UNICODE_PATH_EXTRA).is_some() {
            problems.push(EntryProblem::new(
                String::from_utf8_lossy(&c.name),
                Refusal::Name,
                "a second, Unicode path name, which some extractors use instead",
            ));
        }
    }
    let mut merged = 0;
    for (name, n) in counts.iter().filter(|(_, n)| **n > 1) {
        merged += n - 1;
        problems.push(EntryProblem::new(
            String::from_utf8_lossy(name),
            Refusal::Duplicate,
            format!("{n} records of the archive carry this name"),
        ));
    }
    if centrals.len() != archive.len() + merged {
        problems.push(layout(format!(
            "the central directory holds {} records where its end record counts {}",
            centrals.len(),
            archive.len() + merged
        )));
    }

    let mut entries = Vec::new();
    let mut spans: Vec<(u64, u64, String)> = Vec::new();
    for i in 0..archive.len() {
        let f = match archive.by_index_raw(i) {
            Ok(f) => f,
            Err(e) => {
                let name = centrals.get(i).map_or(format!("entry {i}"), |c| {
                    String::from_utf8_lossy(&c.name).into_owned()
                });
                problems.push(EntryProblem::new(
                    name,
                    Refusal::ZipLayout,
                    format!("unreadable record: {e}"),
                ));
                continue;
            }
        };
        let name = String::from_utf8_lossy(f.name_raw()).into_owned();
        let mut kind = match f.unix_mode().map(|m| m & MODE_TYPE) {
            None | Some(0 | 0o100_000) => EntryKind::File,
            Some(0o040_000) => EntryKind::Dir,
            Some(0o120_000) => EntryKind::Symlink,
            Some(_) => EntryKind::Special,
        };
        if f.is_dir() && kind != EntryKind::Symlink && kind != EntryKind::Special {
            kind = EntryKind::Dir;
        } else if kind == EntryKind::Dir {
            problems.push(EntryProblem::new(
                &name,
                Refusal::Kind,
                "a folder record whose name does not end with /",
            ));
        }
        let said = Said {
            name: f.name_raw().to_vec(),
            crc: f.crc32(),
            compressed: f.compressed_size(),
            size: f.size(),
        };
        let (start, encrypted, method) = (f.header_start(), f.encrypted(), f.compression());
        drop(f);
        let bad = |reason: String| EntryProblem::new(&name, Refusal::ZipLayout, reason);
        if encrypted {
            problems.push(bad("encrypted".into()));
        }
        if method != zip::CompressionMethod::Stored {
            problems.push(bad(format!(
                "compressed ({method}), where package entries are stored as they are"
            )));
        } else if said.compressed != said.size {
            problems.push(bad(format!(
                "stored, yet {} bytes long in the archive for {} of content",
                said.compressed, said.size
            )));
        }
        match local_record(&mut raw, start, len) {
            Err(reason) => problems.push(bad(reason)),
            Ok(local) => {
                problems.extend(local.disagreements(&said).into_iter().map(bad));
                spans.push((
                    start,
                    local.data_start.saturating_add(said.compressed),
                    name.clone(),
                ));
            }
        }
        entries.push(Entry {
            name,
            kind,
            size: said.size,
        });
    }

    spans.sort();
    let mut at = 0u64;
    for (start, end, name) in &spans {
        if *start > at {
            problems.push(layout(format!(
                "bytes {at}..{start}, before {name:?}, belong to no entry: a streaming extractor may find a hidden one there"
            )));
        } else if *start < at {
            problems.push(layout(format!("{name:?} overlaps the entry before it")));
        }
        at = at.max(*end);
    }
    if at < cd_start {
        problems.push(layout(format!(
            "bytes {at}..{cd_start}, before the central directory, belong to no entry: a streaming extractor may find a hidden one there"
        )));
    } else if at > cd_start {
        problems.push(layout(
            "the last entry runs into the central directory".into(),
        ));
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Opened {
        archive,
        entries,
        problems,
    })
}
