//! Per-table SQL, written once from the catalog: the local statements a pull runs for every row, and the
//! server statement that reads one page of a table's changes.

use std::sync::OnceLock;

use crate::tables::{Column, Table, TABLES};

/// The synced columns of `t` other than `deleted` (which travels as the row's tombstone).
pub(crate) fn columns(t: &Table) -> Vec<Column> {
    t.all_columns().into_iter().filter(|c| c.name != "deleted").collect()
}

/// The SQL of one synced table.
#[derive(Debug)]
pub struct Plan {
    pub table: &'static Table,
    /// The synced columns but `deleted`, in the order of every value list below.
    pub cols: Vec<Column>,
    /// Where `trade_id` sits in `cols`, for tables whose rows feed a trade's summary.
    pub trade_id: Option<usize>,
    /// Where `account_id` and `net_pnl` sit in `cols` (trades: the account's running total follows them).
    pub account_id: Option<usize>,
    pub net_pnl: Option<usize>,
    /// `SELECT <cols>, deleted FROM t WHERE id = ?1`
    pub select: String,
    /// `INSERT OR ROLLBACK INTO t (<cols>, deleted) VALUES (...)`: the fast path of a pull. A failing row
    /// rolls the whole transaction back (no statement journal is kept), and the pull then applies that
    /// chunk again row by row with [`Plan::insert_checked`].
    pub insert: String,
    /// `INSERT INTO t (...)`: one row, its failure undone alone (under a savepoint).
    pub insert_checked: String,
    /// `UPDATE t SET <cols but id> = ..., deleted = ... WHERE id = ?1`, the id first and the other columns
    /// in order.
    pub update: String,
    /// The server SELECT of one page of the table's changed rows: the synced columns, the tombstone, the
    /// field stamps and the version, in version order, after `$1` (the cursor, then the last version of
    /// the previous page), outside the device's own ranges (`$2`, `$3`: their bounds), at most `$4` rows.
    pub pull: String,
}

impl Plan {
    fn new(t: &'static Table) -> Plan {
        let cols = columns(t);
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        let marks: Vec<String> = (1..=cols.len() + 1).map(|i| format!("?{i}")).collect();
        let mut sets: Vec<String> = Vec::new();
        for c in cols.iter().filter(|c| c.name != "id") {
            sets.push(format!("{} = ?{}", c.name, sets.len() + 2));
        }
        sets.push(format!("deleted = ?{}", sets.len() + 2));
        let at = |name: &str| cols.iter().position(|c| c.name == name);
        let is = |name: &str| t.name == name;
        Plan {
            table: t,
            trade_id: if is("executions") { at("trade_id") } else { None },
            account_id: if is("trades") { at("account_id") } else { None },
            net_pnl: if is("trades") { at("net_pnl") } else { None },
            select: format!("SELECT {}, deleted FROM {} WHERE id = ?1", names.join(", "), t.name),
            insert: format!(
                "INSERT OR ROLLBACK INTO {} ({}, deleted) VALUES ({})",
                t.name,
                names.join(", "),
                marks.join(", ")
            ),
            insert_checked: format!(
                "INSERT INTO {} ({}, deleted) VALUES ({})",
                t.name,
                names.join(", "),
                marks.join(", ")
            ),
            update: format!("UPDATE {} SET {} WHERE id = ?1", t.name, sets.join(", ")),
            pull: format!(
                "SELECT {}, deleted, field_hlcs, server_seq FROM trenddojo.{} WHERE server_seq > $1 \
                 AND NOT EXISTS (SELECT 1 FROM unnest($2::int8[], $3::int8[]) AS own (lo, hi) \
                                 WHERE server_seq > own.lo AND server_seq <= own.hi) \
                 ORDER BY server_seq LIMIT $4",
                names.join(", "),
                t.name
            ),
            cols,
        }
    }
}

/// The plan of a synced table.
pub fn plan(t: &Table) -> &'static Plan {
    static PLANS: OnceLock<Vec<Plan>> = OnceLock::new();
    let plans = PLANS.get_or_init(|| TABLES.iter().map(Plan::new).collect());
    // Every table in TABLES has a plan; a `Table` value that is not in the catalog cannot be built
    // outside this crate, so the first plan is never reached in practice.
    plans.iter().find(|p| p.table.name == t.name).unwrap_or(&plans[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_a_plan_whose_statements_list_its_columns() {
        for t in TABLES {
            let p = plan(t);
            assert_eq!(p.table.name, t.name, "{}: its own plan", t.name);
            for c in &p.cols {
                assert!(p.select.contains(c.name) && p.pull.contains(c.name), "{}.{} is read", t.name, c.name);
            }
            assert!(!p.cols.iter().any(|c| c.name == "deleted"), "{}: the tombstone travels apart", t.name);
        }
        assert!(plan(crate::tables::table("executions").expect("executions")).trade_id.is_some(), "fills feed trades");
        let trades = plan(crate::tables::table("trades").expect("trades"));
        assert!(trades.account_id.is_some() && trades.net_pnl.is_some(), "trades feed their account's total");
    }
}
