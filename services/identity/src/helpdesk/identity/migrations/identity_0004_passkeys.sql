-- Passkeys (docs/sso.md): which account a WebAuthn credential belongs to, for a
-- sign-in without a password. A projection of PasskeyAdded / PasskeysRemoved.
CREATE TABLE passkeys (
    credential_id text PRIMARY KEY,
    user_id       uuid NOT NULL
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);
