//! Numbers as brokers write them, read exactly.
//!
//! Exports write `1,234.50`, `(80.00)`, `$(226.00)`, `+100`, `10 000.00` (MT5: a space or no-break space
//! between thousands), `-0.65`, or, in a European file, `1.234,50`. Each is read into a `Decimal` from its
//! text, never through a float. Thousands separators are only accepted in groups of exactly three digits, so
//! `1,5` in a file read with a decimal point is an error ("decimal comma?") instead of silently fifteen.

use rust_decimal::Decimal;

/// How a file writes its numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumStyle {
    /// `,` is the decimal separator (and `.`, space or `'` may group thousands).
    pub decimal_comma: bool,
}

impl NumStyle {
    pub const POINT: NumStyle = NumStyle { decimal_comma: false };
}

/// Parse a decimal written by a broker. `Ok(None)` for an empty field (or `-`/`--`, which exports use for
/// "none"). The error text names the value and why.
pub fn parse_opt(s: &str, style: NumStyle) -> Result<Option<Decimal>, String> {
    let t = s.trim().trim_matches('\u{feff}');
    if t.is_empty() || t == "-" || t == "--" || t.eq_ignore_ascii_case("n/a") {
        return Ok(None);
    }
    parse_inner(t, style).map(Some).map_err(|why| format!("{s:?} is not a number ({why})"))
}

/// Like [`parse_opt`], but an empty field is an error.
pub fn parse(s: &str, style: NumStyle) -> Result<Decimal, String> {
    parse_opt(s, style)?.ok_or_else(|| "is empty".to_string())
}

fn parse_inner(t: &str, style: NumStyle) -> Result<Decimal, String> {
    let mut negative = false;
    let mut body = t;
    // Currency marks and signs may come in either order: `$(226.00)`, `-$5`, `$-5`, `(5.00)`, `+100`.
    loop {
        let before = body;
        body = body.trim();
        if let Some(rest) = body.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            if negative {
                return Err("two minus signs".into());
            }
            negative = true;
            body = rest;
        }
        for sym in ["$", "€", "£", "USD", "EUR"] {
            if let Some(rest) = body.strip_prefix(sym) {
                body = rest;
            }
            if let Some(rest) = body.strip_suffix(sym) {
                body = rest;
            }
        }
        if let Some(rest) = body.strip_prefix('-') {
            if negative {
                return Err("two minus signs".into());
            }
            negative = true;
            body = rest;
        } else if let Some(rest) = body.strip_prefix('+') {
            body = rest;
        }
        if body == before {
            break;
        }
    }
    let (dec_sep, group_seps): (char, &[char]) = if style.decimal_comma {
        (',', &['.', ' ', '\u{a0}', '\u{202f}', '\''])
    } else {
        ('.', &[',', ' ', '\u{a0}', '\u{202f}', '\''])
    };
    let (int_part, frac_part) = match body.rsplit_once(dec_sep) {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    if body.matches(dec_sep).count() > 1 {
        return Err(format!("more than one '{dec_sep}'"));
    }
    // Integer part: digits, optionally grouped by one kind of separator in threes.
    let mut digits = String::with_capacity(body.len());
    let sep_used: Vec<char> = int_part.chars().filter(|c| group_seps.contains(c)).collect();
    if let Some(&first) = sep_used.first() {
        if sep_used.iter().any(|c| *c != first) {
            return Err("mixed thousands separators".into());
        }
        let groups: Vec<&str> = int_part.split(first).collect();
        let (head, rest) = groups.split_first().ok_or("empty")?;
        if head.is_empty() || head.len() > 3 || rest.iter().any(|g| g.len() != 3) {
            let hint = if first == ',' { "; a decimal comma? read the file with decimal_comma" } else { "" };
            return Err(format!("'{first}' does not group thousands{hint}"));
        }
        for g in groups {
            digits.push_str(g);
        }
    } else {
        digits.push_str(int_part);
    }
    if digits.is_empty() {
        digits.push('0');
        if frac_part.is_none_or(str::is_empty) {
            return Err("no digits".into());
        }
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("unexpected character".into());
    }
    if let Some(f) = frac_part {
        if !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err("unexpected character".into());
        }
        if !f.is_empty() {
            digits.push('.');
            digits.push_str(f);
        }
    }
    let d = Decimal::from_str_exact(&digits).map_err(|e| format!("{e}"))?;
    Ok(if negative { -d } else { d }.normalize())
}

/// A strictly plain decimal (TrendDojo's own format): `-`? digits, optional `.` digits; nothing else.
pub fn parse_plain(s: &str) -> Result<Decimal, String> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (i, f) = body.split_once('.').unwrap_or((body, "0"));
    if i.is_empty() || f.is_empty() || !i.bytes().all(|b| b.is_ascii_digit()) || !f.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("{s:?} is not a plain decimal such as 12.5"));
    }
    Decimal::from_str_exact(s).map(|d| d.normalize()).map_err(|e| format!("{s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn broker_spellings_read_exactly() {
        let cases = [
            ("1,234.50", "1234.5"),
            ("(80.00)", "-80"),
            ("$(226.00)", "-226"),
            ("$1,000", "1000"),
            ("-$5.25", "-5.25"),
            ("+100", "100"),
            ("10 000.00", "10000"),
            ("10\u{a0}000.5", "10000.5"),
            ("-0.65", "-0.65"),
            (".5", "0.5"),
            ("0.0000001", "0.0000001"),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input, NumStyle::POINT).unwrap(), d(want), "{input:?} read with a decimal point");
        }
        let comma = NumStyle { decimal_comma: true };
        assert_eq!(parse("1.234,50", comma).unwrap(), d("1234.5"), "European grouping");
        assert_eq!(parse("0,25", comma).unwrap(), d("0.25"), "decimal comma");
        assert_eq!(parse("-3,5", comma).unwrap(), d("-3.5"), "negative decimal comma");
    }

    #[test]
    fn ambiguous_or_broken_numbers_are_refused() {
        for bad in ["1,5", "1,23,456", "12a", "1.2.3", "--5", "1e5", "NaN", "$", "1,234 567"] {
            let r = parse(bad, NumStyle::POINT);
            assert!(r.is_err(), "{bad:?} must be refused, got {r:?}");
        }
        assert!(parse("1,5", NumStyle::POINT).unwrap_err().contains("decimal_comma"), "the hint names the option");
        assert_eq!(parse_opt("", NumStyle::POINT).unwrap(), None, "empty is none");
        assert_eq!(parse_opt(" -- ", NumStyle::POINT).unwrap(), None, "dashes are none");
        assert!(parse("", NumStyle::POINT).is_err(), "empty refused where required");
    }

    #[test]
    fn plain_decimals_only_in_trenddojo_format() {
        assert_eq!(parse_plain("12.50").unwrap(), d("12.5"), "plain");
        assert_eq!(parse_plain("-3").unwrap(), d("-3"), "negative integer");
        for bad in ["1,000", "1e3", ".5", "5.", "+1", " 1"] {
            assert!(parse_plain(bad).is_err(), "{bad:?} refused");
        }
    }
}
