//! Every migration is reversible: for each N, migrating up to N and back down to N-1 gives exactly the
//! schema of a store migrated straight to N-1. Also: the compiled list matches the files, and an existing
//! store is backed up before it is migrated.

use crate::common;

use trenddojo_store::migrations::{self, latest_version, schema_fingerprint, MIGRATIONS};

fn fresh(dir: &std::path::Path) -> trenddojo_store::Store {
    // A store with nothing applied: init creates the latest schema, so roll it back to zero first.
    let store = trenddojo_store::Store::init(dir, &common::key()).expect("init");
    store.with_writer(|c| migrations::rollback(c, 0).map(|_| ())).expect("rollback to 0");
    store
}

#[test]
fn each_migration_rolls_back_to_the_previous_schema() {
    let base = tempfile::tempdir().unwrap();
    for m in MIGRATIONS {
        let n = m.version;
        let a = fresh(&base.path().join(format!("up-{n}")));
        let b = fresh(&base.path().join(format!("direct-{}", n - 1)));
        let (at_n, after_down) = a
            .with_writer(|c| {
                migrations::migrate(c, Some(n))?;
                let at_n = schema_fingerprint(c)?;
                let done = migrations::rollback(c, n - 1)?;
                assert_eq!(done, vec![n], "exactly V{n} was rolled back");
                Ok((at_n, schema_fingerprint(c)?))
            })
            .unwrap();
        let direct = b
            .with_writer(|c| {
                migrations::migrate(c, Some(n - 1))?;
                schema_fingerprint(c)
            })
            .unwrap();
        assert_eq!(after_down, direct, "V{n} {} down must restore the schema of V{}", m.name, n - 1);
        assert_ne!(at_n, direct, "V{n} {} must change the schema", m.name);
        // And back up again: the round trip is repeatable.
        let again = a
            .with_writer(|c| {
                migrations::migrate(c, Some(n))?;
                schema_fingerprint(c)
            })
            .unwrap();
        assert_eq!(again, at_n, "V{n} re-applied after its rollback gives the same schema");
    }
}

#[test]
fn compiled_migrations_match_the_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/local");
    for sub in ["up", "down"] {
        let mut files: Vec<String> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut expected: Vec<String> = MIGRATIONS.iter().map(|m| format!("V{}__{}.sql", m.version, m.name)).collect();
        expected.sort();
        assert_eq!(files, expected, "migrations/local/{sub} must hold exactly the compiled migrations");
    }
    let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(versions, (1..=latest_version()).collect::<Vec<_>>(), "versions are 1..=N without gaps");
}

#[test]
fn cli_rollback_and_migrate_with_automatic_backups() {
    let h = common::Home::init();
    h.json(&["account", "add", "--name", "Keep", "--currency", "USD", "--balance", "1"]);
    let last = latest_version();
    let down = h.json(&["db", "rollback", "--to", &(last - 1).to_string()]);
    assert_eq!(down["to_version"], last - 1, "rolled back one step");
    assert!(down["backup"].as_str().is_some_and(|b| std::path::Path::new(b).exists()), "a backup was taken: {down}");
    let status = h.json(&["db", "status"]);
    assert_eq!(status["pending"].as_array().map(Vec::len), Some(1), "the newest migration is pending: {status}");
    let up = h.json(&["db", "migrate"]);
    assert_eq!(up["applied"], serde_json::json!([last]), "the newest migration applied again");
    let accounts = h.json(&["account", "list"]);
    assert_eq!(accounts[0]["name"], "Keep", "data survives a rollback of an unrelated migration");

    // Opening an old store for normal work migrates it and takes a backup first.
    h.json(&["db", "rollback", "--to", "3"]);
    let before = common::files_under(&h.path().join("backups")).len();
    h.json(&["account", "list"]);
    let after = common::files_under(&h.path().join("backups")).len();
    assert_eq!(after, before + 1, "an automatic backup precedes the automatic migration");
    assert_eq!(h.json(&["db", "status"])["schema_version"], latest_version(), "migrated to the latest");
}

mod lazy_clock {
    //! Local V14 made the field clock lazy: a row created here has no clock entry until its first update
    //! (or the server's acknowledgement), and the sync engine reads "no entry" as "every field carries the
    //! row's own stamp, unsynced". Rolling V14 back writes the entries the eager clock held. So for any
    //! history of local edits, every synced row must read the same (values, stamps, bases) with the lazy
    //! clock, after V14 is rolled back, and after it is applied again.

    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use trenddojo_core::{
        AccountInput, EditTradeInput, ExecutionInput, ImportFill, ImportTrade, Journal, OpenTradeInput, TradeListInput,
        UserInput,
    };
    use trenddojo_domain::money::{Fee, Price, Quantity};
    use trenddojo_domain::trade::{Direction, Side};
    use trenddojo_store::migrations;
    use trenddojo_sync::local::{local_row, LocalRow};
    use trenddojo_sync::tables::TABLES;
    use uuid::Uuid;

