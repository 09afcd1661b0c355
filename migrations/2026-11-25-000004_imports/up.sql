-- Idempotency keys: a repeated request with the same key and body gets the first answer.
CREATE TABLE idempotency_keys (
    organization_id uuid NOT NULL REFERENCES organizations (id),
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_digest  bytea NOT NULL,
    response_status smallint,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
