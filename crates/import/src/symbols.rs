//! Instrument identity: OCC option symbols, futures month codes, MT5 symbol suffixes, and the one table of
//! futures multipliers.
//!
//! Brokers spell one contract many ways (`/ESH24` at thinkorswim, `ESH4` at IBKR and Tradovate, `ESH24`
//! elsewhere); an option is `SPY   240119C00470000` (OCC, padded), `SPY240119C00470000` (Webull), or
//! `SPY 19JAN24 470 C` (an IBKR Activity Statement). Each is turned into one [`Instrument`] whose `key`
//! compares equal across brokers, because trades are grouped and fingerprints computed by that key.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::model::{dec_text, AssetClass, Instrument, OptionRight};
use crate::time::contract_year;

/// Futures multipliers by product root (contract value per point). One table for every format.
const FUTURES: &[(&str, i64, u32)] = &[
    // (root, mantissa, scale): multiplier = mantissa / 10^scale
    ("ES", 50, 0),
    ("MES", 5, 0),
    ("NQ", 20, 0),
    ("MNQ", 2, 0),
    ("YM", 5, 0),
    ("MYM", 5, 1),
    ("RTY", 50, 0),
    ("M2K", 5, 0),
    ("EMD", 100, 0),
    ("NKD", 5, 0),
    ("CL", 1000, 0),
    ("MCL", 100, 0),
    ("QM", 500, 0),
    ("NG", 10000, 0),
    ("QG", 2500, 0),
    ("RB", 42000, 0),
    ("HO", 42000, 0),
    ("GC", 100, 0),
    ("MGC", 10, 0),
    ("SI", 5000, 0),
    ("SIL", 1000, 0),
    ("HG", 25000, 0),
    ("MHG", 2500, 0),
    ("PL", 50, 0),
    ("PA", 100, 0),
    ("ZB", 1000, 0),
    ("UB", 1000, 0),
    ("ZN", 1000, 0),
    ("TN", 1000, 0),
    ("ZF", 1000, 0),
    ("ZT", 2000, 0),
    ("ZC", 50, 0),
    ("ZS", 50, 0),
    ("ZW", 50, 0),
    ("ZM", 100, 0),
    ("ZL", 600, 0),
    ("HE", 400, 0),
    ("LE", 400, 0),
    ("GF", 500, 0),
    ("6E", 125000, 0),
    ("M6E", 12500, 0),
    ("6J", 12500000, 0),
    ("6B", 62500, 0),
    ("M6B", 6250, 0),
    ("6A", 100000, 0),
    ("M6A", 10000, 0),
    ("6C", 100000, 0),
    ("6S", 125000, 0),
    ("6N", 100000, 0),
    ("6M", 500000, 0),
    ("BTC", 5, 0),
    ("MBT", 1, 1),
    ("ETH", 50, 0),
    ("MET", 1, 1),
    ("VX", 1000, 0),
    ("VXM", 100, 0),
];

/// The multiplier of a futures product root, from the built-in table.
pub fn futures_multiplier(root: &str) -> Option<Decimal> {
    FUTURES.iter().find(|(r, _, _)| r.eq_ignore_ascii_case(root)).map(|(_, m, s)| Decimal::new(*m, *s))
}

/// Every root the table knows (for docs and tests).
pub fn futures_roots() -> impl Iterator<Item = (&'static str, Decimal)> {
    FUTURES.iter().map(|(r, m, s)| (*r, Decimal::new(*m, *s)))
}

const MONTH_CODES: &[u8; 12] = b"FGHJKMNQUVXZ";

fn month_of_code(c: u8) -> Option<u32> {
    MONTH_CODES.iter().position(|m| *m == c.to_ascii_uppercase()).map(|i| i as u32 + 1)
}

fn code_of_month(m: u32) -> Option<char> {
    MONTH_CODES.get(m.checked_sub(1)? as usize).map(|b| *b as char)
}

