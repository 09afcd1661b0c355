-- Webhooks: endpoints registered by admins, a durable outbox of events written in the same
-- transaction as the change they describe, and one delivery per (event, endpoint).
CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    url             text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    description     text NOT NULL DEFAULT '',
    events          text[] NOT NULL,
    -- The signing secret (`whsec_…`): needed to sign, so kept; shown only when created.
    secret          text NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text,
    consecutive_failures integer NOT NULL DEFAULT 0,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_org_idx ON webhook_endpoints (organization_id, id);

CREATE TABLE webhook_events (
    id              uuid PRIMARY KEY,
    -- Commit order within a client (her writes are serialized by a row lock).
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    event_type      text NOT NULL,
    -- The client the event is about, if any: deliveries keep her events in order.
    client_id       uuid,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_client_idx ON webhook_events (client_id) WHERE client_id IS NOT NULL;

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    event_id        uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
