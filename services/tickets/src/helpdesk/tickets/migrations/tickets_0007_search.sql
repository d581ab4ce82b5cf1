-- Full-text search over tickets (docs/search.md): a projection of the ticket
-- streams, rebuilt like every read model (`helpdesk rebuild-projections tickets`).
--
-- The embedded PostgreSQL (pgserver) ships neither `unaccent` nor `pg_trgm`
-- (only plpgsql and vector), so this schema uses neither:
-- * accents and case: the Greek Snowball stemmer folds Greek accents, case and
--   final sigma itself; for prefixes, the service adds an unstemmed copy of the
--   words folded in Python (NFD, marks dropped, casefolded) under 'simple';
-- * trigram fallback for ticket numbers: a b-tree on the reversed number,
--   so "42" finds HD-2026-000042 by indexed suffix match; names are in the
--   folded, prefix-searchable words.

-- Greek words (token types word, hword, hword_part) through the Greek stemmer,
-- Latin-letter words through the English one; numbers and the rest as typed.
CREATE TEXT SEARCH CONFIGURATION helpdesk_search (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION helpdesk_search
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH pg_catalog.english_stem;
ALTER TEXT SEARCH CONFIGURATION helpdesk_search
    ALTER MAPPING FOR word, hword, hword_part WITH pg_catalog.greek_stem;

CREATE TABLE ticket_search (
    ticket_id     uuid PRIMARY KEY,
    requester_id  uuid NOT NULL,
    number_rev    text NOT NULL,      -- reverse(number): indexed suffix match
    public_doc    tsvector NOT NULL,  -- subject, description, public messages, names
    all_doc       tsvector NOT NULL,  -- the same plus internal notes (agents)
    public_text   text NOT NULL,      -- what snippets are cut from
    notes_text    text NOT NULL DEFAULT '',
    indexed_chars integer NOT NULL DEFAULT 0
);

CREATE INDEX ticket_search_public ON ticket_search USING gin (public_doc);
CREATE INDEX ticket_search_all ON ticket_search USING gin (all_doc);
CREATE INDEX ticket_search_requester ON ticket_search (requester_id);
CREATE INDEX ticket_search_number_rev ON ticket_search (number_rev text_pattern_ops);

-- A query: every term must match (AND); a term matches its stem as a prefix in
-- the stemmed words or its folded form as a prefix in the folded words (OR).
-- A term the stemmer drops (a stop word such as "the") is left out.
CREATE FUNCTION helpdesk_search_query(terms text[], folded text[]) RETURNS tsquery
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    result tsquery;
    part tsquery;
    stem tsquery;
BEGIN
    FOR i IN 1 .. coalesce(array_length(terms, 1), 0) LOOP
        stem := to_tsquery('helpdesk_search', quote_literal(terms[i]));
        CONTINUE WHEN numnode(stem) = 0;
        part := to_tsquery('helpdesk_search', quote_literal(terms[i]) || ':*')
             || to_tsquery('simple', quote_literal(folded[i]) || ':*');
        result := CASE WHEN result IS NULL THEN part ELSE result && part END;
    END LOOP;
    RETURN result;
END
$$;

-- The stemmed half only: what ts_headline highlights in the original text.
CREATE FUNCTION helpdesk_highlight_query(terms text[]) RETURNS tsquery
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    result tsquery;
    part tsquery;
BEGIN
    FOR i IN 1 .. coalesce(array_length(terms, 1), 0) LOOP
        part := to_tsquery('helpdesk_search', quote_literal(terms[i]) || ':*');
        CONTINUE WHEN numnode(part) = 0;
        result := CASE WHEN result IS NULL THEN part ELSE result || part END;
    END LOOP;
    RETURN result;
END
$$;
