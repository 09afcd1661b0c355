-- Webhook signing secrets are kept sealed (AES-256-GCM under WEBHOOK_SECRET_KEY, bound to the
-- endpoint's id). `secret` holds only secrets stored before sealing: the service seals them
-- when it next starts and empties the column.
ALTER TABLE webhook_endpoints ADD COLUMN secret_sealed bytea;
ALTER TABLE webhook_endpoints ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_secret_kept
    CHECK (secret IS NOT NULL OR secret_sealed IS NOT NULL);
