-- Agents' workflow (docs/assignment.md): queue members, availability and the
-- assignment history the policies read. All three are projections of the
-- tickets store (queue-<name>, agent-<id> and ticket-<id> streams) and are
-- rebuilt with the others.

CREATE TABLE queue_members (
    queue    text NOT NULL,
    user_id  uuid NOT NULL,
    added_at timestamptz NOT NULL,
    PRIMARY KEY (queue, user_id)
);
CREATE INDEX queue_members_by_user ON queue_members (user_id);

CREATE TABLE agents (
    user_id          uuid PRIMARY KEY,
    available        boolean NOT NULL DEFAULT true,
    back_at          timestamptz,
    -- The last time anyone assigned the agent a ticket (least_open's "idle").
    last_assigned_at timestamptz
);

-- The last time an agent received a ticket of a queue (round_robin's turn).
CREATE TABLE queue_assignments (
    queue   text NOT NULL,
    user_id uuid NOT NULL,
    last_at timestamptz NOT NULL,
    PRIMARY KEY (queue, user_id)
);

-- Open tickets per agent, and the tickets waiting in a queue in due order.
CREATE INDEX tickets_open_by_assignee ON tickets (assignee_id)
    WHERE status IN ('submitted', 'open', 'pending');
CREATE INDEX tickets_waiting ON tickets (queue, next_due NULLS LAST, created_at)
    WHERE assignee_id IS NULL AND status IN ('submitted', 'open', 'pending');

-- Deactivation (identity's UserDeactivated / UserReactivated) in event order.
ALTER TABLE users ADD COLUMN active_as_of timestamptz;
