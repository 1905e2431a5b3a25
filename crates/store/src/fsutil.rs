//! Durable, private file operations shared by keys, backups, restores and salvage.
//!
//! Every file that replaces another is written to a temporary name in the same folder, flushed to disk
//! (`fsync`), renamed over the target and the folder itself flushed: a crash (kill -9, power loss) leaves
//! either the old file or the new one, never a half-written one, and the rename survives the crash.
//! Everything is created private from the first byte (files 0600, folders 0700) instead of being
//! restricted after the fact, so there is no window in which another user could open it; a umask of 022
//! does not widen them.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::error::{Result, StoreError};

/// Create `dir` (and missing parents) as 0700, and make an existing `dir` 0700.
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| StoreError::io(dir, e))?;
    restrict(dir, 0o700)
}

/// Set `path`'s permission bits (no-op off Unix).
#[cfg(unix)]
pub(crate) fn restrict(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| StoreError::io(path, e))
}

#[cfg(not(unix))]
pub(crate) fn restrict(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

/// Open a new file that must not exist yet, readable and writable by its owner only.
pub(crate) fn create_private(path: &Path) -> Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path).map_err(|e| StoreError::io(path, e))
}

/// Flush a folder's entries (a rename or a new file in it) to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|f| f.sync_all()).map_err(|e| StoreError::io(dir, e))?;
    }
    Ok(())
}

/// Flush a file's contents to disk.
pub(crate) fn sync_file(path: &Path) -> Result<()> {
    OpenOptions::new().read(true).open(path).and_then(|f| f.sync_all()).map_err(|e| StoreError::io(path, e))
}

/// The folder a path lives in ("." for a bare file name).
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A hidden temporary name beside `target`: `.<name>.<tag>-<random>`.
pub(crate) fn temp_beside(target: &Path, tag: &str) -> PathBuf {
    let mut r = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut r);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
    parent_of(target).join(format!(".{name}.{tag}-{}", hex::encode(r)))
}

