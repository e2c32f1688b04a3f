-- Segment-compatible ingestion: people known by their Segment userId before (or without) the
-- account they belong to, anonymous ids merged into user ids, and numeric metrics.
-- Keep in step with ../sqlite/0002_ingestion.sql.

CREATE TABLE identities (
    user_id       TEXT PRIMARY KEY,
    account_id    BIGINT REFERENCES accounts(id),
    name          TEXT,
    email         TEXT,
    title         TEXT,
    traits        JSONB NOT NULL DEFAULT '{}',
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE aliases (
    previous_id TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE metrics (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    contact_id BIGINT NOT NULL DEFAULT 0,
    dimension  TEXT NOT NULL,
    day        DATE NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, contact_id, dimension, day)
);
