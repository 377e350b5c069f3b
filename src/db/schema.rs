// @generated automatically by Diesel CLI.

diesel::table! {
    api_tokens (id) {
        id -> Integer,
        user_id -> Integer,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    attachments (id) {
        id -> Integer,
        room_id -> Integer,
        name -> Text,
        content_type -> Text,
        size -> BigInt,
        width -> Nullable<Integer>,
        height -> Nullable<Integer>,
        etag -> Text,
        data -> Binary,
        thumbnail -> Nullable<Binary>,
        thumbnail_type -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bots (user_id) {
        user_id -> Integer,
        created_by -> Nullable<Integer>,
        webhook_url -> Nullable<Text>,
        last_failure -> Nullable<Text>,
        last_failure_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        subject -> Text,
    }
}

diesel::table! {
    deleted_rooms (id) {
        id -> Integer,
        deleted_at -> Timestamp,
        name -> Text,
    }
}

diesel::table! {
    deletion_counts (room_id, author_id, node) {
        room_id -> Integer,
        author_id -> Integer,
        node -> BigInt,
        deleted -> Integer,
    }
}

diesel::table! {
    invitations (id) {
        id -> Integer,
        token_hash -> Text,
        created_by -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_by -> Nullable<Integer>,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    log_entries (id) {
        id -> Integer,
        room_id -> Integer,
        author_id -> Integer,
        kind -> Text,
        body -> Text,
        target_seq -> Nullable<Integer>,
        deleted_at -> Nullable<Timestamp>,
        sent_at -> Timestamp,
        client_id -> Nullable<Text>,
        seq -> Integer,
        posted_through -> Integer,
        author_through -> Integer,
        html -> Nullable<Text>,
        edited_at -> Nullable<Timestamp>,
        reply_to -> Nullable<Integer>,
        search_text -> Nullable<Text>,
        mentions -> Nullable<Text>,
        attachment_id -> Nullable<Integer>,
        posted_as -> Nullable<Text>,
    }
}

diesel::table! {
    notices (id) {
        id -> Integer,
        user_id -> Integer,
        room_id -> Integer,
        seq -> Integer,
        mention -> Bool,
        notify -> Bool,
        created_at -> Timestamp,
        push_state -> Integer,
    }
}

diesel::table! {
    push_subscriptions (id) {
        id -> Integer,
        user_id -> Integer,
        session_id -> Text,
        endpoint -> Text,
        p256dh -> Text,
        auth -> Text,
        created_at -> Timestamp,
        failures -> Integer,
        retry_after -> BigInt,
    }
}

diesel::table! {
    reactions (id) {
        id -> Integer,
        room_id -> Integer,
        message_seq -> Integer,
        user_id -> Integer,
        emoji -> Text,
    }
}

diesel::table! {
    revocations (id) {
        id -> Integer,
        user_id -> Nullable<Integer>,
        session_id -> Nullable<Text>,
        revoked_at -> BigInt,
    }
}

diesel::table! {
    room_members (room_id, user_id) {
        room_id -> Integer,
        user_id -> Integer,
        hidden -> Bool,
    }
}

diesel::table! {
    room_notifications (user_id, room_id) {
        user_id -> Integer,
        room_id -> Integer,
        level -> Text,
    }
}

diesel::table! {
    room_reads (user_id, room_id) {
        user_id -> Integer,
        room_id -> Integer,
        last_read_seq -> Integer,
    }
}

diesel::table! {
    rooms (id) {
        id -> Integer,
        name -> Text,
        name_key -> Text,
        creator_id -> Integer,
        created_at -> Timestamp,
        last_activity_at -> Timestamp,
        is_direct -> Bool,
        last_seq -> Integer,
        posted -> Integer,
        deleted -> Integer,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Nullable<Integer>,
        state -> Text,
        idle_expires_at -> BigInt,
        expires_at -> BigInt,
        public_id -> Text,
        started_at -> BigInt,
        client -> Text,
        agent -> Text,
        credentials_version -> Integer,
    }
}

diesel::table! {
    settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        username -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        current_room_id -> Nullable<Integer>,
        username_key -> Text,
        is_admin -> Bool,
        disabled_at -> Nullable<Timestamp>,
        last_seen_at -> Nullable<Timestamp>,
        must_change_password -> Bool,
        credentials_version -> Integer,
        one_time_password_issued_at -> Nullable<Timestamp>,
        one_time_password_used_at -> Nullable<Timestamp>,
        is_bot -> Bool,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Integer,
        room_id -> Integer,
        name -> Text,
        key_hash -> Text,
        created_by -> Integer,
        created_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(attachments -> rooms (room_id));
diesel::joinable!(bots -> users (user_id));
diesel::joinable!(deletion_counts -> rooms (room_id));
diesel::joinable!(log_entries -> attachments (attachment_id));
diesel::joinable!(log_entries -> rooms (room_id));
diesel::joinable!(log_entries -> users (author_id));
diesel::joinable!(notices -> rooms (room_id));
diesel::joinable!(notices -> users (user_id));
diesel::joinable!(push_subscriptions -> users (user_id));
diesel::joinable!(reactions -> rooms (room_id));
diesel::joinable!(reactions -> users (user_id));
diesel::joinable!(room_members -> rooms (room_id));
diesel::joinable!(room_members -> users (user_id));
diesel::joinable!(room_notifications -> rooms (room_id));
diesel::joinable!(room_notifications -> users (user_id));
diesel::joinable!(room_reads -> rooms (room_id));
diesel::joinable!(room_reads -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(webhooks -> rooms (room_id));
diesel::joinable!(webhooks -> users (created_by));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    attachments,
    audit_log,
    bots,
    deleted_rooms,
    deletion_counts,
    invitations,
    log_entries,
    notices,
    push_subscriptions,
    reactions,
    revocations,
    room_members,
    room_notifications,
    room_reads,
    rooms,
    sessions,
    settings,
    users,
    webhooks,
);
