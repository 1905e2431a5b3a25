//! Finding damage, and never papering over it.
//!
//! A store file that exists is never treated as new: a zero-length or cut-short `trenddojo.db`, a WAL
//! whose committed frames fail their checksums, or a page that does not authenticate is reported as
//! [`StoreError::Damaged`] (the core maps it to exit code 10) together with the newest good backup and
//! how to get the data back. Nothing is migrated, overwritten or written after that:
//!
//! - **At open** ([`precheck`], [`check_open`]): the file is empty, ends inside a page, holds fewer pages
//!   than its header counts (with no WAL to supply them), holds no schema at all, or page 1 does not
//!   decrypt although the key check value proves the key right (flipped header bytes are damage, not a
//!   wrong passphrase). The WAL is checked before SQLite sees it, because SQLite itself silently stops
//!   reading a WAL at the first frame whose checksum fails, dropping every transaction after it, and the
//!   next write would overwrite them for good.
//! - **While working**: every SQLite error passes through `From<rusqlite::Error> for StoreError`, which
//!   notes `SQLITE_CORRUPT`/`SQLITE_NOTADB` on the current thread; [`crate::Store::read`] and
//!   [`crate::Store::write`] watch for that note around the caller's closure and turn its error into
//!   `Damaged` (a thread-local flag rather than a new bound on the closures' error types, so no caller
//!   changes). The same happens when `db check` or a backup's integrity check finds damage.
//! - **Remembered**: damage found once is written to `damaged.json` beside the store. While it is there
//!   the store opens for reading (so `export`, `db check` and `db recover` can still read what is
//!   readable) but refuses every write and migration. A restore or a recovery installs a new file and
//!   moves the marker aside with the damaged one; a `db check` that passes clears it.
//!
//! The WAL check follows SQLite's file format: a 32-byte header (magic, version, page size, salts,
//! checksum), then frames of a 24-byte header (page number, database size for commit frames, salts,
//! cumulative checksum) and a page. SQLite replays frames while salts match and the running checksum
//! holds. If, after the first frame that fails, a frame of the same generation (matching salts) is a
//! commit, committed transactions would be dropped: that is damage. A frame that is merely short at the
//! end of the file is a write cut off by a crash, which SQLite rightly ignores: nothing committed is lost
//! (a transaction is committed only once its commit frame is written in full).

use std::cell::Cell;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::db::StorePaths;
use crate::error::{Result, StoreError};

thread_local! {
    static CORRUPTION_SEEN: Cell<bool> = const { Cell::new(false) };
}

/// Is this SQLite error a sign of a damaged file?
pub(crate) fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

pub(crate) fn note_corruption() {
    CORRUPTION_SEEN.with(|c| c.set(true));
}

/// Run `f`, reporting whether a corruption error was converted on this thread meanwhile. Watches nest:
/// what an inner one saw stays visible to the outer one.
pub(crate) fn watch<T>(f: impl FnOnce() -> T) -> (T, bool) {
    let before = CORRUPTION_SEEN.with(|c| c.replace(false));
    let out = f();
    let seen = CORRUPTION_SEEN.with(|c| c.get());
    CORRUPTION_SEEN.with(|c| c.set(before || seen));
    (out, seen)
}

/// The marker file's name in the data folder.
pub(crate) const MARKER_FILE: &str = "damaged.json";

/// What `damaged.json` records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DamageMarker {
    pub detected_at: String,
    pub what: String,
}

pub(crate) fn marker_path(paths: &StorePaths) -> PathBuf {
    paths.home.join(MARKER_FILE)
}

/// The recorded damage, if any (an unreadable marker still counts as damage).
pub fn marker(paths: &StorePaths) -> Option<DamageMarker> {
    let p = marker_path(paths);
    let text = std::fs::read_to_string(&p).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|_| DamageMarker {
        detected_at: String::new(),
        what: "damage was recorded (damaged.json is unreadable)".into(),
    }))
}

/// Record damage (first finding wins: a later, vaguer symptom does not replace it).
pub(crate) fn mark(paths: &StorePaths, what: &str) {
    if marker_path(paths).exists() || !paths.home.is_dir() {
        return;
    }
    let m = DamageMarker { detected_at: crate::clock::fmt_ts(Utc::now()), what: what.to_string() };
    if let Ok(text) = serde_json::to_string_pretty(&m) {
        // Best effort: failing to write the marker must not hide the damage being reported.
        let _ = crate::fsutil::write_atomic(&marker_path(paths), text.as_bytes());
    }
}

