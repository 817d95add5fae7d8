//! `comity pdq`: hash images, publish signed hash lists, match against them (all local).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use comity_pdq::list::{
    HashList, ListEntry, ListMatch, MatchKind, Matcher, NodeId, SeriesId, SignedListUpdate,
    Timestamp, VerifyingKey, decode_list_file, encode_list_file, key_to_hex, signing_key_from_hex,
    verifying_key_from_hex,
};
use comity_pdq::{
    DEFAULT_RADIUS, DecodeLimits, ExactDigests, PdqError, PdqHash, exact_digests,
    hash_image_bytes_dihedral,
};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

const IMAGE_EXTENSIONS: [&str; 8] = ["jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff"];
/// Files hashed between two writes to standard output, so output streams in input order.
const BATCH: usize = 256;

#[derive(clap::Subcommand)]
pub enum PdqCommand {
    /// Hash images with PDQ. Prints `HASH QUALITY PATH` per image (hash in 64 hex digits, quality
    /// 0-100; below 50 the picture is too featureless to match reliably). Folders are walked
    /// recursively for image files; unreadable files are reported on standard error and make the
    /// exit status 1.
    Hash {
        /// Image files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Match images (in all eight orientations) or 64-digit hashes against signed hash lists.
    /// Prints one line per match naming the list, entry, contributor and series. Exit status: 0 if
    /// something matched, 1 if nothing did, 2 on error.
    Match {
        /// Image files, folders, or PDQ hashes.
        #[arg(required = true)]
        targets: Vec<String>,
        /// A list file (repeatable); each is verified from version 1 before use.
        #[arg(long = "list", value_name = "FILE", required_unless_present = "dir")]
        lists: Vec<PathBuf>,
        /// A publisher's public key as NODE=HEX (repeatable); lists by other publishers are refused.
        #[arg(long = "key", value_name = "NODE=HEX", required_unless_present = "dir")]
        keys: Vec<String>,
        /// Match against the lists of the running node whose directory this is, instead of list
        /// files: images are hashed here and only their hashes go to the node.
        #[arg(long, conflicts_with_all = ["lists", "keys"])]
        dir: Option<PathBuf>,
        /// Largest Hamming distance that counts as a match.
        #[arg(long, default_value_t = DEFAULT_RADIUS)]
        radius: u32,
    },
    /// Append a signed version to a list file (created at version 1 if absent), adding the hashes
    /// read from `comity pdq hash` output. Prints the publisher's public key on standard error.
    Publish {
        #[arg(long = "list", value_name = "FILE")]
        list: PathBuf,
        /// List id for a new list, e.g. `fr-ocl/csam-baseline`.
        #[arg(long = "list-id")]
        list_id: Option<String>,
        /// Publishing node (and contributor of the entries).
        #[arg(long)]
        node: String,
        /// File holding the publisher's Ed25519 private key seed in 64 hex digits.
        #[arg(long = "signing-key", value_name = "FILE")]
        signing_key: PathBuf,
        #[arg(long)]
        category: String,
        /// Opaque series reference in hex, known only to the contributor.
        #[arg(long)]
        series: Option<String>,
        #[arg(long = "victim-identified")]
        victim_identified: bool,
        /// Entry ids to revoke in this version.
        #[arg(long = "revoke", value_name = "ID")]
        revoke: Vec<u64>,
        /// Output of `comity pdq hash`; `-` reads standard input.
        hashes: Option<PathBuf>,
    },
    /// Lists shared through a running node: publish, subscribe, show, notify.
    #[command(flatten)]
    Shared(crate::pdqshare::ShareCommand),
}

pub fn run(cmd: PdqCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PdqCommand::Hash { paths } => hash_command(&paths),
        PdqCommand::Match {
            targets,
            dir: Some(dir),
            radius,
            ..
        } => crate::pdqshare::match_via_node(&dir, &targets, radius),
        PdqCommand::Match {
            targets,
            lists,
            keys,
            radius,
            dir: None,
        } => match_command(&targets, &lists, &keys, radius),
        PdqCommand::Shared(cmd) => crate::pdqshare::run(cmd),
        PdqCommand::Publish {
            list,
            list_id,
            node,
            signing_key,
            category,
            series,
            victim_identified,
            revoke,
            hashes,
        } => publish_command(PublishArgs {
            list,
            list_id,
            node,
            signing_key,
            category,
            series,
            victim_identified,
            revoke,
            hashes,
        }),
    }
}

fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Files named directly, plus image files under named folders (sorted, recursive). Problems
/// reading a folder are returned beside the files.
pub(crate) fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files, &mut problems);
        } else {
            files.push(path.clone());
        }
    }
    (files, problems)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<(PathBuf, String)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push((dir.to_path_buf(), e.to_string()));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, files, problems);
        } else if is_image_name(&path) {
            files.push(path);
        }
    }
}

fn progress(total: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} images, {per_sec}, {eta} left")
    {
        bar.set_style(style);
    }
    bar
}

pub(crate) struct Hashed {
    pub(crate) hashes: comity_pdq::DihedralHashes,
    pub(crate) sha256: [u8; 32],
    pub(crate) md5: [u8; 16],
}

fn hash_file(path: &Path) -> Result<Hashed, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let hashes = hash_image_bytes_dihedral(&bytes, &DecodeLimits::default())
        .map_err(|e: PdqError| format!("{e} [{}]", e.code()))?;
    let digests = exact_digests(&bytes);
    Ok(Hashed {
        hashes,
        sha256: digests.sha256,
        md5: digests.md5,
    })
}

/// Hashes files on every core, calling `each` in input order batch by batch. Returns the number
/// of failures, already reported on standard error.
pub(crate) fn hash_files(
    files: &[PathBuf],
    mut each: impl FnMut(&Path, &Hashed) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let bar = progress(files.len());
    let mut failures = 0;
    for batch in files.chunks(BATCH) {
        let results: Vec<Result<Hashed, String>> = batch
            .par_iter()
            .map(|path| {
                let r = hash_file(path);
                bar.inc(1);
                r
            })
            .collect();
        for (path, result) in batch.iter().zip(results) {
            match result {
                Ok(hashed) => each(path, &hashed)?,
                Err(reason) => {
                    failures += 1;
                    bar.suspend(|| eprintln!("{}: {reason}", path.display()));
                }
            }
        }
    }
    bar.finish_and_clear();
    Ok(failures)
}

pub(crate) fn report_problems(problems: &[(PathBuf, String)]) {
    for (path, reason) in problems {
        eprintln!("{}: {reason}", path.display());
    }
}

