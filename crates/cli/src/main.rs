//! `trenddojo`: the command-line shell. It parses flags, calls one core API method, and prints the
//! result: a human table on stdout, or JSON with `--json`. Messages go to stderr. The exit code is 0 only
//! on success; otherwise it comes from the error's code (see [`exit_code`]).

mod args;
mod recovery;
mod render;

use std::io::{BufRead, IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;
use zeroize::Zeroizing;

use trenddojo_core::parse;
use trenddojo_core::seed::SeedState;
use trenddojo_core::sync_types::{Limits, WatchOptions};
use trenddojo_core::{
    AccountInput, ApiError, ApiResult, ChecklistInput, CloseInput, EditTradeInput, ErrorCode, ExecutionEditInput,
    ExecutionInput, ImportInput, Journal, KeySource, Maintenance, MergeTradesInput, OpenOptions, OpenTradeInput,
    Passphrase, RecoveryKey, RiskInput, ServerAdmin, ServerTarget, SizeInput, SplitTradeInput, TradeListInput,
    UserInput, PRODUCTION_CONFIRMATION,
};
use trenddojo_core::{LoginServer, SyncSettings};

use args::*;

/// What a command produced: JSON for `--json`, text otherwise.
pub(crate) struct Output {
    json: serde_json::Value,
    text: String,
}

pub(crate) fn out<T: Serialize>(value: &T, text: String) -> ApiResult<Output> {
    let json = serde_json::to_value(value).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(Output { json, text })
}

/// An optional count flag, parsed by the core so that `-1` gets the field's own message.
fn count(field: &'static str, s: &Option<String>) -> ApiResult<Option<u32>> {
    s.as_deref().map(|v| parse::whole(field, v)).transpose()
}

fn default_home() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("trenddojo")
}

/// Standard input, read once: the passphrase (with --passphrase-stdin) is its first line, the recovery key
/// (with --recovery-key-stdin) the next, a command's own secret (broker add, a new passphrase, a recovery
/// key to confirm) what follows. Lines are zeroed when dropped.
pub(crate) struct Stdin {
    lines: Vec<Zeroizing<String>>,
}

