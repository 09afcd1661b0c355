-- Identity and access: organizations (tenants), their users, the tokens that prove who a
-- caller is, and the append-only audit trail every write to client data lands in.

CREATE TABLE organizations (
    id            uuid PRIMARY KEY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    auto_progress boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    role            text NOT NULL CHECK (role IN ('admin', 'coach', 'client')),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    -- NULL until the invitation is accepted.
    password_hash   text,
    -- Set when a coach or admin is removed: the row stays so history keeps its actor.
    deactivated_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Email is unique per organization, case-insensitively; login looks it up the same way.
CREATE UNIQUE INDEX users_organization_email_key ON users (organization_id, lower(email));
CREATE INDEX users_email_idx ON users (lower(email));
CREATE INDEX users_organization_role_idx ON users (organization_id, role, created_at, id);

CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY,
    -- Every rotation stays in the family of the login that started it; reuse of a rotated
    -- token revokes the whole family.
    family_id  uuid NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE invitations (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash      bytea NOT NULL UNIQUE,
    created_by      uuid NOT NULL REFERENCES users (id),
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitations_user_idx ON invitations (user_id);

CREATE TABLE service_tokens (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    -- The admin the token acts as, within its scopes.
    created_by      uuid NOT NULL REFERENCES users (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Space-separated, as in OAuth's `scope`.
    scopes          text NOT NULL,
    token_hash      bytea NOT NULL UNIQUE,
    -- The first characters of the secret, so an admin can tell tokens apart.
    token_prefix    text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX service_tokens_organization_idx ON service_tokens (organization_id, created_at, id);

CREATE TABLE audit_events (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    actor_type      text NOT NULL CHECK (actor_type IN ('user', 'service_token', 'engine', 'system')),
    actor_id        uuid,
    action          text NOT NULL,
    entity          text NOT NULL,
    entity_id       uuid NOT NULL,
    changes         jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_organization_time_idx ON audit_events (organization_id, occurred_at);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_id);

-- Audit events are never updated.
CREATE FUNCTION audit_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update
    BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_are_append_only();
