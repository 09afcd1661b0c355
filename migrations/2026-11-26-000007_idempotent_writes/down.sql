ALTER TABLE idempotency_keys ADD COLUMN response_body jsonb;
UPDATE idempotency_keys SET response_body = convert_from(response_bytes, 'UTF8')::jsonb
 WHERE response_bytes IS NOT NULL;
ALTER TABLE idempotency_keys DROP COLUMN response_headers, DROP COLUMN response_bytes;
