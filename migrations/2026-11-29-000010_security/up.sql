-- Access tokens issued before this instant are refused (logout everywhere, password reset,
-- removal). NULL: every unexpired token of the user is good.
ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;

-- An invitation is either a first password (`invitation`) or, for an account that already
-- has one, a password reset. Issuing a new one voids the user's earlier pending ones.
ALTER TABLE invitations
    ADD COLUMN kind text NOT NULL DEFAULT 'invitation'
        CHECK (kind IN ('invitation', 'password_reset')),
    ADD COLUMN voided_at timestamptz;
CREATE INDEX invitations_pending_idx ON invitations (user_id)
    WHERE accepted_at IS NULL AND voided_at IS NULL;

-- The audit trail is append-only. Only the erasure routine may change it, and only by
-- removing a client's identifying values from the events about her (`changes`); it says so
-- with `SET LOCAL runback.erasure = 'on'` inside its transaction. Nothing deletes events.
DROP TRIGGER audit_events_no_update ON audit_events;
DROP FUNCTION audit_events_are_append_only();
CREATE FUNCTION audit_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('runback.erasure', true) = 'on'
       AND (NEW.id, NEW.organization_id, NEW.actor_type, NEW.actor_id, NEW.action, NEW.entity,
            NEW.entity_id, NEW.occurred_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.organization_id, OLD.actor_type, OLD.actor_id, OLD.action, OLD.entity,
            OLD.entity_id, OLD.occurred_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_are_append_only();
CREATE FUNCTION audit_events_no_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (TRUNCATE refused)';
END;
$$;
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_no_truncate();
