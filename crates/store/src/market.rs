//! PUBLIC market data: a cache of daily bars and company fundamentals.

use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;
use serde::Serialize;

use trenddojo_domain::money::Price;

use crate::db::Tx;
use crate::error::Result;
use crate::sql::{col, col_dec, col_dec_opt, dec_text};

/// One daily bar.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Bar {
    pub symbol: String,
    pub bar_date: String,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    #[serde(with = "rust_decimal::serde::str")]
    pub volume: Decimal,
    pub source: String,
}

pub fn upsert_bars(tx: &Tx<'_>, bars: &[Bar]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO market_data_cache (symbol, bar_date, open, high, low, close, volume, source, fetched_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (symbol, bar_date) DO UPDATE SET open = excluded.open, \
         high = excluded.high, low = excluded.low, close = excluded.close, volume = excluded.volume, \
         source = excluded.source, fetched_at = excluded.fetched_at",
    )?;
    for b in bars {
        stmt.execute(params![
            b.symbol,
            b.bar_date,
            b.open.to_canonical(),
            b.high.to_canonical(),
            b.low.to_canonical(),
            b.close.to_canonical(),
            dec_text(b.volume),
            b.source,
            tx.now
        ])?;
    }
    Ok(())
}

/// Bars of a symbol with `from <= bar_date <= to` (ISO dates), oldest first.
pub fn bars(conn: &Connection, symbol: &str, from: &str, to: &str) -> Result<Vec<Bar>> {
    let mut stmt = conn.prepare_cached(
        "SELECT symbol, bar_date, open, high, low, close, volume, source FROM market_data_cache \
         WHERE symbol = ?1 AND bar_date BETWEEN ?2 AND ?3 ORDER BY bar_date",
    )?;
    let rows = stmt.query_map(params![symbol, from, to], |r| {
        Ok(Bar {
            symbol: r.get(0)?,
            bar_date: r.get(1)?,
            open: col(r, 2, Price::parse)?,
            high: col(r, 3, Price::parse)?,
            low: col(r, 4, Price::parse)?,
            close: col(r, 5, Price::parse)?,
            volume: col_dec(r, 6)?,
            source: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Company fundamentals.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Fundamentals {
    pub symbol: String,
    pub name: String,
    pub exchange: Option<String>,
    pub sector: Option<String>,
    pub industry: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub market_cap: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub pe_ratio: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub eps: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub dividend_yield: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub beta: Option<Decimal>,
}

pub fn upsert_fundamentals(tx: &Tx<'_>, f: &Fundamentals) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO stock_fundamentals (symbol, name, exchange, sector, industry, market_cap, pe_ratio, eps, \
         dividend_yield, beta, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (symbol) DO UPDATE SET name = excluded.name, exchange = excluded.exchange, sector = excluded.sector, \
         industry = excluded.industry, market_cap = excluded.market_cap, pe_ratio = excluded.pe_ratio, eps = excluded.eps, \
         dividend_yield = excluded.dividend_yield, beta = excluded.beta, updated_at = excluded.updated_at",
    )?
    .execute(params![
        f.symbol,
        f.name,
        f.exchange,
        f.sector,
        f.industry,
        f.market_cap.map(dec_text),
        f.pe_ratio.map(dec_text),
        f.eps.map(dec_text),
        f.dividend_yield.map(dec_text),
        f.beta.map(dec_text),
        tx.now
    ])?;
    Ok(())
}

pub fn fundamentals(conn: &Connection, symbol: &str) -> Result<Option<Fundamentals>> {
    Ok(conn
        .query_row(
            "SELECT symbol, name, exchange, sector, industry, market_cap, pe_ratio, eps, dividend_yield, beta \
             FROM stock_fundamentals WHERE symbol = ?1",
            [symbol],
            |r| {
                Ok(Fundamentals {
                    symbol: r.get(0)?,
                    name: r.get(1)?,
                    exchange: r.get(2)?,
                    sector: r.get(3)?,
                    industry: r.get(4)?,
                    market_cap: col_dec_opt(r, 5)?,
                    pe_ratio: col_dec_opt(r, 6)?,
                    eps: col_dec_opt(r, 7)?,
                    dividend_yield: col_dec_opt(r, 8)?,
                    beta: col_dec_opt(r, 9)?,
                })
            },
        )
        .optional()?)
}
