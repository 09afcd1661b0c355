// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "xid8", schema = "pg_catalog"))]
    pub struct Xid8;
}

diesel::table! {
    assessments (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        kind -> Text,
        assessed_on -> Date,
        clinician -> Text,
        modified_oxford -> Nullable<Int2>,
        inter_recti_distance_mm -> Nullable<Int2>,
        prolapse_symptoms -> Nullable<Bool>,
        scar_healed -> Nullable<Bool>,
        perineum_healed -> Nullable<Bool>,
        impact_cleared -> Bool,
        notes -> Nullable<Text>,
        recorded_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

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
    check_ins (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        checked_on -> Date,
        sleep_hours -> Float4,
        fatigue -> Int2,
        breastfeeding -> Nullable<Text>,
        periods_returned -> Nullable<Bool>,
        running_worry -> Nullable<Int2>,
        mood_little_interest -> Nullable<Int2>,
        mood_feeling_down -> Nullable<Int2>,
        advisories -> Jsonb,
        request_digest -> Bytea,
        recorded_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    clients (id) {
        id -> Uuid,
        organization_id -> Uuid,
        external_id -> Nullable<Text>,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        coach_id -> Nullable<Uuid>,
        delivery_date -> Date,
        delivery_type -> Text,
        perineal_tear_grade -> Nullable<Int2>,
        breastfeeding -> Bool,
        cleared_for_exercise -> Bool,
        cleared_on -> Nullable<Date>,
        cleared_by -> Nullable<Uuid>,
        status -> Text,
        notes -> Nullable<Text>,
        timezone -> Text,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        caesarean_scar_cleared_on -> Nullable<Date>,
        caesarean_scar_clinician -> Nullable<Text>,
        caesarean_scar_recorded_by -> Nullable<Uuid>,
        impact_cleared_on -> Nullable<Date>,
    }
}

diesel::table! {
    engine_runs (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        plan_id -> Uuid,
        evaluated_on -> Date,
        cause -> Text,
        cause_id -> Nullable<Uuid>,
        recommendation -> Jsonb,
        rules -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    flags (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        level -> Text,
        severity -> Int2,
        status -> Text,
        report_id -> Nullable<Uuid>,
        report_count -> Int4,
        last_report_at -> Timestamptz,
        opened_at -> Timestamptz,
        resolved_at -> Nullable<Timestamptz>,
        resolved_by -> Nullable<Uuid>,
        resolution_note -> Nullable<Text>,
        updated_at -> Timestamptz,
        check_in_id -> Nullable<Uuid>,
        urgency -> Text,
    }
}

diesel::table! {
    idempotency_keys (organization_id, key) {
        organization_id -> Uuid,
        key -> Text,
        request_digest -> Bytea,
        response_status -> Nullable<Int2>,
        created_at -> Timestamptz,
        response_headers -> Jsonb,
        response_bytes -> Nullable<Bytea>,
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
        kind -> Text,
        voided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        auto_progress -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        country -> Nullable<Text>,
        emergency_number -> Nullable<Text>,
    }
}

diesel::table! {
    plan_transitions (id) {
        id -> Uuid,
        organization_id -> Uuid,
        plan_id -> Uuid,
        client_id -> Uuid,
        action -> Text,
        from_stage -> Text,
        from_level -> Nullable<Int4>,
        from_status -> Text,
        to_stage -> Text,
        to_level -> Nullable<Int4>,
        to_status -> Text,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        reason -> Text,
        rule_ids -> Array<Text>,
        override_gate -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    plans (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        program_id -> Uuid,
        program_version -> Int4,
        stage -> Text,
        level -> Nullable<Int4>,
        status -> Text,
        started_on -> Date,
        step_started_at -> Timestamptz,
        recommendation -> Nullable<Jsonb>,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        jogging_gate_on -> Nullable<Date>,
        jogging_gate_reason -> Nullable<Text>,
        jogging_gate_agreed_by -> Nullable<Text>,
        jogging_gate_set_by -> Nullable<Uuid>,
        jogging_gate_set_at -> Nullable<Timestamptz>,
        jogging_gate_assessment_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    program_versions (program_id, version) {
        program_id -> Uuid,
        version -> Int4,
        name -> Text,
        stages -> Jsonb,
        published_by -> Nullable<Uuid>,
        published_at -> Timestamptz,
        organization_id -> Uuid,
    }
}

diesel::table! {
    programs (id) {
        id -> Uuid,
        organization_id -> Uuid,
        key -> Text,
        name -> Text,
        current_version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    readiness_results (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        plan_id -> Nullable<Uuid>,
        stage -> Text,
        test -> Text,
        reached -> Int4,
        side -> Text,
        symptom_free -> Bool,
        passed -> Bool,
        performed_on -> Date,
        notes -> Nullable<Text>,
        recorded_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        confirmed_by -> Nullable<Uuid>,
        confirmed_at -> Nullable<Timestamptz>,
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
        organization_id -> Uuid,
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
    session_logs (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        plan_id -> Nullable<Uuid>,
        performed_on -> Date,
        stage -> Text,
        level -> Nullable<Int4>,
        completed -> Bool,
        duration_minutes -> Nullable<Int4>,
        rpe -> Nullable<Int2>,
        notes -> Nullable<Text>,
        request_digest -> Bytea,
        recorded_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    symptom_reports (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        plan_id -> Nullable<Uuid>,
        session_id -> Nullable<Uuid>,
        stage -> Nullable<Text>,
        level -> Nullable<Int4>,
        timing -> Text,
        reported_on -> Date,
        symptoms -> Jsonb,
        triage_level -> Text,
        findings -> Jsonb,
        advisories -> Jsonb,
        max_pain -> Int2,
        pelvic_symptom -> Bool,
        urine_leak -> Nullable<Text>,
        notes -> Nullable<Text>,
        recommendation -> Nullable<Jsonb>,
        flag_id -> Nullable<Uuid>,
        request_digest -> Bytea,
        recorded_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        urgency -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Xid8;

    sync_changes (seq) {
        seq -> Int8,
        txid -> Xid8,
        organization_id -> Uuid,
        client_id -> Uuid,
        coach_id -> Nullable<Uuid>,
        entity -> Text,
        entity_id -> Uuid,
        op -> Text,
        coach_only -> Bool,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Xid8;

    sync_commits (txid, organization_id) {
        txid -> Xid8,
        organization_id -> Uuid,
        commit_seq -> Nullable<Int8>,
    }
}

diesel::table! {
    sync_horizon (only_row) {
        only_row -> Bool,
        seq -> Int8,
        commit_seq -> Int8,
    }
}

diesel::table! {
    sync_restores (gap_from) {
        gap_from -> Int8,
        gap_to -> Int8,
        restored_at -> Timestamptz,
    }
}

diesel::table! {
    throttles (key) {
        key -> Bytea,
        tat -> Timestamptz,
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
        client_id -> Nullable<Uuid>,
        tokens_valid_after -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        organization_id -> Uuid,
        event_id -> Uuid,
        endpoint_id -> Uuid,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        queue_key -> Uuid,
        seq -> Int8,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        organization_id -> Uuid,
        url -> Text,
        description -> Text,
        events -> Array<Text>,
        secret -> Nullable<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        consecutive_failures -> Int4,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        secret_sealed -> Nullable<Bytea>,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Uuid,
        seq -> Int8,
        organization_id -> Uuid,
        event_type -> Text,
        client_id -> Nullable<Uuid>,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(assessments -> clients (client_id));
diesel::joinable!(assessments -> organizations (organization_id));
diesel::joinable!(assessments -> users (recorded_by));
diesel::joinable!(audit_events -> organizations (organization_id));
diesel::joinable!(check_ins -> clients (client_id));
diesel::joinable!(check_ins -> organizations (organization_id));
diesel::joinable!(check_ins -> users (recorded_by));
diesel::joinable!(clients -> organizations (organization_id));
diesel::joinable!(engine_runs -> clients (client_id));
diesel::joinable!(engine_runs -> organizations (organization_id));
diesel::joinable!(engine_runs -> plans (plan_id));
diesel::joinable!(flags -> check_ins (check_in_id));
diesel::joinable!(flags -> clients (client_id));
diesel::joinable!(flags -> organizations (organization_id));
diesel::joinable!(flags -> users (resolved_by));
diesel::joinable!(idempotency_keys -> organizations (organization_id));
diesel::joinable!(invitations -> organizations (organization_id));
diesel::joinable!(plan_transitions -> clients (client_id));
diesel::joinable!(plan_transitions -> organizations (organization_id));
diesel::joinable!(plan_transitions -> plans (plan_id));
diesel::joinable!(plans -> assessments (jogging_gate_assessment_id));
diesel::joinable!(plans -> clients (client_id));
diesel::joinable!(plans -> organizations (organization_id));
diesel::joinable!(plans -> users (jogging_gate_set_by));
diesel::joinable!(program_versions -> organizations (organization_id));
diesel::joinable!(program_versions -> programs (program_id));
diesel::joinable!(program_versions -> users (published_by));
diesel::joinable!(programs -> organizations (organization_id));
diesel::joinable!(readiness_results -> clients (client_id));
diesel::joinable!(readiness_results -> organizations (organization_id));
diesel::joinable!(readiness_results -> plans (plan_id));
diesel::joinable!(readiness_results -> users (recorded_by));
diesel::joinable!(refresh_tokens -> organizations (organization_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(service_tokens -> organizations (organization_id));
diesel::joinable!(service_tokens -> users (created_by));
diesel::joinable!(session_logs -> clients (client_id));
diesel::joinable!(session_logs -> organizations (organization_id));
diesel::joinable!(session_logs -> plans (plan_id));
diesel::joinable!(session_logs -> users (recorded_by));
diesel::joinable!(symptom_reports -> plans (plan_id));
diesel::joinable!(symptom_reports -> session_logs (session_id));
diesel::joinable!(symptom_reports -> users (recorded_by));
diesel::joinable!(users -> organizations (organization_id));
diesel::joinable!(webhook_deliveries -> organizations (organization_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_endpoints -> organizations (organization_id));
diesel::joinable!(webhook_events -> organizations (organization_id));

diesel::allow_tables_to_appear_in_same_query!(
    assessments,
    audit_events,
    check_ins,
    clients,
    engine_runs,
    flags,
    idempotency_keys,
    invitations,
    organizations,
    plan_transitions,
    plans,
    program_versions,
    programs,
    readiness_results,
    refresh_tokens,
    service_tokens,
    session_logs,
    symptom_reports,
    sync_changes,
    sync_commits,
    sync_horizon,
    sync_restores,
    throttles,
    users,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
);