impl Stdin {
    fn read() -> ApiResult<Stdin> {
        let lines = std::io::stdin()
            .lock()
            .lines()
            .map(|l| l.map(Zeroizing::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::new(ErrorCode::Io, format!("stdin: {e}")))?;
        Ok(Stdin { lines })
    }

    /// The next unread line, if any.
    pub(crate) fn next(stdin: &mut Option<Stdin>) -> ApiResult<Option<Zeroizing<String>>> {
        let input = match stdin {
            Some(s) => s,
            None => stdin.insert(Stdin::read()?),
        };
        Ok(if input.lines.is_empty() { None } else { Some(input.lines.remove(0)) })
    }
}

/// The recovery key from standard input, with --recovery-key-stdin.
fn recovery_key(cli: &Cli, stdin: &mut Option<Stdin>) -> ApiResult<Option<RecoveryKey>> {
    if !cli.recovery_key_stdin {
        return Ok(None);
    }
    let line = Stdin::next(stdin)?.ok_or_else(|| {
        ApiError::invalid("recovery key", "--recovery-key-stdin given but there is no recovery key on standard input")
    })?;
    Ok(Some(RecoveryKey::parse(&line)?))
}

fn key_source(cli: &Cli, stdin: &mut Option<Stdin>) -> ApiResult<KeySource> {
    if cli.passphrase_stdin {
        let first = Stdin::next(stdin)?
            .ok_or_else(|| ApiError::invalid("passphrase", "--passphrase-stdin given but standard input is empty"))?;
        return Ok(KeySource::Passphrase(Passphrase::new(first.as_str())?));
    }
    match std::env::var("TRENDDOJO_PASSPHRASE") {
        Ok(p) => Ok(KeySource::Passphrase(Passphrase::new(p)?)),
        Err(_) => Ok(KeySource::Keyring),
    }
}

fn run(cli: Cli) -> ApiResult<Output> {
    let home = cli.home.clone().unwrap_or_else(default_home);
    let mut stdin: Option<Stdin> = None;
    let key = key_source(&cli, &mut stdin)?;
    let recovery = recovery_key(&cli, &mut stdin)?;
    // The recovery key, when given, is what unlocks (a forgotten passphrase, a store whose keyring is gone).
    let key_to_open = match &recovery {
        Some(r) => KeySource::Recovery(r.clone()),
        None => key.clone(),
    };
    let opts = OpenOptions { home: home.clone(), key: key_to_open.clone(), user: cli.user.clone() };
    match &cli.command {
        Command::Init(a) => {
            let j = Journal::init(
                &home,
                &key,
                &UserInput { email: a.email.clone(), name: a.name.clone(), tier: Some(a.tier.clone()), password: None },
            )?;
            let m = Maintenance::open(&home, &key)?;
            let status = m.status()?;
            let mut text = format!(
                "Created an encrypted TrendDojo store in {} (key: {}, schema v{}) for {}.\n",
                home.display(),
                status.encryption.key_method,
                status.schema_version,
                j.user()?.email
            );
            drop(j);
            let mut json =
                serde_json::to_value(&status).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
            if let Some(code) = m.pending_recovery_key()? {
                text.push_str(&recovery::announce(&code));
                if let Some(obj) = json.as_object_mut() {
                    obj.insert("recovery_key".into(), serde_json::Value::String(code.to_string()));
                }
                if !cli.json && std::io::stdin().is_terminal() {
                    print!("{text}");
                    text = recovery::confirm_interactively(&m);
                } else {
                    text.push_str(recovery::CONFIRM_LATER);
                }
            }
            Ok(Output { json, text })
        }
        Command::Key(cmd) => recovery::key(cmd, &home, &key_to_open, &mut stdin),
        Command::Export(a) => recovery::export(a, &Journal::open(&opts)?),
        Command::ImportBackup { file } => recovery::import_backup(file, &Journal::open(&opts)?),
        Command::User(cmd) => {
            let mut j = Journal::open(&opts)?;
            match cmd {
                UserCmd::Add { email, name, tier } => {
                    let u = j.add_user(&UserInput {
                        email: email.clone(),
                        name: name.clone(),
                        tier: Some(tier.clone()),
                        password: None,
                    })?;
                    out(&u, format!("Added user {} ({}).\n", u.email, u.subscription_tier.as_str()))
                }
                UserCmd::List => {
                    let users = j.list_users()?;
                    let text = render::users(&users);
                    out(&users, text)
                }
                UserCmd::Use { email } => {
                    let u = j.switch_user(email)?;
                    out(&u, format!("Now acting as {}.\n", u.email))
                }
            }
        }
        Command::Db(cmd) => match server_target(cmd)? {
            Some(target) => db_server(cmd, &home, &target),
            None => db(cmd, &home, &key, recovery.as_ref()),
        },
        Command::Server(cmd) => server(cmd, &home, &mut stdin),
        Command::Sync(args) => sync(args, &opts, cli.json, &mut stdin),
        Command::Import(args) => import(args, &opts, cli.json, &mut stdin),
        Command::Account(cmd) => {
            let j = Journal::open(&opts)?;
            match cmd {
                AccountCmd::Add { name, currency, balance, timezone, broker, matching, breakeven_tolerance } => {
                    let a = j.add_account(&AccountInput {
                        name: name.clone(),
                        currency: currency.clone(),
                        balance: balance.clone(),
                        timezone: timezone.clone(),
                        broker: broker.clone(),
                        matching: matching.clone(),
                        breakeven_tolerance: breakeven_tolerance.clone(),
                    })?;
                    let text = format!("Added account {} ({}).\n", a.account.name, a.account.id);
                    out(&a, text)
                }
                AccountCmd::List => {
                    let all = j.list_accounts()?;
                    let text = render::accounts(&all);
                    out(&all, text)
                }
                AccountCmd::Show { account } => {
                    let a = j.show_account(account)?;
                    let text = render::accounts(std::slice::from_ref(&a));
                    out(&a, text)
                }
                AccountCmd::Delete { account } => {
                    let id = j.delete_account(account)?;
                    out(&serde_json::json!({ "deleted": id }), format!("Deleted account {id} with its trades.\n"))
                }
            }
        }
        Command::Trade(cmd) => trade(cmd, &Journal::open(&opts)?),
        Command::Note(cmd) => {
            let j = Journal::open(&opts)?;
            match cmd {
                NoteCmd::Add { text, trade, account, kind } => {
                    let n = j.add_note(text, trade.as_deref(), account.as_deref(), kind.as_deref())?;
                    out(&n, format!("Added note {}.\n", n.id))
                }
                NoteCmd::List { trade, limit } => {
                    let notes = j.list_notes(trade.as_deref(), parse::whole("limit", limit)?)?;
                    let text = render::notes(&notes);
                    out(&notes, text)
                }
            }
        }
        Command::Checklist(cmd) => {
            let j = Journal::open(&opts)?;
            match cmd {
                ChecklistCmd::Add { name, description, item, optional_item } => {
                    let t = j.add_checklist(&ChecklistInput {
                        name: name.clone(),
                        description: description.clone(),
                        items: item.clone(),
                        optional_items: optional_item.clone(),
                    })?;
                    let text = render::checklists(std::slice::from_ref(&t));
                    out(&t, text)
                }
                ChecklistCmd::List => {
                    let all = j.list_checklists()?;
                    let text = render::checklists(&all);
                    out(&all, text)
                }
                ChecklistCmd::Answer { trade, checklist, item, unchecked, comment } => {
                    let item = parse::whole("item", item)?;
                    let r = j.answer_checklist(trade, checklist, item, !unchecked, comment.as_deref())?;
                    let text = render::responses(&r);
                    out(&r, text)
                }
                ChecklistCmd::Show { trade } => {
                    let d = j.show_trade(trade)?;
                    let text = render::responses(&d.checklist);
                    out(&d.checklist, text)
                }
            }
        }
        Command::Risk(cmd) => {
            let j = Journal::open(&opts)?;
            match cmd {
                RiskCmd::Show { account } => {
                    let (a, s) = j.risk_settings(account.as_deref())?;
                    let text = render::risk(&a.name, &s);
                    out(&s, text)
                }
                RiskCmd::Set {
                    account,
                    max_risk_pct,
                    max_daily_loss_pct,
                    max_weekly_loss_pct,
                    max_open_positions,
                    max_correlated_positions,
                    sizing,
                    fixed_amount,
                    fixed_quantity,
                    enforcement,
                } => {
                    let s = j.set_risk(
                        account.as_deref(),
                        &RiskInput {
                            max_risk_pct: max_risk_pct.clone(),
                            max_daily_loss_pct: max_daily_loss_pct.clone(),
                            max_weekly_loss_pct: max_weekly_loss_pct.clone(),
                            max_open_positions: count("max-open-positions", max_open_positions)?,
                            max_correlated_positions: count("max-correlated-positions", max_correlated_positions)?,
                            sizing: sizing.clone(),
                            fixed_amount: fixed_amount.clone(),
                            fixed_quantity: fixed_quantity.clone(),
                            enforcement: enforcement.clone(),
                        },
                    )?;
                    let text = render::risk(account.as_deref().unwrap_or("account"), &s);
                    out(&s, text)
                }
                RiskCmd::Size { account, side, entry, stop, multiplier, step } => {
                    let currency = j.show_account(account)?.account.currency;
                    let p = j.position_size(&SizeInput {
                        account: account.clone(),
                        side: side.clone(),
                        entry: entry.clone(),
                        stop: stop.clone(),
                        multiplier: multiplier.clone(),
                        step: step.clone(),
                    })?;
                    let text = render::size(&p, &currency);
                    out(&p, text)
                }
            }
        }
        Command::Stats(a) => {
            let j = Journal::open(&opts)?;
            let s = j.stats(a.account.as_deref(), a.from.as_deref(), a.to.as_deref())?;
            let text = render::stats(&s);
            out(&s, text)
        }
        Command::Broker(cmd) => {
            let j = Journal::open(&opts)?;
            match cmd {
                BrokerCmd::Add { broker, label, account, key_hint } => {
                    let input = match stdin.take() {
                        Some(s) => s,
                        None => Stdin::read()?,
                    };
                    let secret = Zeroizing::new(input.lines.iter().map(|l| l.as_str()).collect::<Vec<_>>().join("\n"));
                    let b = j.add_broker_connection(
                        broker,
                        label,
                        account.as_deref(),
                        key_hint.as_deref(),
                        secret.trim().as_bytes(),
                    )?;
                    out(
                        &b,
                        format!(
                            "Added broker connection {} ({}); its secret is sealed on this device.\n",
                            b.label, b.id
                        ),
                    )
                }
                BrokerCmd::List => {
                    let all = j.list_broker_connections()?;
                    let text = render::brokers(&all);
                    out(&all, text)
                }
            }
        }
    }
}

fn db(cmd: &DbCmd, home: &std::path::Path, key: &KeySource, recovery_key: Option<&RecoveryKey>) -> ApiResult<Output> {
    let key_to_open = match recovery_key {
        Some(r) => KeySource::Recovery(r.clone()),
        None => key.clone(),
    };
    // These work when the store cannot be opened (damaged, or never on this machine).
    match cmd {
        DbCmd::Restore { file } => return recovery::restore(home, file, key, recovery_key),
        DbCmd::Recover => return recovery::recover(home, &key_to_open),
        DbCmd::Backups => {
            let all = Maintenance::list_backups(home);
            let text = recovery::render_backups(&all, &home.join("backups"));
            return out(&all, text);
        }
        _ => {}
    }
    let m = Maintenance::open(home, &key_to_open)?;
    match cmd {
        DbCmd::Restore { .. } | DbCmd::Recover | DbCmd::Backups => {
            Err(ApiError::new(ErrorCode::Internal, "db: this command was handled before the store was opened"))
        }
        DbCmd::Schedule { keep } => {
            if let Some(n) = keep {
                m.set_daily_backups_keep(*n)?;
            }
            let n = m.daily_backups_keep()?;
            out(
                &serde_json::json!({ "daily_backups_keep": n, "folder": m.store().paths().backups }),
                if n == 0 {
                    "Daily backups are off.\n".to_string()
                } else {
                    format!(
                        "A daily backup is taken when the store is opened and the newest is a day old; the newest {n} \
                         are kept in {}.\n",
                        m.store().paths().backups.display()
                    )
                },
            )
        }
        DbCmd::Status { .. } => {
            let s = m.status()?;
            let text = render::status(&s);
            out(&s, text)
        }
        DbCmd::Migrate { to, .. } => {
            let r = m.migrate(count("to", to)?)?;
            let text = render::migration(&r);
            out(&r, text)
        }
        DbCmd::Rollback { to, .. } => {
            let r = m.rollback(count("to", to)?)?;
            let text = render::migration(&r);
            out(&r, text)
        }
        DbCmd::Reset { state } => {
            let state: SeedState = state.parse()?;
            let r = m.reset(state)?;
            let text = format!("{}Loaded seed state {}.\n", render::migration(&r), state.as_str());
            out(&r, text)
        }
        DbCmd::Seed { state, .. } => {
            let state: SeedState = state.parse()?;
            m.seed(state)?;
            out(&serde_json::json!({ "state": state }), format!("Loaded seed state {}.\n", state.as_str()))
        }
        DbCmd::Backup { file } => {
            let b = m.backup(file)?;
            let text = recovery::render_backup(&b);
            let mut json = serde_json::to_value(&b).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
            if let Some(obj) = json.as_object_mut() {
                obj.insert("file".into(), serde_json::json!(file));
            }
            Ok(Output { json, text })
        }
        DbCmd::Check => {
            let r = m.check()?;
            if !r.ok {
                return Err(ApiError::new(
                    ErrorCode::Corrupt,
                    format!(
                        "check: the store {}: {}. {}",
                        if r.damaged { "is damaged" } else { "failed its consistency checks" },
                        r.summary,
                        r.advice.as_deref().unwrap_or_default()
                    ),
                ));
            }
            out(
                &r,
                format!(
                    "OK: integrity, page authentication and foreign keys pass; {} trades match their executions.\n",
                    r.trades_checked
                ),
            )
        }
    }
}

/// The server a `db` command names with `--server` or `--env`, if any.
fn server_target(cmd: &DbCmd) -> ApiResult<Option<ServerTarget>> {
    let (sel, confirm) = match cmd {
        DbCmd::Migrate { server, confirm, .. } | DbCmd::Rollback { server, confirm, .. } => (server, confirm.is_some()),
        DbCmd::Status { server } | DbCmd::Seed { server, .. } => (server, false),
        _ => return Ok(None),
    };
    let target = match (&sel.server, &sel.env) {
        (Some(url), _) => Some(ServerTarget::Url(url.clone())),
        (None, Some(env)) => Some(ServerTarget::Env(env.clone())),
        (None, None) => None,
    };
    if target.is_none() && confirm {
        return Err(ApiError::invalid(
            "confirm",
            "--confirm applies to a server (--env or --server), not the local store",
        ));
    }
    Ok(target)
}

fn admin_target(sel: &AdminSel) -> ApiResult<ServerTarget> {
    match (&sel.admin_url, &sel.env) {
        (Some(url), _) => Ok(ServerTarget::Url(url.clone())),
        (None, Some(env)) => Ok(ServerTarget::Env(env.clone())),
        (None, None) => Err(ApiError::invalid(
            "admin-url",
            "which server? give --admin-url URL (or TRENDDOJO_ADMIN_URL) or --env ENV",
        )),
    }
}

fn db_server(cmd: &DbCmd, home: &std::path::Path, target: &ServerTarget) -> ApiResult<Output> {
    let admin = ServerAdmin::new(home);
    let rt = runtime()?;
    match cmd {
        DbCmd::Status { .. } => {
            let s = interruptible(&rt, admin.status(target))?;
            let text = render::server_status(&s);
            out(&s, text)
        }
        DbCmd::Migrate { to, confirm, .. } | DbCmd::Rollback { to, confirm, .. } => {
            let to = count("to", to)?;
            let r = if matches!(cmd, DbCmd::Migrate { .. }) {
                interruptible(&rt, admin.migrate(target, to, confirm.as_deref()))?
            } else {
                interruptible(&rt, admin.rollback(target, to, confirm.as_deref()))?
            };
            if !r.applied {
                return Err(ApiError::new(
                    ErrorCode::ConfirmationRequired,
                    format!(
                        "{} is production: {}; nothing was changed. Re-run with --confirm {PRODUCTION_CONFIRMATION} to apply",
                        r.target,
                        render::plan(&r)
                    ),
                ));
            }
            let text = render::server_migration(&r);
            out(&r, text)
        }
        DbCmd::Seed { state, .. } => {
            let state: SeedState = state.parse()?;
            let users = interruptible(&rt, admin.seed(target, state))?;
            let mut text = format!("Seeded the server with state {}.\n", state.as_str());
            for u in &users {
                text.push_str(&format!("  {} ({}) connects as {}\n", u.email, u.tier, u.url));
            }
            out(&users, text)
        }
        _ => Err(ApiError::invalid("server", "this db command acts on the local store only")),
    }
}

/// A secret from standard input (the next unread line) or, on a terminal, a prompt without echo.
fn read_secret(from_stdin: bool, stdin: &mut Option<Stdin>, what: &str) -> ApiResult<Zeroizing<String>> {
    if from_stdin {
        let input = match stdin {
            Some(s) => s,
            None => stdin.insert(Stdin::read()?),
        };
        if input.lines.is_empty() {
            return Err(ApiError::invalid(
                "password",
                format!("--password-stdin given but no {what} on standard input"),
            ));
        }
        return Ok(input.lines.remove(0));
    }
    let first = Zeroizing::new(rpassword::prompt_password(format!("{what}: ")).map_err(|e| {
        ApiError::invalid("password", format!("cannot prompt for the {what} ({e}); use --password-stdin"))
    })?);
    let again = Zeroizing::new(rpassword::prompt_password(format!("{what} again: ")).map_err(|e| {
        ApiError::invalid("password", format!("cannot prompt for the {what} ({e}); use --password-stdin"))
    })?);
    if first != again {
        return Err(ApiError::invalid("password", "the two entries differ"));
    }
    Ok(first)
}

/// The confirmation word of `sync reset`.
const RESET_CONFIRMATION: &str = "reset";

/// The sync settings the CLI takes from its environment (the core reads none): `TRENDDOJO_SERVER_URL`
/// overrides the saved login, `TRENDDOJO_SYNC_PASSWORD` gives its password where no keyring exists, and
/// `TRENDDOJO_SYNC_TIMEOUT` (seconds) bounds each exchange with the server.
fn sync_settings(args: &SyncArgs) -> ApiResult<SyncSettings> {
    let seconds = match (&args.timeout, std::env::var("TRENDDOJO_SYNC_TIMEOUT").ok()) {
        (Some(t), _) => Some(t.clone()),
        (None, env) => env,
    };
    let limits = match seconds {
        None => None,
        Some(t) => {
            let secs: u64 = t.trim().parse().ok().filter(|s| (1..=3600).contains(s)).ok_or_else(|| {
                ApiError::invalid("timeout", format!("expected whole seconds from 1 to 3600, got {t:?}"))
            })?;
            Some(Limits::with_exchange(std::time::Duration::from_secs(secs)))
        }
    };
    Ok(SyncSettings {
        server_url: std::env::var("TRENDDOJO_SERVER_URL").ok(),
        password: std::env::var("TRENDDOJO_SYNC_PASSWORD").ok(),
        limits,
    })
}

/// Run a use case that talks to the server on the process's runtime, stopped by Ctrl-C or SIGTERM at any
/// point (a round cut off leaves the store consistent and the server rolls its side back).
fn interruptible<T>(rt: &tokio::runtime::Runtime, f: impl std::future::Future<Output = ApiResult<T>>) -> ApiResult<T> {
    rt.block_on(async {
        tokio::select! {
            biased;
            () = stop_signal() => Err(ApiError::new(ErrorCode::Interrupted, "stopped before it finished; nothing half-done was kept")),
            r = f => r,
        }
    })
}

fn sync(args: &SyncArgs, opts: &OpenOptions, json: bool, stdin: &mut Option<Stdin>) -> ApiResult<Output> {
    let j = open_reporting(opts, json)?;
    let settings = sync_settings(args)?;
    let rt = runtime()?;
    match &args.command {
        Some(SyncCmd::Status) => {
            let s = j.sync_status(settings.server_url.as_deref())?;
            let text = render::sync_status(&s);
            out(&s, text)
        }
        Some(SyncCmd::ExportWitness { file }) => {
            let n = j.export_witness(file)?;
            out(
                &serde_json::json!({ "heads": n, "file": file.display().to_string() }),
                format!("Wrote {n} audit chain head(s) to {}.\n", file.display()),
            )
        }
        Some(SyncCmd::Review) => {
            let r = j.sync_review()?;
            let text = render::sync_review(&r);
            out(&r, text)
        }
        Some(SyncCmd::Conflicts { command: None }) => {
            let all = j.sync_conflicts()?;
            let text = render::conflicts(&all);
            out(&all, text)
        }
        Some(SyncCmd::Conflicts { command: Some(ConflictsCmd::Restore { seq }) }) => {
            let c = j.sync_restore(*seq)?;
            let text = format!(
                "Restored {}.{} of {} to {} (it reaches your other devices at the next sync).\n",
                c.table,
                c.field,
                c.row_id,
                c.lost_shown.as_deref().unwrap_or(&c.lost_value)
            );
            out(&c, text)
        }
        Some(SyncCmd::Login { server, env, role, password_stdin }) => {
            let which = match (server, env, role) {
                (Some(url), _, _) => LoginServer::Url(url.clone()),
                (None, Some(env), Some(role)) => LoginServer::Env { env: env.clone(), role: role.clone() },
                _ => return Err(ApiError::invalid("server", "give --server URL, or --env ENV with --role ROLE")),
            };
            let password = read_secret(*password_stdin, stdin, "sync password")?;
            let l = interruptible(&rt, j.sync_login(&which, &password, settings.limits()))?;
            let text = format!(
                "Signed in to {} as user {}{}.{}\n",
                l.server,
                l.user_id,
                if l.known_here { "" } else { " (not in this store yet: the first sync downloads it)" },
                if l.keyring {
                    " The password is in the OS keyring."
                } else {
                    " No OS keyring is available: the password was NOT saved; set TRENDDOJO_SYNC_PASSWORD when syncing."
                }
            );
            out(&l, text)
        }
        Some(SyncCmd::Reset { confirm, discard_local }) => {
            if confirm.as_deref() != Some(RESET_CONFIRMATION) {
                return Err(ApiError::new(
                    ErrorCode::ConfirmationRequired,
                    format!(
                        "confirm: a reset replaces this device's copy of your data with the server's; nothing was \
                         changed. Re-run with --confirm {RESET_CONFIRMATION}"
                    ),
                ));
            }
            let target = j.sync_target(&settings)?;
            let r = interruptible(&rt, j.sync_reset(&target, *discard_local, settings.limits()))?;
            let text = format!("Reset: downloaded {} row(s) from the server (version {}).\n", r.pulled, r.cursor);
            out(&r, text)
        }
        None if args.watch => {
            let target = j.sync_target(&settings)?;
            let mut rounds = 0usize;
            let mut failures = 0usize;
            let on_event = |e: trenddojo_core::dto::SyncEvent| {
                use trenddojo_core::dto::SyncEvent as E;
                let line = match &e {
                    E::Round { trigger, report, ms } => {
                        rounds += 1;
                        format!(
                            "sync ({}): pushed {}, pulled {}, {} conflict(s){} in {ms} ms",
                            trigger.as_str(),
                            report.pushed,
                            report.pulled,
                            report.conflicts,
                            if report.kept_aside > 0 {
                                format!(", {} row(s) kept aside (trenddojo sync review)", report.kept_aside)
                            } else {
                                String::new()
                            },
                        )
                    }
                    E::Failed { trigger, error, failures: n, retry_in_ms } => {
                        failures += 1;
                        format!(
                            "sync ({}) failed ({n} in a row): {}; retrying in {retry_in_ms} ms",
                            trigger.as_str(),
                            error.message
                        )
                    }
                    E::Listening { reason, .. } => match reason {
                        None => "notifications on: changes from other devices arrive at once".to_string(),
                        Some(r) => format!("notifications off ({r}); polling"),
                    },
                };
                let value = serde_json::to_value(&e).unwrap_or_default();
                if json {
                    stdout_or_exit(&format!("{value}\n"));
                } else {
                    say(&line);
                }
            };
            let opts = WatchOptions { limits: settings.limits(), ..WatchOptions::default() };
            rt.block_on(j.sync_watch(&target, &opts, on_event, stop_signal()))?;
            out(
                &serde_json::json!({ "stopped": true, "rounds": rounds, "failures": failures }),
                format!("Stopped after {rounds} round(s), {failures} failure(s).\n"),
            )
        }
        None => {
            let target = j.sync_target(&settings)?;
            let r = interruptible(&rt, j.sync_round(&target, settings.limits()))?;
            let review =
                j.sync_status(settings.server_url.as_deref()).map(|s| (s.needs_review, s.kept_aside)).unwrap_or((0, 0));
            let mut text = format!(
                "Synced: pushed {} change(s) ({} already on the server), pulled {} row(s), {} conflict(s) logged.\n",
                r.pushed, r.duplicates, r.pulled, r.conflicts
            );
            if review.0 > 0 || review.1 > 0 {
                text.push_str(&format!(
                    "{} trade(s) need review and {} row(s) are kept aside after merges: run `trenddojo sync review`.\n",
                    review.0, review.1
                ));
            }
            out(&r, text)
        }
    }
}

/// The process's one runtime for use cases that talk to a server.
fn runtime() -> ApiResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("runtime: {e}")))
}

