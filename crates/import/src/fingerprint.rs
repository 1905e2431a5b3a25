//! Content fingerprints, so a re-import adds nothing and two genuine identical fills both import.
//!
//! Formats without execution ids (Schwab, Tastytrade, Webull, Tradovate Orders, most generic files) can only
//! be deduplicated by content. Content alone would merge two real fills of 100 @ 10.00 in the same second
//! (a common partial-fill pattern) into one, so the fingerprint also counts how many identical fills came
//! before this one *in the same file*: the first is occurrence 0, the second 1. Importing the same file again
//! produces the same occurrences, so nothing is added; an overlapping export (Jan-Mar, then Mar-Jun) holds the
//! same identical fills of March in the same order, so the overlap is recognised too.
//!
//! The fingerprint is the lowercase hex sha256 of this UTF-8 text, lines joined by `\n`, no trailing newline:
//!
//! ```text
//! trenddojo-fill-v1
//! <broker account>
//! <instrument key>            e.g. OPT:SPY:2024-01-19:C:470
//! <side>                      buy | sell
//! <quantity>                  canonical decimal: no exponent, no trailing zeros
//! <price>                     canonical decimal
//! <instant>                   RFC 3339 UTC with microseconds: 2024-03-15T13:31:05.000000Z
//! <fees>                      kind=amount pairs joined by `,` in the order commission, exchange,
//!                             regulatory, other; zero amounts left out; empty when there are none
//! <occurrence>                0, 1, 2, ... among fills whose lines above are all equal, in file order
//! ```

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::model::{dec_text, NormalizedFill};

/// The text of every line above except the occurrence.
pub fn content_text(f: &NormalizedFill) -> String {
    let fees: Vec<String> = f.fees.iter().map(|(k, a)| format!("{k}={}", dec_text(*a))).collect();
    format!(
        "trenddojo-fill-v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        f.broker_account,
        f.instrument.key,
        f.side,
        dec_text(f.quantity),
        dec_text(f.price),
        f.executed_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        fees.join(",")
    )
}

/// Set `occurrence` and `fingerprint` of every fill, counting identical content in slice (file) order.
pub fn assign(fills: &mut [NormalizedFill]) {
    // Keyed by the content's digest, not its text: 32 bytes a fill instead of the whole text.
    let mut seen: HashMap<[u8; 32], u32> = HashMap::with_capacity(fills.len());
    for f in fills.iter_mut() {
        let text = content_text(f);
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        let n = seen.entry(digest).or_insert(0);
        f.occurrence = *n;
        *n = n.saturating_add(1);
        let mut h = Sha256::new();
        h.update(text.as_bytes());
        h.update(b"\n");
        h.update(f.occurrence.to_string().as_bytes());
        f.fingerprint = hex::encode(h.finalize());
    }
}
