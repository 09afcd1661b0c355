-- Idempotency keys now keep any write's answer as sent: status, the headers that matter
-- (ETag, Location, Content-Type) and the body's exact bytes.
ALTER TABLE idempotency_keys
    ADD COLUMN response_headers jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN response_bytes bytea;
UPDATE idempotency_keys
   SET response_bytes = convert_to(response_body::text, 'UTF8'),
       response_headers = '[["content-type", "application/json"]]'
 WHERE response_body IS NOT NULL;
ALTER TABLE idempotency_keys DROP COLUMN response_body;
