//! Diesel's view of the tables created by `migrations/`.

diesel::table! {
    hooks (hook_group_id, hook_id) {
        hook_group_id -> Text,
        hook_id -> Text,
        metadata -> Jsonb,
        task -> Jsonb,
        bindings -> Jsonb,
        schedule -> Jsonb,
        trigger_schema -> Jsonb,
        encrypted_trigger_token -> Bytea,
        encrypted_schedule_secret -> Bytea,
        next_scheduled_date -> Nullable<Timestamptz>,
        schedule_retry_at -> Nullable<Timestamptz>,
        schedule_failures -> Int4,
        created -> Timestamptz,
        updated -> Timestamptz,
        failure_emailed_at -> Nullable<Timestamptz>,
        failures_not_emailed -> Int4,
        time_zone -> Nullable<Text>,
        catch_up_policy -> Nullable<Text>,
        catch_up_window -> Nullable<Text>,
    }
}

diesel::table! {
    last_fires (hook_group_id, hook_id, task_id) {
        hook_group_id -> Text,
        hook_id -> Text,
        fired_by -> Text,
        task_id -> Text,
        task_create_time -> Timestamptz,
        result -> Text,
        error -> Text,
    }
}

diesel::table! {
    pulse_queues (hook_group_id, hook_id) {
        hook_group_id -> Text,
        hook_id -> Text,
        queue_name -> Text,
        bindings -> Jsonb,
        updated -> Timestamptz,
    }
}

diesel::table! {
    pulse_fires (hook_group_id, hook_id, task_id) {
        hook_group_id -> Text,
        hook_id -> Text,
        task_id -> Text,
        message_key -> Bytea,
        fire_now -> Timestamptz,
        done -> Bool,
        claimed_by -> Text,
        created -> Timestamptz,
    }
}

diesel::table! {
    audit_history (id) {
        id -> Int8,
        hook_group_id -> Text,
        hook_id -> Text,
        client_id -> Text,
        action -> Text,
        created -> Timestamptz,
    }
}

diesel::table! {
    embedded_tasks (task_id) {
        task_id -> Text,
        hook_group_id -> Text,
        hook_id -> Text,
        definition -> Jsonb,
        created -> Timestamptz,
    }
}

diesel::table! {
    fire_log (id) {
        id -> Int8,
        hook_group_id -> Text,
        hook_id -> Text,
        time -> Timestamptz,
        fired_by -> Text,
        outcome -> Text,
        task_id -> Nullable<Text>,
        error -> Nullable<Text>,
        source -> Jsonb,
        event_key -> Nullable<Text>,
    }
}

diesel::table! {
    hook_pauses (hook_group_id, hook_id) {
        hook_group_id -> Text,
        hook_id -> Text,
        reason -> Text,
        paused_by -> Text,
        since -> Timestamptz,
    }
}

diesel::table! {
    hook_webhooks (hook_group_id, hook_id) {
        hook_group_id -> Text,
        hook_id -> Text,
        kind -> Text,
        events -> Jsonb,
        encrypted_secret -> Bytea,
    }
}

diesel::table! {
    webhook_deliveries (hook_group_id, hook_id, delivery_id) {
        hook_group_id -> Text,
        hook_id -> Text,
        delivery_id -> Text,
        task_id -> Text,
        fire_now -> Timestamptz,
        kind -> Text,
        event -> Text,
        state -> Text,
        payload -> Nullable<Text>,
        lease_until -> Timestamptz,
        received -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    hooks,
    hook_pauses,
    hook_webhooks,
    webhook_deliveries,
    fire_log,
    last_fires,
    pulse_queues,
    pulse_fires,
    audit_history,
    embedded_tasks
);
