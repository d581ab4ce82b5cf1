-- Ticket numbers from one PostgreSQL sequence per year instead of a locked
-- counter row: nextval() takes no lock that lasts until commit, so submits no
-- longer queue behind each other. A rolled-back or crashed submit leaves a gap
-- (docs/tickets.md, "Ticket numbers").

-- The number `n` of `HD-<year>-<n>`. This year's and next year's sequences are
-- created below; for any other year the first ticket creates it, and another
-- transaction doing so at the same moment waits for that one's commit (once per
-- year), fails with unique_violation inside the block and uses its sequence.
CREATE FUNCTION next_ticket_number(year integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    name text := format('ticket_number_%s', year);
    seq regclass := to_regclass(name);
BEGIN
    IF seq IS NULL THEN
        BEGIN
            EXECUTE format('CREATE SEQUENCE %I', name);
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            NULL;
        END;
        seq := name::regclass;
    END IF;
    RETURN nextval(seq);
END $$;

-- Carry the counters over: each year's sequence continues after its last number.
DO $$
DECLARE
    row record;
BEGIN
    FOR row IN SELECT year, last_number FROM ticket_numbers LOOP
        EXECUTE format('CREATE SEQUENCE %I START %s', 'ticket_number_' || row.year, row.last_number + 1);
    END LOOP;
END $$;

DROP TABLE ticket_numbers;

DO $$
DECLARE
    this_year integer := extract(year FROM now() AT TIME ZONE 'Europe/Athens');
BEGIN
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', 'ticket_number_' || this_year);
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', 'ticket_number_' || (this_year + 1));
END $$;
