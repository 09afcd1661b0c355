-- The coaching workflow: versioned programs, clients, their plans and transition history,
-- logged sessions and readiness-test results.

CREATE TABLE programs (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    key             text NOT NULL CHECK (key ~ '^[a-z0-9_]{1,64}$'),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    current_version integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, key)
);

-- A published version never changes; plans pin the version they started on.
CREATE TABLE program_versions (
    program_id   uuid NOT NULL REFERENCES programs (id),
    version      integer NOT NULL CHECK (version >= 1),
    name         text NOT NULL,
    stages       jsonb NOT NULL,
    published_by uuid REFERENCES users (id),
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program_id, version)
);

CREATE TABLE clients (
    id                   uuid PRIMARY KEY,
    organization_id      uuid NOT NULL REFERENCES organizations (id),
    external_id          text CHECK (length(external_id) BETWEEN 1 AND 100),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email                text CHECK (length(email) BETWEEN 3 AND 254),
    phone                text CHECK (length(phone) BETWEEN 3 AND 40),
    coach_id             uuid REFERENCES users (id),
    delivery_date        date NOT NULL,
    delivery_type        text NOT NULL CHECK (delivery_type IN ('vaginal', 'assisted_vaginal', 'caesarean')),
    perineal_tear_grade  smallint CHECK (perineal_tear_grade BETWEEN 0 AND 4),
    breastfeeding        boolean NOT NULL DEFAULT false,
    cleared_for_exercise boolean NOT NULL DEFAULT false,
    cleared_on           date,
    cleared_by           uuid REFERENCES users (id),
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'discharged')),
    notes                text CHECK (length(notes) <= 10000),
    timezone             text NOT NULL DEFAULT 'UTC',
    -- Bumped on every change: the ETag.
    revision             integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX clients_organization_external_id_key ON clients (organization_id, external_id);
CREATE UNIQUE INDEX clients_organization_email_key ON clients (organization_id, lower(email));
CREATE INDEX clients_organization_id_idx ON clients (organization_id, id);
CREATE INDEX clients_coach_idx ON clients (organization_id, coach_id, id);
CREATE INDEX clients_updated_idx ON clients (organization_id, updated_at);

-- A client's own login.
ALTER TABLE users ADD COLUMN client_id uuid REFERENCES clients (id);
CREATE UNIQUE INDEX users_client_key ON users (client_id);

CREATE TABLE plans (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    client_id        uuid NOT NULL REFERENCES clients (id),
    program_id       uuid NOT NULL,
    program_version  integer NOT NULL,
    stage            text NOT NULL,
    level            integer CHECK (level >= 1),
    status           text NOT NULL CHECK (status IN ('active', 'paused', 'completed', 'stopped')),
    started_on       date NOT NULL,
    -- When the plan entered its current stage/level: the engine counts from here.
    step_started_at  timestamptz NOT NULL DEFAULT now(),
    recommendation   jsonb,
    revision         integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (program_id, program_version) REFERENCES program_versions (program_id, version)
);
-- At most one live (active or paused) plan per client.
CREATE UNIQUE INDEX plans_one_live_per_client ON plans (client_id) WHERE status IN ('active', 'paused');
CREATE INDEX plans_client_idx ON plans (client_id, created_at DESC);
CREATE INDEX plans_organization_stage_idx ON plans (organization_id, stage) WHERE status IN ('active', 'paused');

CREATE TABLE plan_transitions (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    plan_id         uuid NOT NULL REFERENCES plans (id),
    client_id       uuid NOT NULL REFERENCES clients (id),
    action          text NOT NULL CHECK (action IN ('advance', 'hold', 'regress', 'pause', 'resume', 'complete', 'discharge', 'set')),
    from_stage      text NOT NULL,
    from_level      integer,
    from_status     text NOT NULL,
    to_stage        text NOT NULL,
    to_level        integer,
    to_status       text NOT NULL,
    actor_type      text NOT NULL CHECK (actor_type IN ('user', 'service_token', 'engine')),
    actor_id        uuid,
    reason          text NOT NULL,
    rule_ids        text NOT NULL DEFAULT '',
    override_gate   boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plan_transitions_plan_idx ON plan_transitions (plan_id, id DESC);

CREATE TABLE session_logs (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    client_id        uuid NOT NULL REFERENCES clients (id),
    plan_id          uuid REFERENCES plans (id),
    performed_on     date NOT NULL,
    stage            text NOT NULL,
    level            integer,
    completed        boolean NOT NULL,
    duration_minutes integer CHECK (duration_minutes BETWEEN 0 AND 600),
    rpe              smallint CHECK (rpe BETWEEN 0 AND 10),
    notes            text CHECK (length(notes) <= 5000),
    -- What the first request said, to answer a retried POST with the same id.
    request_digest   bytea NOT NULL,
    recorded_by      uuid REFERENCES users (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_logs_client_idx ON session_logs (client_id, id);
CREATE INDEX session_logs_client_date_idx ON session_logs (client_id, performed_on);
CREATE INDEX session_logs_updated_idx ON session_logs (client_id, updated_at);

CREATE TABLE readiness_results (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    client_id       uuid NOT NULL REFERENCES clients (id),
    plan_id         uuid REFERENCES plans (id),
    stage           text NOT NULL,
    test            text NOT NULL,
    reached         integer NOT NULL CHECK (reached BETWEEN 0 AND 100000),
    side            text NOT NULL CHECK (side IN ('left', 'right', 'both')),
    symptom_free    boolean NOT NULL,
    passed          boolean NOT NULL,
    performed_on    date NOT NULL,
    notes           text CHECK (length(notes) <= 5000),
    recorded_by     uuid REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX readiness_results_client_idx ON readiness_results (client_id, id);