fn hash_command(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let (files, problems) = collect_files(paths);
    report_problems(&problems);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let failures = hash_files(&files, |path, hashed| {
        writeln!(
            out,
            "{} {} {}",
            hashed.hashes.hashes[0],
            hashed.hashes.quality,
            path.display()
        )?;
        Ok(())
    })?;
    out.flush()?;
    if some_unhashed(failures + problems.len(), files.len()) {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_keys(keys: &[String]) -> anyhow::Result<BTreeMap<NodeId, VerifyingKey>> {
    keys.iter()
        .map(|k| {
            let (node, hex) = k
                .split_once('=')
                .with_context(|| format!("--key {k:?}: expected NODE=HEX"))?;
            let node: NodeId = node.parse().with_context(|| format!("--key {k:?}"))?;
            let key = verifying_key_from_hex(hex).with_context(|| format!("--key {k:?}"))?;
            Ok((node, key))
        })
        .collect()
}

fn load_list(path: &Path, keys: &BTreeMap<NodeId, VerifyingKey>) -> anyhow::Result<HashList> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let updates = decode_list_file(&bytes).with_context(|| format!("{}", path.display()))?;
    let Some(first) = updates.first() else {
        bail!("{}: the list file holds no version", path.display())
    };
    let publisher = &first.update.publisher;
    let key = keys.get(publisher).with_context(|| {
        format!(
            "{}: published by {publisher}; give its key with --key {publisher}=HEX",
            path.display()
        )
    })?;
    HashList::replay(&updates, key).with_context(|| format!("{}", path.display()))
}

fn describe(target: &str, m: &ListMatch) -> String {
    let kind = match m.kind {
        MatchKind::Pdq { distance, variant } => {
            format!("pdq distance={distance} variant={}", variant.code())
        }
        MatchKind::Sha256 => "sha256".to_owned(),
        MatchKind::Md5 => "md5".to_owned(),
    };
    format!(
        "{target}\tlist={} entry={} contributor={} series={} category={} victim-identified={} match={kind}",
        m.list,
        m.entry,
        m.contributor,
        m.series
            .as_ref()
            .map_or("-".to_owned(), ToString::to_string),
        m.category,
        if m.victim_identified { "yes" } else { "no" },
    )
}

fn match_command(
    targets: &[String],
    lists: &[PathBuf],
    keys: &[String],
    radius: u32,
) -> anyhow::Result<ExitCode> {
    let keys = parse_keys(keys)?;
    let mut matcher = Matcher::new();
    for path in lists {
        matcher.add_list(load_list(path, &keys)?)?;
    }
    let mut matched = false;
    let mut paths = Vec::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for target in targets {
        match target.parse::<PdqHash>() {
            Ok(hash) => {
                for m in matcher.match_pdq(&hash, radius) {
                    matched = true;
                    writeln!(out, "{}", describe(target, &m))?;
                }
            }
            Err(_) => paths.push(PathBuf::from(target)),
        }
    }
    let (files, problems) = collect_files(&paths);
    report_problems(&problems);
    let failures = hash_files(&files, |path, hashed| {
        let mut found = matcher.match_sha256(&hashed.sha256);
        found.extend(matcher.match_md5(&hashed.md5));
        found.extend(matcher.match_dihedral(&hashed.hashes, radius));
        if hashed.hashes.quality < 50 {
            eprintln!(
                "{}: quality {} is low; PDQ matches are unreliable",
                path.display(),
                hashed.hashes.quality
            );
        }
        for m in found {
            matched = true;
            writeln!(out, "{}", describe(&path.display().to_string(), &m))?;
        }
        Ok(())
    })?;
    out.flush()?;
    if some_unhashed(failures + problems.len(), files.len()) {
        return Ok(ExitCode::from(2));
    }
    Ok(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

struct PublishArgs {
    list: PathBuf,
    list_id: Option<String>,
    node: String,
    signing_key: PathBuf,
    category: String,
    series: Option<String>,
    victim_identified: bool,
    revoke: Vec<u64>,
    hashes: Option<PathBuf>,
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_unix_ms(ms)
}

fn publish_command(a: PublishArgs) -> anyhow::Result<ExitCode> {
    let seed = std::fs::read_to_string(&a.signing_key)
        .with_context(|| format!("reading {}", a.signing_key.display()))?;
    let sk = signing_key_from_hex(&seed).with_context(|| format!("{}", a.signing_key.display()))?;
    let vk = sk.verifying_key();
    let node: NodeId = a.node.parse().context("--node")?;
    let issued_at = now();
    let mut history: Vec<SignedListUpdate> = if a.list.exists() {
        let bytes =
            std::fs::read(&a.list).with_context(|| format!("reading {}", a.list.display()))?;
        decode_list_file(&bytes).with_context(|| format!("{}", a.list.display()))?
    } else {
        Vec::new()
    };
    let existing = if history.is_empty() {
        None
    } else {
        Some(HashList::replay(&history, &vk).with_context(|| format!("{}", a.list.display()))?)
    };
    let mut update = match &existing {
        Some(list) => list.next_update(issued_at),
        None => {
            let id = a
                .list_id
                .as_deref()
                .context("--list-id is needed to start a new list")?;
            comity_pdq::list::ListUpdate {
                list: id.parse()?,
                publisher: node.clone(),
                version: 1,
                previous: [0; 32],
                issued_at,
                added: Vec::new(),
                revoked: Vec::new(),
            }
        }
    };
    let first_id = existing.as_ref().map_or(1, HashList::next_entry_id);
    let text = match a.hashes.as_deref() {
        None => String::new(),
        Some(p) if p == Path::new("-") => std::io::read_to_string(std::io::stdin())?,
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
    };
    let category: comity_pdq::list::Category = a.category.parse()?;
    let series = a.series.as_deref().map(SeriesId::from_hex).transpose()?;
    for (id, line) in (first_id..).zip(hash_lines(&text)) {
        let (pdq, quality, digests) = line?;
        update.added.push(ListEntry {
            id,
            pdq,
            quality,
            sha256: digests.map(|d| d.sha256),
            md5: digests.map(|d| d.md5),
            category: category.clone(),
            series: series.clone(),
            victim_identified: a.victim_identified,
            contributor: node.clone(),
            added_at: issued_at,
        });
    }
    update.revoked = a.revoke;
    let (added, version) = (update.added.len(), update.version);
    let signed = update.sign(&sk)?;
    history.push(signed);
    HashList::replay(&history, &vk).context("the new version does not verify")?;
    std::fs::write(&a.list, encode_list_file(&history))
        .with_context(|| format!("writing {}", a.list.display()))?;
    eprintln!(
        "{}: version {version}, {added} entries added; publisher key {}={}",
        a.list.display(),
        node,
        key_to_hex(&vk)
    );
    Ok(ExitCode::SUCCESS)
}

/// The entries of a `comity pdq hash` output (`HASH QUALITY PATH` lines, blank lines skipped),
/// with the exact digests of each file that can still be read.
pub(crate) fn hash_lines(
    text: &str,
) -> impl Iterator<Item = anyhow::Result<(PdqHash, u8, Option<ExactDigests>)>> + '_ {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let mut parts = line.splitn(3, ' ');
            let (Some(hash), Some(quality)) = (parts.next(), parts.next()) else {
                bail!("line {}: expected `HASH QUALITY PATH`", n + 1);
            };
            let pdq: PdqHash = hash.parse().with_context(|| format!("line {}", n + 1))?;
            let quality: u8 = quality
                .parse()
                .ok()
                .filter(|q| *q <= 100)
                .with_context(|| format!("line {}: quality 0-100", n + 1))?;
            let digests = parts
                .next()
                .and_then(|p| std::fs::read(p).ok())
                .map(|b| exact_digests(&b));
            Ok((pdq, quality, digests))
        })
}

/// Says on standard error how many files could not be hashed; true when there were any.
pub(crate) fn some_unhashed(unhashed: usize, total: usize) -> bool {
    if unhashed > 0 {
        eprintln!("{unhashed} of {total} files could not be hashed");
    }
    unhashed > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_yield_image_files_only() {
        assert!(is_image_name(Path::new("a/b.JPG")));
        assert!(is_image_name(Path::new("x.webp")));
        assert!(!is_image_name(Path::new("README.md")));
        assert!(!is_image_name(Path::new("noext")));
    }

    #[test]
    fn keys_are_node_equals_hex() {
        let hex = key_to_hex(&comity_pdq::list::SigningKey::from_bytes(&[3; 32]).verifying_key());
        let keys = parse_keys(&[format!("fr-ocl={hex}")]).unwrap();
        assert_eq!(keys.len(), 1);
        for bad in ["fr-ocl", "FR=00", &format!("fr-ocl={}", &hex[2..])] {
            assert!(parse_keys(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }
}
