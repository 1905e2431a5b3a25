-- V13 down: back to V12. Trades needing review become open (V12 has no such state); target sets go.

DROP INDEX trenddojo.trade_checklist_templates_name_idx;
CREATE UNIQUE INDEX trade_checklist_templates_name_uq ON trenddojo.trade_checklist_templates (user_id, name) WHERE NOT deleted;

ALTER TABLE trenddojo.trade_targets DROP COLUMN set_id;
ALTER TABLE trenddojo.trades DROP COLUMN excess_quantity, DROP COLUMN review, DROP COLUMN targets_set;
UPDATE trenddojo.trades SET status = 'open' WHERE status = 'needs_review';
ALTER TABLE trenddojo.trades DROP CONSTRAINT trades_status_check;
ALTER TABLE trenddojo.trades ADD CONSTRAINT trades_status_check
    CHECK (status IN ('planned', 'open', 'partially_closed', 'closed', 'cancelled'));