/// Replace `path` with `bytes` atomically and durably; the file is 0600.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_beside(path, "tmp");
    let result = (|| {
        let mut f = create_private(&tmp)?;
        f.write_all(bytes).map_err(|e| write_error(&tmp, e))?;
        f.sync_all().map_err(|e| write_error(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
        sync_dir(&parent_of(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write a new file `path` (refused if it exists; its folder must exist), 0600, durably: exports and the
/// like, which must never leave half a file under the name the user gave.
pub fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.exists() {
        return Err(StoreError::Invalid {
            field: "file",
            message: format!("{} already exists; choose a new file name", path.display()),
        });
    }
    let folder = parent_of(path);
    if !folder.is_dir() {
        return Err(StoreError::Invalid {
            field: "file",
            message: format!("the folder {} does not exist; create it first", folder.display()),
        });
    }
    write_atomic(path, bytes)
}

/// Rename `from` to `to` and flush both folders.
pub(crate) fn rename_durable(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| StoreError::io(from, e))?;
    sync_dir(&parent_of(to))?;
    if parent_of(from) != parent_of(to) {
        sync_dir(&parent_of(from))?;
    }
    Ok(())
}

/// An I/O error from writing `path`, worded for the two ways a disk refuses more bytes.
pub(crate) fn write_error(path: &Path, e: std::io::Error) -> StoreError {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => StoreError::DiskFull {
            path: path.to_path_buf(),
            reason: "the disk is full (or the user's quota is used up)".into(),
        },
        ErrorKind::FileTooLarge => StoreError::DiskFull {
            path: path.to_path_buf(),
            reason: "the file grew past the size limit this process may write".into(),
        },
        _ => StoreError::io(path, e),
    }
}

/// Remove a file if it exists.
pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// A temporary file some operation is still writing: `<file>.lock`, held with an exclusive advisory lock
/// for as long as this value lives (and removed with it). Cleaning up after crashes skips files whose
/// lock is held, so one process's cleanup never deletes the temporary files of a backup another process
/// (the desktop app, say) is in the middle of; a crashed process's lock is released by the OS.
#[derive(Debug)]
pub(crate) struct InUse {
    lock: PathBuf,
    _file: File,
}

impl Drop for InUse {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    parent_of(path).join(name)
}

/// Mark `path` (about to be created) as in use until the returned guard is dropped.
pub(crate) fn mark_in_use(path: &Path) -> Result<InUse> {
    let lock = lock_path(path);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(|e| StoreError::io(&lock, e))?;
    file.lock().map_err(|e| StoreError::io(&lock, e))?;
    Ok(InUse { lock, _file: file })
}

/// Is another live operation still writing `path` (or the database it is a `-journal`/`-wal` of)?
fn in_use(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let lock = if name.ends_with(".lock") {
        path.to_path_buf()
    } else {
        let base = ["-journal", "-wal", "-shm"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(&name);
        parent_of(path).join(format!("{base}.lock"))
    };
    match OpenOptions::new().write(true).open(&lock) {
        Ok(f) => match f.try_lock() {
            Ok(()) => false,
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(_)) => true,
        },
        Err(_) => false,
    }
}

/// Remove the files in `dir` that `leftover` selects and no live operation holds (see [`InUse`]).
pub(crate) fn remove_leftovers(dir: &Path, leftover: impl Fn(&str) -> bool) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if !leftover(&name) || in_use(&path) {
            continue;
        }
        // A lock file whose holder is gone goes too; a file whose lock is free is a crash's leftover.
        let _ = std::fs::remove_file(&path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temp_behind() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("f.json");
        write_atomic(&p, b"first").expect("write");
        write_atomic(&p, b"second, longer").expect("replace");
        assert_eq!(std::fs::read(&p).expect("read"), b"second, longer", "the new contents replace the old");
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("list").flatten().map(|e| e.file_name()).collect();
        assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
        #[cfg(unix)]
        assert_eq!(mode(&p), 0o600, "the file is private");
    }

    #[cfg(unix)]
    #[test]
    fn private_dirs_are_0700_even_when_they_existed() {
        let dir = tempfile::tempdir().expect("dir");
        let d = dir.path().join("a/b");
        private_dir(&d).expect("create");
        assert_eq!(mode(&d), 0o700, "created 0700");
        restrict(&d, 0o755).expect("widen");
        private_dir(&d).expect("again");
        assert_eq!(mode(&d), 0o700, "an existing folder is narrowed to 0700");
    }

    #[test]
    fn leftovers_of_live_operations_are_kept_and_those_of_crashed_ones_removed() {
        let dir = tempfile::tempdir().expect("dir");
        let live = dir.path().join("backup-live.db");
        let crashed = dir.path().join("backup-crashed.db");
        let guard = mark_in_use(&live).expect("mark");
        std::fs::write(&live, b"x").expect("live");
        std::fs::write(live.with_extension("db-journal"), b"x").expect("its journal");
        {
            let _crashed_guard = mark_in_use(&crashed).expect("mark");
            std::fs::write(&crashed, b"x").expect("crashed");
        }
        // A process killed mid-way leaves its file and (here, recreated) an unheld lock.
        std::fs::write(lock_path(&crashed), b"").expect("stale lock");
        remove_leftovers(dir.path(), |_| true);
        assert!(live.exists() && live.with_extension("db-journal").exists(), "a live operation's files stay");
        assert!(!crashed.exists() && !lock_path(&crashed).exists(), "a crashed one's files and lock go");
        drop(guard);
        assert!(!lock_path(&live).exists(), "the guard removes its lock when done");
        remove_leftovers(dir.path(), |_| true);
        assert!(!live.exists(), "and once done, leftovers are removed");
    }

    #[test]
    fn create_private_refuses_an_existing_file() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("x");
        create_private(&p).expect("first");
        assert!(create_private(&p).is_err(), "an existing file is never truncated");
    }
}