pub(crate) fn clear(paths: &StorePaths) -> Result<()> {
    crate::fsutil::remove_if_exists(&marker_path(paths))
}

/// What to do about damage: the newest good backup, or salvage.
pub(crate) fn advice(paths: &StorePaths) -> String {
    match crate::backup::newest_good_backup(paths) {
        Some(b) => format!(
            "Nothing was changed. The newest good backup is {} (made {}): restore it, or salvage what is still \
             readable",
            b.path.display(),
            b.created_at,
        ),
        None => format!(
            "Nothing was changed. No good backup was found in {}: restore one you keep elsewhere, or salvage what \
             is still readable",
            paths.backups.display()
        ),
    }
}

/// [`advice`] for shells and use cases: what to do about damage in this store.
pub fn advice_for(paths: &StorePaths) -> String {
    advice(paths)
}

/// The error for damage found in this store (also recorded in the marker).
pub(crate) fn damaged(paths: &StorePaths, what: impl Into<String>) -> StoreError {
    let what = what.into();
    mark(paths, &what);
    StoreError::Damaged { home: paths.home.clone(), advice: advice(paths), what }
}

/// Checks before SQLite touches the files: an empty database file, a damaged WAL.
pub(crate) fn precheck(paths: &StorePaths) -> Result<()> {
    match find_before_open(paths)? {
        Some(what) => Err(damaged(paths, what)),
        None => Ok(()),
    }
}

/// [`precheck`] without recording anything: does it find damage?
pub(crate) fn precheck_quiet(paths: &StorePaths) -> bool {
    matches!(find_before_open(paths), Ok(Some(_)))
}

fn find_before_open(paths: &StorePaths) -> Result<Option<String>> {
    let len = std::fs::metadata(&paths.db).map_err(|e| StoreError::io(&paths.db, e))?.len();
    if len == 0 {
        return Ok(Some(format!("{} is empty (0 bytes): the file was truncated or zeroed", paths.db.display())));
    }
    // Every page size SQLite allows is a multiple of 512.
    if len % 512 != 0 {
        return Ok(Some(format!(
            "{} ends inside a page ({len} bytes is not a whole number of pages): it was cut short",
            paths.db.display()
        )));
    }
    check_wal_stable(&wal_path(&paths.db))
}

pub(crate) fn wal_path(db: &Path) -> PathBuf {
    db.with_extension("db-wal")
}

/// Checks on an open connection: whole pages, every page the header counts, a schema at all.
pub(crate) fn check_open(paths: &StorePaths, conn: &rusqlite::Connection) -> Result<()> {
    // SQLCipher answers this pragma itself, as text.
    let page_size: rusqlite::types::Value = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let page_size: i64 = match page_size {
        rusqlite::types::Value::Integer(n) => n,
        rusqlite::types::Value::Text(t) => t.trim().parse().unwrap_or(4096),
        _ => 4096,
    };
    let page_count: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let len = std::fs::metadata(&paths.db).map_err(|e| StoreError::io(&paths.db, e))?.len();
    let page_size = u64::try_from(page_size).unwrap_or(4096).max(512);
    if len % page_size != 0 {
        return Err(damaged(
            paths,
            format!(
                "{} ends inside a page ({len} bytes is not a whole number of {page_size}-byte pages): it was cut short",
                paths.db.display()
            ),
        ));
    }
    let wal_len = std::fs::metadata(wal_path(&paths.db)).map(|m| m.len()).unwrap_or(0);
    let pages_on_disk = len / page_size;
    if wal_len == 0 && pages_on_disk < u64::try_from(page_count).unwrap_or(0) {
        return Err(damaged(
            paths,
            format!(
                "{} holds {pages_on_disk} pages but its header counts {page_count}: it was cut short",
                paths.db.display()
            ),
        ));
    }
    if page_count == 0 || crate::migrations::current_version(conn)? == 0 {
        return Err(damaged(
            paths,
            format!("{} holds no TrendDojo schema (an emptied or foreign file)", paths.db.display()),
        ));
    }
    Ok(())
}

