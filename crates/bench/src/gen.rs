//! The synthetic trades both benchmarks load: long and short, scaled in twice and out three times.

use chrono::{Duration as CDuration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use rust_decimal::Decimal;
use trenddojo_core::{ImportFill, ImportTrade};
use trenddojo_domain::money::{Fee, Price, Quantity};
use trenddojo_domain::trade::{Direction, Side};

/// `n` trades with 5 fills each, starting `start_day` steps into the series.
pub fn generate(rng: &mut StdRng, n: usize, start_day: i64) -> Vec<ImportTrade> {
    let base = Utc.with_ymd_and_hms(2015, 1, 5, 15, 0, 0).single().expect("base");
    (0..n)
        .map(|i| {
            let direction = if rng.gen_range(0..4) == 0 { Direction::Short } else { Direction::Long };
            let entry = Decimal::new(rng.gen_range(1_000..50_000), 2);
            let stop_dist = Decimal::new(rng.gen_range(20..300), 2);
            let sign = if direction == Direction::Long { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
            let at = base + CDuration::minutes((start_day + i as i64) * 97);
            let px = |d: Decimal| Price::new("price", d.max(Decimal::new(1, 2))).expect("price");
            let q = |v: i64| Quantity::new("quantity", Decimal::from(v)).expect("qty");
            let fee = Fee::parse("fees", "1").expect("fee");
            let move_ = Decimal::new(rng.gen_range(-150..300), 2);
            let (es, xs) = (direction.entry_side(), direction.exit_side());
            let fills = vec![
                ImportFill { side: es, quantity: q(60), price: px(entry), fees: fee, at },
                ImportFill {
                    side: es,
                    quantity: q(40),
                    price: px(entry + sign * Decimal::new(5, 2)),
                    fees: fee,
                    at: at + CDuration::minutes(5),
                },
                ImportFill {
                    side: xs,
                    quantity: q(30),
                    price: px(entry + sign * move_),
                    fees: fee,
                    at: at + CDuration::minutes(30),
                },
                ImportFill {
                    side: xs,
                    quantity: q(30),
                    price: px(entry + sign * move_ * Decimal::TWO),
                    fees: fee,
                    at: at + CDuration::minutes(60),
                },
                ImportFill {
                    side: xs,
                    quantity: q(40),
                    price: px(entry + sign * move_),
                    fees: fee,
                    at: at + CDuration::minutes(90),
                },
            ];
            let _ = Side::Buy;
            ImportTrade {
                symbol: format!("SYM{}", rng.gen_range(0..500)),
                direction,
                multiplier: Decimal::ONE,
                initial_stop: Some(px(entry - sign * stop_dist)),
                target: None,
                setup: None,
                correlation_group: None,
                fills,
            }
        })
        .collect()
}