/// Completes on Ctrl-C or SIGTERM.
async fn stop_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn server(cmd: &ServerCmd, home: &std::path::Path, stdin: &mut Option<Stdin>) -> ApiResult<Output> {
    let admin = ServerAdmin::new(home);
    let rt = runtime()?;
    match cmd {
        ServerCmd::Dev => {
            let d = interruptible(&rt, admin.dev())?;
            let text = format!(
                "Development PostgreSQL {} on port {} (data in {}).\n  service: {}\n  users connect to {}\n  profile: development{}\n",
                if d.started { "started" } else { "already running" },
                d.port,
                d.data_dir.display(),
                d.service,
                d.user_url_template,
                if d.applied.is_empty() { String::new() } else { format!("; applied migrations {:?}", d.applied) }
            );
            let text = match d.moved_from {
                Some(old) => format!(
                    "{text}Port {old}, where it ran before, is taken by another program: it now runs on {}. The \
                     development profile{} was updated; other devices' logins must be updated too \
                     (trenddojo sync login --server ...).\n",
                    d.port,
                    if d.login_updated { " and this data folder's sync login" } else { "" }
                ),
                None => text,
            };
            out(&d, text)
        }
        ServerCmd::Stop => {
            let was = interruptible(&rt, admin.stop_dev())?;
            out(
                &serde_json::json!({ "stopped": was }),
                if was { "Stopped the development PostgreSQL.\n".into() } else { "It was not running.\n".into() },
            )
        }
        ServerCmd::Env(EnvCmd::Set { name, service, production, ca_file, password_stdin }) => {
            let secret = if *password_stdin { Some(read_secret(true, stdin, "service password")?) } else { None };
            let p = interruptible(
                &rt,
                admin.set_env(name, service, *production, ca_file.as_deref(), secret.as_ref().map(|s| s.as_str())),
            )?;
            out(&p, format!("Saved environment {name}{}.\n", if p.production { " (production)" } else { "" }))
        }
        ServerCmd::Env(EnvCmd::List) => {
            let all = admin.list_envs()?;
            let text = render::envs(&all);
            out(&all, text)
        }
        ServerCmd::AddUser { email, tier, name, password_stdin, user_id, admin: sel } => {
            let target = admin_target(sel)?;
            let user_id = user_id
                .as_deref()
                .map(|u| u.parse().map_err(|_| ApiError::invalid("user-id", format!("{u:?} is not a UUID"))))
                .transpose()?;
            let password = read_secret(*password_stdin, stdin, "password")?;
            let p = interruptible(&rt, admin.add_user(&target, email, tier, name.as_deref(), user_id, &password))?;
            let text = format!(
                "{} {} ({}); role {}.\n{}\n",
                if p.created { "Created" } else { "Updated" },
                p.email,
                p.tier,
                p.role,
                p.url
            );
            out(&p, text)
        }
        ServerCmd::RemoveUser { email, admin: sel } => {
            let removed = interruptible(&rt, admin.remove_user(&admin_target(sel)?, email))?;
            if !removed {
                return Err(ApiError::new(ErrorCode::NotFound, format!("email: no user {email} on the server")));
            }
            out(&serde_json::json!({ "removed": email }), format!("Removed {email}: its login role is gone.\n"))
        }
        ServerCmd::VerifyAudit { email, witness, admin: sel } => {
            let r = interruptible(&rt, admin.verify_audit(&admin_target(sel)?, email.as_deref(), witness.as_deref()))?;
            out(&r, format!("OK: {} audit rows of {} user(s) verified; every hash chain is intact.\n", r.rows, r.users))
        }
        ServerCmd::Maintain { admin: sel } => {
            let n = interruptible(&rt, admin.maintain(&admin_target(sel)?))?;
            out(&serde_json::json!({ "partitions_created": n }), format!("Created {n} market-data partition(s).\n"))
        }
    }
}