/// [`check_wal`], repeated once when it finds damage: a process that has the store open may restart the
/// WAL between our reads of its header and its frames, which looks like damage for an instant.
fn check_wal_stable(wal: &Path) -> Result<Option<String>> {
    let first = check_wal(wal)?;
    if first.is_none() {
        return Ok(None);
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    check_wal(wal)
}

const WAL_MAGIC_LE: u32 = 0x377f_0682;
const WAL_MAGIC_BE: u32 = 0x377f_0683;
const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// SQLite's WAL checksum, continued from `s` over `data` (a multiple of 8 bytes).
fn wal_checksum(big_endian: bool, mut s: (u32, u32), data: &[u8]) -> (u32, u32) {
    for w in data.chunks_exact(8) {
        let (x0, x1) = if big_endian {
            (u32::from_be_bytes([w[0], w[1], w[2], w[3]]), u32::from_be_bytes([w[4], w[5], w[6], w[7]]))
        } else {
            (u32::from_le_bytes([w[0], w[1], w[2], w[3]]), u32::from_le_bytes([w[4], w[5], w[6], w[7]]))
        };
        s.0 = s.0.wrapping_add(x0).wrapping_add(s.1);
        s.1 = s.1.wrapping_add(x1).wrapping_add(s.0);
    }
    s
}

/// A description of WAL damage that would lose committed transactions, or `None` when SQLite can replay
/// everything committed in it.
pub(crate) fn check_wal(wal: &Path) -> Result<Option<String>> {
    let bytes = match std::fs::read(wal) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(wal, e)),
    };
    Ok(wal_damage(&bytes).map(|what| format!("the write-ahead log {} {what}", wal.display())))
}