/// `ESH4`, `/ESH24`, `MNQM6`, `6EM4`, `CLQ2024` -> (root, year, month). `trade_year` places one- and two-digit
/// years.
pub fn parse_future_code(s: &str, trade_year: i32) -> Option<(String, i32, u32)> {
    let t = s.trim().trim_start_matches('/').trim_start_matches('.');
    let t = t.split_whitespace().next()?;
    // A contract code is ASCII; anything else (a damaged cell) is no code, and byte offsets below stay on
    // character boundaries.
    if !t.is_ascii() {
        return None;
    }
    let digits = t.bytes().rev().take_while(u8::is_ascii_digit).count();
    if !(1..=4).contains(&digits) || digits == 3 || t.len() < digits + 2 {
        return None;
    }
    let (head, year_digits) = t.split_at(t.len() - digits);
    let (root, code) = head.split_at(head.len() - 1);
    let month = month_of_code(*code.as_bytes().first()?)?;
    if root.is_empty() || root.len() > 4 || !root.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let year = contract_year(year_digits, trade_year)?;
    Some((root.to_ascii_uppercase(), year, month))
}

/// Parts of an OCC option symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OccParts {
    pub root: String,
    pub expiry: NaiveDate,
    pub right: OptionRight,
    pub strike: Decimal,
}

/// `SPY   240119C00470000` (padded) or `SPY240119C00470000`; also with a leading `.` or `-` (some exports).
pub fn parse_occ(s: &str) -> Option<OccParts> {
    let compact: String = s.trim().trim_start_matches(['.', '-']).chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() < 16 || !compact.is_ascii() {
        return None;
    }
    let (root, tail) = compact.split_at(compact.len() - 15);
    if root.is_empty() || root.len() > 6 || !root.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
        return None;
    }
    let (date, rest) = tail.split_at(6);
    let (right, strike) = rest.split_at(1);
    if !date.bytes().all(|b| b.is_ascii_digit()) || !strike.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let expiry = NaiveDate::parse_from_str(date, "%y%m%d").ok()?;
    let right = match right {
        "C" | "c" => OptionRight::Call,
        "P" | "p" => OptionRight::Put,
        _ => return None,
    };
    let strike = Decimal::new(strike.parse::<i64>().ok()?, 3).normalize();
    Some(OccParts { root: root.to_ascii_uppercase(), expiry, right, strike })
}

/// The padded 21-character OCC symbol, or `None` when the strike has more than 3 decimals or 5 integer
/// digits (no OCC spelling exists).
pub fn occ_symbol(root: &str, expiry: NaiveDate, right: OptionRight, strike: Decimal) -> Option<String> {
    let milli = strike.checked_mul(Decimal::ONE_THOUSAND)?;
    if !milli.fract().is_zero() || milli < Decimal::ZERO || milli >= Decimal::from(100_000_000) || root.len() > 6 {
        return None;
    }
    Some(format!("{root:<6}{}{}{:0>8}", expiry.format("%y%m%d"), right.as_str(), dec_text(milli.trunc())))
}

/// `SPY 19JAN24 470 C` (IBKR Activity Statement option symbol).
pub fn parse_spaced_option(s: &str) -> Option<OccParts> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [root, date, strike, right] = parts.as_slice() else { return None };
    let expiry = NaiveDate::parse_from_str(&date.to_ascii_uppercase(), "%d%b%y").ok()?;
    let strike = Decimal::from_str_exact(strike).ok()?.normalize();
    let right = match *right {
        "C" | "CALL" => OptionRight::Call,
        "P" | "PUT" => OptionRight::Put,
        _ => return None,
    };
    Some(OccParts { root: root.to_ascii_uppercase(), expiry, right, strike })
}

const CURRENCIES: &[&str] = &[
    "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "HUF", "CZK", "TRY", "ZAR",
    "MXN", "SGD", "HKD", "CNH", "RUB", "ILS",
];

/// `EURUSD` (six letters, both ISO currencies) or `EUR.USD`.
pub fn forex_pair(s: &str) -> Option<String> {
    let t: String = s.trim().chars().filter(|c| *c != '.' && *c != '/').collect::<String>().to_ascii_uppercase();
    (t.len() == 6 && t.is_ascii() && CURRENCIES.contains(&&t[..3]) && CURRENCIES.contains(&&t[3..])).then_some(t)
}

/// An MT5 symbol without the broker's suffix: `EURUSD.m`, `EURUSDm`, `EURUSD#`, `XAUUSD_i`, `US500.cash` ->
/// `EURUSD`, `EURUSD`, `EURUSD`, `XAUUSD`, `US500`.
pub fn mt5_base(s: &str) -> String {
    let t = s.trim();
    let cut = t.find(['.', '#', '_', '!', '+', '-']).unwrap_or(t.len());
    let mut base = &t[..cut];
    if base.is_empty() {
        base = t;
    }
    // A lowercase tail after an uppercase forex pair or metal: `EURUSDm`, `XAUUSDc`.
    let upper = base.bytes().take_while(|b| !b.is_ascii_lowercase()).count();
    if upper >= 6 && upper < base.len() {
        base = &base[..upper];
    }
    base.to_string()
}

