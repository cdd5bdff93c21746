//! Table definitions, shared by both backends (the migrations in
//! `migrations/postgres` and `migrations/sqlite` create the same shapes).

diesel::table! {
    users (id) {
        id -> Text,
        username -> Nullable<Text>,
        username_key -> Nullable<Text>,
        status -> Text,
        credential_version -> BigInt,
        password_hash -> Nullable<Text>,
        name -> Text,
        language -> Text,
        timezone -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_emails (user_id, position) {
        user_id -> Text,
        position -> Integer,
        email -> Text,
        email_key -> Text,
    }
}

diesel::table! {
    challenges (id) {
        id -> Text,
        purpose -> Text,
        subject_key -> Text,
        subject -> Text,
        code_mac -> Binary,
        issued_at -> BigInt,
        expires_at -> BigInt,
        failures -> Integer,
        max_failures -> Integer,
        state -> Text,
    }
}

diesel::table! {
    rate_events (id) {
        id -> BigInt,
        key -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        recipient -> Text,
        subject -> Text,
        body -> Nullable<Text>,
        not_after -> Nullable<BigInt>,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(user_emails -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, user_emails, challenges, rate_events, outbox);
