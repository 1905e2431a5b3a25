//! One canonical JSON form per column kind, and the conversions to and from PostgreSQL.
//!
//! JSON is what travels between the two stores and what the merge compares, so each value has exactly
//! one spelling: uuids hyphenated lowercase, decimals in the domain's canonical text (normalized, never a
//! JSON number, so money stays exact), instants as RFC 3339 UTC with microseconds (the local store's own
//! format), integers and booleans as JSON numbers and booleans, bytes as lowercase hex.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use trenddojo_store::sql::Value as Sql;
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::merge::{Field, RowState};
use crate::tables::{Column, Kind};
use crate::SyncError;

/// A boxed query parameter.
pub type Param = Box<dyn ToSql + Sync + Send>;

fn bad(table: &str, col: &Column, v: &Value) -> SyncError {
    SyncError::Invalid { field: format!("{table}.{}", col.name), message: format!("{v} is not a valid {:?}", col.kind) }
}

/// The canonical JSON of column `idx` of a PostgreSQL row.
pub fn from_pg(row: &Row, idx: usize, kind: Kind) -> Result<Value, SyncError> {
    let e = |e: tokio_postgres::Error| SyncError::Server(e.into());
    Ok(match kind {
        Kind::Uuid => row.try_get::<_, Option<Uuid>>(idx).map_err(e)?.map(|u| Value::String(u.to_string())),
        Kind::Text => row.try_get::<_, Option<String>>(idx).map_err(e)?.map(Value::String),
        Kind::Decimal => row
            .try_get::<_, Option<Decimal>>(idx)
            .map_err(e)?
            .map(|d| Value::String(trenddojo_domain::money::canonical(d))),
        Kind::Int => row.try_get::<_, Option<i32>>(idx).map_err(e)?.map(|i| Value::from(i64::from(i))),
        Kind::Bool => row.try_get::<_, Option<bool>>(idx).map_err(e)?.map(Value::Bool),
        Kind::Time => row
            .try_get::<_, Option<DateTime<Utc>>>(idx)
            .map_err(e)?
            .map(|t| Value::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))),
        Kind::Bytes => row.try_get::<_, Option<Vec<u8>>>(idx).map_err(e)?.map(|b| Value::String(hex::encode(b))),
    }
    .unwrap_or(Value::Null))
}

/// Column `idx` of a PostgreSQL row as the local store keeps it: the same value as
/// `engine::to_local(&from_pg(..))`, without the JSON in between (a first download converts every column
/// of every row, so this is its hot path).
pub fn local_from_pg(row: &Row, idx: usize, kind: Kind) -> Result<Sql, SyncError> {
    let e = |e: tokio_postgres::Error| SyncError::Server(e.into());
    Ok(match kind {
        Kind::Uuid => row.try_get::<_, Option<Uuid>>(idx).map_err(e)?.map(|u| Sql::Text(u.to_string())),
        Kind::Text => row.try_get::<_, Option<String>>(idx).map_err(e)?.map(Sql::Text),
        Kind::Decimal => {
            row.try_get::<_, Option<Decimal>>(idx).map_err(e)?.map(|d| Sql::Text(trenddojo_domain::money::canonical(d)))
        }
        Kind::Int => row.try_get::<_, Option<i32>>(idx).map_err(e)?.map(|i| Sql::Integer(i64::from(i))),
        Kind::Bool => row.try_get::<_, Option<bool>>(idx).map_err(e)?.map(|b| Sql::Integer(i64::from(b))),
        Kind::Time => row
            .try_get::<_, Option<DateTime<Utc>>>(idx)
            .map_err(e)?
            .map(|t| Sql::Text(t.to_rfc3339_opts(SecondsFormat::Micros, true))),
        Kind::Bytes => row.try_get::<_, Option<Vec<u8>>>(idx).map_err(e)?.map(Sql::Blob),
    }
    .unwrap_or(Sql::Null))
}

/// A local column as canonical JSON (bytes as lowercase hex).
pub fn from_local(v: Sql, kind: Kind) -> Value {
    match (v, kind) {
        (Sql::Null, _) => Value::Null,
        (Sql::Integer(i), Kind::Bool) => Value::Bool(i != 0),
        (Sql::Integer(i), _) => Value::from(i),
        (Sql::Blob(b), _) => Value::String(hex::encode(b)),
        (Sql::Text(t), _) => Value::String(t),
        // No synced column is REAL (floats are banned on money paths); a REAL would be corrupt data.
        (Sql::Real(_), _) => Value::Null,
    }
}

/// Canonical JSON as a local column value. Refuses what the column cannot hold (bytes that are not hex,
/// an integer out of range), naming the column, instead of storing something else silently.
pub fn to_local(table: &str, col: &Column, v: &Value) -> Result<Sql, SyncError> {
    Ok(match (v, col.kind) {
        (Value::Null, _) => Sql::Null,
        (Value::Bool(b), _) => Sql::Integer(i64::from(*b)),
        (Value::Number(n), _) => Sql::Integer(n.as_i64().ok_or_else(|| bad(table, col, v))?),
        (Value::String(s), Kind::Bytes) => Sql::Blob(hex::decode(s).map_err(|_| bad(table, col, v))?),
        (Value::String(s), _) => Sql::Text(s.clone()),
        (other, _) => return Err(bad(table, col, other)),
    })
}

/// The key under which `field_hlcs` keeps the base of a field's write (see [`crate::merge::Field`]).
pub fn base_key(field: &str) -> String {
    format!("{field}^")
}

