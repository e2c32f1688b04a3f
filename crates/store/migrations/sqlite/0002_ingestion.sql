-- Segment-compatible ingestion: people known by their Segment userId before (or without) the
-- account they belong to, anonymous ids merged into user ids, and numeric metrics.

-- What `identify` and `group` calls said about a user, kept until the user's account is known;
-- the contact is created from it then.
CREATE TABLE identities (
    user_id       TEXT PRIMARY KEY,
    account_id    INTEGER REFERENCES accounts(id),
    name          TEXT,
    email         TEXT,
    title         TEXT,
    traits        TEXT NOT NULL DEFAULT '{}',
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
);

-- `alias`: later events of previous_id count as user_id's.
CREATE TABLE aliases (
    previous_id TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Numeric time series per account or contact (one value per subject, dimension and day).
CREATE TABLE metrics (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    contact_id INTEGER NOT NULL DEFAULT 0,
    dimension  TEXT NOT NULL,
    day        TEXT NOT NULL,
    value      REAL NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, contact_id, dimension, day)
);
