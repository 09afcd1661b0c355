-- The audit trail as admins read it: newest first within the organization (ids are
-- time-ordered UUIDs), and by actor.
CREATE INDEX audit_events_organization_id_idx ON audit_events (organization_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id) WHERE actor_id IS NOT NULL;