fn trade(cmd: &TradeCmd, j: &Journal) -> ApiResult<Output> {
    match cmd {
        TradeCmd::Open { account, symbol, side, quantity, price, stop, target, fees, at, multiplier, setup, group } => {
            let d = j.open_trade(&OpenTradeInput {
                account: account.clone(),
                symbol: symbol.clone(),
                side: side.clone(),
                quantity: quantity.clone(),
                price: price.clone(),
                stop: stop.clone(),
                target: target.clone(),
                fees: fees.clone(),
                at: at.clone(),
                multiplier: multiplier.clone(),
                setup: setup.clone(),
                group: group.clone(),
            })?;
            for w in &d.warnings {
                say(&format!("warning: {w}"));
            }
            let text = render::trade_detail(&d);
            out(&d, text)
        }
        TradeCmd::AddExecution { trade, side, quantity, price, fees, at } => {
            let d = j.add_execution(
                trade,
                &ExecutionInput {
                    side: side.clone(),
                    quantity: quantity.clone(),
                    price: price.clone(),
                    fees: fees.clone(),
                    at: at.clone(),
                },
            )?;
            for w in &d.warnings {
                say(&format!("warning: {w}"));
            }
            let text = render::trade_detail(&d);
            out(&d, text)
        }
        TradeCmd::Close { trade, price, quantity, fees, at } => {
            let d = j.close_trade(
                trade,
                &CloseInput { price: price.clone(), quantity: quantity.clone(), fees: fees.clone(), at: at.clone() },
            )?;
            let text = render::trade_detail(&d);
            out(&d, text)
        }
        TradeCmd::Edit { trade, stop, initial_stop, account, reason, target, symbol, setup, group, cancel } => {
            let d = j.edit_trade(
                trade,
                &EditTradeInput {
                    initial_stop: initial_stop.clone(),
                    account: account.clone(),
                    stop: stop.clone(),
                    stop_reason: reason.clone(),
                    targets: if target.is_empty() { None } else { Some(target.clone()) },
                    symbol: symbol.clone(),
                    setup: setup.clone(),
                    group: group.clone(),
                    cancel: *cancel,
                },
            )?;
            let text = render::trade_detail(&d);
            out(&d, text)
        }
        TradeCmd::Delete { trade } => {
            let id = j.delete_trade(trade)?;
            out(&serde_json::json!({ "deleted": id }), format!("Deleted trade {id}.\n"))
        }
        TradeCmd::EditExecution { execution, side, quantity, price, fees, at } => {
            let d = j.edit_execution(
                execution,
                &ExecutionEditInput {
                    side: side.clone(),
                    quantity: quantity.clone(),
                    price: price.clone(),
                    fees: fees.clone(),
                    at: at.clone(),
                },
            )?;
            let text = render::trade_detail(&d);
            out(&d, text)
        }
        TradeCmd::DeleteExecution { execution } => {
            let id = j.delete_execution(execution)?;
            out(&serde_json::json!({ "deleted": id }), format!("Deleted execution {id}.\n"))
        }
        TradeCmd::Merge { trades } => {
            let d = j.merge_trades(&MergeTradesInput { trades: trades.clone() })?;
            let text = format!("Merged {} trades into {}.\n{}", trades.len(), d.trade.id, render::trade_detail(&d));
            out(&d, text)
        }
        TradeCmd::Split { trade, executions } => {
            let r = j.split_trade(&SplitTradeInput { trade: trade.clone(), executions: executions.clone() })?;
            let text = format!(
                "Split {} fill(s) off into trade {}.\n\n{}\n{}",
                r.split_off.executions.len(),
                r.split_off.trade.id,
                render::trade_detail(&r.kept),
                render::trade_detail(&r.split_off)
            );
            out(&r, text)
        }
        TradeCmd::List { account, status, symbol, from, to, sort, limit, offset } => {
            let trades = j.list_trades(&TradeListInput {
                account: account.clone(),
                status: status.clone(),
                symbol: symbol.clone(),
                from: from.clone(),
                to: to.clone(),
                sort: sort.clone(),
                limit: count("limit", limit)?,
                offset: count("offset", offset)?,
            })?;
            let currencies: std::collections::HashMap<_, _> =
                j.list_accounts()?.into_iter().map(|a| (a.account.id, a.account.currency)).collect();
            let text = render::trades(&trades, |t| currencies.get(&t.account_id).map_or("", String::as_str));
            out(&trades, text)
        }
        TradeCmd::Show { trade } => {
            let d = j.show_trade(trade)?;
            let text = render::trade_detail(&d);
            out(&d, text)
        }
    }
}