impl Instrument {
    fn plain(prefix: &str, symbol: &str, broker_symbol: &str) -> Instrument {
        Instrument {
            key: format!("{prefix}:{symbol}"),
            symbol: symbol.to_string(),
            broker_symbol: broker_symbol.trim().to_string(),
            underlying: None,
            expiry: None,
            strike: None,
            right: None,
            future_root: None,
            contract_month: None,
        }
    }

    pub fn stock(symbol: &str) -> Instrument {
        let s = symbol.trim().to_ascii_uppercase();
        Instrument::plain("STK", &s, symbol)
    }

    pub fn forex(pair: &str, broker_symbol: &str) -> Instrument {
        Instrument::plain("FX", pair, broker_symbol)
    }

    /// An instrument known only by its symbol (`CFD`, `CRYPTO`, `BOND`, `OTHER`).
    pub fn simple(class: AssetClass, symbol: &str, broker_symbol: &str) -> Instrument {
        let prefix = match class {
            AssetClass::Stock => "STK",
            AssetClass::Forex => "FX",
            AssetClass::Crypto => "CRYPTO",
            AssetClass::Cfd => "CFD",
            AssetClass::Bond => "BOND",
            AssetClass::Option => "OPT",
            AssetClass::Future => "FUT",
            AssetClass::FutureOption => "FOP",
            AssetClass::Other => "OTHER",
        };
        Instrument::plain(prefix, symbol.trim(), broker_symbol)
    }

    pub fn option(
        underlying: &str,
        expiry: NaiveDate,
        right: OptionRight,
        strike: Decimal,
        broker_symbol: &str,
    ) -> Instrument {
        let u = underlying.trim().to_ascii_uppercase();
        let symbol = occ_symbol(&u, expiry, right, strike)
            .unwrap_or_else(|| format!("{u} {} {} {}", expiry, dec_text(strike), right.as_str()));
        Instrument {
            key: format!("OPT:{u}:{expiry}:{}:{}", right.as_str(), dec_text(strike)),
            symbol,
            broker_symbol: broker_symbol.trim().to_string(),
            underlying: Some(u),
            expiry: Some(expiry),
            strike: Some(strike.normalize()),
            right: Some(right),
            future_root: None,
            contract_month: None,
        }
    }

    pub fn future(root: &str, year: i32, month: u32, broker_symbol: &str) -> Instrument {
        let root = root.trim().to_ascii_uppercase();
        let code = code_of_month(month).unwrap_or('?');
        let yy = year.rem_euclid(100);
        Instrument {
            key: format!("FUT:{root}:{year:04}-{month:02}"),
            symbol: format!("{root}{code}{yy:02}"),
            broker_symbol: broker_symbol.trim().to_string(),
            underlying: None,
            expiry: None,
            strike: None,
            right: None,
            future_root: Some(root),
            contract_month: Some(format!("{year:04}-{month:02}")),
        }
    }

    /// An option on a future: `root` is the futures product, `contract` its delivery month when known.
    pub fn future_option(
        root: &str,
        contract: Option<(i32, u32)>,
        expiry: NaiveDate,
        right: OptionRight,
        strike: Decimal,
        broker_symbol: &str,
    ) -> Instrument {
        let root = root.trim().trim_start_matches('/').to_ascii_uppercase();
        let month = contract.map(|(y, m)| format!("{y:04}-{m:02}"));
        let underlying = match contract {
            Some((y, m)) => format!("{root}{}{:02}", code_of_month(m).unwrap_or('?'), y.rem_euclid(100)),
            None => root.clone(),
        };
        Instrument {
            key: format!("FOP:{underlying}:{expiry}:{}:{}", right.as_str(), dec_text(strike)),
            symbol: format!("{underlying} {} {} {}", expiry.format("%Y-%m-%d"), dec_text(strike), right.as_str()),
            broker_symbol: broker_symbol.trim().to_string(),
            underlying: Some(underlying),
            expiry: Some(expiry),
            strike: Some(strike.normalize()),
            right: Some(right),
            future_root: Some(root),
            contract_month: month,
        }
    }
}

