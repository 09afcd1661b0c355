-- A delivery carries its queue: the client its event is about (the nil uuid for events about
-- no client) and the event's position. An endpoint sends a queue's deliveries one at a time in
-- that order, so the claim needs each queue's first pending delivery: an index on
-- (endpoint, queue, position) finds it in one descent, however long the backlog behind it.
ALTER TABLE webhook_deliveries ADD COLUMN queue_key uuid, ADD COLUMN seq bigint;
UPDATE webhook_deliveries d
   SET queue_key = coalesce(ev.client_id, '00000000-0000-0000-0000-000000000000'), seq = ev.seq
  FROM webhook_events ev WHERE ev.id = d.event_id;
ALTER TABLE webhook_deliveries ALTER COLUMN queue_key SET NOT NULL, ALTER COLUMN seq SET NOT NULL;
CREATE INDEX webhook_deliveries_queue_idx ON webhook_deliveries (endpoint_id, queue_key, seq)
    WHERE status = 'pending';
