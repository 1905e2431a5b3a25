//! The desktop app's trade list over a journal of any size.
//!
//! Why this is not one SQL query: a filter or sort change must paint its first rows well inside 50 ms at
//! 100 000 trades, and each page of a scroll must come back in a few milliseconds. In SQL the list needs the
//! number of matching trades (a status or setup filter reads every trade's table row: about a second at
//! 100 000 trades in an encrypted store), a sort of them (`net_pnl COLLATE decimal` has no index across
//! accounts), and `OFFSET` walks every row it skips. Adding an index per filter and sort would tax every
//! write, which the bulk paths cannot afford (see docs/benchmarks.md).
//!
//! So the list keeps a compact index of the user's live trades in memory: only what it filters and sorts on
//! (about 90 bytes a trade, symbols and setups interned), built in one scan of the table. Each sort order is
//! a permutation computed on first use; a filter is one pass over it, and its result is kept for the pages
//! that follow; a page is a primary-key lookup per row. Version check, catch-up, filter and row lookups run
//! in one read transaction, so the count, the order and the rows all come from one snapshot.
//!
//! Staying current without rebuilding: `PRAGMA data_version` on the list's own read connection changes
//! whenever another connection commits (this process's writer, background sync, another process on the same
//! file). Then the index catches up from what the database itself records: local edits write a change-log
//! entry naming each trade they touch, so those trades are read again and patched in (a few lookups, then a
//! re-sort on the next request); the sync engine's applies are not logged row by row, so they move a counter
//! (`applied_epoch`, local migration V12, once per applying transaction) and the index is built again, as it
//! is after more than [`PATCH_LIMIT`] edits. A commit that touched no trade costs two small reads.
//!
//! Filters and orders are exactly those of [`crate::trades::page`], the SQL form, which stays as the reference
//! the tests compare this one against (ties broken by id, so pages never overlap or skip).

#[cfg(test)]
use std::cmp::Ordering;
use std::cmp::Reverse;
use std::collections::HashMap;

use rusqlite::Connection;
use rust_decimal::Decimal;
use uuid::Uuid;

use trenddojo_domain::{Direction, TradeStatus};

use crate::clock::parse_ts;
use crate::error::{Result, StoreError};
use crate::trades::{map_trade, PageQuery, PageSort, Trade, TRADE_COLS};

/// What the list filters and sorts a trade on.
#[derive(Debug, Clone)]
struct Entry {
    id: Uuid,
    /// Opened at, microseconds since the epoch (planned trades have none).
    opened: Option<i64>,
    net_pnl: Decimal,
    r_multiple: Option<Decimal>,
    account: u32,
    /// Index into [`Index::symbols`].
    symbol: u32,
    /// Index into [`Index::setups`], or [`NO_SETUP`].
    setup: u32,
    status: TradeStatus,
    direction: Direction,
}

const NO_SETUP: u32 = u32::MAX;
const SORTS: [PageSort; 7] = [
    PageSort::Newest,
    PageSort::Oldest,
    PageSort::PnlDesc,
    PageSort::PnlAsc,
    PageSort::RDesc,
    PageSort::RAsc,
    PageSort::Symbol,
];

/// Local writes touching more trades than this since the last request rebuild the index instead of patching
/// it (an import of thousands of trades: one scan is cheaper than thousands of lookups).
const PATCH_LIMIT: usize = 2_000;

const ENTRY_COLS: &str = "id, account_id, symbol, direction, status, setup, net_pnl, r_multiple, opened_at";

/// The index: one user's live trades as of one database version.
#[derive(Debug)]
struct Index {
    user_id: Uuid,
    /// `PRAGMA data_version` of the snapshot the index reflects.
    version: i64,
    /// `applied_epoch.n` then: the count of sync applies (pulls, resets), whose rows the change log does not
    /// list one by one (local migration V12).
    epoch: i64,
    /// The newest change-log entry then: local edits after it name the trades to read again.
    seq: i64,
    entries: Vec<Entry>,
    accounts: Vec<Uuid>,
    symbols: Vec<String>,
    symbol_ids: HashMap<String, u32>,
    /// Rank of each symbol in byte order (what `ORDER BY symbol` gives).
    symbol_rank: Vec<u32>,
    setups: Vec<String>,
    setup_ids: HashMap<String, u32>,
    /// Entry positions in each order of [`SORTS`], computed on first use.
    orders: [Option<Vec<u32>>; 7],
    /// The last filter's matches in its order (the pages of one filter are asked for one after another).
    last: Option<(PageQuery, Vec<u32>)>,
}

