-- The change feed (`GET /v1/sync`): one row per change to a record about a client, written by
-- triggers so that no writer can forget it. A page is read in (txid, seq) order, and only rows
-- of transactions older than every transaction still running (the snapshot's xmin) are
-- served: a row committed after a cursor was issued always sorts after it, even when its
-- transaction began earlier. Rows carry ids, never values; a page loads the records as they
-- are when it is read.
CREATE TABLE sync_changes (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    organization_id uuid NOT NULL,
    client_id uuid NOT NULL,
    -- Her coach when the change was made: the feed of that coach carries it.
    coach_id uuid,
    entity text NOT NULL CHECK (entity IN ('client', 'plan', 'plan_transition', 'session',
                                           'readiness_result', 'symptom_report', 'flag')),
    entity_id uuid NOT NULL,
    op text NOT NULL CHECK (op IN ('upsert', 'delete')),
    -- A change of reach, for `coach_id` alone: she was moved to or from that coach.
    coach_only boolean NOT NULL DEFAULT false,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_changes_organization_idx ON sync_changes (organization_id, txid, seq);
CREATE INDEX sync_changes_coach_idx ON sync_changes (coach_id, txid, seq) WHERE coach_id IS NOT NULL;
CREATE INDEX sync_changes_client_idx ON sync_changes (client_id, txid, seq);

-- The newest position whose deletions were pruned: a cursor before it may have missed one
-- and must start again (410).
CREATE TABLE sync_horizon (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    txid xid8 NOT NULL,
    seq bigint NOT NULL
);
INSERT INTO sync_horizon (txid, seq) VALUES ('0'::xid8, 0);

-- A record about a client changed (tables with `client_id`).
CREATE FUNCTION sync_record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    coach uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    SELECT c.coach_id INTO coach FROM clients c WHERE c.id = r.client_id;
    INSERT INTO sync_changes (organization_id, client_id, coach_id, entity, entity_id, op)
    VALUES (r.organization_id, r.client_id, coach, TG_ARGV[0], r.id,
            CASE TG_OP WHEN 'DELETE' THEN 'delete' ELSE 'upsert' END);
    RETURN NULL;
END;
$$;

-- Everything recorded about a client, one upsert per record: for a coach who gains her
-- (`coach_only`), or for everyone who may see her (the backfill below).
CREATE FUNCTION sync_fan_out(client uuid, organization uuid, coach uuid, coach_only boolean)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO sync_changes (organization_id, client_id, coach_id, entity, entity_id, op, coach_only)
    SELECT organization, client, coach, e.entity, e.id, 'upsert', coach_only FROM (
        SELECT 'client' AS entity, client AS id
        UNION ALL SELECT 'plan', id FROM plans WHERE client_id = client
        UNION ALL SELECT 'plan_transition', id FROM plan_transitions WHERE client_id = client
        UNION ALL SELECT 'session', id FROM session_logs WHERE client_id = client
        UNION ALL SELECT 'readiness_result', id FROM readiness_results WHERE client_id = client
        UNION ALL SELECT 'symptom_report', id FROM symptom_reports WHERE client_id = client
        UNION ALL SELECT 'flag', id FROM flags WHERE client_id = client
    ) e;
$$;

-- The client herself changed. A new coach gains everything about her; the one before loses it.
CREATE FUNCTION sync_record_client_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO sync_changes (organization_id, client_id, coach_id, entity, entity_id, op)
        VALUES (OLD.organization_id, OLD.id, OLD.coach_id, 'client', OLD.id, 'delete');
        RETURN NULL;
    END IF;
    INSERT INTO sync_changes (organization_id, client_id, coach_id, entity, entity_id, op)
    VALUES (NEW.organization_id, NEW.id, NEW.coach_id, 'client', NEW.id, 'upsert');
    IF TG_OP = 'UPDATE' AND OLD.coach_id IS DISTINCT FROM NEW.coach_id THEN
        IF OLD.coach_id IS NOT NULL THEN
            INSERT INTO sync_changes (organization_id, client_id, coach_id, entity, entity_id, op, coach_only)
            VALUES (OLD.organization_id, OLD.id, OLD.coach_id, 'client', OLD.id, 'delete', true);
        END IF;
        IF NEW.coach_id IS NOT NULL THEN
            PERFORM sync_fan_out(NEW.id, NEW.organization_id, NEW.coach_id, true);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

-- New records, a statement at a time: an import of thousands of rows logs them in one
-- INSERT ... SELECT rather than a trigger call per row.
CREATE FUNCTION sync_record_inserts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_changes (organization_id, client_id, coach_id, entity, entity_id, op)
    SELECT n.organization_id, n.client_id, c.coach_id, TG_ARGV[0], n.id, 'upsert'
      FROM new_rows n LEFT JOIN clients c ON c.id = n.client_id;
    RETURN NULL;
END;
$$;
CREATE FUNCTION sync_record_client_inserts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_changes (organization_id, client_id, coach_id, entity, entity_id, op)
    SELECT n.organization_id, n.id, n.coach_id, 'client', n.id, 'upsert' FROM new_rows n;
    RETURN NULL;
END;
$$;

CREATE TRIGGER clients_sync_insert AFTER INSERT ON clients REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record_client_inserts();
CREATE TRIGGER clients_sync AFTER DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION sync_record_client_change();
CREATE TRIGGER clients_sync_update AFTER UPDATE ON clients
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION sync_record_client_change();

-- Every table of records about a client, and the entity its rows are in the feed.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('plans', 'plan'), ('plan_transitions', 'plan_transition'),
                                   ('session_logs', 'session'), ('readiness_results', 'readiness_result'),
                                   ('symptom_reports', 'symptom_report'), ('flags', 'flag')) AS v(tab, entity)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION sync_record_inserts(%L)',
                       t.tab || '_sync_insert', t.tab, t.entity);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I
                            FOR EACH ROW EXECUTE FUNCTION sync_record_change(%L)',
                       t.tab || '_sync', t.tab, t.entity);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I FOR EACH ROW
                            WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION sync_record_change(%L)',
                       t.tab || '_sync_update', t.tab, t.entity);
    END LOOP;
END;
$$;

-- What exists already is in the feed from its start.
SELECT sync_fan_out(id, organization_id, coach_id, false) FROM clients;
