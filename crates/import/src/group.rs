//! Grouping executions into trades, flat to flat.
//!
//! Per broker account and instrument key, fills are walked in time order (file order on a tie) keeping the
//! signed position. A trade opens when the position leaves zero and closes when it returns to zero. A fill
//! that crosses zero (sell 3 while long 2: a flip, or an MT5 `in/out` deal) is split: the part that flattens
//! the position exits the current trade, the rest opens the next trade in the other direction. So every trade
//! but the last of an instrument has entries equal to exits, and the last may be open.
//!
//! Fills from TrendDojo's own export carry the exporting store's trade id: those are grouped by it instead,
//! so a re-import keeps the user's grouping exactly (including trades a user split differently from
//! flat-to-flat).
//!
//! Grouping says which fills form which trade; P&L is computed later by the domain's matching (the account's
//! FIFO/LIFO/average-cost method) over each trade's legs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use trenddojo_domain::{Direction, Side};

use crate::model::NormalizedFill;

/// One fill's share in a trade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TradeLeg {
    /// Index into the slice given to [`group_trades`].
    pub fill: usize,
    /// The part of the fill's quantity in this trade (all of it unless the fill flipped the position).
    pub quantity: Decimal,
    /// Entry (adds to the position) or exit.
    pub entry: bool,
}

/// A trade made of fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupedTrade {
    pub broker_account: String,
    pub instrument_key: String,
    pub symbol: String,
    pub direction: Direction,
    pub multiplier: Decimal,
    pub legs: Vec<TradeLeg>,
    /// Entries minus exits (zero for a closed trade).
    pub open_quantity: Decimal,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The exporting store's trade id (TrendDojo files only).
    pub trade_ref: Option<String>,
}

impl GroupedTrade {
    pub fn entered(&self) -> Decimal {
        self.legs.iter().filter(|l| l.entry).map(|l| l.quantity).sum()
    }

    pub fn exited(&self) -> Decimal {
        self.legs.iter().filter(|l| !l.entry).map(|l| l.quantity).sum()
    }
}

fn signed(f: &NormalizedFill) -> Decimal {
    match f.side {
        Side::Buy => f.quantity,
        Side::Sell => -f.quantity,
    }
}

fn direction_of(q: Decimal) -> Direction {
    if q > Decimal::ZERO {
        Direction::Long
    } else {
        Direction::Short
    }
}

/// Group fills into trades (see the module docs). Trades come out ordered by open time, then account and
/// instrument, so the result does not depend on how fills were ordered in the slice apart from ties in time.
pub fn group_trades(fills: &[NormalizedFill]) -> Vec<GroupedTrade> {
    let mut trades = Vec::new();
    let mut by_ref: BTreeMap<(std::sync::Arc<str>, String), Vec<usize>> = BTreeMap::new();
    let mut by_instrument: BTreeMap<(std::sync::Arc<str>, String), Vec<usize>> = BTreeMap::new();
    for (i, f) in fills.iter().enumerate() {
        match &f.trade_hints {
            Some(h) => by_ref.entry((f.broker_account.clone(), h.trade_ref.clone())).or_default().push(i),
            None => by_instrument.entry((f.broker_account.clone(), f.instrument.key.clone())).or_default().push(i),
        }
    }
    for ((account, trade_ref), mut idx) in by_ref {
        idx.sort_by_key(|&i| (fills[i].executed_at, i));
        let Some(&first) = idx.first() else { continue };
        let f0 = &fills[first];
        let direction = f0.trade_hints.as_ref().map(|h| h.direction).unwrap_or(Direction::Long);
        let legs: Vec<TradeLeg> = idx
            .iter()
            .map(|&i| TradeLeg { fill: i, quantity: fills[i].quantity, entry: fills[i].side == direction.entry_side() })
            .collect();
        let mut t = GroupedTrade {
            broker_account: account.to_string(),
            instrument_key: f0.instrument.key.clone(),
            symbol: f0.instrument.symbol.clone(),
            direction,
            multiplier: f0.multiplier,
            legs,
            open_quantity: Decimal::ZERO,
            opened_at: f0.executed_at,
            closed_at: None,
            trade_ref: Some(trade_ref),
        };
        t.open_quantity = t.entered() - t.exited();
        if t.open_quantity.is_zero() {
            t.closed_at = idx.last().map(|&i| fills[i].executed_at);
        }
        trades.push(t);
    }
    for ((account, key), mut idx) in by_instrument {
        idx.sort_by_key(|&i| (fills[i].executed_at, i));
        let mut pos = Decimal::ZERO;
        let mut cur: Option<GroupedTrade> = None;
        let new_trade = |i: usize, q: Decimal, dir: Direction| GroupedTrade {
            broker_account: account.to_string(),
            instrument_key: key.clone(),
            symbol: fills[i].instrument.symbol.clone(),
            direction: dir,
            multiplier: fills[i].multiplier,
            legs: vec![TradeLeg { fill: i, quantity: q, entry: true }],
            open_quantity: Decimal::ZERO,
            opened_at: fills[i].executed_at,
            closed_at: None,
            trade_ref: None,
        };
        for i in idx {
            let s = signed(&fills[i]);
            if s.is_zero() {
                continue;
            }
            match cur.as_mut() {
                None => {
                    cur = Some(new_trade(i, s.abs(), direction_of(s)));
                    pos = s;
                }
                Some(t) if (s > Decimal::ZERO) == (pos > Decimal::ZERO) => {
                    t.legs.push(TradeLeg { fill: i, quantity: s.abs(), entry: true });
                    pos += s;
                }
                Some(t) => {
                    let closing = s.abs().min(pos.abs());
                    t.legs.push(TradeLeg { fill: i, quantity: closing, entry: false });
                    pos += s;
                    if (pos > Decimal::ZERO) != (s > Decimal::ZERO) && !pos.is_zero() {
                        // Still on the old side: a partial exit.
                        continue;
                    }
                    t.closed_at = Some(fills[i].executed_at);
                    if let Some(done) = cur.take() {
                        trades.push(done);
                    }
                    if !pos.is_zero() {
                        // The flip: the rest opens the next trade.
                        cur = Some(new_trade(i, pos.abs(), direction_of(pos)));
                    }
                }
            }
        }
        if let Some(mut t) = cur.take() {
            t.open_quantity = t.entered() - t.exited();
            trades.push(t);
        }
    }
    trades.sort_by(|a, b| {
        (a.opened_at, &a.broker_account, &a.instrument_key).cmp(&(b.opened_at, &b.broker_account, &b.instrument_key))
    });
    trades
}
