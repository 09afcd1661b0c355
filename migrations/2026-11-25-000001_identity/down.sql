DROP TRIGGER audit_events_no_update ON audit_events;
DROP FUNCTION audit_events_are_append_only();
DROP TABLE audit_events;
DROP TABLE service_tokens;
DROP TABLE invitations;
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE organizations;
