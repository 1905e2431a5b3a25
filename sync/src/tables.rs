//! The synced tables and how each column travels, written down once for both sides.
//!
//! The local store keeps money, instants and ids as canonical TEXT and booleans as INTEGER; the server
//! keeps NUMERIC, timestamptz, uuid and boolean. This catalog names every synced column with its kind
//! (which fixes both representations and the JSON form in between) and its direction. A test
//! (`tests/sync_catalog.rs`) compares it with both real schemas, column by column, so a column added on
//! one side without a decision here fails the build instead of silently not syncing.

/// How a column is represented: local SQLite / server PostgreSQL / JSON in a mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// TEXT / uuid / string.
    Uuid,
    /// TEXT / text / string.
    Text,
    /// Canonical decimal TEXT / numeric / decimal string (never a JSON number).
    Decimal,
    /// INTEGER / integer / number.
    Int,
    /// INTEGER 0-1 / boolean / bool.
    Bool,
    /// RFC 3339 UTC TEXT with microseconds / timestamptz / string.
    Time,
    /// BLOB / bytea / base64 string (only client-sealed ciphertext).
    Bytes,
}

/// Which way a column's changes travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Edited on devices; merged per field on both sides.
    Both,
    /// Set by the server (identity, subscription tier): devices only receive it.
    PullOnly,
    /// Computed on the device from other rows (a trade's summary from its executions): pushed so the
    /// server can serve dashboards, but recomputed locally after a pull instead of merged.
    Derived,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    /// Columns besides the bookkeeping every synced table has (see [`COMMON`]).
    pub columns: &'static [Column],
    /// Columns only the local store has (never leave the device).
    pub local_only: &'static [&'static str],
}

const fn c(name: &'static str, kind: Kind, nullable: bool) -> Column {
    Column { name, kind, nullable, direction: Direction::Both }
}

const fn derived(name: &'static str, kind: Kind, nullable: bool) -> Column {
    Column { name, kind, nullable, direction: Direction::Derived }
}

const fn pull_only(name: &'static str, kind: Kind, nullable: bool) -> Column {
    Column { name, kind, nullable, direction: Direction::PullOnly }
}

use Kind::*;

/// Bookkeeping columns of every synced table: the row id, its owner, client times, the clock stamp of the
/// last change and the tombstone. (`users` has no `user_id`: its `id` is the owner.)
pub const COMMON: &[Column] = &[
    c("id", Uuid, false),
    c("user_id", Uuid, false),
    c("created_at", Time, false),
    c("updated_at", Time, false),
    c("updated_hlc", Text, false),
    c("deleted", Bool, false),
];

/// Columns only the server has: its change version (the pull cursor), receive time, and the stamp of each
/// field's current value (the device keeps its own stamps elsewhere).
pub const SERVER_ONLY: &[&str] = &["server_seq", "received_at", "field_hlcs"];

