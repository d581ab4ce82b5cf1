-- Read models of the identity service (projections of the event store,
-- rebuildable) and the rate-limit counters (operational state, not events).

-- One row per account. The unique keys make concurrent registrations of the
-- same username or e-mail fail in the transaction that appends the event.
CREATE TABLE users (
    user_id       uuid PRIMARY KEY,
    username      text NOT NULL,
    username_key  text NOT NULL CONSTRAINT users_username_key UNIQUE,
    email         text NOT NULL,
    email_key     text NOT NULL CONSTRAINT users_email_key UNIQUE,
    name          text NOT NULL,
    locale        text NOT NULL,
    roles         text[] NOT NULL,
    status        text NOT NULL,
    registered_at timestamptz NOT NULL
);

-- Hashes of activation and reset tokens -> the account they belong to.
-- Validity (expiry, single use) is the User aggregate's decision.
CREATE TABLE user_tokens (
    token_hash text PRIMARY KEY,
    purpose    text NOT NULL,
    user_id    uuid NOT NULL
);

CREATE TABLE sessions (
    session_id uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    active     boolean NOT NULL
);
CREATE INDEX sessions_active_by_user ON sessions (user_id) WHERE active;

-- Every refresh token a session ever had, so reuse of a rotated one is recognised.
CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    session_id uuid NOT NULL
);

CREATE TABLE rate_limit_hits (
    bucket text NOT NULL,
    key    text NOT NULL,
    at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rate_limit_hits_lookup ON rate_limit_hits (bucket, key, at);
