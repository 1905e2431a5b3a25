//! The per-field merge: how two versions of one row become one, identically on every device.
//!
//! A row's state is a map from field name to (value, stamp of the write that set it), plus a tombstone
//! stamp if it was deleted. Merging two states takes, for every field, the value with the greater stamp
//! (the stamp's device id breaks ties, so there is always exactly one winner), and keeps the row deleted
//! if either side deleted it: an edit made against a delete does not bring the row back.
//!
//! This is a join-semilattice (commutative, associative, idempotent; property-tested below), the
//! property that makes sync order-free: a device may receive batches late, twice or in any order and
//! still end up with the same row as every other device and the server. Concurrent edits to different
//! fields both survive because fields merge independently. When a field's value is replaced by a
//! different one, the replaced value is reported as [`Overridden`] so the conflict log can show it and
//! the user can restore it (a restore is simply a new write with a newer stamp).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hlc::Hlc;

/// One field's value and the stamp of the write that set it. Values are JSON: money, prices and
/// quantities travel as decimal strings, never as JSON numbers.
///
/// `base` is the stamp of the value that write replaced, as the writing device had it (when known): it
/// travels with the value, so a device that receives it can tell an edit made after seeing its own value
/// (base = its stamp: an ordinary update) from a concurrent one (a conflict, logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub value: Value,
    pub hlc: Hlc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Hlc>,
}

impl Field {
    /// A value with its stamp and no known base.
    pub fn new(value: Value, hlc: Hlc) -> Field {
        Field { value, hlc, base: None }
    }
}

/// A row as the sync engine sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowState {
    pub fields: BTreeMap<String, Field>,
    /// The stamp of the delete, if the row was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Hlc>,
}

/// A value that lost: `lost` was replaced by `kept` in field `field`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overridden {
    pub field: String,
    pub kept: Field,
    pub lost: Field,
}

/// The result of a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub row: RowState,
    /// Fields where the two sides held different values, with the value that lost.
    pub overridden: Vec<Overridden>,
}

/// Which of two writes of one field wins. Greater stamp wins; identical stamps come from the same write
/// and so should carry the same value, but if corrupt data ever disagrees, the canonical JSON text decides
/// so the result is still the same on every device.
fn wins(a: &Field, b: &Field) -> bool {
    match a.hlc.cmp(&b.hlc) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => canonical(&a.value) >= canonical(&b.value),
    }
}

