// @generated automatically by Diesel CLI.

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        organization_id -> Uuid,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        entity -> Text,
        entity_id -> Uuid,
        changes -> Jsonb,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        organization_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        created_by -> Uuid,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        auto_progress -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        family_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    service_tokens (id) {
        id -> Uuid,
        organization_id -> Uuid,
        created_by -> Uuid,
        name -> Text,
        scopes -> Text,
        token_hash -> Bytea,
        token_prefix -> Text,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        organization_id -> Uuid,
        role -> Text,
        name -> Text,
        email -> Text,
        password_hash -> Nullable<Text>,
        deactivated_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(audit_events -> organizations (organization_id));
diesel::joinable!(invitations -> organizations (organization_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(service_tokens -> organizations (organization_id));
diesel::joinable!(service_tokens -> users (created_by));
diesel::joinable!(users -> organizations (organization_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_events,
    invitations,
    organizations,
    refresh_tokens,
    service_tokens,
    users,
);