/// A future from a broker's contract symbol, or `None` when the symbol is not a month-coded contract.
pub fn future_from_code(code: &str, trade_date: NaiveDate) -> Option<Instrument> {
    let (root, year, month) = parse_future_code(code, trade_date.year())?;
    Some(Instrument::future(&root, year, month, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn damaged_symbols_with_multibyte_characters_are_no_symbols() {
        // Found by the damaged-exports property test: byte offsets fell inside a character.
        for s in ["ESH\u{FFFD}4", "ES\u{FFFD}24", "\u{FFFD}H4", "ESH4\u{FFFD}"] {
            assert_eq!(parse_future_code(s, 2024), None, "{s:?} is no futures code");
        }
        for s in ["AB\u{20AC}C", "\u{20AC}USD", "EUR\u{20AC}"] {
            assert_eq!(forex_pair(s), None, "{s:?} is no currency pair");
        }
        assert_eq!(mt5_base("EURUSD\u{FFFD}m"), "EURUSD\u{FFFD}", "the suffix rule keeps characters whole");
        assert_eq!(parse_future_code("ESH4", 2024), Some(("ES".into(), 2024, 3)), "a clean code still parses");
    }

    #[test]
    fn occ_symbols_round_trip() {
        let p = parse_occ("SPY   240119C00470000").unwrap();
        assert_eq!((p.root.as_str(), p.expiry, p.right), ("SPY", date("2024-01-19"), OptionRight::Call), "parts");
        assert_eq!(p.strike, Decimal::from(470), "strike in thousandths");
        assert_eq!(parse_occ("SPY240119C00470000"), Some(p.clone()), "unpadded is the same");
        let sym = occ_symbol("SPY", p.expiry, p.right, p.strike).unwrap();
        assert_eq!(sym, "SPY   240119C00470000", "padded to 21 characters");
        let half = parse_occ("AAPL  240621P00192500").unwrap();
        assert_eq!(half.strike, Decimal::new(1925, 1), "fractional strike");
        assert_eq!(parse_occ("AAPL"), None, "a ticker is not an option");
        assert_eq!(parse_occ("SPY   241319C00470000"), None, "month 13 refused");
        assert_eq!(occ_symbol("SPY", p.expiry, p.right, Decimal::new(12345, 4)), None, "4 decimals have no OCC form");
    }

    #[test]
    fn futures_codes_from_every_broker_compare_equal() {
        let d = date("2024-02-01");
        let a = future_from_code("ESH4", d).unwrap();
        let b = future_from_code("/ESH24", d).unwrap();
        assert_eq!(a.key, "FUT:ES:2024-03", "IBKR/Tradovate spelling");
        assert_eq!(a.key, b.key, "thinkorswim spelling is the same contract");
        assert_eq!(a.symbol, "ESH24", "canonical display symbol");
        assert_eq!(future_from_code("6EM4", d).unwrap().future_root.as_deref(), Some("6E"), "digit in root");
        assert_eq!(future_from_code("AAPL", d), None, "a ticker is not a future");
        assert_eq!(future_from_code("ESA4", d), None, "A is not a month code");
    }

    #[test]
    fn multipliers_come_from_one_table() {
        let cases =
            [("MES", "5"), ("ES", "50"), ("NQ", "20"), ("MNQ", "2"), ("CL", "1000"), ("GC", "100"), ("MYM", "0.5")];
        for (root, m) in cases {
            assert_eq!(futures_multiplier(root), Some(Decimal::from_str_exact(m).unwrap()), "{root}");
        }
        assert_eq!(futures_multiplier("XYZ"), None, "unknown root");
    }

    #[test]
    fn mt5_suffixes_and_forex_pairs() {
        for (raw, base) in [
            ("EURUSD.m", "EURUSD"),
            ("EURUSDm", "EURUSD"),
            ("XAUUSD_i", "XAUUSD"),
            ("US500.cash", "US500"),
            ("GBPJPY#", "GBPJPY"),
            ("EURUSD", "EURUSD"),
        ] {
            assert_eq!(mt5_base(raw), base, "{raw}");
        }
        assert_eq!(forex_pair("EUR.USD").as_deref(), Some("EURUSD"), "IBKR spelling");
        assert_eq!(forex_pair("XAUUSD"), None, "gold is not a currency pair");
        let opt = parse_spaced_option("SPY 19JAN24 470 C").unwrap();
        assert_eq!((opt.expiry, opt.strike), (date("2024-01-19"), Decimal::from(470)), "activity statement option");
    }
}