/// The trade list's cache: its own read connection and the current index. Held by the store behind a lock.
#[derive(Debug, Default)]
pub(crate) struct TradeList {
    conn: Option<Connection>,
    index: Option<Index>,
}

impl TradeList {
    /// Forget the connection and the index (the database file or its schema is being replaced).
    pub(crate) fn reset(&mut self) {
        self.index = None;
        self.conn = None;
    }

    /// One page of the list and how many trades match in all; `open` opens the read connection when there is
    /// none yet.
    pub(crate) fn page(
        &mut self,
        open: impl FnOnce() -> Result<Connection>,
        user_id: Uuid,
        q: &PageQuery,
    ) -> Result<(u64, Vec<Trade>)> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => open()?,
        };
        let out = Self::page_on(&mut self.index, &mut conn, user_id, q);
        self.conn = Some(conn);
        out
    }

    fn page_on(
        slot: &mut Option<Index>,
        conn: &mut Connection,
        user_id: Uuid,
        q: &PageQuery,
    ) -> Result<(u64, Vec<Trade>)> {
        let tx = conn.transaction()?;
        // A read of the table starts the read transaction; the version read after it is the snapshot's.
        tx.prepare_cached("SELECT 1 FROM trades WHERE rowid = -1")?.exists([])?;
        let version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let current = match slot.as_mut() {
            Some(i) if i.user_id == user_id && i.version == version => true,
            Some(i) if i.user_id == user_id => i.catch_up(&tx, version)?,
            _ => false,
        };
        if !current {
            // The old index goes before the new one is built: never two in memory.
            *slot = None;
        }
        let index = match slot.take() {
            Some(i) => i,
            None => Index::build(&tx, user_id, version)?,
        };
        let index = slot.insert(index);
        let (total, ids) = index.page_ids(q);
        let mut rows = Vec::with_capacity(ids.len());
        {
            let mut stmt = tx.prepare_cached(&format!("SELECT {TRADE_COLS} FROM trades WHERE id = ?1"))?;
            for id in ids {
                let trade = stmt.query_row([id.to_string()], map_trade)?;
                rows.push(trade);
            }
        }
        tx.commit()?;
        Ok((total, rows))
    }
}

