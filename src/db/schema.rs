// @generated automatically by Diesel CLI.

diesel::table! {
    deleted_rooms (id) {
        id -> Integer,
        deleted_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> Integer,
        room_id -> Integer,
        author_id -> Integer,
        body -> Text,
        sent_at -> Timestamp,
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
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Nullable<Integer>,
        state -> Text,
        idle_expires_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        username -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        current_room_id -> Nullable<Integer>,
    }
}

diesel::joinable!(messages -> rooms (room_id));
diesel::joinable!(messages -> users (author_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(deleted_rooms, messages, rooms, sessions, users,);
