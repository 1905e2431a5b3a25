DROP TRIGGER trades_tier_limit ON trenddojo.trades;
CREATE TRIGGER trades_tier_limit BEFORE INSERT ON trenddojo.trades
    FOR EACH ROW EXECUTE FUNCTION trenddojo.enforce_tier_limits();
DROP FUNCTION trenddojo.count_new_trades();

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'accounts', 'risk_settings', 'trades', 'executions', 'trade_stop_adjustments',
                             'trade_targets', 'broker_connections']
    LOOP
        EXECUTE format('DROP TRIGGER %I ON trenddojo.%I', t || '_audit_insert', t);
        EXECUTE format('DROP TRIGGER %I ON trenddojo.%I', t || '_audit_update', t);
        EXECUTE format('DROP TRIGGER %I ON trenddojo.%I', t || '_audit_delete', t);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON trenddojo.%I FOR EACH ROW '
                       'EXECUTE FUNCTION trenddojo.audit_row()', t || '_audit', t);
    END LOOP;
END
$$;
DROP FUNCTION trenddojo.audit_statement();