/// Every synced table, parents before children (the order a push applies and a pull inserts).
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            pull_only("email", Text, false),
            c("display_name", Text, false),
            pull_only("subscription_tier", Text, false),
        ],
        local_only: &["password_hash"],
    },
    Table {
        name: "accounts",
        columns: &[
            c("name", Text, false),
            c("currency", Text, false),
            c("starting_balance", Decimal, false),
            c("time_zone", Text, false),
            c("broker", Text, true),
            c("matching_method", Text, false),
            c("breakeven_tolerance", Decimal, false),
        ],
        local_only: &[],
    },
    Table {
        name: "risk_settings",
        columns: &[
            c("account_id", Uuid, false),
            c("max_risk_per_trade_pct", Decimal, false),
            c("max_daily_loss_pct", Decimal, false),
            c("max_weekly_loss_pct", Decimal, false),
            c("max_open_positions", Int, false),
            c("max_correlated_positions", Int, false),
            c("sizing_method", Text, false),
            c("fixed_amount", Decimal, true),
            c("fixed_quantity", Decimal, true),
            c("enforcement", Text, false),
        ],
        local_only: &[],
    },
    Table {
        name: "trades",
        columns: &[
            c("account_id", Uuid, false),
            c("symbol", Text, false),
            c("direction", Text, false),
            derived("status", Text, false),
            c("multiplier", Decimal, false),
            c("planned_entry", Decimal, true),
            c("planned_quantity", Decimal, true),
            c("initial_stop", Decimal, true),
            c("current_stop", Decimal, true),
            c("setup", Text, true),
            c("correlation_group", Text, true),
            derived("entered_quantity", Decimal, false),
            derived("open_quantity", Decimal, false),
            derived("avg_entry_price", Decimal, true),
            derived("avg_exit_price", Decimal, true),
            derived("gross_pnl", Decimal, false),
            derived("fees", Decimal, false),
            derived("net_pnl", Decimal, false),
            derived("initial_risk", Decimal, true),
            derived("r_multiple", Decimal, true),
            derived("exit_days", Text, true),
            derived("opened_at", Time, true),
            derived("closed_at", Time, true),
            c("cancelled_at", Time, true),
            derived("excess_quantity", Decimal, true),
            derived("review", Text, true),
            c("targets_set", Uuid, true),
        ],
        local_only: &[],
    },
    Table {
        name: "import_batches",
        columns: &[
            c("account_id", Uuid, false),
            c("file_name", Text, false),
            c("file_sha256", Text, false),
            c("format", Text, false),
            c("parser_version", Int, false),
            c("statement_tz", Text, false),
            c("new_count", Int, false),
            c("duplicate_count", Int, false),
            c("corrected_count", Int, false),
            c("cancelled_count", Int, false),
            c("rejected_count", Int, false),
            c("skipped_count", Int, false),
            c("trades_created", Int, false),
            c("trades_changed", Int, false),
            c("confirmed_by", Text, false),
            c("confirmed_at", Time, false),
            c("undone_by", Text, true),
            c("undone_at", Time, true),
        ],
        local_only: &[],
    },
    Table {
        name: "executions",
        columns: &[
            c("account_id", Uuid, false),
            c("trade_id", Uuid, false),
            c("side", Text, false),
            c("quantity", Decimal, false),
            c("price", Decimal, false),
            c("fees", Decimal, false),
            c("executed_at", Time, false),
            c("time_zone", Text, false),
            derived("realized_gross", Decimal, true),
            derived("realized_net", Decimal, true),
            // Where an imported fill came from (NULL on fills a user typed): see the local V9.
            c("import_batch_id", Uuid, true),
            c("broker", Text, true),
            c("broker_account", Text, true),
            c("broker_exec_id", Text, true),
            c("order_id", Text, true),
            c("asset_class", Text, true),
            c("instrument_key", Text, true),
            c("underlying", Text, true),
            c("expiry", Text, true),
            c("strike", Decimal, true),
            c("option_right", Text, true),
            c("future_root", Text, true),
            c("contract_month", Text, true),
            c("multiplier", Decimal, true),
            c("currency", Text, true),
            c("commission", Decimal, true),
            c("exchange_fee", Decimal, true),
            c("regulatory_fee", Decimal, true),
            c("other_fee", Decimal, true),
            c("raw_time", Text, true),
            c("statement_tz", Text, true),
            c("source_line", Int, true),
            c("fingerprint", Text, true),
            c("dedupe_key", Text, true),
            c("corrected_by_batch", Uuid, true),
            c("replaced", Text, true),
            c("removed_by_batch", Uuid, true),
        ],
        local_only: &[],
    },
    Table {
        name: "trade_stop_adjustments",
        columns: &[
            c("trade_id", Uuid, false),
            c("price", Decimal, false),
            c("adjusted_at", Time, false),
            c("reason", Text, true),
        ],
        local_only: &[],
    },
    Table {
        name: "trade_targets",
        columns: &[
            c("trade_id", Uuid, false),
            c("price", Decimal, false),
            c("quantity", Decimal, true),
            c("label", Text, true),
            c("set_id", Uuid, true),
        ],
        local_only: &[],
    },
    Table {
        name: "trade_notes",
        columns: &[
            c("account_id", Uuid, true),
            c("trade_id", Uuid, true),
            c("kind", Text, false),
            c("body", Text, false),
        ],
        local_only: &[],
    },
    Table {
        name: "trade_checklist_templates",
        columns: &[c("name", Text, false), c("description", Text, true), c("active", Bool, false)],
        local_only: &[],
    },
    Table {
        name: "trade_checklist_items",
        columns: &[
            c("template_id", Uuid, false),
            c("position", Int, false),
            c("prompt", Text, false),
            c("required", Bool, false),
        ],
        local_only: &[],
    },
    Table {
        name: "trade_checklist_responses",
        columns: &[
            c("trade_id", Uuid, false),
            c("item_id", Uuid, false),
            c("checked", Bool, false),
            c("comment", Text, true),
            c("answered_at", Time, false),
        ],
        local_only: &[],
    },
    Table {
        name: "broker_connections",
        columns: &[
            c("account_id", Uuid, true),
            c("broker", Text, false),
            c("label", Text, false),
            c("api_key_hint", Text, true),
            c("sealed_secret", Bytes, false),
            c("status", Text, false),
        ],
        local_only: &[],
    },
];

impl Table {
    /// Every synced column of the table: the common ones (without `user_id` for `users`) and its own.
    pub fn all_columns(&self) -> Vec<Column> {
        COMMON
            .iter()
            .filter(|c| !(self.name == "users" && c.name == "user_id"))
            .chain(self.columns.iter())
            .copied()
            .collect()
    }
}

/// The catalog entry of a table.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// A column users edit: synced both ways and not the change bookkeeping (`created_at`, `updated_at`,
/// `updated_hlc`, which every edit moves). These are the fields whose overridden values the conflict
/// log keeps, and the only ones a restore may put back.
pub fn edited_column(table_name: &str, field: &str) -> Option<Column> {
    if matches!(field, "created_at" | "updated_at" | "updated_hlc") {
        return None;
    }
    table(table_name)?.all_columns().into_iter().find(|c| c.name == field && c.direction == Direction::Both)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_money_is_never_an_int() {
        let mut names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLES.len(), "each table once");
        for t in TABLES {
            let cols = t.all_columns();
            let mut n: Vec<&str> = cols.iter().map(|c| c.name).collect();
            n.sort_unstable();
            n.dedup();
            assert_eq!(n.len(), cols.len(), "{}: each column once", t.name);
            for c in &cols {
                let moneyish = ["price", "pnl", "fees", "balance", "quantity", "amount", "risk"]
                    .iter()
                    .any(|m| c.name.contains(m));
                if moneyish && !c.name.starts_with("max_") {
                    assert_eq!(c.kind, Kind::Decimal, "{}.{} carries money or quantity: exact decimal", t.name, c.name);
                }
            }
        }
        assert_eq!(table("trades").map(|t| t.name), Some("trades"), "lookup by name");
    }
}
