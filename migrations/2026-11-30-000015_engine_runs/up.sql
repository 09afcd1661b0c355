-- Every run of the progression engine on a plan, with its recommendation and its rule-by-rule
-- trace (R1–R11: outcome, message, inputs), so a past decision can be explained with what was
-- known when it was made. What caused the run: a report, a session, a readiness result, a
-- check-in, a resolved flag.
CREATE TABLE engine_runs (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    client_id uuid NOT NULL REFERENCES clients (id),
    plan_id uuid NOT NULL REFERENCES plans (id),
    evaluated_on date NOT NULL,
    cause text NOT NULL CHECK (cause IN ('symptom_report', 'session', 'readiness_result', 'check_in',
                                        'flag_resolved', 'scar_clearance', 'jogging_gate', 'demo')),
    cause_id uuid,
    recommendation jsonb NOT NULL,
    rules jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX engine_runs_plan ON engine_runs (plan_id, created_at DESC, id DESC);
CREATE INDEX engine_runs_client ON engine_runs (client_id, created_at DESC, id DESC);
