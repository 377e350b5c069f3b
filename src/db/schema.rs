// @generated automatically by Diesel CLI.

diesel::table! {
    deleted_rooms (id) {
        id -> Integer,
        deleted_at -> Timestamp,
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
    }
}

diesel::joinable!(log_entries -> rooms (room_id));
diesel::joinable!(log_entries -> users (author_id));
diesel::joinable!(room_members -> rooms (room_id));
diesel::joinable!(room_members -> users (user_id));
diesel::joinable!(room_reads -> rooms (room_id));
diesel::joinable!(room_reads -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    deleted_rooms,
    log_entries,
    room_members,
    room_reads,
    rooms,
    sessions,
    users,
);