/// The sync apply count and the newest change-log entry of the snapshot `conn` reads.
fn marks(conn: &Connection) -> Result<(i64, i64)> {
    Ok(conn
        .prepare_cached("SELECT (SELECT n FROM applied_epoch), (SELECT coalesce(max(seq), 0) FROM change_log)")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

impl Index {
    fn build(conn: &Connection, user_id: Uuid, version: i64) -> Result<Index> {
        let (epoch, seq) = marks(conn)?;
        let mut index = Index {
            user_id,
            version,
            epoch,
            seq,
            entries: Vec::new(),
            accounts: Vec::new(),
            symbols: Vec::new(),
            symbol_ids: HashMap::new(),
            symbol_rank: Vec::new(),
            setups: Vec::new(),
            setup_ids: HashMap::new(),
            orders: Default::default(),
            last: None,
        };
        // One pass over the table in storage order: cheaper than the user index's lookup per row.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLS} FROM trades NOT INDEXED WHERE user_id = ?1 AND deleted = 0"
        ))?;
        let mut rows = stmt.query([user_id.to_string()])?;
        while let Some(r) = rows.next()? {
            let e = index.entry(r)?;
            index.entries.push(e);
        }
        index.rank_symbols();
        Ok(index)
    }

    /// Bring the index to the snapshot `conn` reads (at `version`) by reading again the trades local edits
    /// touched since; false when it has to be built again instead (a sync apply, or too many edits).
    fn catch_up(&mut self, conn: &Connection, version: i64) -> Result<bool> {
        let (epoch, seq) = marks(conn)?;
        if epoch != self.epoch {
            return Ok(false);
        }
        if seq != self.seq {
            // A pull, reset or migration entry (applied with the guard, so normally already seen through the
            // epoch) rebuilds too: such entries name no trade.
            let mut stmt = conn.prepare_cached(
                "SELECT DISTINCT row_id, action IN ('pull', 'reset', 'migrate') FROM change_log WHERE seq > ?1 \
                 AND (table_name = 'trades' OR action IN ('pull', 'reset', 'migrate')) LIMIT ?2",
            )?;
            let limit = i64::try_from(PATCH_LIMIT + 1).unwrap_or(i64::MAX);
            let found: Vec<(String, bool)> = stmt
                .query_map(rusqlite::params![self.seq, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let ids: Option<Vec<Uuid>> =
                found.iter().map(|(id, bulk)| if *bulk { None } else { Uuid::parse_str(id).ok() }).collect();
            match ids {
                Some(ids) if ids.len() <= PATCH_LIMIT => self.patch(conn, &ids)?,
                _ => return Ok(false),
            }
        }
        self.version = version;
        self.seq = seq;
        Ok(true)
    }

    /// Read `ids` again: changed trades replace their entries, new ones are added, deleted ones (and trades of
    /// other users) leave.
    fn patch(&mut self, conn: &Connection, ids: &[Uuid]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLS} FROM trades WHERE id = ?1 AND user_id = ?2 AND deleted = 0"
        ))?;
        let user = self.user_id.to_string();
        let mut now: HashMap<Uuid, Option<Entry>> = HashMap::with_capacity(ids.len());
        for id in ids {
            let mut rows = stmt.query([id.to_string(), user.clone()])?;
            let e = match rows.next()? {
                Some(r) => Some(self.entry(r)?),
                None => None,
            };
            now.insert(*id, e);
        }
        self.entries.retain_mut(|e| match now.remove(&e.id) {
            Some(Some(n)) => {
                *e = n;
                true
            }
            Some(None) => false,
            None => true,
        });
        // What is left was not in the index: trades added (or brought back) since.
        self.entries.extend(now.into_values().flatten());
        self.rank_symbols();
        self.orders = Default::default();
        self.last = None;
        Ok(())
    }

    /// One row of [`ENTRY_COLS`] as an entry, its names interned.
    fn entry(&mut self, r: &rusqlite::Row<'_>) -> Result<Entry> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| StoreError::corrupt(format!("trade {what}: {e}"));
        let id = Uuid::parse_str(text(r, 0)?).map_err(|e| corrupt("id", &e))?;
        let account = Uuid::parse_str(text(r, 1)?).map_err(|e| corrupt("account_id", &e))?;
        let account = match self.accounts.iter().position(|a| *a == account) {
            Some(i) => i,
            None => {
                self.accounts.push(account);
                self.accounts.len() - 1
            }
        };
        let symbol = intern(&mut self.symbols, &mut self.symbol_ids, text(r, 2)?);
        let direction: Direction = text(r, 3)?.parse().map_err(|e| corrupt("direction", &e))?;
        let status: TradeStatus = text(r, 4)?.parse().map_err(|e| corrupt("status", &e))?;
        let setup = match text_opt(r, 5)? {
            Some(s) => intern(&mut self.setups, &mut self.setup_ids, s),
            None => NO_SETUP,
        };
        let net_pnl = Decimal::from_str_exact(text(r, 6)?).map_err(|e| corrupt("net_pnl", &e))?;
        let r_multiple = match text_opt(r, 7)? {
            Some(s) => Some(Decimal::from_str_exact(s).map_err(|e| corrupt("r_multiple", &e))?),
            None => None,
        };
        let opened = match text_opt(r, 8)? {
            Some(s) => Some(parse_ts(s)?.timestamp_micros()),
            None => None,
        };
        Ok(Entry {
            id,
            opened,
            net_pnl,
            r_multiple,
            account: u32::try_from(account).unwrap_or(u32::MAX),
            symbol,
            setup,
            status,
            direction,
        })
    }

    fn rank_symbols(&mut self) {
        let symbols = &self.symbols;
        let mut by_text: Vec<u32> = (0..symbols.len() as u32).collect();
        by_text.sort_unstable_by(|&a, &b| symbols[a as usize].cmp(&symbols[b as usize]));
        self.symbol_rank = vec![0u32; symbols.len()];
        for (rank, &s) in by_text.iter().enumerate() {
            self.symbol_rank[s as usize] = rank as u32;
        }
    }

    /// How many entries `q` matches and the ids of its page. The matches are kept for the next page of the
    /// same filter.
    fn page_ids(&mut self, q: &PageQuery) -> (u64, Vec<Uuid>) {
        let key = PageQuery { limit: 0, offset: 0, ..q.clone() };
        if !matches!(&self.last, Some((k, _)) if *k == key) {
            let found = self.filter(&key);
            self.last = Some((key, found));
        }
        let matches = self.last.as_ref().map(|(_, m)| m.as_slice()).unwrap_or(&[]);
        let from = usize::try_from(q.offset).unwrap_or(usize::MAX).min(matches.len());
        let to = from.saturating_add(q.limit as usize).min(matches.len());
        let ids = matches[from..to].iter().map(|&i| self.entries[i as usize].id).collect();
        (matches.len() as u64, ids)
    }

    fn filter(&mut self, q: &PageQuery) -> Vec<u32> {
        // Filters that name something this user has no trade with match nothing.
        let account = match q.account_id {
            Some(a) => match self.accounts.iter().position(|x| *x == a) {
                Some(i) => Some(i as u32),
                None => return Vec::new(),
            },
            None => None,
        };
        let setup = match &q.setup {
            Some(s) => match self.setups.iter().position(|x| x == s) {
                Some(i) => Some(i as u32),
                None => return Vec::new(),
            },
            None => None,
        };
        let prefix = q.symbol_prefix.as_deref().filter(|p| !p.is_empty());
        let symbol_ok: Option<Vec<bool>> = prefix.map(|p| self.symbols.iter().map(|s| s.starts_with(p)).collect());
        let from = q.from.map(|t| t.timestamp_micros());
        let to = q.to.map(|t| t.timestamp_micros());
        let slot = SORTS.iter().position(|s| *s == q.sort).unwrap_or(0);
        if self.orders[slot].is_none() {
            self.orders[slot] = Some(self.order(q.sort));
        }
        let order = self.orders[slot].as_deref().unwrap_or(&[]);
        order
            .iter()
            .copied()
            .filter(|&i| {
                let e = &self.entries[i as usize];
                account.is_none_or(|a| e.account == a)
                    && (q.statuses.is_empty() || q.statuses.contains(&e.status))
                    && symbol_ok.as_ref().is_none_or(|ok| ok[e.symbol as usize])
                    && q.direction.is_none_or(|d| e.direction == d)
                    && setup.is_none_or(|s| e.setup == s)
                    && from.is_none_or(|f| e.opened.is_some_and(|o| o >= f))
                    && to.is_none_or(|t| e.opened.is_some_and(|o| o < t))
            })
            .collect()
    }

    /// All entries in one sort order, ties broken by id as the SQL form does (`compare`, in the tests, defines it).
    ///
    /// Each order is a sort of compact keys laid out next to each other (the value, the id, the position)
    /// rather than of positions compared through the entries: the entries are ~90 bytes apart, and a sort
    /// of 100 000 positions that reads them spent most of its 17-28 ms on cache misses. The keys are
    /// total orders (every id differs), so the unstable sort is deterministic.
    fn order(&self, sort: PageSort) -> Vec<u32> {
        let (e, rank) = (&self.entries, &self.symbol_rank);
        let id = |x: &Entry| x.id.as_u128();
        // Missing values sort last both ways: `true` after `false`.
        let opened_desc = |x: &Entry| (x.opened.is_none(), Reverse(x.opened.unwrap_or(0)));
        match sort {
            PageSort::Newest => keyed(e, |x| (opened_desc(x), Reverse(id(x)))),
            PageSort::Oldest => keyed(e, |x| (x.opened.is_none(), x.opened.unwrap_or(0), id(x))),
            // Decimals as fixed-point integers where every value fits (comparing two decimals of different
            // scales rescales one: most of a P&L sort's time), exact decimals otherwise.
            PageSort::PnlDesc if e.iter().all(|x| fixed(x.net_pnl).is_some()) => {
                keyed(e, |x| (Reverse(fixed(x.net_pnl)), id(x)))
            }
            PageSort::PnlAsc if e.iter().all(|x| fixed(x.net_pnl).is_some()) => keyed(e, |x| (fixed(x.net_pnl), id(x))),
            PageSort::PnlDesc => keyed(e, |x| (Reverse(x.net_pnl), id(x))),
            PageSort::PnlAsc => keyed(e, |x| (x.net_pnl, id(x))),
            PageSort::RDesc | PageSort::RAsc if e.iter().all(|x| x.r_multiple.is_none_or(|r| fixed(r).is_some())) => {
                let r = |x: &Entry| x.r_multiple.and_then(fixed);
                if sort == PageSort::RDesc {
                    keyed(e, |x| (r(x).is_none(), Reverse(r(x).unwrap_or(0)), id(x)))
                } else {
                    keyed(e, |x| (r(x).is_none(), r(x).unwrap_or(0), id(x)))
                }
            }
            PageSort::RDesc => keyed(e, |x| (x.r_multiple.is_none(), Reverse(x.r_multiple.unwrap_or_default()), id(x))),
            PageSort::RAsc => keyed(e, |x| (x.r_multiple.is_none(), x.r_multiple.unwrap_or_default(), id(x))),
            PageSort::Symbol => keyed(e, |x| (rank[x.symbol as usize], opened_desc(x), id(x))),
        }
    }
}

