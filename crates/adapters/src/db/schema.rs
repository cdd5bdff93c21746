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
        username_fold -> Nullable<Text>,
        keys_folded -> Bool,
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
        lookup_mac -> Nullable<Binary>,
    }
}

diesel::table! {
    challenge_keys (challenge_id, key) {
        challenge_id -> Text,
        key -> Text,
        purpose -> Text,
        issued_at -> BigInt,
        is_open -> Bool,
    }
}

diesel::table! {
    projects (id) {
        id -> Text,
        name -> Text,
        icon -> Nullable<Text>,
        owner_id -> Text,
        status -> Text,
        timezone -> Text,
        languages -> Text,
        created_at -> BigInt,
        deleted_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    memberships (project_id, user_id) {
        project_id -> Text,
        user_id -> Text,
        status -> Text,
        roles -> Text,
        notify_email -> Nullable<Text>,
        notify_events -> Text,
        notify_frequency -> Text,
        rate_limit_per_second -> Nullable<Integer>,
        invited_by -> Nullable<Text>,
        invited_at -> Nullable<BigInt>,
        invite_expires_at -> Nullable<BigInt>,
        invite_token_mac -> Nullable<Binary>,
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
        lease_id -> BigInt,
        body_sealed -> Bool,
    }
}

diesel::table! {
    email_reverts (token_mac) {
        token_mac -> Binary,
        user_id -> Text,
        restore_email -> Text,
        replaced_by -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        spent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        time -> BigInt,
        event -> Text,
        user_gid -> Nullable<Text>,
        client_addr -> Nullable<Text>,
        outcome -> Text,
        details -> Text,
    }
}

diesel::table! {
    jwt_keys (kid) {
        kid -> Text,
        public_x -> Text,
        private_key -> Text,
        created_at -> BigInt,
        signs_from -> BigInt,
    }
}

diesel::joinable!(user_emails -> users (user_id));
diesel::joinable!(email_reverts -> users (user_id));
diesel::joinable!(challenge_keys -> challenges (challenge_id));
diesel::joinable!(memberships -> projects (project_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_emails,
    challenges,
    challenge_keys,
    rate_events,
    outbox,
    projects,
    memberships,
    email_reverts,
    audit_events,
    jwt_keys
);
