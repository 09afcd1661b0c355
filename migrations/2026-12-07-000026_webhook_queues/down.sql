DROP INDEX webhook_deliveries_queue_idx;
ALTER TABLE webhook_deliveries DROP COLUMN queue_key, DROP COLUMN seq;
