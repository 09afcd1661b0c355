-- The database work of one plain symptom report (green, the engine holds), as pgbench runs it:
-- bench/run's reference for what the report's SQL costs with no HTTP service in front of it.
-- The statements are the service's, in its order and its round trips, as PostgreSQL logs them
-- for a report of a client at a jogging level whose organization has no webhook endpoint:
--   1. users::token_validity: auth::validity reads it when her token's user is not in its
--      30-second cache (as for many of bench/run's reports, spread over 10,000 clients). The
--      same round trip here reads bench_pick (n → a client with a live plan and her user; made
--      by bench/run) and her plan, and makes what the service makes in memory: the new rows'
--      ids (time-ordered, as Uuid::now_v7), her today and the engine's fortnight.
--   2. BEGIN: usecases::reports::submit's transaction.
--   3. clients::find_accessible (her row locked) and progress::context, pipelined as submit
--      sends them, in one round trip (so pgbench runs this file with -M prepared or extended).
--   4. reports::write, as progress::record_report calls it when the report raises no flag and
--      the engine moves nothing: the report, the recommendation on her plan, her updated_at,
--      the audit events (symptom_report.create, plan.recommend), the engine_runs row with its
--      rule-by-rule trace, and the outbox event (stored only for a subscribed endpoint). The
--      migrations' triggers (sync_changes for the report, the plan and her row) fire as they
--      do for the service.
--   5. COMMIT.
-- What the service binds is a pgbench variable where it differs by client, and a literal where
-- it does not: the symptoms, the recommendation and the engine's trace are those the service
-- wrote for one such report (a plan at jogging level 4, with no session yet at the step).
-- Keep the statements in step with the code when it changes.
\set n random(1, :clients)
SELECT "users"."tokens_valid_after", b.client_id AS cid, b.user_id AS uid,
       p.organization_id AS oid, p.id AS pid, p.stage, p.level,
       current_date AS today, current_date - 14 AS since,
       k.ms || substr(md5(random()::text), 1, 20) AS rid,
       k.ms || substr(md5(random()::text), 1, 20) AS event_id,
       k.ms || substr(md5(random()::text), 1, 20) AS audit_report,
       k.ms || substr(md5(random()::text), 1, 20) AS audit_plan,
       k.ms || substr(md5(random()::text), 1, 20) AS run_id
  FROM bench_pick b
  JOIN "users" ON (("users"."id" = b.user_id) AND ("users"."deactivated_at" IS NULL))
  JOIN plans p ON p.client_id = b.client_id AND p.status IN ('active', 'paused'),
       LATERAL (SELECT lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
                    AS ms) k
 WHERE b.n = :n LIMIT 1 \gset
BEGIN;
\startpipeline
SELECT "clients"."id", "clients"."organization_id", "clients"."external_id", "clients"."name",
       "clients"."email", "clients"."phone", "clients"."coach_id", "clients"."delivery_date",
       "clients"."delivery_type", "clients"."perineal_tear_grade", "clients"."breastfeeding",
       "clients"."cleared_for_exercise", "clients"."cleared_on", "clients"."cleared_by",
       "clients"."status", "clients"."notes", "clients"."timezone", "clients"."revision",
       "clients"."created_at", "clients"."updated_at", "clients"."caesarean_scar_cleared_on",
       "clients"."caesarean_scar_clinician", "clients"."caesarean_scar_recorded_by"
  FROM "clients" WHERE (("clients"."id" = :cid) AND ("clients"."organization_id" = :oid))
 LIMIT 1 FOR UPDATE;
SELECT p.*, o.auto_progress, json_build_object(
   'earlier_pelvic', (
       SELECT COALESCE(json_agg(json_build_array(e.reported_on, e.pelvic_symptom)
                                ORDER BY e.reported_on DESC, e.created_at DESC, e.id DESC), '[]')
         FROM (SELECT r.reported_on, r.pelvic_symptom, r.created_at, r.id FROM symptom_reports r
                WHERE r.plan_id = p.id AND r.stage = p.stage
                  AND COALESCE(r.level, 0) = COALESCE(p.level, 0)
                ORDER BY r.reported_on DESC, r.created_at DESC, r.id DESC LIMIT 30) e),
   'sessions', (
       SELECT COALESCE(json_agg(json_build_array(s.id, s.performed_on, s.completed, s.created_at)
                                ORDER BY s.performed_on, s.created_at, s.id), '[]')
         FROM session_logs s
        WHERE s.plan_id = p.id
          AND s.stage = p.stage AND s.level IS NOT DISTINCT FROM p.level),
   'reports', (
       SELECT COALESCE(json_agg(json_build_array(r.id, r.reported_on, r.timing, r.triage_level,
                                                 r.max_pain, r.pelvic_symptom, r.created_at)
                                 ORDER BY r.reported_on, r.created_at, r.id), '[]')
         FROM symptom_reports r
        WHERE r.plan_id = p.id
          AND r.stage = p.stage AND COALESCE(r.level, 0) = COALESCE(p.level, 0)),
   'readiness', (
       SELECT COALESCE(json_agg(json_build_array(t.test, t.side, t.passed) ORDER BY t.id), '[]')
         FROM readiness_results t WHERE t.plan_id = p.id),
   'open_flags', ARRAY(
       SELECT f.level FROM flags f WHERE f.client_id = p.client_id AND f.status = 'open'),
   'resolved', (
       SELECT COALESCE(json_agg(json_build_array(g.level, g.at)), '[]')
         FROM (SELECT f.level, max(f.resolved_at) AS at FROM flags f
                WHERE f.client_id = p.client_id AND f.resolved_at IS NOT NULL
                GROUP BY f.level) g),
   'runs', (
       SELECT COALESCE(json_agg(json_build_array(s.performed_on, s.level)), '[]')
         FROM session_logs s
        WHERE s.client_id = p.client_id AND s.performed_on >= :since
          AND s.stage = 'jogging' AND s.completed),
   'pains', (
       SELECT COALESCE(json_agg(json_build_array(r.reported_on, r.max_pain)), '[]')
         FROM symptom_reports r WHERE r.client_id = p.client_id AND r.reported_on >= :since),
   'check_ins', (
       SELECT COALESCE(json_agg(json_build_array(c.id, c.checked_on, c.sleep_hours, c.fatigue)
                                ORDER BY c.checked_on, c.created_at, c.id), '[]')
         FROM check_ins c WHERE c.client_id = p.client_id AND c.checked_on >= :since)
 ) AS inputs
   FROM plans p JOIN organizations o ON o.id = p.organization_id
  WHERE p.client_id = :cid AND p.organization_id = :oid AND p.status IN ('active', 'paused');
\endpipeline
WITH subscribed AS (
    SELECT id FROM webhook_endpoints
     WHERE organization_id = :oid AND enabled AND 'symptom_report.created' = ANY(events)),
event AS (
    INSERT INTO webhook_events (id, organization_id, event_type, client_id, payload)
    SELECT :event_id, :oid, 'symptom_report.created', :cid,
           jsonb_build_object('type', 'symptom_report.created', 'timestamp', now(), 'data',
               jsonb_build_object('report_id', :rid::text, 'client_id', :cid::text,
                                  'triage_level', 'green', 'timing', 'daily_life',
                                  'reported_on', :today::text, 'created_at', now()))
     WHERE EXISTS (SELECT 1 FROM subscribed)
    RETURNING id),
delivery AS (
    INSERT INTO webhook_deliveries (id, organization_id, event_id, endpoint_id)
    SELECT gen_random_uuid(), :oid, event.id, subscribed.id FROM event, subscribed),
report AS (
    INSERT INTO symptom_reports (id, organization_id, client_id, plan_id, session_id, stage,
        level, timing, reported_on, symptoms, triage_level, findings, advisories, max_pain,
        pelvic_symptom, urine_leak, notes, recommendation, flag_id, request_digest,
        recorded_by, created_at, updated_at)
    VALUES (:rid, :oid, :cid, :pid, NULL, :stage, NULLIF(:level, '')::int4, 'daily_life', :today,
            '{"pain": [], "fever": false, "fatigue": 3, "bleeding": null, "chest_pain": false, "urine_leak": null, "dyspareunia": false, "sleep_hours": 7.5, "leak_trigger": null, "abdominal_doming": false, "pelvic_heaviness": null, "breathless_at_rest": false, "bulge_seen_or_felt": false, "calf_pain_or_swelling": false, "dizziness_or_fainting": false, "obstructed_defecation": false, "severe_abdominal_pain": false, "urgency_hard_to_defer": false, "pain_settled_by_next_morning": null, "faecal_or_flatus_incontinence": false}',
            'green', '[]', '[]', 0, false, NULL, NULL,
            '{"reasons": [{"rule": "R2", "message": "0 of 2 sessions done at this step."}], "decision": "hold", "target_level": 4, "target_stage": "jogging", "completes_plan": false}',
            NULL, sha256(:n::text::bytea), :uid, now(), now())
    RETURNING *),
plan AS (
    UPDATE plans SET recommendation =
           '{"reasons": [{"rule": "R2", "message": "0 of 2 sessions done at this step."}], "decision": "hold", "target_level": 4, "target_stage": "jogging", "completes_plan": false}',
           revision = revision + 1, updated_at = now()
     WHERE id = :pid),
touched AS (
    UPDATE clients SET updated_at = now() WHERE id = :cid),
audited AS (
    INSERT INTO audit_events (id, organization_id, actor_type, actor_id, action, entity,
                              entity_id, changes)
    SELECT e.id, :oid, e.actor_type, e.actor_id, e.action, e.entity, e.entity_id, e.changes
      FROM unnest(ARRAY[:audit_report, :audit_plan]::uuid[], '{user,engine}'::text[],
                  ARRAY[:uid, NULL]::uuid[], '{symptom_report.create,plan.recommend}'::text[],
                  '{symptom_report,plan}'::text[], ARRAY[:rid, :pid]::uuid[],
                  ARRAY[jsonb_build_object('timing', 'daily_life', 'triage', 'green', 'client_id', :cid::text),
                        '{"decision": "hold", "target_level": 4, "target_stage": "jogging"}'::jsonb])
           AS e (id, actor_type, actor_id, action, entity, entity_id, changes)),
run AS (
    INSERT INTO engine_runs (id, organization_id, client_id, plan_id, evaluated_on, cause,
                             cause_id, recommendation, rules)
    SELECT :run_id, :oid, :cid, :pid, :today, 'symptom_report', :rid,
           '{"reasons": [{"rule": "R2", "message": "0 of 2 sessions done at this step."}], "decision": "hold", "target_level": 4, "target_stage": "jogging", "completes_plan": false}',
           '[{"rule": "R1", "inputs": {"next": {"level": 5, "stage": "jogging"}}, "applied": false, "decided": false, "message": "Your next step is in the stage you are in: there is no new stage to be ready for.", "outcome": "not_applicable"}, {"rule": "R2", "inputs": {"reports": [], "min_sessions": 2, "last_sessions": [], "completed_count": 0, "readiness_tests": [], "completed_sessions": []}, "applied": true, "decided": true, "message": "0 of 2 sessions done at this step.", "outcome": "hold"}, {"rule": "R3", "inputs": {"from": {"level": 4, "stage": "jogging"}, "next": {"level": 5, "stage": "jogging"}}, "applied": false, "decided": false, "message": "One step at a time: the next step is level 5.", "outcome": "pass"}, {"rule": "R4", "inputs": {"cap_minutes": 36.3, "last_week_from": "2026-11-17", "this_week_from": "2026-11-24", "last_week_minutes": 33.0, "this_week_minutes": 33.0}, "applied": false, "decided": false, "message": "Your running time this week is within what it may grow to.", "outcome": "pass"}, {"rule": "R5", "inputs": {"latest_report": {"id": "01a22bd0-5572-7235-882f-e2905b5ec2c7", "date": "2026-11-30", "level": "green", "timing": "daily_life", "max_pain": 0}}, "applied": false, "decided": false, "message": "No symptoms during your last run.", "outcome": "pass"}, {"rule": "R6", "inputs": {"last_reports": [{"id": "01a22bd0-5572-7235-882f-e2905b5ec2c7", "date": "2026-11-30", "level": "green", "timing": "daily_life", "max_pain": 0}]}, "applied": false, "decided": false, "message": "No amber reports at this step.", "outcome": "pass"}, {"rule": "R7", "inputs": {"max_pain_last_week": 0, "max_pain_this_week": 0}, "applied": false, "decided": false, "message": "Your pain is not rising week on week.", "outcome": "pass"}, {"rule": "R8", "inputs": {"open_flags": [], "latest_report": {"id": "01a22bd0-5572-7235-882f-e2905b5ec2c7", "date": "2026-11-30", "level": "green", "timing": "daily_life", "max_pain": 0}}, "applied": false, "decided": false, "message": "No pelvic warning signs.", "outcome": "pass"}, {"rule": "R9", "inputs": {"open_flags": [], "latest_report": {"id": "01a22bd0-5572-7235-882f-e2905b5ec2c7", "date": "2026-11-30", "level": "green", "timing": "daily_life", "max_pain": 0}}, "applied": false, "decided": false, "message": "No medical warning signs.", "outcome": "pass"}, {"rule": "R10", "inputs": {}, "applied": false, "decided": false, "message": "Rest days shape today''s session (see today''s plan), not the step you are at.", "outcome": "not_applicable"}, {"rule": "R11", "inputs": {"to": "2026-11-30", "from": "2026-11-24", "tired_days": 0, "check_in_ids": [], "average_sleep_hours": null}, "applied": false, "decided": false, "message": "No recovery check-ins this week: nothing here holds you back.", "outcome": "pass"}]'
     WHERE :run_id::uuid IS NOT NULL)
SELECT * FROM report;
COMMIT;
