-- Agents' saved views of the queue (issue 29, docs/workspace.md): a preference per
-- agent, kept as rows (not events: nothing in the domain happened).
CREATE TABLE saved_filters (
    user_id  uuid NOT NULL,
    name     text NOT NULL,
    spec     jsonb NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, name)
);
