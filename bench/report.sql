-- The database work of one plain symptom report (green, the engine holds), as pgbench runs it:
-- bench/run's reference for what the report's SQL costs with no HTTP service in front of it.
-- The statements mirror the service's (clients::find_accessible with FOR UPDATE,
-- progress::context, reports::write); bench_pick (n → a client with a live plan and her user)
-- is made by bench/run. Keep them in step with the code when it changes.
\set n random(1, :clients)
BEGIN;
SELECT c.id AS cid, c.organization_id AS oid, b.user_id AS uid, c.name, c.email, c.timezone,
       c.delivery_date, c.updated_at
  FROM clients c JOIN bench_pick b ON b.client_id = c.id WHERE b.n = :n FOR UPDATE OF c \gset
SELECT p.*, o.auto_progress, json_build_object(
   'earlier_pelvic', ARRAY(
       SELECT r.pelvic_symptom FROM symptom_reports r
        WHERE r.plan_id = p.id AND r.stage = p.stage
          AND COALESCE(r.level, 0) = COALESCE(p.level, 0)
        ORDER BY r.created_at DESC, r.id DESC LIMIT 2),
   'sessions', (
       SELECT COALESCE(json_agg(json_build_array(s.performed_on, s.completed)
                                ORDER BY s.performed_on, s.created_at, s.id), '[]')
         FROM session_logs s
        WHERE s.plan_id = p.id AND s.created_at >= p.step_started_at
          AND s.stage = p.stage AND s.level IS NOT DISTINCT FROM p.level),
   'reports', (
       SELECT COALESCE(json_agg(json_build_array(r.id, r.reported_on, r.timing, r.triage_level,
                                                 r.max_pain, r.pelvic_symptom) ORDER BY r.created_at, r.id), '[]')
         FROM symptom_reports r
        WHERE r.plan_id = p.id
          AND r.created_at >= GREATEST(p.step_started_at,
              (SELECT max(f.resolved_at) FROM flags f WHERE f.client_id = p.client_id))
          AND r.stage = p.stage AND COALESCE(r.level, 0) = COALESCE(p.level, 0)),
   'readiness', (
       SELECT COALESCE(json_agg(json_build_array(t.test, t.side, t.passed) ORDER BY t.id), '[]')
         FROM readiness_results t WHERE t.plan_id = p.id),
   'open_flags', ARRAY(
       SELECT f.level FROM flags f WHERE f.client_id = p.client_id AND f.status = 'open'),
   'runs', (
       SELECT COALESCE(json_agg(json_build_array(s.performed_on, s.level)), '[]')
         FROM session_logs s
        WHERE s.client_id = p.client_id AND s.performed_on >= (current_date - 14)
          AND s.stage = 'jogging' AND s.completed),
   'pains', (
       SELECT COALESCE(json_agg(json_build_array(r.reported_on, r.max_pain)), '[]')
         FROM symptom_reports r WHERE r.client_id = p.client_id AND r.reported_on >= (current_date - 14))
 ) AS inputs
   FROM plans p JOIN organizations o ON o.id = p.organization_id
  WHERE p.client_id = :cid AND p.organization_id = :oid AND p.status IN ('active', 'paused') \gset
WITH subscribed AS (
    SELECT id FROM webhook_endpoints
     WHERE organization_id = :oid AND enabled AND 'symptom_report.created' = ANY(events)),
event AS (
    INSERT INTO webhook_events (id, organization_id, event_type, client_id, payload)
    SELECT gen_random_uuid(), :oid, 'symptom_report.created', :cid, '{}'
     WHERE EXISTS (SELECT 1 FROM subscribed)
    RETURNING id),
delivery AS (
    INSERT INTO webhook_deliveries (id, organization_id, event_id, endpoint_id)
    SELECT gen_random_uuid(), :oid, event.id, subscribed.id FROM event, subscribed),
ids AS (SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || substr(md5(random()::text), 1, 20))::uuid AS report, (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || substr(md5(random()::text), 1, 20))::uuid AS a1, (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || substr(md5(random()::text), 1, 20))::uuid AS a2),
report AS (
    INSERT INTO symptom_reports (id, organization_id, client_id, plan_id, session_id, stage,
        level, timing, reported_on, symptoms, triage_level, findings, advisories, max_pain,
        pelvic_symptom, urine_leak, notes, recommendation, flag_id, request_digest,
        recorded_by, created_at, updated_at)
    SELECT ids.report, :oid, :cid, :id, NULL, :stage, NULLIF(:level, '')::int, 'daily_life',
           current_date, '{"pain": [], "fever": false, "fatigue": 3, "bleeding": null, "chest_pain": false, "urine_leak": null, "dyspareunia": false, "sleep_hours": 7.5, "leak_trigger": null, "abdominal_doming": false, "pelvic_heaviness": null, "breathless_at_rest": false, "bulge_seen_or_felt": false, "calf_pain_or_swelling": false, "dizziness_or_fainting": false, "obstructed_defecation": false, "severe_abdominal_pain": false, "urgency_hard_to_defer": false, "pain_settled_by_next_morning": null, "faecal_or_flatus_incontinence": false}',
           'green', '[]', '[]', 0, false, NULL, NULL,
           '{"reasons": [{"rule": "R2", "message": "0 of 2 sessions done at this step."}], "decision": "hold", "target_level": 4, "target_stage": "jogging", "completes_plan": false}',
           NULL, sha256(:n::text::bytea), :uid, now(), now()
      FROM ids
    RETURNING *),
plan AS (
    UPDATE plans SET recommendation = '{"reasons": [{"rule": "R2", "message": "0 of 2 sessions done at this step."}], "decision": "hold", "target_level": 4, "target_stage": "jogging", "completes_plan": false}',
                     revision = revision + 1, updated_at = now()
     WHERE id = :id),
touched AS (
    UPDATE clients SET updated_at = now() WHERE id = :cid),
audited AS (
    INSERT INTO audit_events (id, organization_id, actor_type, actor_id, action, entity,
                              entity_id, changes)
    SELECT e.id, :oid, e.actor_type, e.actor_id, e.action, e.entity, e.entity_id, e.changes
      FROM ids, unnest(ARRAY[ids.a1, ids.a2], '{user,engine}'::text[], ARRAY[:uid::uuid, NULL],
                       '{symptom_report.create,plan.recommend}'::text[], '{symptom_report,plan}'::text[],
                       ARRAY[ids.report, :id::uuid],
                       ARRAY['{"timing": "daily_life", "triage": "green"}'::jsonb,
                             '{"decision": "hold", "target_level": 4, "target_stage": "jogging"}'::jsonb])
           AS e (id, actor_type, actor_id, action, entity, entity_id, changes))
SELECT * FROM report;
COMMIT;