/// A decimal as an integer count of 10^-12 (the finest amount the store keeps), when it has at most 12
/// places and fits: the same order as the decimals, compared without rescaling.
fn fixed(d: Decimal) -> Option<i128> {
    let places = d.scale();
    if places > 12 {
        return None;
    }
    d.mantissa().checked_mul(10i128.pow(12 - places))
}

/// Positions of `entries` ordered by `key`.
fn keyed<K: Ord>(entries: &[Entry], key: impl Fn(&Entry) -> K) -> Vec<u32> {
    let mut keys: Vec<(K, u32)> = entries.iter().zip(0u32..).map(|(x, i)| (key(x), i)).collect();
    keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    keys.into_iter().map(|(_, i)| i).collect()
}

/// The order of two entries in `sort` (`rank`: each symbol's rank in byte order): the definition the keyed
/// sorts of [`Index::order`] are tested against.
#[cfg(test)]
fn compare(sort: PageSort, rank: &[u32], a: &Entry, b: &Entry) -> Ordering {
    match sort {
        // `ORDER BY opened_at DESC, id DESC`: planned trades (no opened_at) last.
        PageSort::Newest => nulls_last(a.opened, b.opened, true).then(b.id.cmp(&a.id)),
        PageSort::Oldest => nulls_last(a.opened, b.opened, false).then(a.id.cmp(&b.id)),
        PageSort::PnlDesc => b.net_pnl.cmp(&a.net_pnl).then(a.id.cmp(&b.id)),
        PageSort::PnlAsc => a.net_pnl.cmp(&b.net_pnl).then(a.id.cmp(&b.id)),
        PageSort::RDesc => nulls_last(a.r_multiple, b.r_multiple, true).then(a.id.cmp(&b.id)),
        PageSort::RAsc => nulls_last(a.r_multiple, b.r_multiple, false).then(a.id.cmp(&b.id)),
        PageSort::Symbol => rank[a.symbol as usize]
            .cmp(&rank[b.symbol as usize])
            .then(nulls_last(a.opened, b.opened, true))
            .then(a.id.cmp(&b.id)),
    }
}