/// Progress bars (indicatif) on the terminal for the long jobs a journal reports: a bar where the total
/// is known (an upload, a file being read), a counter where it is not (a download). Nothing is drawn
/// with `--json` or when output is not a terminal, and a job that ends within a moment draws nothing.
fn progress_sink(json: bool) -> Option<trenddojo_core::ProgressSink> {
    use indicatif::{ProgressBar, ProgressStyle};
    use std::collections::HashMap;
    use std::io::IsTerminal;
    use trenddojo_core::dto::{Progress, ProgressTask};
    if json || !std::io::stdout().is_terminal() || !std::io::stderr().is_terminal() {
        return None;
    }
    let bars: std::sync::Mutex<HashMap<&'static str, ProgressBar>> = std::sync::Mutex::default();
    Some(std::sync::Arc::new(move |p: Progress| {
        let (key, label, bytes) = match p.task {
            ProgressTask::SyncUpload => ("up", "Uploading", false),
            ProgressTask::SyncDownload => ("down", "Downloading", false),
            ProgressTask::ImportRead => ("read", "Reading", true),
        };
        let mut bars = bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(key).or_insert_with(|| {
            let (bar, template) = match p.total {
                Some(t) if bytes => (ProgressBar::new(t), "{msg} [{bar:25}] {percent:>3}%  {bytes} of {total_bytes}"),
                Some(t) => (ProgressBar::new(t), "{msg} [{bar:25}] {pos} of {len} rows"),
                None => (ProgressBar::no_length(), "{msg} {spinner} {pos} rows"),
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("#>-"));
            }
            bar.set_message(label);
            bar
        });
        bar.set_position(p.done);
        if p.total.is_some_and(|t| p.done >= t) {
            bar.finish_and_clear();
        }
    }))
}

