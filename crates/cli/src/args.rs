//! Command-line grammar. The names here are a contract: scripts and tests call them.
//!
//! Every number a user types is taken as text (`allow_hyphen_values` where a `-` may start it) and handed
//! to the core, which parses it and refuses it with the field's own message (`limit: expected a whole
//! number ...`, `multiplier: expected a positive decimal ...`). Left to clap, `--limit -1` would read as an
//! unknown flag `-1`, and a typed integer would fail with clap's wording instead of the field's.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// TrendDojo: an encrypted, offline-first trading journal and risk manager.
#[derive(Debug, Parser)]
#[command(name = "trenddojo", version, about, propagate_version = true)]
pub struct Cli {
    /// Data folder (default: $XDG_DATA_HOME/trenddojo or ~/.local/share/trenddojo).
    #[arg(long, global = true, env = "TRENDDOJO_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Read the store passphrase from the first line of standard input (instead of the OS keyring).
    #[arg(long, global = true)]
    pub passphrase_stdin: bool,
    /// Act as this user (email) instead of the store's active user.
    #[arg(long, global = true, value_name = "EMAIL")]
    pub user: Option<String>,
    /// Unlock with the recovery key, read from standard input (the line after the passphrase, if both).
    #[arg(long, global = true)]
    pub recovery_key_stdin: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new encrypted store with a first user.
    Init(InitArgs),
    /// Users of this store.
    #[command(subcommand)]
    User(UserCmd),
    /// Schema, seed data, backups and integrity.
    #[command(subcommand)]
    Db(DbCmd),
    /// Trading accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Trades and their executions.
    #[command(subcommand)]
    Trade(TradeCmd),
    /// Journal notes.
    #[command(subcommand)]
    Note(NoteCmd),
    /// Pre-trade checklists.
    #[command(subcommand)]
    Checklist(ChecklistCmd),
    /// Risk rules and position sizing.
    #[command(subcommand)]
    Risk(RiskCmd),
    /// Performance statistics (see docs/metrics.md).
    Stats(StatsArgs),
    /// Broker connections (API secrets are sealed on this device).
    #[command(subcommand)]
    Broker(BrokerCmd),
    /// The PostgreSQL/Supabase server: development cluster, environments, users, audit.
    #[command(subcommand)]
    Server(ServerCmd),
    /// Sync with the server as your own user (TRENDDOJO_SERVER_URL: postgresql://role:password@host/db).
    Sync(SyncArgs),
    /// The store key's protection: passphrase, OS keyring, recovery key.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Write every account, trade, execution, note and checklist answer to an open format.
    Export(ExportArgs),
    /// Read a `trenddojo export --format json` file into this store (which must hold no accounts or trades).
    ImportBackup { file: PathBuf },
    /// Import a broker's export (IBKR, thinkorswim, Tradovate, MT5, Tastytrade, Webull, a mapped CSV, a
    /// TrendDojo export): shows a preview and asks before writing. `import list`, `import undo BATCH`.
    Import(ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// How the key is protected and whether the recovery key is confirmed.
    Status,
    /// Show the recovery key again (only until it is confirmed).
    ShowRecovery,
    /// Confirm you wrote the recovery key down: reads it from standard input and checks it; afterwards it is
    /// no longer kept on this machine.
    ConfirmRecovery,
    /// Make a new recovery key (backups made before keep opening with the old one).
    CreateRecovery,
    /// Protect the key with a new passphrase (old backups keep opening with theirs and the recovery key).
    ChangePassphrase {
        /// Read the new passphrase from standard input (the line after any other secrets) instead of
        /// prompting twice.
        #[arg(long)]
        new_passphrase_stdin: bool,
    },
    /// Move the key from the OS keyring to a passphrase.
    UsePassphrase {
        #[arg(long)]
        new_passphrase_stdin: bool,
    },
    /// Move the key from a passphrase into the OS keyring.
    UseKeyring,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// json (everything, for `import-backup`) or csv (executions, the `trenddojo-v1` format)
    #[arg(long)]
    pub format: String,
    /// A new file (an existing one is never overwritten).
    pub file: PathBuf,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ImportArgs {
    /// The export to import.
    pub file: Option<PathBuf>,
    /// The TrendDojo account the fills go into (name or id).
    #[arg(long)]
    pub account: Option<String>,
    /// Read the file as this format instead of detecting it (ibkr_flex_csv, ibkr_flex_xml,
    /// ibkr_activity_csv, schwab, tradovate_fills, tradovate_orders, tradovate_performance, mt5_html,
    /// mt5_xlsx, tastytrade, webull, generic, trenddojo).
    #[arg(long)]
    pub format: Option<String>,
    /// The IANA time zone the file's times are in (MT5: the broker server's zone), when not the format's.
    #[arg(long, value_name = "TZ")]
    pub tz: Option<String>,
    /// A generic CSV's column mapping: a saved mapping's name or a JSON file (see docs/imports.md).
    #[arg(long)]
    pub mapping: Option<String>,
    /// Save the mapping given with --mapping under this name.
    #[arg(long, value_name = "NAME")]
    pub save_mapping: Option<String>,
    /// The broker account for files that name none (Webull, Tastytrade, Tradovate Performance).
    #[arg(long)]
    pub broker_account: Option<String>,
    /// A contract multiplier, SYMBOL=VALUE (MT5 contract sizes, futures roots not in the table); repeatable.
    #[arg(long = "multiplier", value_name = "SYMBOL=VALUE", allow_hyphen_values = true)]
    pub multipliers: Vec<String>,
    /// Show the preview and stop: nothing is written.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Import without asking (scripts).
    #[arg(long)]
    pub yes: bool,
    #[command(subcommand)]
    pub command: Option<ImportCmd>,
}

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Imports so far, newest first.
    List {
        #[arg(long)]
        account: Option<String>,
    },
    /// Undo a whole import: its fills removed, its corrections reverted, its cancels restored, the trades
    /// regrouped; one audited change.
    Undo { batch: String },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// One round: push local changes, then pull the server's (the default).
    #[arg(long, conflicts_with = "watch")]
    pub once: bool,
    /// Keep syncing in the background: on local changes, on the server's notifications, on a timer, with
    /// backoff after failures. Stops on Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// Give up on an exchange with the server after this many seconds without an answer (default 30,
    /// or TRENDDOJO_SYNC_TIMEOUT).
    #[arg(long, value_name = "SECONDS", global = true)]
    pub timeout: Option<String>,
    #[command(subcommand)]
    pub command: Option<SyncCmd>,
}

#[derive(Debug, Subcommand)]
pub enum SyncCmd {
    /// Pending changes, last success, last error, pull cursor, conflicts logged.
    Status,
    /// What merges left for you to resolve: trades that need review (and why), fills of trades deleted on
    /// another device, and rows kept aside (with the reason), each with what to do.
    Review,
    /// Values replaced by a merge that involved an edit made on this device; `restore SEQ` puts one back.
    Conflicts {
        #[command(subcommand)]
        command: Option<ConflictsCmd>,
    },
    /// Save this device's sync server: your own login (never a service credential). The password goes to
    /// the OS keyring.
    Login {
        /// Your connection string without the password (postgresql://ROLE@HOST:PORT/DB).
        #[arg(long, value_name = "URL", conflicts_with = "env", required_unless_present = "env")]
        server: Option<String>,
        /// Use an environment profile's server (host, port, database, CA) ...
        #[arg(long, requires = "role")]
        env: Option<String>,
        /// ... with your own role.
        #[arg(long)]
        role: Option<String>,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Write the server audit chain heads this device saw to FILE, for `trenddojo server verify-audit
    /// --witness FILE` on the server side.
    ExportWitness { file: std::path::PathBuf },
    /// Throw away this device's copy of your data and download it again from the server.
    Reset {
        /// Confirm: type `--confirm reset`.
        #[arg(long, value_name = "reset")]
        confirm: Option<String>,
        /// Also drop local changes that are not on the server yet (otherwise the reset refuses).
        #[arg(long)]
        discard_local: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConflictsCmd {
    /// Put a conflict's overridden value back as a new edit (it wins on every device at the next sync).
    Restore { seq: i64 },
}

/// Which server a `db` command acts on; without either it acts on the local store.
#[derive(Debug, Args, Clone, Default)]
pub struct ServerSel {
    /// Act on the server schema at this service connection string instead of the local store.
    #[arg(long, value_name = "URL", conflicts_with = "env")]
    pub server: Option<String>,
    /// Act on the server schema of this environment profile (development, staging, production, ...).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
}

/// The service connection for `server` commands.
#[derive(Debug, Args, Clone, Default)]
pub struct AdminSel {
    /// Service connection string (a role with CREATEROLE and BYPASSRLS).
    #[arg(long, value_name = "URL", env = "TRENDDOJO_ADMIN_URL", conflicts_with = "env")]
    pub admin_url: Option<String>,
    /// Use this environment profile's service connection.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ServerCmd {
    /// Start (or reuse) a local development PostgreSQL in the data folder, migrate it, and print its URL.
    Dev,
    /// Stop the local development PostgreSQL.
    Stop,
    /// Environment profiles (connection secrets live in the OS keyring or `TRENDDOJO_<ENV>_PASSWORD`).
    #[command(subcommand)]
    Env(EnvCmd),
    /// Create (or update) a server user with its own login role; prints the user's connection URL.
    AddUser {
        #[arg(long)]
        email: String,
        /// free, basic or pro
        #[arg(long, default_value = "free")]
        tier: String,
        #[arg(long)]
        name: Option<String>,
        /// Read the user's password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// The id a new user gets (default: a new one); give a local store's user id so that store syncs.
        #[arg(long, value_name = "UUID")]
        user_id: Option<String>,
        #[command(flatten)]
        admin: AdminSel,
    },
    /// Drop a user's login role (ending its sessions) and mark the user deleted; its rows and audit stay.
    RemoveUser {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        admin: AdminSel,
    },
    /// Verify the audit log's hash chains (every user's, or one).
    VerifyAudit {
        #[arg(long)]
        email: Option<String>,
        /// Chain heads exported from a device (`trenddojo sync export-witness FILE`): each must still be on
        /// the chain.
        #[arg(long)]
        witness: Option<std::path::PathBuf>,
        #[command(flatten)]
        admin: AdminSel,
    },
    /// Create market-data partitions ahead (schedule it; pg_cron on Supabase).
    Maintain {
        #[command(flatten)]
        admin: AdminSel,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvCmd {
    /// Save a profile. The connection string must not hold a password.
    Set {
        name: String,
        #[arg(long, value_name = "URL")]
        service: String,
        /// Mark as production (always so for the name `production`).
        #[arg(long)]
        production: bool,
        /// PEM file of the CA that signs the server's certificate (Supabase: its project CA).
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
        /// Read the service password from standard input and keep it in the OS keyring.
        #[arg(long)]
        password_stdin: bool,
    },
    List,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[arg(long, default_value = "trader@localhost.localdomain")]
    pub email: String,
    #[arg(long)]
    pub name: Option<String>,
    /// free, basic or pro
    #[arg(long, default_value = "free")]
    pub tier: String,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "free")]
        tier: String,
    },
    List,
    /// Make a user the store's active user.
    Use {
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCmd {
    /// Apply pending migrations (a backup is taken first).
    Migrate {
        #[arg(long, allow_hyphen_values = true)]
        to: Option<String>,
        #[command(flatten)]
        server: ServerSel,
        /// Production changes apply only with `--confirm production`.
        #[arg(long, value_name = "WORD")]
        confirm: Option<String>,
    },
    /// Undo migrations down to version N (default: one step).
    Rollback {
        #[arg(long, allow_hyphen_values = true)]
        to: Option<String>,
        #[command(flatten)]
        server: ServerSel,
        #[arg(long, value_name = "WORD")]
        confirm: Option<String>,
    },
    /// Drop all data (after a backup), rebuild the schema and load a seed state.
    Reset {
        #[arg(long, default_value = "empty")]
        state: String,
    },
    /// Load a seed state into a store without accounts or trades.
    Seed {
        #[arg(long)]
        state: String,
        #[command(flatten)]
        server: ServerSel,
    },
    /// Schema version, migrations, encryption, size and row counts (or a server's migrations and drift).
    Status {
        #[command(flatten)]
        server: ServerSel,
    },
    /// Copy the store, still encrypted and checked, to FILE (a new file in an existing folder). The backup
    /// opens with the passphrase or the recovery key on any machine.
    Backup { file: PathBuf },
    /// Replace the store with the backup in FILE. Works on a damaged store and on a machine that never had
    /// the store (with --passphrase-stdin or --recovery-key-stdin); the replaced files are moved aside.
    Restore { file: PathBuf },
    /// Integrity checks (SQLite, SQLCipher page MACs, foreign keys, trade summaries).
    Check,
    /// Salvage what can still be read from a damaged store into a new one (the damaged file is kept aside).
    Recover,
    /// The backups in the data folder's backups/ folder, newest first, each checked for completeness.
    Backups,
    /// Show or set how many daily backups are kept (0 turns them off).
    Schedule {
        #[arg(long)]
        keep: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCmd {
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        currency: String,
        /// Starting balance.
        #[arg(long, allow_hyphen_values = true)]
        balance: String,
        /// IANA time zone used for trading days (default UTC).
        #[arg(long)]
        timezone: Option<String>,
        #[arg(long)]
        broker: Option<String>,
        /// fifo (default), lifo or average_cost
        #[arg(long)]
        matching: Option<String>,
        /// |net P&L| at or below this is a breakeven trade (default 0).
        #[arg(long, allow_hyphen_values = true)]
        breakeven_tolerance: Option<String>,
    },
    List,
    Show {
        account: String,
    },
    /// Delete an account with its trades, risk settings, notes and broker connections.
    Delete {
        account: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TradeCmd {
    /// Open a trade with its first fill (the account's risk rules are checked first).
    Open {
        #[arg(long)]
        account: String,
        #[arg(long)]
        symbol: String,
        /// long or short
        #[arg(long)]
        side: String,
        #[arg(long, allow_hyphen_values = true)]
        quantity: String,
        #[arg(long, allow_hyphen_values = true)]
        price: String,
        #[arg(long, allow_hyphen_values = true)]
        stop: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        target: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        fees: Option<String>,
        /// Fill time: RFC 3339, or local "YYYY-MM-DD HH:MM" in the account's time zone (default now).
        #[arg(long)]
        at: Option<String>,
        /// Contract multiplier (default 1).
        #[arg(long, allow_hyphen_values = true)]
        multiplier: Option<String>,
        #[arg(long)]
        setup: Option<String>,
        /// Correlation group (e.g. sector) for the correlated-positions rule (default: the symbol).
        #[arg(long)]
        group: Option<String>,
    },
    /// Record another fill (scale in or out).
    AddExecution {
        trade: String,
        /// buy or sell
        #[arg(long)]
        side: String,
        #[arg(long, allow_hyphen_values = true)]
        quantity: String,
        #[arg(long, allow_hyphen_values = true)]
        price: String,
        #[arg(long, allow_hyphen_values = true)]
        fees: Option<String>,
        #[arg(long)]
        at: Option<String>,
    },
    /// Exit the open quantity (or --quantity of it).
    Close {
        trade: String,
        #[arg(long, allow_hyphen_values = true)]
        price: String,
        #[arg(long, allow_hyphen_values = true)]
        quantity: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        fees: Option<String>,
        #[arg(long)]
        at: Option<String>,
    },
    /// Move the stop (history is kept), set targets, rename, move to another account, or cancel a planned
    /// trade.
    Edit {
        trade: String,
        #[arg(long, allow_hyphen_values = true)]
        stop: Option<String>,
        /// Correct the initial stop (what initial risk and R are measured from); it must be on the losing
        /// side of the first entry.
        #[arg(long, allow_hyphen_values = true)]
        initial_stop: Option<String>,
        /// Move the trade, with its fills and notes, to this account.
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        /// Replace the targets (repeatable).
        #[arg(long, allow_hyphen_values = true)]
        target: Vec<String>,
        #[arg(long)]
        symbol: Option<String>,
        #[arg(long)]
        setup: Option<String>,
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        cancel: bool,
    },
    Delete {
        trade: String,
    },
    /// Change a recorded fill (any of side, quantity, price, fees, time); its trade is recomputed.
    EditExecution {
        /// The execution's id or a unique prefix (see `trade show`).
        execution: String,
        /// buy or sell
        #[arg(long)]
        side: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        quantity: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        price: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        fees: Option<String>,
        #[arg(long)]
        at: Option<String>,
    },
    /// Delete a recorded fill; its trade is recomputed.
    DeleteExecution {
        execution: String,
    },
    /// Merge trades of one account and instrument into one: the trade opened first keeps its id, stop,
    /// targets and checklist; the others' fills and notes move to it.
    Merge {
        /// Two or more trades (ids or unique prefixes).
        #[arg(num_args = 2.., required = true)]
        trades: Vec<String>,
    },
    /// Split a trade: the given fills move, whole, to a new trade of the same instrument (each part must
    /// enter before it exits).
    Split {
        trade: String,
        /// The fills (execution ids or unique prefixes, see `trade show`) that form the new trade.
        #[arg(num_args = 1.., required = true)]
        executions: Vec<String>,
    },
    List {
        #[arg(long)]
        account: Option<String>,
        /// planned, open, partially_closed, closed, cancelled or needs_review
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        symbol: Option<String>,
        /// Opened on or after this date (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Opened on or before this date.
        #[arg(long)]
        to: Option<String>,
        /// newest, oldest, pnl, -pnl, symbol
        #[arg(long, allow_hyphen_values = true)]
        sort: Option<String>,
        /// At most this many trades (1 to 1000, default 50).
        #[arg(long, allow_hyphen_values = true)]
        limit: Option<String>,
        /// Skip this many trades first.
        #[arg(long, allow_hyphen_values = true)]
        offset: Option<String>,
    },
    Show {
        trade: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum NoteCmd {
    Add {
        text: String,
        #[arg(long)]
        trade: Option<String>,
        #[arg(long)]
        account: Option<String>,
        /// plan, review, journal or lesson
        #[arg(long)]
        kind: Option<String>,
    },
    List {
        #[arg(long)]
        trade: Option<String>,
        #[arg(long, default_value = "50", allow_hyphen_values = true)]
        limit: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChecklistCmd {
    /// Create a checklist template.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// A required item (repeatable).
        #[arg(long)]
        item: Vec<String>,
        /// An optional item (repeatable).
        #[arg(long)]
        optional_item: Vec<String>,
    },
    List,
    /// Answer item N of a checklist for a trade.
    Answer {
        trade: String,
        #[arg(long)]
        checklist: String,
        #[arg(long, allow_hyphen_values = true)]
        item: String,
        /// Mark unchecked instead of checked.
        #[arg(long)]
        unchecked: bool,
        #[arg(long)]
        comment: Option<String>,
    },
    /// A trade's checklist answers.
    Show {
        trade: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RiskCmd {
    Show {
        #[arg(long)]
        account: Option<String>,
    },
    Set {
        #[arg(long)]
        account: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        max_risk_pct: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        max_daily_loss_pct: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        max_weekly_loss_pct: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        max_open_positions: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        max_correlated_positions: Option<String>,
        /// fixed_fractional, fixed_amount or fixed_quantity
        #[arg(long)]
        sizing: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        fixed_amount: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        fixed_quantity: Option<String>,
        /// block (refuse) or warn
        #[arg(long)]
        enforcement: Option<String>,
    },
    /// Position size for an entry and stop within the account's risk budget.
    Size {
        #[arg(long)]
        account: String,
        #[arg(long)]
        side: String,
        #[arg(long, allow_hyphen_values = true)]
        entry: String,
        #[arg(long, allow_hyphen_values = true)]
        stop: String,
        #[arg(long, allow_hyphen_values = true)]
        multiplier: Option<String>,
        /// Quantity increment (1 for shares, 0.0001 for crypto).
        #[arg(long, allow_hyphen_values = true)]
        step: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[arg(long)]
    pub account: Option<String>,
    /// First day (YYYY-MM-DD, in the account's time zone).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, inclusive.
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BrokerCmd {
    /// Add a connection; the API secret is read from standard input and sealed before storage.
    Add {
        #[arg(long)]
        broker: String,
        #[arg(long)]
        label: String,
        #[arg(long)]
        account: Option<String>,
        /// A non-secret hint to recognise the key by (e.g. its last 4 characters).
        #[arg(long)]
        key_hint: Option<String>,
    },
    List,
}
