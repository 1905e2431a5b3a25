//! Journal notes and pre-trade checklists (templates, their items, and per-trade responses).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::sql::{col_uuid, col_uuid_opt};

/// A journal note, on a trade, an account, or free-standing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Note {
    pub id: Uuid,
    pub trade_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub kind: String,
    pub body: String,
    pub created_at: String,
}

/// Kinds of note.
pub const NOTE_KINDS: [&str; 4] = ["plan", "review", "journal", "lesson"];

#[derive(Debug, Clone)]
pub struct NewNote {
    pub user_id: Uuid,
    pub trade_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub kind: String,
    pub body: String,
}

pub fn insert_note(tx: &Tx<'_>, n: &NewNote) -> Result<Note> {
    let id = tx.new_id();
    tx.prepare_cached(
        "INSERT INTO trade_notes (id, user_id, account_id, trade_id, kind, body, created_at, updated_at, updated_hlc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
    )?
    .execute(params![
        id.to_string(),
        n.user_id.to_string(),
        n.account_id.map(|a| a.to_string()),
        n.trade_id.map(|t| t.to_string()),
        n.kind,
        n.body,
        tx.now,
        tx.hlc
    ])?;
    Ok(Note {
        id,
        trade_id: n.trade_id,
        account_id: n.account_id,
        kind: n.kind.clone(),
        body: n.body.clone(),
        created_at: tx.now.clone(),
    })
}

/// Notes of a user, newest first, optionally only those of one trade.
pub fn list_notes(conn: &Connection, user_id: Uuid, trade_id: Option<Uuid>, limit: u32) -> Result<Vec<Note>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, trade_id, account_id, kind, body, created_at FROM trade_notes \
         WHERE user_id = ?1 AND deleted = 0 AND (?2 IS NULL OR trade_id = ?2) ORDER BY created_at DESC, id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![user_id.to_string(), trade_id.map(|t| t.to_string()), limit], |r| {
        Ok(Note {
            id: col_uuid(r, 0)?,
            trade_id: col_uuid_opt(r, 1)?,
            account_id: col_uuid_opt(r, 2)?,
            kind: r.get(3)?,
            body: r.get(4)?,
            created_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A checklist template with its items in order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChecklistTemplate {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub items: Vec<ChecklistItem>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChecklistItem {
    pub id: Uuid,
    pub position: u32,
    pub prompt: String,
    pub required: bool,
}

/// A trader's answer to one checklist item for one trade.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChecklistResponse {
    pub item_id: Uuid,
    pub prompt: String,
    pub required: bool,
    pub checked: bool,
    pub comment: Option<String>,
    pub answered_at: String,
}

pub fn count_templates(conn: &Connection, user_id: Uuid) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT count(*) FROM trade_checklist_templates WHERE user_id = ?1 AND deleted = 0",
        [user_id.to_string()],
        |r| r.get(0),
    )?)
}

/// Create a template with its items (prompts, and whether each must be checked before a trade).
pub fn insert_template(
    tx: &Tx<'_>,
    user_id: Uuid,
    name: &str,
    description: Option<&str>,
    items: &[(String, bool)],
) -> Result<Uuid> {
    let clash: Option<String> = tx
        .query_row(
            "SELECT id FROM trade_checklist_templates WHERE user_id = ?1 AND name = ?2 AND deleted = 0",
            params![user_id.to_string(), name],
            |r| r.get(0),
        )
        .optional()?;
    if clash.is_some() {
        return Err(StoreError::Invalid {
            field: "name",
            message: format!("a checklist named {name:?} already exists"),
        });
    }
    let id = tx.new_id();
    tx.execute(
        "INSERT INTO trade_checklist_templates (id, user_id, name, description, active, created_at, updated_at, updated_hlc) \
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, ?6)",
        params![id.to_string(), user_id.to_string(), name, description, tx.now, tx.hlc],
    )?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO trade_checklist_items (id, user_id, template_id, position, prompt, required, created_at, updated_at, \
         updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
    )?;
    for (pos, (prompt, required)) in items.iter().enumerate() {
        stmt.execute(params![
            tx.new_id().to_string(),
            user_id.to_string(),
            id.to_string(),
            pos as u32,
            prompt,
            required,
            tx.now,
            tx.hlc
        ])?;
    }
    Ok(id)
}

