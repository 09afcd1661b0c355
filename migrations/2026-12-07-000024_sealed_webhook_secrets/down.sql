-- Sealed secrets cannot be opened here (the key is the service's): endpoints holding one are
-- removed, and must be registered again.
DELETE FROM webhook_endpoints WHERE secret IS NULL;
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_secret_kept;
ALTER TABLE webhook_endpoints ALTER COLUMN secret SET NOT NULL;
ALTER TABLE webhook_endpoints DROP COLUMN secret_sealed;
