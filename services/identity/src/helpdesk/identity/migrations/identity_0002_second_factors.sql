-- The users directory shows each account's second factors to admins (docs/sso.md);
-- a projection of TotpEnrolled / TotpRemoved, rebuilt with the rest.
ALTER TABLE users ADD COLUMN factors text[] NOT NULL DEFAULT '{}';
