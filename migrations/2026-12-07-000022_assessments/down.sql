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
DELETE FROM sync_changes WHERE entity = 'assessment';
ALTER TABLE sync_changes DROP CONSTRAINT sync_changes_entity_check;
ALTER TABLE sync_changes ADD CONSTRAINT sync_changes_entity_check
    CHECK (entity IN ('client', 'plan', 'plan_transition', 'session', 'readiness_result',
                      'symptom_report', 'flag', 'check_in'));
DELETE FROM engine_runs WHERE cause = 'assessment';
ALTER TABLE engine_runs DROP CONSTRAINT engine_runs_cause_check;
ALTER TABLE engine_runs ADD CONSTRAINT engine_runs_cause_check
    CHECK (cause IN ('symptom_report', 'session', 'readiness_result', 'check_in', 'flag_resolved',
                     'scar_clearance', 'jogging_gate', 'demo'));
ALTER TABLE plans DROP COLUMN jogging_gate_assessment_id;
ALTER TABLE clients DROP COLUMN impact_cleared_on;
DROP TABLE assessments;
