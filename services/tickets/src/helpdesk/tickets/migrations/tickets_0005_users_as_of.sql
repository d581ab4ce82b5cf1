-- When identity last set a user's profile and roles (the event's occurred_at):
-- an older event that is redelivered after a newer one (its first attempt
-- failed, the newer one went through) no longer overwrites the newer values.
ALTER TABLE users
    ADD COLUMN profile_as_of timestamptz,
    ADD COLUMN roles_as_of   timestamptz;
