-- V3: journal notes and pre-trade checklists (CONFIDENTIAL: the trader's own words).

CREATE TABLE trade_notes (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    account_id  TEXT REFERENCES accounts (id),
    trade_id    TEXT REFERENCES trades (id),
    kind        TEXT NOT NULL DEFAULT 'journal' CHECK (kind IN ('plan', 'review', 'journal', 'lesson')),
    body        TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_hlc TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX trade_notes_user_idx ON trade_notes (user_id, created_at);
CREATE INDEX trade_notes_trade_idx ON trade_notes (trade_id);
CREATE INDEX trade_notes_account_idx ON trade_notes (account_id);

CREATE TABLE trade_checklist_templates (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description TEXT,
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_hlc TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX trade_checklist_templates_user_idx ON trade_checklist_templates (user_id);
CREATE UNIQUE INDEX trade_checklist_templates_name_uq ON trade_checklist_templates (user_id, name) WHERE deleted = 0;

CREATE TABLE trade_checklist_items (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    template_id TEXT NOT NULL REFERENCES trade_checklist_templates (id),
    position    INTEGER NOT NULL CHECK (position >= 0),
    prompt      TEXT NOT NULL CHECK (length(prompt) BETWEEN 1 AND 500),
    required    INTEGER NOT NULL DEFAULT 1 CHECK (required IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_hlc TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX trade_checklist_items_user_idx ON trade_checklist_items (user_id);
CREATE INDEX trade_checklist_items_template_idx ON trade_checklist_items (template_id, position);

CREATE TABLE trade_checklist_responses (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    trade_id    TEXT NOT NULL REFERENCES trades (id),
    item_id     TEXT NOT NULL REFERENCES trade_checklist_items (id),
    checked     INTEGER NOT NULL CHECK (checked IN (0, 1)),
    comment     TEXT,
    answered_at TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_hlc TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX trade_checklist_responses_user_idx ON trade_checklist_responses (user_id);
CREATE UNIQUE INDEX trade_checklist_responses_uq ON trade_checklist_responses (trade_id, item_id) WHERE deleted = 0;
