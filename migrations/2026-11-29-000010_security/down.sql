DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP FUNCTION audit_events_no_truncate();
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_are_append_only();
CREATE FUNCTION audit_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update
    BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_are_append_only();
DROP INDEX invitations_pending_idx;
ALTER TABLE invitations DROP COLUMN voided_at, DROP COLUMN kind;
ALTER TABLE users DROP COLUMN tokens_valid_after;
