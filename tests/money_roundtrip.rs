//! Property: any amount the money types accept survives parse -> store (SQLCipher TEXT) -> load ->
//! JSON exactly; amounts they reject never reach the store.

use crate::common;

use proptest::prelude::*;
use rust_decimal::Decimal;
use trenddojo_core::{AccountInput, Journal, OpenOptions};

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=12).prop_map(|(m, s)| Decimal::new(m.abs(), s))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn balances_round_trip_exactly(values in proptest::collection::vec(decimal(), 1..8)) {
        let h = common::Home::init();
        let j = Journal::open(&OpenOptions { home: h.path(), key: common::key(), user: None }).unwrap();
        for (i, v) in values.iter().enumerate() {
            let text = v.to_string();
            let view = j.add_account(&AccountInput {
                name: format!("A{i}"),
                currency: "USD".into(),
                balance: text.clone(),
                ..Default::default()
            }).unwrap();
            let json = serde_json::to_value(&view).unwrap();
            let back: Decimal = json["starting_balance"].as_str().expect("money is a JSON string").parse().unwrap();
            prop_assert_eq!(back, *v, "value survives the store and JSON");
            prop_assert_eq!(json["starting_balance"].as_str().unwrap(), v.normalize().to_string(), "canonical text");
        }
        let listed = j.list_accounts().unwrap();
        for (a, v) in listed.iter().zip(values.iter()) {
            prop_assert_eq!(Decimal::from_str_exact(&a.account.starting_balance).ok(), Some(*v), "reloaded from disk exactly");
        }
    }

    #[test]
    fn rejected_text_never_reaches_the_store(s in "[0-9eE+,. -]{1,12}") {
        prop_assume!(s.trim().parse::<Decimal>().is_err() || s.contains(['e', 'E', '+', ',', ' ']));
        let h = common::Home::init();
        let before = h.dump();
        let j = Journal::open(&OpenOptions { home: h.path(), key: common::key(), user: None }).unwrap();
        let r = j.add_account(&AccountInput { name: "X".into(), currency: "USD".into(), balance: s.clone(), ..Default::default() });
        prop_assert!(r.is_err(), "{:?} must be rejected", s);
        prop_assert!(r.unwrap_err().message.starts_with("balance:"), "the error names the field");
        drop(j);
        prop_assert_eq!(before, h.dump(), "nothing written");
    }
}
