-- SPEC §1.8, assessments: a postnatal check or a pelvic-health assessment, recorded by staff.
-- A third- or fourth-degree tear (OASI) holds lunges and jogging until a pelvic-health
-- assessment clears impact (`clients.impact_cleared_on`, the latest such assessment's day),
-- and an individual jogging date before day 84 cites one (`plans.jogging_gate_assessment_id`).
CREATE TABLE assessments (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    client_id uuid NOT NULL REFERENCES clients (id),
    kind text NOT NULL CHECK (kind IN ('postnatal_check', 'pelvic_health')),
    assessed_on date NOT NULL,
    clinician text NOT NULL CHECK (length(clinician) BETWEEN 1 AND 200),
    modified_oxford smallint CHECK (modified_oxford BETWEEN 0 AND 5),
    inter_recti_distance_mm smallint CHECK (inter_recti_distance_mm BETWEEN 0 AND 150),
    prolapse_symptoms boolean,
    scar_healed boolean,
    perineum_healed boolean,
    impact_cleared boolean NOT NULL,
    notes text CHECK (length(notes) <= 5000),
    recorded_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assessments_client ON assessments (client_id, assessed_on, id);

ALTER TABLE clients ADD COLUMN impact_cleared_on date;
ALTER TABLE plans ADD COLUMN jogging_gate_assessment_id uuid REFERENCES assessments (id);

ALTER TABLE engine_runs DROP CONSTRAINT engine_runs_cause_check;
ALTER TABLE engine_runs ADD CONSTRAINT engine_runs_cause_check
    CHECK (cause IN ('symptom_report', 'session', 'readiness_result', 'check_in', 'flag_resolved',
                     'scar_clearance', 'jogging_gate', 'demo', 'assessment'));

ALTER TABLE sync_changes DROP CONSTRAINT sync_changes_entity_check;
ALTER TABLE sync_changes ADD CONSTRAINT sync_changes_entity_check
    CHECK (entity IN ('client', 'plan', 'plan_transition', 'session', 'readiness_result',
                      'symptom_report', 'flag', 'check_in', 'assessment'));
CREATE TRIGGER assessments_sync_insert AFTER INSERT ON assessments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record_inserts('assessment');
CREATE TRIGGER assessments_sync AFTER DELETE ON assessments
    FOR EACH ROW EXECUTE FUNCTION sync_record_change('assessment');
CREATE TRIGGER assessments_sync_update AFTER UPDATE ON assessments FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION sync_record_change('assessment');

-- A coach who gains her (a change of reach) gets her assessments too.
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
        UNION ALL SELECT 'assessment', id FROM assessments WHERE client_id = client
    ) e;
$$;