pub fn list_templates(conn: &Connection, user_id: Uuid) -> Result<Vec<ChecklistTemplate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, description, active FROM trade_checklist_templates WHERE user_id = ?1 AND deleted = 0 \
         ORDER BY name",
    )?;
    let templates: Vec<ChecklistTemplate> = stmt
        .query_map([user_id.to_string()], |r| {
            Ok(ChecklistTemplate {
                id: col_uuid(r, 0)?,
                name: r.get(1)?,
                description: r.get(2)?,
                active: r.get(3)?,
                items: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut items = conn.prepare_cached(
        "SELECT id, position, prompt, required FROM trade_checklist_items WHERE template_id = ?1 AND deleted = 0 \
         ORDER BY position",
    )?;
    templates
        .into_iter()
        .map(|mut t| {
            t.items = items
                .query_map([t.id.to_string()], |r| {
                    Ok(ChecklistItem {
                        id: col_uuid(r, 0)?,
                        position: r.get(1)?,
                        prompt: r.get(2)?,
                        required: r.get(3)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(t)
        })
        .collect()
}

/// Find a template by exact name, full id or unique id prefix.
pub fn resolve_template(conn: &Connection, user_id: Uuid, input: &str) -> Result<ChecklistTemplate> {
    let all = list_templates(conn, user_id)?;
    let named: Vec<&ChecklistTemplate> = all.iter().filter(|t| t.name == input).collect();
    match named.as_slice() {
        [one] => return Ok((*one).clone()),
        // Two devices may each have created a checklist with this name while apart.
        [_, _, ..] => {
            return Err(StoreError::Ambiguous {
                what: "checklist",
                id: input.to_string(),
                count: named.len(),
                examples: named.iter().take(3).map(|t| format!("{} ({})", t.id, t.name)).collect(),
            })
        }
        [] => {}
    }
    let id = crate::resolve_id(conn, "trade_checklist_templates", "checklist", "name", user_id, input)?;
    all.into_iter().find(|t| t.id == id).ok_or_else(|| StoreError::NotFound { what: "checklist", id: input.into() })
}

/// Record (or replace) the answer to one item for one trade.
pub fn answer(
    tx: &Tx<'_>,
    user_id: Uuid,
    trade_id: Uuid,
    item_id: Uuid,
    checked: bool,
    comment: Option<&str>,
) -> Result<()> {
    // One answer per trade and item, with the same id on every device (see `derived_id`): answering again
    // changes the row, and two devices answering while apart merge field by field.
    let changed = tx.execute(
        "UPDATE trade_checklist_responses SET checked = ?3, comment = ?4, answered_at = ?5, updated_at = ?5, \
         updated_hlc = ?6 WHERE trade_id = ?1 AND item_id = ?2 AND deleted = 0",
        params![trade_id.to_string(), item_id.to_string(), checked, comment, tx.now, tx.hlc],
    )?;
    if changed > 0 {
        return Ok(());
    }
    let id = crate::derived_id("checklist_response", &[trade_id, item_id]);
    let inserted = tx.execute(
        "INSERT INTO trade_checklist_responses (id, user_id, trade_id, item_id, checked, comment, answered_at, created_at, \
         updated_at, updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7, ?8) ON CONFLICT (id) DO NOTHING",
        params![
            id.to_string(),
            user_id.to_string(),
            trade_id.to_string(),
            item_id.to_string(),
            checked,
            comment,
            tx.now,
            tx.hlc
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Invalid {
            field: "item",
            message: "this answer was deleted on another device; it cannot be answered again".into(),
        });
    }
    Ok(())
}

/// A trade's checklist answers, in template item order.
pub fn responses(conn: &Connection, trade_id: Uuid) -> Result<Vec<ChecklistResponse>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.item_id, i.prompt, i.required, r.checked, r.comment, r.answered_at \
         FROM trade_checklist_responses r JOIN trade_checklist_items i ON i.id = r.item_id \
         WHERE r.trade_id = ?1 AND r.deleted = 0 ORDER BY i.template_id, i.position",
    )?;
    let rows = stmt.query_map([trade_id.to_string()], |r| {
        Ok(ChecklistResponse {
            item_id: col_uuid(r, 0)?,
            prompt: r.get(1)?,
            required: r.get(2)?,
            checked: r.get(3)?,
            comment: r.get(4)?,
            answered_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Notes of a user that belong to no trade (the journal's notes of a day or an account), newest first.
pub fn list_free_notes(conn: &Connection, user_id: Uuid, limit: u32) -> Result<Vec<Note>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, trade_id, account_id, kind, body, created_at FROM trade_notes \
         WHERE user_id = ?1 AND deleted = 0 AND trade_id IS NULL ORDER BY created_at DESC, id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![user_id.to_string(), limit], |r| {
        Ok(Note {
            id: col_uuid(r, 0)?,
            trade_id: col_uuid_opt(r, 1)?,
            account_id: col_uuid_opt(r, 2)?,
            kind: r.get(3)?,
            body: r.get(4)?,
            created_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
