//! Node directories are private: what `comity` creates is readable by its owner only, whatever
//! umask it was started with, and an older node's directory is made so when it is served again.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Mode of every file `comity` writes.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every folder `comity` creates.
pub const DIR_MODE: u32 = 0o700;
/// Changes of mode logged one by one when a directory is made private; the rest are counted.
const LOGGED_CHANGES: usize = 50;

/// Makes everything this process creates from now on private (files 0600, folders 0700 at
/// most), including what libraries create: SQLite's database, WAL and shared memory, the
/// evidence vault's objects, staging and exports.
pub fn restrict_umask() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates `dir` and its missing parents as private folders; an existing `dir` is made private.
pub fn create_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    set_mode(dir, DIR_MODE)
}

/// Sets the permission bits of `path`.
pub fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Makes `dir` and every folder (0700) and file (0600) under it private, leaving symbolic links
/// alone, and logs each change: a node written under a permissive umask by an older `comity`
/// held case text readable by every local user.
pub fn make_private(dir: &Path) -> Result<()> {
    let changed = tighten(dir)?;
    for (path, was, now) in changed.iter().take(LOGGED_CHANGES) {
        tracing::warn!(
            "{} was mode {was:o}: made private ({now:o})",
            path.display()
        );
    }
    if changed.len() > LOGGED_CHANGES {
        tracing::warn!(
            "{} more paths under {} made private",
            changed.len() - LOGGED_CHANGES,
            dir.display()
        );
    }
    Ok(())
}

/// The paths whose mode changed: (path, mode before, mode after).
#[cfg(unix)]
fn tighten(dir: &Path) -> Result<Vec<(PathBuf, u32, u32)>> {
    use std::os::unix::fs::PermissionsExt;
    let mut changed = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if meta.file_type().is_symlink() {
            continue;
        }
        let want = if meta.is_dir() { DIR_MODE } else { FILE_MODE };
        let was = meta.permissions().mode() & 0o7777;
        if was != want {
            set_mode(&path, want)?;
            changed.push((path.clone(), was, want));
        }
        if meta.is_dir() {
            let entries = std::fs::read_dir(&path)
                .with_context(|| format!("cannot list {}", path.display()))?;
            for entry in entries {
                todo.push(entry?.path());
            }
        }
    }
    changed.sort();
    Ok(changed)
}

#[cfg(not(unix))]
fn tighten(_dir: &Path) -> Result<Vec<(PathBuf, u32, u32)>> {
    Ok(Vec::new())
}