/// Open the journal for a long job, with progress bars when they make sense.
fn open_reporting(opts: &OpenOptions, json: bool) -> ApiResult<Journal> {
    let mut j = Journal::open(opts)?;
    if let Some(sink) = progress_sink(json) {
        j.set_progress(sink);
    }
    Ok(j)
}

/// Ask on the terminal (or take the next line of a piped standard input) whether to go ahead.
fn confirm(question: &str, stdin: &mut Option<Stdin>) -> ApiResult<bool> {
    let answer = if std::io::stdin().is_terminal() && stdin.is_none() {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| ApiError::new(ErrorCode::Io, format!("stdin: {e}")))?;
        Some(Zeroizing::new(line))
    } else {
        let input = match stdin {
            Some(s) => s,
            None => stdin.insert(Stdin::read()?),
        };
        (!input.lines.is_empty()).then(|| input.lines.remove(0))
    };
    match answer {
        Some(a) => Ok(matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes")),
        None => Err(ApiError::new(
            ErrorCode::ConfirmationRequired,
            "import: not confirmed (no terminal to ask on and nothing on standard input); give --yes to import \
             without asking, or --dry-run to only see the preview",
        )),
    }
}

fn import(args: &ImportArgs, opts: &OpenOptions, json: bool, stdin: &mut Option<Stdin>) -> ApiResult<Output> {
    let j = open_reporting(opts, json)?;
    match &args.command {
        Some(ImportCmd::List { account }) => {
            let batches = j.import_list(account.as_deref())?;
            let text = render::import_batches(&batches);
            return out(&batches, text);
        }
        Some(ImportCmd::Undo { batch }) => {
            let r = j.import_undo(batch)?;
            let text = render::import_undo(&r);
            return out(&r, text);
        }
        None => {}
    }
    let file = args
        .file
        .clone()
        .ok_or_else(|| ApiError::invalid("file", "give the export to import: trenddojo import FILE --account NAME"))?;
    let account = args
        .account
        .clone()
        .ok_or_else(|| ApiError::invalid("account", "give the account the fills go into: --account NAME"))?;
    let input = ImportInput {
        file,
        account,
        format: args.format.clone(),
        time_zone: args.tz.clone(),
        mapping: args.mapping.clone(),
        save_mapping: args.save_mapping.clone(),
        broker_account: args.broker_account.clone(),
        multipliers: args.multipliers.clone(),
    };
    let file = j.import_read(&input)?;
    let preview = j.import_preview(&file)?;
    if args.dry_run {
        let text = format!("{}\nDry run: nothing was written.\n", render::import_preview(&preview));
        return out(&preview, text);
    }
    let c = &preview.counts;
    let nothing = c.new == 0 && c.corrected == 0 && c.cancelled == 0;
    if nothing {
        let text = format!("{}\nNothing new to import: nothing was written.\n", render::import_preview(&preview));
        return out(&preview, text);
    }
    if !args.yes {
        if !json {
            stdout_or_exit(&render::import_preview(&preview));
        }
        let question = format!(
            "Import {} new, {} corrected and {} cancelled fills into {} ({} trades created, {} changed)?",
            c.new, c.corrected, c.cancelled, preview.account, c.trades_created, c.trades_changed
        );
        if !confirm(&question, stdin)? {
            return Err(ApiError::new(ErrorCode::Interrupted, "import: not confirmed; nothing was written"));
        }
    }
    let done = j.import_commit(&file)?;
    let text = if args.yes {
        format!("{}\n{}", render::import_preview(&done), render::import_done(&done))
    } else {
        render::import_done(&done)
    };
    out(&done, text)
}