/// The base of a field's write in `field_hlcs`, if recorded.
pub fn base_of(stamps: &Value, field: &str) -> Option<Hlc> {
    stamps.get(base_key(field)).and_then(Value::as_str).and_then(|s| Hlc::parse(s).ok())
}

/// A field's stamp as `field_hlcs` holds it: a missing or unreadable one is the zero stamp (older than
/// every real write).
pub fn parse_stamp(s: Option<&str>) -> Hlc {
    s.and_then(|s| Hlc::parse(s).ok()).unwrap_or_else(Hlc::zero)
}

/// A server row read as `SELECT <cols>, deleted, field_hlcs`: its id (if `cols` has it) and its state,
/// each field with its stamp from `field_hlcs` (a field without one has the zero stamp).
pub fn server_state(row: &Row, cols: &[Column]) -> Result<(Option<Uuid>, RowState), SyncError> {
    let stamps: Value = row.try_get(cols.len() + 1)?;
    let stamp = |f: &str| parse_stamp(stamps.get(f).and_then(Value::as_str));
    let base = |f: &str| base_of(&stamps, f);
    let mut state = RowState::default();
    let mut id = None;
    for (i, c) in cols.iter().enumerate() {
        let value = from_pg(row, i, c.kind)?;
        if c.name == "id" {
            id = value.as_str().and_then(|s| Uuid::parse_str(s).ok());
        }
        state.fields.insert(c.name.to_string(), Field { value, hlc: stamp(c.name), base: base(c.name) });
    }
    if row.try_get::<_, bool>(cols.len())? {
        state.deleted = Some(stamp("deleted"));
    }
    Ok((id, state))
}

/// A JSON value as a typed PostgreSQL parameter for `col`, validating it.
pub fn to_pg(table: &str, col: &Column, v: &Value) -> Result<Param, SyncError> {
    if v.is_null() {
        if !col.nullable {
            return Err(SyncError::Invalid {
                field: format!("{table}.{}", col.name),
                message: "must not be null".into(),
            });
        }
        return Ok(match col.kind {
            Kind::Uuid => Box::new(None::<Uuid>),
            Kind::Text => Box::new(None::<String>),
            Kind::Decimal => Box::new(None::<Decimal>),
            Kind::Int => Box::new(None::<i32>),
            Kind::Bool => Box::new(None::<bool>),
            Kind::Time => Box::new(None::<DateTime<Utc>>),
            Kind::Bytes => Box::new(None::<Vec<u8>>),
        });
    }
    let s = v.as_str();
    Ok(match col.kind {
        Kind::Uuid => Box::new(s.and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(|| bad(table, col, v))?),
        Kind::Text => Box::new(s.ok_or_else(|| bad(table, col, v))?.to_string()),
        Kind::Decimal => Box::new(s.and_then(|s| Decimal::from_str_exact(s).ok()).ok_or_else(|| bad(table, col, v))?),
        Kind::Int => Box::new(v.as_i64().and_then(|i| i32::try_from(i).ok()).ok_or_else(|| bad(table, col, v))?),
        Kind::Bool => Box::new(v.as_bool().ok_or_else(|| bad(table, col, v))?),
        Kind::Time => Box::new(
            s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| bad(table, col, v))?,
        ),
        Kind::Bytes => Box::new(s.and_then(|s| hex::decode(s).ok()).ok_or_else(|| bad(table, col, v))?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::Direction;

    fn col(kind: Kind, nullable: bool) -> Column {
        Column { name: "x", kind, nullable, direction: Direction::Both }
    }

    #[test]
    fn local_values_round_trip_and_bad_bytes_are_refused() {
        let bytes = col(Kind::Bytes, false);
        let json = from_local(Sql::Blob(vec![0, 255, 16]), Kind::Bytes);
        assert_eq!(json, serde_json::json!("00ff10"), "bytes as lowercase hex");
        assert_eq!(to_local("t", &bytes, &json).ok(), Some(Sql::Blob(vec![0, 255, 16])), "and back");
        assert!(to_local("t", &bytes, &serde_json::json!("0g")).is_err(), "not hex: refused, never dropped");
        assert!(to_local("t", &bytes, &serde_json::json!("abc")).is_err(), "odd length: refused");
        assert_eq!(from_local(Sql::Integer(1), Kind::Bool), serde_json::json!(true), "booleans");
        assert!(to_local("t", &col(Kind::Int, false), &serde_json::json!(1.5)).is_err(), "no fractions in an int");
    }

    #[test]
    fn invalid_values_name_the_field_and_money_is_never_a_number() {
        let err = to_pg("trades", &col(Kind::Decimal, false), &serde_json::json!(187.25))
            .map(|_| ())
            .expect_err("a JSON number is refused");
        assert!(matches!(err, SyncError::Invalid { ref field, .. } if field == "trades.x"), "names the field: {err}");
        assert!(
            to_pg("t", &col(Kind::Decimal, false), &serde_json::json!("187.25")).is_ok(),
            "a decimal string is fine"
        );
        assert!(to_pg("t", &col(Kind::Text, false), &Value::Null).is_err(), "null in a NOT NULL column is refused");
        assert!(to_pg("t", &col(Kind::Text, true), &Value::Null).is_ok(), "null where allowed");
        assert!(to_pg("t", &col(Kind::Int, false), &serde_json::json!(1_i64 << 40)).is_err(), "out of integer range");
        assert!(to_pg("t", &col(Kind::Time, false), &serde_json::json!("yesterday")).is_err(), "not an instant");
        assert!(to_pg("t", &col(Kind::Bytes, false), &serde_json::json!("zz")).is_err(), "not hex");
    }
}
