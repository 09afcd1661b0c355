-- Recovery check-ins: sleep, fatigue, feeding, periods, worry about running, and the two
-- questions of the PHQ-2 mood screen. R11 reads the last 7 days of them; the mood screen's
-- answers are shown to her and her coach only.
CREATE TABLE check_ins (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    client_id uuid NOT NULL REFERENCES clients (id),
    checked_on date NOT NULL,
    sleep_hours real NOT NULL CHECK (sleep_hours >= 0 AND sleep_hours <= 24),
    fatigue smallint NOT NULL CHECK (fatigue BETWEEN 0 AND 10),
    breastfeeding text CHECK (breastfeeding IN ('exclusive', 'partial', 'no')),
    periods_returned boolean,
    running_worry smallint CHECK (running_worry BETWEEN 0 AND 10),
    mood_little_interest smallint CHECK (mood_little_interest BETWEEN 0 AND 3),
    mood_feeling_down smallint CHECK (mood_feeling_down BETWEEN 0 AND 3),
    advisories jsonb NOT NULL DEFAULT '[]',
    request_digest bytea NOT NULL,
    recorded_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((mood_little_interest IS NULL) = (mood_feeling_down IS NULL))
);
CREATE INDEX check_ins_client ON check_ins (client_id, checked_on, created_at);

-- Check-ins join the change feed.
ALTER TABLE sync_changes DROP CONSTRAINT sync_changes_entity_check;
ALTER TABLE sync_changes ADD CONSTRAINT sync_changes_entity_check
    CHECK (entity IN ('client', 'plan', 'plan_transition', 'session', 'readiness_result',
                      'symptom_report', 'flag', 'check_in'));
CREATE TRIGGER check_ins_sync_insert AFTER INSERT ON check_ins REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record_inserts('check_in');
CREATE TRIGGER check_ins_sync AFTER DELETE ON check_ins
    FOR EACH ROW EXECUTE FUNCTION sync_record_change('check_in');
CREATE TRIGGER check_ins_sync_update AFTER UPDATE ON check_ins FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION sync_record_change('check_in');

CREATE OR REPLACE FUNCTION sync_fan_out(client uuid, organization uuid, coach uuid, coach_only boolean)
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
        UNION ALL SELECT 'check_in', id FROM check_ins WHERE client_id = client
    ) e;
$$;
