-- Accounts from the organisation (docs/sso.md): where each comes from, and the
-- person's lasting id there (entryUUID / objectGUID, an OIDC `sub`, a SAML NameID).
-- A projection of Registered / ExternalIdentityLinked, rebuilt with the rest.
ALTER TABLE users ADD COLUMN source text NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN external_id text;
CREATE UNIQUE INDEX users_external_identity ON users (source, external_id)
    WHERE external_id IS NOT NULL;