/// Values in order (descending when `desc`), missing ones after all of them.
#[cfg(test)]
fn nulls_last<T: Ord>(a: Option<T>, b: Option<T>, desc: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if desc => b.cmp(&a),
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn text<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> Result<&'a str> {
    r.get_ref(i)?.as_str().map_err(|e| StoreError::corrupt(format!("trade list column {i}: {e}")))
}

fn text_opt<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> Result<Option<&'a str>> {
    r.get_ref(i)?.as_str_or_null().map_err(|e| StoreError::corrupt(format!("trade list column {i}: {e}")))
}

fn intern(names: &mut Vec<String>, ids: &mut HashMap<String, u32>, name: &str) -> u32 {
    // Names are never forgotten while the index lives (a symbol whose last trade left keeps its number).
    if let Some(&i) = ids.get(name) {
        return i;
    }
    let i = names.len() as u32;
    names.push(name.to_owned());
    ids.insert(name.to_owned(), i);
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{self, NewAccount};
    use crate::key::{KeySource, Passphrase};
    use crate::trades::{self, NewTrade};
    use crate::users::{insert_user, NewUser, Tier};
    use crate::Store;
    use chrono::{DateTime, TimeZone, Utc};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use trenddojo_domain::money::Money;
    use trenddojo_domain::trade::MatchingMethod;

    const SYMBOLS: [&str; 7] = ["A", "AA", "AAPL", "AB", "MSFT", "ES", "É"];
    const SETUPS: [&str; 4] = ["breakout", "pullback", "gap", "break"];
    const STATUSES: [TradeStatus; 6] = [
        TradeStatus::Planned,
        TradeStatus::Open,
        TradeStatus::PartiallyClosed,
        TradeStatus::Closed,
        TradeStatus::Cancelled,
        TradeStatus::NeedsReview,
    ];

    fn day(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("a valid instant") + chrono::Duration::hours(n * 7)
    }

    /// Insert trades with random columns (ties in P&L, R and opening time on purpose), or change and delete
    /// existing ones.
    fn scribble(store: &Store, rng: &mut StdRng, users: &[Uuid], accounts: &[(Uuid, Uuid)], new: usize) {
        store
            .write(|tx| {
                for _ in 0..new {
                    let (user_id, account_id) = accounts[rng.gen_range(0..accounts.len())];
                    let id = trades::insert_trade(
                        tx,
                        &NewTrade {
                            user_id,
                            account_id,
                            symbol: SYMBOLS[rng.gen_range(0..SYMBOLS.len())].into(),
                            direction: if rng.gen_bool(0.5) { Direction::Long } else { Direction::Short },
                            multiplier: Decimal::ONE,
                            planned_entry: None,
                            planned_quantity: None,
                            initial_stop: None,
                            setup: rng.gen_bool(0.7).then(|| SETUPS[rng.gen_range(0..SETUPS.len())].into()),
                            correlation_group: None,
                        },
                    )?;
                    set_random(tx, rng, id)?;
                }
                // Change or delete a few of the trades already there.
                let ids: Vec<String> = tx
                    .prepare("SELECT id FROM trades WHERE deleted = 0 ORDER BY random() LIMIT 5")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                // Sometimes as the sync engine applies pulled rows: with the guard held, nothing logged.
                let guarded = rng.gen_bool(0.25);
                if guarded {
                    tx.execute("INSERT INTO sync_apply_guard (one) VALUES (1)", [])?;
                }
                for id in ids {
                    match rng.gen_range(0..10) {
                        0..=1 => tx.execute("UPDATE trades SET deleted = 1 WHERE id = ?1", [&id]).map(drop)?,
                        2 => {
                            tx.execute("DELETE FROM trade_targets WHERE trade_id = ?1", [&id])?;
                            tx.execute("DELETE FROM trades WHERE id = ?1", [&id]).map(drop)?
                        }
                        _ => set_random(tx, rng, Uuid::parse_str(&id).expect("a stored id"))?,
                    }
                }
                if guarded {
                    tx.execute("DELETE FROM sync_apply_guard", [])?;
                }
                Ok::<_, StoreError>(())
            })
            .expect("write random trades");
        let _ = users;
    }

    fn set_random(tx: &crate::Tx<'_>, rng: &mut StdRng, id: Uuid) -> Result<()> {
        let status = STATUSES[rng.gen_range(0..STATUSES.len())];
        let opened = (status != TradeStatus::Planned).then(|| crate::clock::fmt_ts(day(rng.gen_range(0..60))));
        let pnl = ["0", "12.5", "-12.5", "100", "-0.01", "99999999.99", "12.50001"][rng.gen_range(0..7)];
        let r = rng.gen_bool(0.6).then(|| ["1.5", "-1", "0", "2.25", "-0.5"][rng.gen_range(0..5)]);
        tx.execute(
            "UPDATE trades SET status = ?2, opened_at = ?3, net_pnl = ?4, r_multiple = ?5 WHERE id = ?1",
            rusqlite::params![id.to_string(), status.as_str(), opened, pnl, r],
        )?;
        Ok(())
    }

    fn random_query(rng: &mut StdRng, accounts: &[(Uuid, Uuid)]) -> PageQuery {
        let mut statuses = Vec::new();
        if rng.gen_bool(0.4) {
            for _ in 0..rng.gen_range(1..3) {
                statuses.push(STATUSES[rng.gen_range(0..STATUSES.len())]);
            }
        }
        PageQuery {
            // Sometimes an account of the other user (matches nothing for this one).
            account_id: rng.gen_bool(0.3).then(|| accounts[rng.gen_range(0..accounts.len())].1),
            statuses,
            symbol_prefix: rng.gen_bool(0.3).then(|| ["A", "AA", "M", "", "É", "Z"][rng.gen_range(0..6)].into()),
            direction: rng.gen_bool(0.2).then_some(Direction::Short),
            setup: rng.gen_bool(0.2).then(|| ["breakout", "gap", "nothing"][rng.gen_range(0..3)].into()),
            from: rng.gen_bool(0.2).then(|| day(rng.gen_range(0..60))),
            to: rng.gen_bool(0.2).then(|| day(rng.gen_range(0..60))),
            sort: SORTS[rng.gen_range(0..SORTS.len())],
            limit: rng.gen_range(1..40),
            offset: if rng.gen_bool(0.3) { 0 } else { rng.gen_range(0..300) },
        }
    }

    /// The in-memory list answers every query exactly as the SQL form does (count, order, rows), while
    /// trades are added, changed and deleted between queries, for two users.
    #[test]
    fn the_index_answers_exactly_as_the_sql_form() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::init(dir.path(), &KeySource::Passphrase(Passphrase::new("list test").expect("passphrase")))
            .expect("init");
        let mut rng = StdRng::seed_from_u64(0x7d1_2026);
        let (users, accounts) = store
            .write(|tx| {
                let mut users = Vec::new();
                let mut accounts = Vec::new();
                for u in 0..2 {
                    let user = insert_user(
                        tx,
                        &NewUser {
                            email: format!("list{u}@example.com"),
                            display_name: format!("List {u}"),
                            password_hash: None,
                            tier: Tier::Pro,
                        },
                    )?;
                    users.push(user.id);
                    for a in 0..2 {
                        let account = accounts::insert(
                            tx,
                            &NewAccount {
                                user_id: user.id,
                                name: format!("Account {u}-{a}"),
                                currency: "USD".into(),
                                starting_balance: Money::parse("x", "10000").expect("money"),
                                time_zone: "UTC".into(),
                                broker: None,
                                matching_method: MatchingMethod::Fifo,
                                breakeven_tolerance: Money::parse("x", "0").expect("money"),
                            },
                        )?;
                        accounts.push((user.id, account.id));
                    }
                }
                Ok::<_, StoreError>((users, accounts))
            })
            .expect("users and accounts");
        let mut compared = 0;
        for round in 0..40 {
            // One round adds more trades than the list patches one by one (it builds again instead).
            scribble(&store, &mut rng, &users, &accounts, if round == 20 { PATCH_LIMIT + 100 } else { 15 });
            for _ in 0..25 {
                let user = users[rng.gen_range(0..users.len())];
                let q = random_query(&mut rng, &accounts);
                let (want_total, want) = store.read(|c| trades::page(c, user, &q)).expect("the SQL form");
                let (total, got) = store.trade_page(user, &q).expect("the list");
                assert_eq!(total, want_total, "round {round}: the count of {q:?}");
                let ids = |v: &[Trade]| v.iter().map(|t| t.id).collect::<Vec<_>>();
                assert_eq!(ids(&got), ids(&want), "round {round}: the page of {q:?}");
                assert_eq!(
                    got.iter().map(|t| (t.net_pnl.to_string(), t.status)).collect::<Vec<_>>(),
                    want.iter().map(|t| (t.net_pnl.to_string(), t.status)).collect::<Vec<_>>(),
                    "round {round}: the rows are the current ones"
                );
                compared += usize::from(!want.is_empty());
            }
        }
        assert!(compared > 300, "most of the 1000 queries had rows to compare ({compared} did)");
    }

    #[test]
    fn keyed_sorts_order_as_the_comparison_defines() {
        let mut rng = StdRng::seed_from_u64(3);
        let pick = |rng: &mut StdRng, n: i64| rng.gen_range(-n..=n);
        let entries: Vec<Entry> = (0..3000)
            .map(|_| Entry {
                id: Uuid::from_bytes(rng.gen()),
                opened: (rng.gen_range(0..10) > 0).then(|| pick(&mut rng, 50)),
                net_pnl: Decimal::new(pick(&mut rng, 40), rng.gen_range(0..3)),
                r_multiple: (rng.gen_range(0..5) > 0).then(|| Decimal::new(pick(&mut rng, 9), rng.gen_range(0..2))),
                account: 0,
                symbol: rng.gen_range(0..7),
                setup: NO_SETUP,
                status: TradeStatus::Closed,
                direction: Direction::Long,
            })
            .collect();
        let rank: Vec<u32> = vec![3, 0, 6, 1, 5, 2, 4];
        // Once as stored amounts are (at most 12 places: fixed-point keys), once with a value of 14 places
        // and one too large for them (the exact decimal keys).
        let mut odd = entries.clone();
        odd[7].net_pnl = Decimal::new(123_456_789_012_345, 14);
        odd[8].r_multiple = Some(Decimal::new(-5, 14));
        odd[9].net_pnl = Decimal::MAX;
        assert!(fixed(Decimal::MAX).is_none() && fixed(Decimal::new(1, 13)).is_none(), "the fallback is taken");
        for entries in [entries, odd] {
            let index = Index {
                user_id: Uuid::nil(),
                version: 0,
                epoch: 0,
                seq: 0,
                entries: entries.clone(),
                accounts: Vec::new(),
                symbols: Vec::new(),
                symbol_ids: HashMap::new(),
                symbol_rank: rank.clone(),
                setups: Vec::new(),
                setup_ids: HashMap::new(),
                orders: Default::default(),
                last: None,
            };
            for sort in SORTS {
                let mut expected: Vec<u32> = (0..entries.len() as u32).collect();
                expected.sort_by(|&a, &b| compare(sort, &rank, &entries[a as usize], &entries[b as usize]));
                assert_eq!(
                    index.order(sort),
                    expected,
                    "{sort:?}: ties in value (equal P&L, R and times), missing values"
                );
            }
        }
    }

    #[test]
    fn missing_values_sort_last_both_ways() {
        assert_eq!(nulls_last(Some(1), None, false), Ordering::Less, "a value before a missing one, ascending");
        assert_eq!(nulls_last(Some(1), None, true), Ordering::Less, "a value before a missing one, descending");
        assert_eq!(nulls_last(Some(1), Some(2), true), Ordering::Greater, "descending puts 2 first");
        assert_eq!(nulls_last::<i32>(None, None, true), Ordering::Equal, "two missing values tie");
    }

    #[test]
    fn uuid_order_is_the_order_of_its_stored_text() {
        // The SQL form breaks ties by the id's text; the index by the Uuid value. They must agree.
        let mut ids: Vec<Uuid> = (0..500).map(|_| Uuid::from_bytes(rand::random())).collect();
        ids.extend((0..500).map(|_| Uuid::now_v7()));
        let mut by_value = ids.clone();
        by_value.sort();
        let mut by_text = ids;
        by_text.sort_by_key(|u| u.to_string());
        assert_eq!(by_value, by_text, "hyphenated lower-case text sorts like the 16 bytes");
    }
}
