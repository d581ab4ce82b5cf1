-- Erasure requests (issue 30, docs/privacy.md): who asked to be forgotten and
-- when, for the admins' list. A projection of ErasureRequested / Erased: the row
-- goes with the erasure.
CREATE TABLE erasure_requests (
    user_id      uuid PRIMARY KEY,
    requested_at timestamptz NOT NULL,
    note         text
);