fn wal_damage(bytes: &[u8]) -> Option<String> {
    // Shorter than a header: nothing was ever committed to it.
    if bytes.len() <= WAL_HEADER {
        return None;
    }
    let magic = be32(bytes, 0);
    let big_endian = magic == WAL_MAGIC_BE;
    let page_size = usize::try_from(be32(bytes, 8)).unwrap_or(0);
    let header_ok = (magic == WAL_MAGIC_LE || magic == WAL_MAGIC_BE)
        && be32(bytes, 4) == 3_007_000
        && (512..=65536).contains(&page_size)
        && page_size.is_power_of_two()
        && wal_checksum(big_endian, (0, 0), &bytes[..24]) == (be32(bytes, 24), be32(bytes, 28));
    if !header_ok {
        // SQLite ignores a WAL whose header is bad, with every transaction in it. It never writes such a
        // header itself: a restart rewrites it only after every frame was copied into the database.
        return Some(format!(
            "has a damaged header ({} bytes of transactions in it cannot be read); it was overwritten or zeroed",
            bytes.len()
        ));
    }
    let salts = (be32(bytes, 16), be32(bytes, 20));
    let frame = FRAME_HEADER + page_size;
    let frames = (bytes.len() - WAL_HEADER) / frame;
    let mut sum = (be32(bytes, 24), be32(bytes, 28));
    let mut first_bad: Option<usize> = None;
    let mut lost_commits = 0usize;
    for i in 0..frames {
        let at = WAL_HEADER + i * frame;
        let f = &bytes[at..at + frame];
        let same_generation = (be32(f, 8), be32(f, 12)) == salts;
        let commit = be32(f, 4) != 0;
        match first_bad {
            None => {
                let next = wal_checksum(big_endian, wal_checksum(big_endian, sum, &f[..8]), &f[FRAME_HEADER..]);
                if same_generation && next == (be32(f, 16), be32(f, 20)) {
                    sum = next;
                } else if same_generation {
                    first_bad = Some(i);
                    lost_commits += usize::from(commit);
                } else {
                    // An older generation's frame: the log legitimately ends here, unless a frame of this
                    // generation comes later (checked below).
                    first_bad = Some(i);
                }
            }
            Some(_) => {
                if same_generation && commit {
                    lost_commits += 1;
                }
            }
        }
    }
    match (first_bad, lost_commits) {
        (Some(i), n) if n > 0 => Some(format!(
            "fails its checksum at frame {} of {frames}; {n} committed transaction(s) from there on would be lost",
            i + 1
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A WAL is read before SQLite sees it: arbitrary bytes (a valid header followed by anything, or
        /// anything at all) never panic the check.
        #[test]
        fn arbitrary_wal_bytes_never_panic(rest in proptest::collection::vec(any::<u8>(), 0..3000), valid_header in any::<bool>()) {
            let mut b = if valid_header { wal(0, 512) } else { Vec::new() };
            b.extend_from_slice(&rest);
            let _ = wal_damage(&b);
        }
    }

    /// A WAL in SQLite's format with `commits` transactions of one page each.
    fn wal(commits: u32, page_size: usize) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&WAL_MAGIC_LE.to_be_bytes());
        b.extend_from_slice(&3_007_000u32.to_be_bytes());
        b.extend_from_slice(&(page_size as u32).to_be_bytes());
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&0x1111_2222u32.to_be_bytes());
        b.extend_from_slice(&0x3333_4444u32.to_be_bytes());
        let s = wal_checksum(false, (0, 0), &b[..24]);
        b.extend_from_slice(&s.0.to_be_bytes());
        b.extend_from_slice(&s.1.to_be_bytes());
        let mut sum = s;
        for i in 0..commits {
            let mut h = Vec::new();
            h.extend_from_slice(&(i + 1).to_be_bytes());
            h.extend_from_slice(&(i + 1).to_be_bytes());
            h.extend_from_slice(&0x1111_2222u32.to_be_bytes());
            h.extend_from_slice(&0x3333_4444u32.to_be_bytes());
            let page: Vec<u8> = (0..page_size).map(|j| (j as u32 ^ i) as u8).collect();
            sum = wal_checksum(false, wal_checksum(false, sum, &h[..8]), &page);
            h.extend_from_slice(&sum.0.to_be_bytes());
            h.extend_from_slice(&sum.1.to_be_bytes());
            b.extend_from_slice(&h);
            b.extend_from_slice(&page);
        }
        b
    }

    #[test]
    fn an_intact_wal_is_not_damage() {
        assert_eq!(wal_damage(&wal(5, 512)), None, "five good commits");
        assert_eq!(wal_damage(&[]), None, "an empty WAL");
        assert_eq!(wal_damage(&wal(0, 512)), None, "a header alone");
    }

    #[test]
    fn a_write_cut_off_at_the_end_is_not_damage() {
        let w = wal(5, 512);
        assert_eq!(wal_damage(&w[..w.len() - 100]), None, "a short last frame was never committed");
    }

    #[test]
    fn a_flipped_byte_before_later_commits_is_damage() {
        let mut w = wal(5, 512);
        let frame2_page = WAL_HEADER + (FRAME_HEADER + 512) + FRAME_HEADER + 10;
        w[frame2_page] ^= 1;
        let what = wal_damage(&w).expect("damage found");
        assert!(what.contains("frame 2 of 5") && what.contains("4 committed"), "says where and what: {what}");
    }

    #[test]
    fn a_flipped_byte_in_the_last_commit_is_damage_too() {
        let mut w = wal(3, 512);
        let last = w.len() - 7;
        w[last] ^= 0x80;
        let what = wal_damage(&w).expect("damage found");
        assert!(what.contains("frame 3 of 3") && what.contains("1 committed"), "{what}");
    }

    #[test]
    fn a_zeroed_or_overwritten_header_is_damage() {
        let w = wal(3, 512);
        let zeroed = vec![0u8; w.len()];
        assert!(wal_damage(&zeroed).is_some_and(|m| m.contains("damaged header")), "a zeroed WAL");
        let mut flipped = w.clone();
        flipped[17] ^= 1;
        assert!(wal_damage(&flipped).is_some(), "a flipped salt in the header");
    }

    #[test]
    fn frames_of_an_older_generation_after_the_log_are_not_damage() {
        let mut w = wal(4, 512);
        // The last two frames belong to an earlier generation (other salts): a restarted, shorter log.
        for i in 2..4 {
            let at = WAL_HEADER + i * (FRAME_HEADER + 512) + 8;
            w[at] ^= 0xff;
        }
        assert_eq!(wal_damage(&w), None, "stale frames after a restart are ignored, as SQLite does");
    }

    #[test]
    fn the_thread_flag_sees_only_conversions_inside_the_watch() {
        note_corruption();
        let ((), seen) = watch(|| ());
        assert!(!seen, "a flag set before the watch does not count");
        let ((), seen) = watch(note_corruption);
        assert!(seen, "a conversion inside the watch counts");
        let ((_, inner), outer) = watch(|| watch(note_corruption));
        assert!(inner && outer, "what a nested watch saw, the outer one sees too");
    }
}
