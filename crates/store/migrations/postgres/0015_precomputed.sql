-- Results computed ahead by the scheduler (the default executive dashboard and renewal map),
-- served until a newer one replaces them. Keep in step with ../sqlite/0015_precomputed.sql.
CREATE TABLE precomputed (
    key         TEXT PRIMARY KEY,
    computed_at TIMESTAMPTZ NOT NULL,
    body        TEXT NOT NULL
);