/// Compact JSON text (object keys sorted: serde_json's map is ordered).
fn canonical(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Merge two states of one row.
pub fn merge(a: &RowState, b: &RowState) -> Merged {
    let mut fields = BTreeMap::new();
    let mut overridden = Vec::new();
    for name in a.fields.keys().chain(b.fields.keys()) {
        if fields.contains_key(name) {
            continue;
        }
        let winner = match (a.fields.get(name), b.fields.get(name)) {
            (Some(x), Some(y)) => {
                let (kept, lost) = if wins(x, y) { (x, y) } else { (y, x) };
                if kept.value != lost.value {
                    overridden.push(Overridden { field: name.clone(), kept: kept.clone(), lost: lost.clone() });
                }
                // The same write seen twice (one copy may not carry its base any more): keep the base
                // either copy has, the same way in every order.
                let mut kept = kept.clone();
                if x.hlc == y.hlc && x.value == y.value {
                    kept.base = x.base.clone().max(y.base.clone());
                }
                kept
            }
            (Some(x), None) | (None, Some(x)) => x.clone(),
            (None, None) => continue,
        };
        fields.insert(name.clone(), winner);
    }
    let deleted = a.deleted.clone().max(b.deleted.clone());
    Merged { row: RowState { fields, deleted }, overridden }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f(value: &str, ms: u64, device: &str) -> Field {
        Field::new(Value::String(value.into()), Hlc::new(ms, 0, device).expect("stamp"))
    }

    fn row(fields: &[(&str, Field)]) -> RowState {
        RowState { fields: fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(), deleted: None }
    }

    #[test]
    fn concurrent_edits_to_different_fields_both_survive() {
        let base = row(&[("stop", f("180.00", 1, "a")), ("setup", f("breakout", 1, "a"))]);
        let laptop = merge(&base, &row(&[("stop", f("182.50", 5, "laptop"))])).row;
        let desktop = merge(&base, &row(&[("setup", f("pullback", 6, "desktop"))])).row;
        let m = merge(&laptop, &desktop);
        assert_eq!(m.row.fields["stop"].value, "182.50", "the laptop's stop survives");
        assert_eq!(m.row.fields["setup"].value, "pullback", "the desktop's setup survives");
        assert_eq!(m.overridden.len(), 2, "each side's old value of the other's field is reported: {:?}", m.overridden);
    }

    #[test]
    fn same_field_resolves_to_the_later_stamp_and_reports_the_loser() {
        let m = merge(&row(&[("stop", f("182.50", 5, "laptop"))]), &row(&[("stop", f("181.00", 7, "desktop"))]));
        assert_eq!(m.row.fields["stop"].value, "181.00", "the later write wins");
        assert_eq!(
            m.overridden,
            vec![Overridden { field: "stop".into(), kept: f("181.00", 7, "desktop"), lost: f("182.50", 5, "laptop") }],
            "the overridden value goes to the conflict log"
        );
        // Same millisecond and counter: the device id decides, the same way on both sides.
        let x = row(&[("stop", f("1", 9, "aaa"))]);
        let y = row(&[("stop", f("2", 9, "bbb"))]);
        assert_eq!(merge(&x, &y).row, merge(&y, &x).row, "tie broken identically in both orders");
        assert_eq!(merge(&x, &y).row.fields["stop"].value, "2", "the greater device id wins the tie");
    }

    #[test]
    fn an_edit_against_a_delete_keeps_the_delete() {
        let mut deleted = row(&[("stop", f("180.00", 1, "a"))]);
        deleted.deleted = Some(Hlc::new(5, 0, "laptop").expect("stamp"));
        let later_edit = row(&[("stop", f("185.00", 9, "desktop"))]);
        let m = merge(&deleted, &later_edit);
        assert!(m.row.deleted.is_some(), "the row stays deleted even though the edit is newer");
        assert_eq!(m.row.fields["stop"].value, "185.00", "fields still converge underneath the tombstone");
    }

    fn arb_state() -> impl Strategy<Value = RowState> {
        let field = (0u8..4, 0u64..6, 0u32..3, prop::sample::select(vec!["a", "b", "c"]));
        (prop::collection::vec(field, 0..6), prop::option::of((0u64..6, prop::sample::select(vec!["a", "b"]))))
            .prop_map(|(fs, del)| {
                let mut fields = BTreeMap::new();
                for (name, ms, counter, dev) in fs {
                    // The same stamp always carries the same value (one write), as in real data.
                    let value = Value::String(format!("v{ms}.{counter}.{dev}"));
                    let hlc = Hlc::new(ms, counter, dev).expect("stamp");
                    // A write's base is part of the write; a copy may have lost it.
                    let base = (ms % 2 == 0).then(|| Hlc::new(ms / 2, 0, "z").expect("stamp"));
                    fields.insert(format!("f{name}"), Field { value, hlc, base });
                }
                let deleted = del.map(|(ms, d)| Hlc::new(ms, 0, d).expect("stamp"));
                RowState { fields, deleted }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn merge_is_commutative(a in arb_state(), b in arb_state()) {
            prop_assert_eq!(merge(&a, &b).row, merge(&b, &a).row, "order of arrival does not matter");
        }

        #[test]
        fn merge_is_associative(a in arb_state(), b in arb_state(), c in arb_state()) {
            let left = merge(&merge(&a, &b).row, &c).row;
            let right = merge(&a, &merge(&b, &c).row).row;
            prop_assert_eq!(left, right, "grouping of batches does not matter");
        }

        #[test]
        fn merge_is_idempotent(a in arb_state(), b in arb_state()) {
            prop_assert_eq!(&merge(&a, &a).row, &a, "merging a state with itself changes nothing");
            let once = merge(&a, &b).row;
            prop_assert_eq!(merge(&once, &b).row, once, "a retried batch changes nothing");
        }

        #[test]
        fn no_write_is_lost_and_deletes_are_absorbing(a in arb_state(), b in arb_state()) {
            let m = merge(&a, &b);
            for (name, field) in a.fields.iter().chain(b.fields.iter()) {
                let got = &m.row.fields[name];
                prop_assert!(got.hlc >= field.hlc, "field {} keeps the newest write", name);
                if got.value != field.value {
                    prop_assert!(
                        m.overridden.iter().any(|o| &o.field == name && o.lost == *field),
                        "a replaced value of {} is reported", name
                    );
                }
            }
            prop_assert_eq!(m.row.deleted.is_some(), a.deleted.is_some() || b.deleted.is_some(), "delete wins");
        }

        #[test]
        fn devices_converge_whatever_the_delivery_order(
            states in prop::collection::vec(arb_state(), 1..5),
            orders in prop::collection::vec(prop::collection::vec(0usize..5, 1..12), 3),
        ) {
            // Each device receives a random sequence of the states (repeats allowed), after also
            // receiving every state once at the end (eventual delivery); all must agree.
            let mut results = Vec::new();
            for order in &orders {
                let mut s = RowState::default();
                for i in order.iter().map(|i| i % states.len()).chain(0..states.len()) {
                    s = merge(&s, &states[i]).row;
                }
                results.push(s);
            }
            for r in &results[1..] {
                prop_assert_eq!(r, &results[0], "every device ends with the same row");
            }
        }
    }
}
