-- The gateway's store on PostgreSQL: the same tables as the SQLite store (src/store/sqlite.rs),
-- times as Unix seconds so both backends share their Rust types.
CREATE TABLE users (
    user_id text PRIMARY KEY,
    org_id text NOT NULL,
    username text NOT NULL,
    display_name text NOT NULL,
    email text NOT NULL,
    login_host text NOT NULL,
    instance_url text NOT NULL,
    access_token bytea,
    refresh_token bytea,
    -- bumped on every token change; a task that saw an older one knows someone refreshed
    token_generation bigint NOT NULL DEFAULT 0,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);

CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    user_id text NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    last_seen_at bigint NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- Outbound-message notification ids already handled (Salesforce delivers at least once).
CREATE TABLE outbound_notifications (
    org_id text NOT NULL,
    notification_id text NOT NULL,
    received_at bigint NOT NULL,
    PRIMARY KEY (org_id, notification_id)
);
CREATE INDEX outbound_notifications_by_age ON outbound_notifications(received_at);

CREATE TABLE idempotency_keys (
    user_id text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash bytea NOT NULL,
    -- 'in_progress' (a request is calling Salesforce), 'unknown' (its outcome was lost),
    -- 'done' (status and body are the answer)
    state text NOT NULL CHECK (state IN ('in_progress', 'unknown', 'done')),
    status integer,
    -- text, not jsonb: a replay answers byte for byte what was stored
    body text,
    record_id text,
    claimed_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id text NOT NULL,
    at bigint NOT NULL,
    action text NOT NULL,
    record_id text,
    idempotency_key text NOT NULL,
    outcome text NOT NULL,
    status integer NOT NULL
);
CREATE INDEX audit_log_by_user ON audit_log(user_id, at);