/// Write to standard output. `print!` panics when the reader has gone (`trenddojo trade list | head`);
/// this returns the error instead.
fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Write to standard output; when the reader has closed the pipe, end the program quietly and
/// successfully, as `grep` or `ls` end (Rust ignores SIGPIPE, so without this the first write after
/// `head` exits would panic with exit code 101). Exit 0 rather than 141: the command did its work, and
/// a script with `set -o pipefail` should not fail because its reader wanted fewer lines.
fn stdout_or_exit(text: &str) {
    match write_stdout(text) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            say(&format!("error: stdout: {e}"));
            std::process::exit(exit_code(ErrorCode::Io));
        }
    }
}

/// A line on standard error. Never panics: with stderr closed there is nobody left to tell.
/// An error's action as this shell offers it: the command to type.
fn action_text(a: &trenddojo_core::Action) -> String {
    use trenddojo_core::Action as A;
    match a {
        A::CreateStore => "create a store with `trenddojo init` (or choose another data folder with --home)".into(),
        A::GivePassphrase => "give the passphrase: set TRENDDOJO_PASSPHRASE or pass --passphrase-stdin".into(),
        A::UsePassphraseInstead => {
            "protect the store with a passphrase instead: set TRENDDOJO_PASSPHRASE or pass --passphrase-stdin".into()
        }
        A::UnlockKeyring => {
            "unlock the OS keyring (sign in to the desktop session), or use a passphrase (TRENDDOJO_PASSPHRASE)".into()
        }
        A::CreateRecoveryKey => "make a new recovery key with `trenddojo key create-recovery`".into(),
        A::RestoreBackup { file } => {
            format!("restore a backup with `trenddojo db restore {}`", file.as_deref().unwrap_or("FILE"))
        }
        A::RestoreOrSalvage { newest_backup } => format!(
            "restore a backup with `trenddojo db restore {}`, or salvage what is readable with `trenddojo db recover`",
            newest_backup.as_deref().unwrap_or("FILE")
        ),
        A::UpgradeApp => "install a newer TrendDojo".into(),
        A::AddUser => "add one with `trenddojo user add`, or load one with `trenddojo db seed --state demo`".into(),
        A::AddAccount => "add one with `trenddojo account add`".into(),
        A::MigrateStore { to: Some(v) } => format!("`trenddojo db migrate --to {v}`"),
        A::MigrateStore { to: None } => "`trenddojo db migrate`".into(),
        A::RollbackStore { to } => format!("`trenddojo db rollback --to {to}`"),
        A::ResetStore { state: Some(s) } => format!("`trenddojo db reset --state {s}` (a backup is taken first)"),
        A::ResetStore { state: None } => "`trenddojo db reset` (a backup is taken first)".into(),
        A::MigrateServer => "migrate the server with `trenddojo db migrate --env NAME` (or --server URL)".into(),
        A::AddServerEnvironment { name } if name == "development" => format!(
            "start one with `trenddojo server dev`, or add it with `trenddojo server env set {name} --service URL`"
        ),
        A::AddServerEnvironment { name } => format!("add it with `trenddojo server env set {name} --service URL`"),
        A::InstallPostgres => {
            "install the `postgresql` package (scripts/setup.sh does), or set TRENDDOJO_PG_BIN to its bin folder".into()
        }
        A::SignIn => "sign in again with `trenddojo sync login`".into(),
    }
}

fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let result = run(cli);
    for n in trenddojo_core::notices::take() {
        eprintln!("warning: {n}");
    }
    match result {
        Ok(o) => {
            if json {
                let body = serde_json::to_string_pretty(&o.json).unwrap_or_else(|_| "null".into());
                stdout_or_exit(&format!("{body}\n"));
            } else {
                stdout_or_exit(&o.text);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if json {
                say(&serde_json::json!({ "error": e }).to_string());
            } else {
                say(&format!("error: {}", e.message));
                if let Some(h) = &e.hint {
                    say(&format!("hint: {h}"));
                }
                if let Some(a) = &e.action {
                    say(&format!("to fix: {}", action_text(a)));
                }
            }
            ExitCode::from(u8::try_from(exit_code(e.code)).unwrap_or(1))
        }
    }
}

/// The process exit code for an error of the core API (0 is success, 1 unexpected failures): the CLI's
/// mapping of the core's error codes; the core itself knows no exit codes.
fn exit_code(code: ErrorCode) -> i32 {
    match code {
        ErrorCode::Internal | ErrorCode::Io => 1,
        ErrorCode::InvalidInput | ErrorCode::Ambiguous => 2,
        ErrorCode::NotFound => 3,
        ErrorCode::Conflict | ErrorCode::AlreadyExists => 4,
        ErrorCode::RiskBlocked => 5,
        ErrorCode::LimitReached => 6,
        ErrorCode::NotInitialized => 7,
        ErrorCode::WrongKey | ErrorCode::KeyUnavailable => 8,
        ErrorCode::NewerSchema => 9,
        ErrorCode::Corrupt => 10,
        ErrorCode::Refused => 11,
        ErrorCode::Unreachable => 12,
        ErrorCode::ConfirmationRequired => 13,
        ErrorCode::LoginRefused => 14,
        ErrorCode::AuditRewritten => 15,
        // The shell convention for a command stopped by SIGINT (128 + 2).
        ErrorCode::Interrupted => 130,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_exit_0_and_user_errors_are_distinguishable() {
        assert_ne!(exit_code(ErrorCode::WrongKey), 0, "errors never exit 0");
        assert_ne!(exit_code(ErrorCode::RiskBlocked), exit_code(ErrorCode::InvalidInput), "distinguishable");
        assert_ne!(exit_code(ErrorCode::NotFound), exit_code(ErrorCode::Conflict), "distinguishable");
    }
}
