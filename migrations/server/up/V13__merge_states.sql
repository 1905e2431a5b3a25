-- V13: states a merge can produce (see the local V8).
--
-- A trade whose merged fills break a rule one device enforces (two devices closed the same position) has
-- the status `needs_review`, the reasons (`review`, comma-separated codes) and the exit quantity that found
-- nothing open (`excess_quantity`); devices derive all three and push them like the rest of a trade's
-- summary. Replacing a trade's targets is one edit: target rows belong to a set (`trade_targets.set_id`)
-- and the trade names its current one (`targets_set`). Checklist names are unique per user only as a
-- device's own rule: two devices may create "Pre-trade" while apart, and both rows must be accepted.

ALTER TABLE trenddojo.trades DROP CONSTRAINT trades_status_check;
ALTER TABLE trenddojo.trades ADD CONSTRAINT trades_status_check
    CHECK (status IN ('planned', 'open', 'partially_closed', 'closed', 'cancelled', 'needs_review'));
ALTER TABLE trenddojo.trades
    ADD COLUMN excess_quantity numeric CHECK (excess_quantity >= 0),
    ADD COLUMN review text,
    ADD COLUMN targets_set uuid;
ALTER TABLE trenddojo.trade_targets ADD COLUMN set_id uuid;

DROP INDEX trenddojo.trade_checklist_templates_name_uq;
CREATE INDEX trade_checklist_templates_name_idx ON trenddojo.trade_checklist_templates (user_id, name) WHERE NOT deleted;