    use crate::common;

    #[derive(Debug, Clone)]
    enum Op {
        Open(u8),
        Fill(usize, u8),
        Setup(usize, u8),
        Stop(usize, u16),
        Delete(usize),
        Import(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..4).prop_map(Op::Open),
            3 => (0usize..6, 1u8..5).prop_map(|(t, q)| Op::Fill(t, q)),
            2 => (0usize..6, 0u8..3).prop_map(|(t, w)| Op::Setup(t, w)),
            2 => (0usize..6, 9000u16..9900).prop_map(|(t, c)| Op::Stop(t, c)),
            1 => (0usize..6).prop_map(Op::Delete),
            2 => (1u8..28).prop_map(Op::Import),
        ]
    }

    /// A new encrypted journal in `dir` for `email`, with one USD account "Main".
    fn journal_with_main(dir: &std::path::Path, email: &str) -> Journal {
        let j = Journal::init(dir, &common::key(), &UserInput { email: email.into(), ..UserInput::default() })
            .expect("init");
        j.add_account(&AccountInput {
            name: "Main".into(),
            currency: "USD".into(),
            balance: "50000".into(),
            ..AccountInput::default()
        })
        .expect("account");
        j
    }

    /// Every synced row of the store as the sync engine reads it.
    fn clock_view(j: &Journal) -> BTreeMap<(String, String), LocalRow> {
        j.store()
            .read(|c| {
                let mut out = BTreeMap::new();
                for t in TABLES {
                    let ids: Vec<String> = c
                        .prepare(&format!("SELECT id FROM {}", t.name))?
                        .query_map([], |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    for id in ids {
                        let uuid = Uuid::parse_str(&id).expect("stored ids are uuids");
                        let row = local_row(c, t, uuid).expect("read a row's state").expect("the row exists");
                        out.insert((t.name.to_string(), id), row);
                    }
                }
                Ok::<_, trenddojo_store::StoreError>(out)
            })
            .expect("read every synced row")
    }

    fn clock_entries(j: &Journal) -> i64 {
        j.store()
            .read(|c| {
                c.query_row("SELECT count(*) FROM sync_field_clock", [], |r| r.get(0))
                    .map_err(trenddojo_store::StoreError::from)
            })
            .expect("count clock entries")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]
        #[test]
        fn every_row_reads_the_same_with_the_lazy_and_the_eager_clock(ops in prop::collection::vec(op(), 1..24)) {
            let dir = tempfile::tempdir().expect("temp dir");
            let j = journal_with_main(dir.path(), "clock@example.com");
            let live = |j: &Journal| -> Vec<String> {
                let mut ids: Vec<String> = j.list_trades(&TradeListInput { limit: Some(100), ..TradeListInput::default() })
                    .expect("list").iter().map(|t| t.id.to_string()).collect();
                ids.sort();
                ids
            };
            for op in &ops {
                let ids = live(&j);
                // Refusals (an exit larger than the position, an edit of a closed trade) are part of the
                // history too: they must write nothing, clock included.
                let _ = match *op {
                    Op::Open(s) => j.open_trade(&OpenTradeInput {
                        account: "Main".into(),
                        symbol: ["AAPL", "MSFT", "NVDA", "TSLA"][s as usize].into(),
                        side: "long".into(),
                        quantity: "10".into(),
                        price: "100".into(),
                        stop: Some("95".into()),
                        ..OpenTradeInput::default()
                    }).map(drop),
                    Op::Fill(t, q) => match ids.get(t) {
                        Some(id) => j.add_execution(id, &ExecutionInput {
                            side: "sell".into(), quantity: q.to_string(), price: "101".into(), ..ExecutionInput::default()
                        }).map(drop),
                        None => Ok(()),
                    },
                    Op::Setup(t, w) => match ids.get(t) {
                        Some(id) => j.edit_trade(id, &EditTradeInput {
                            setup: Some(["breakout", "pullback", "flag"][w as usize].into()), ..EditTradeInput::default()
                        }).map(drop),
                        None => Ok(()),
                    },
                    Op::Stop(t, c) => match ids.get(t) {
                        Some(id) => j.edit_trade(id, &EditTradeInput {
                            stop: Some(format!("{}.{:02}", c / 100, c % 100)), ..EditTradeInput::default()
                        }).map(drop),
                        None => Ok(()),
                    },
                    Op::Delete(t) => match ids.get(t) {
                        Some(id) => j.delete_trade(id).map(drop),
                        None => Ok(()),
                    },
                    Op::Import(day) => j.import_trades("Main", &[imported("AMD", u32::from(day))]).map(drop),
                };
            }
            let lazy = clock_view(&j);
            if ops.iter().any(|o| matches!(o, Op::Open(_) | Op::Import(_))) {
                prop_assert!(lazy.keys().any(|(t, _)| t == "executions"), "the history opened trades: {:?}", ops);
            }
            let lazy_entries = clock_entries(&j);
            j.store().with_writer(|c| migrations::rollback(c, 13).map(drop)).expect("roll V14 back");
            let eager = clock_view(&j);
            prop_assert_eq!(&eager, &lazy, "every row reads the same after V14's rollback wrote the eager entries");
            prop_assert!(
                clock_entries(&j) >= lazy_entries,
                "the rollback only adds entries ({} before)", lazy_entries
            );
            j.store().with_writer(|c| migrations::migrate(c, None).map(drop)).expect("apply V14 again");
            prop_assert_eq!(&clock_view(&j), &lazy, "and the same again under V14");
        }
    }

    /// A closed trade imported in final form: two fills, entry and exit.
    fn imported(symbol: &str, day: u32) -> ImportTrade {
        use chrono::TimeZone;
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, day, 15, 0, 0).single().expect("a time");
        let px = |s: &str| Price::parse("price", s).expect("price");
        let fill = |side, price: &str, minutes| ImportFill {
            side,
            quantity: Quantity::parse("quantity", "10").expect("quantity"),
            price: px(price),
            fees: Fee::parse("fees", "1").expect("fee"),
            at: at + chrono::Duration::minutes(minutes),
        };
        ImportTrade {
            symbol: symbol.into(),
            direction: Direction::Long,
            multiplier: rust_decimal::Decimal::ONE,
            initial_stop: Some(px("95")),
            target: None,
            setup: None,
            correlation_group: None,
            fills: vec![fill(Side::Buy, "100", 0), fill(Side::Sell, "104.5", 90)],
        }
    }

    /// The point of V14: rows written once, in final form (an import's trades, fills and stops), cost no
    /// clock entry; they read as created here, unsynced, each field at the row's own stamp.
    #[test]
    fn rows_imported_in_final_form_have_no_clock_entry() {
        let dir = tempfile::tempdir().expect("temp dir");
        let j = journal_with_main(dir.path(), "once@example.com");
        let before = clock_entries(&j);
        let n = j.import_trades("Main", &[imported("AAPL", 2), imported("MSFT", 3)]).expect("import");
        assert_eq!(n, 2, "both trades imported");
        assert_eq!(clock_entries(&j), before, "the import wrote no clock entry");
        let view = clock_view(&j);
        let fresh: Vec<_> =
            view.iter().filter(|((t, _), _)| t == "trades" || t == "executions").map(|(_, row)| row).collect();
        assert_eq!(fresh.len(), 6, "two trades and four fills: {:?}", view.keys());
        for row in fresh {
            assert!(row.bases.values().all(|b| b.as_deref() == Some("")), "created here, unsynced: {row:?}");
            let stamp = &row.state.fields["updated_hlc"].value;
            assert!(
                row.state.fields.values().all(|f| Some(f.hlc.as_str()) == stamp.as_str()),
                "every field carries the row's own stamp {stamp}: {row:?}"
            );
        }
    }

    /// A pull that recomputes a trade queues its derived fields for upload with a fresh stamp on the trade
    /// and each of its fills (`publish_derived`). A fill created here and not pushed yet may have no clock
    /// entry: its other fields must keep reading as created here (the row's stamp, unsynced), not as
    /// stamped zero and synced.
    #[test]
    fn derived_stamps_on_an_unpushed_fill_keep_its_creation_stamp() {
        let dir = tempfile::tempdir().expect("temp dir");
        let j = journal_with_main(dir.path(), "derived@example.com");
        j.import_trades("Main", &[imported("AAPL", 2)]).expect("import");
        let before = clock_view(&j);
        let trade = before.keys().find(|(t, _)| t == "trades").expect("the trade").1.clone();
        let published = j
            .store()
            .write(|tx| {
                trenddojo_sync::apply::publish_derived(tx, &[Uuid::parse_str(&trade).expect("uuid")])?;
                Ok::<_, trenddojo_sync::SyncError>(tx.hlc.clone())
            })
            .expect("publish derived");
        let after = clock_view(&j);
        let derived: Vec<&str> = trenddojo_sync::tables::table("executions")
            .expect("executions")
            .columns
            .iter()
            .filter(|c| c.direction == trenddojo_sync::tables::Direction::Derived)
            .map(|c| c.name)
            .collect();
        assert!(!derived.is_empty(), "fills have derived fields");
        let fills: Vec<_> = after.iter().filter(|((t, _), _)| t == "executions").collect();
        assert_eq!(fills.len(), 2, "both fills");
        for ((_, id), row) in fills {
            let was = &before[&("executions".to_string(), id.clone())];
            for (name, field) in &row.state.fields {
                if derived.contains(&name.as_str()) {
                    assert_eq!(field.hlc.as_str(), published, "{name}: stamped by the publication");
                    assert_eq!(row.base(name), None, "{name}: published values count as synced");
                } else {
                    assert_eq!(field.hlc, was.state.fields[name].hlc, "{name}: keeps the creation stamp");
                    assert_eq!(row.base(name), Some(""), "{name}: still an unsynced creation");
                }
            }
        }
    }
}
