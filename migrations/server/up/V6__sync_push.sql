-- V6: what the sync engine's push needs on the server.
--
-- field_hlcs: for every synced row, the clock stamp of each field's current value ({"stop": "<hlc>", ...};
-- "deleted" holds the tombstone's stamp). The per-field merge compares incoming stamps with these, so
-- concurrent edits of different fields both survive and the same field has the same winner everywhere.
-- sync_devices: each device's last applied mutation number, updated in the same transaction as the batch
-- it acknowledges, so a retried batch changes nothing and a missing one is detected. A device row belongs
-- to one user (row-level security): a device id cannot be used to probe or block another user's device.

ALTER TABLE trenddojo.users ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.accounts ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.risk_settings ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.trades ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.executions ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.trade_stop_adjustments ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.trade_targets ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.trade_notes ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.trade_checklist_templates ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.trade_checklist_items ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.trade_checklist_responses ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE trenddojo.broker_connections ADD COLUMN field_hlcs jsonb NOT NULL DEFAULT '{}'::jsonb;

CREATE TABLE trenddojo.sync_devices (
    device_id      uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES trenddojo.users (id),
    last_mutation  bigint NOT NULL DEFAULT 0 CHECK (last_mutation >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_devices_user_idx ON trenddojo.sync_devices (user_id);
COMMENT ON TABLE trenddojo.sync_devices IS 'INTERNAL: per-device push bookkeeping (last applied mutation)';
ALTER TABLE trenddojo.sync_devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.sync_devices FORCE ROW LEVEL SECURITY;
CREATE POLICY sync_devices_select ON trenddojo.sync_devices FOR SELECT TO trenddojo_app USING (user_id = (SELECT trenddojo.app_uid()));
CREATE POLICY sync_devices_insert ON trenddojo.sync_devices FOR INSERT TO trenddojo_app WITH CHECK (user_id = (SELECT trenddojo.app_uid()));
CREATE POLICY sync_devices_update ON trenddojo.sync_devices FOR UPDATE TO trenddojo_app
    USING (user_id = (SELECT trenddojo.app_uid())) WITH CHECK (user_id = (SELECT trenddojo.app_uid()));
CREATE POLICY sync_devices_delete ON trenddojo.sync_devices FOR DELETE TO trenddojo_app USING (user_id = (SELECT trenddojo.app_uid()));
REVOKE ALL ON trenddojo.sync_devices FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON trenddojo.sync_devices TO trenddojo_app;
GRANT UPDATE (last_mutation, last_seen) ON trenddojo.sync_devices TO trenddojo_app;
-- Devices may write users.field_hlcs along with the display name they may change.
GRANT UPDATE (field_hlcs) ON trenddojo.users TO trenddojo_app;
