-- Listening to the body: symptom reports with their triage, and the flags coaches resolve.

CREATE TABLE flags (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    client_id       uuid NOT NULL REFERENCES clients (id),
    level           text NOT NULL CHECK (level IN ('amber', 'red_pelvic', 'red_medical')),
    -- 3 red_medical, 2 red_pelvic, 1 amber: the inbox's order.
    severity        smallint NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    report_id       uuid NOT NULL,
    report_count    integer NOT NULL DEFAULT 1,
    last_report_at  timestamptz NOT NULL DEFAULT now(),
    opened_at       timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     uuid REFERENCES users (id),
    resolution_note text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- A second report of the same level joins the open flag instead of opening a twin.
CREATE UNIQUE INDEX flags_one_open_per_level ON flags (client_id, level) WHERE status = 'open';
CREATE INDEX flags_inbox_idx ON flags (organization_id, status, severity DESC, id);
CREATE INDEX flags_client_idx ON flags (client_id, status);

CREATE TABLE symptom_reports (
    id                uuid PRIMARY KEY,
    organization_id   uuid NOT NULL REFERENCES organizations (id),
    client_id         uuid NOT NULL REFERENCES clients (id),
    plan_id           uuid REFERENCES plans (id),
    session_id        uuid REFERENCES session_logs (id),
    -- The plan's step when the report came in.
    stage             text,
    level             integer,
    timing            text NOT NULL CHECK (timing IN ('during', 'immediately_after', 'next_day', 'daily_life')),
    -- The day the symptoms are about.
    reported_on       date NOT NULL,
    symptoms          jsonb NOT NULL,
    triage_level      text NOT NULL CHECK (triage_level IN ('green', 'amber', 'red_pelvic', 'red_medical')),
    findings          jsonb NOT NULL,
    advisories        jsonb NOT NULL,
    max_pain          smallint NOT NULL DEFAULT 0,
    pelvic_symptom    boolean NOT NULL,
    urine_leak        text,
    notes             text CHECK (length(notes) <= 5000),
    -- The recommendation given with the first answer, so a retry gets the same answer.
    recommendation    jsonb,
    flag_id           uuid REFERENCES flags (id),
    request_digest    bytea NOT NULL,
    recorded_by       uuid REFERENCES users (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX symptom_reports_client_idx ON symptom_reports (client_id, id);
CREATE INDEX symptom_reports_client_date_idx ON symptom_reports (client_id, reported_on);
CREATE INDEX symptom_reports_plan_step_idx ON symptom_reports (plan_id, stage, level, id);
CREATE INDEX symptom_reports_updated_idx ON symptom_reports (client_id, updated_at);
ALTER TABLE flags ADD CONSTRAINT flags_report_fk FOREIGN KEY (report_id) REFERENCES symptom_reports (id) DEFERRABLE INITIALLY DEFERRED;
