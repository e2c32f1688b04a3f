-- Champions and business reviews. Keep in step with ../postgres/0014_champions_reviews.sql.

-- Each account's champions as the last champion pass read them (tagged and suggested), so the
-- next pass can tell who went quiet or left since.
CREATE TABLE champion_state (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    status     TEXT NOT NULL,
    score      REAL NOT NULL,
    suggested  BOOLEAN NOT NULL,
    since      TEXT NOT NULL,
    read_on    TEXT NOT NULL,
    PRIMARY KEY (account_id, contact_id)
);

-- Business reviews (QBR / EBR): what the CSM writes; the figures are gathered when it is shown.
CREATE TABLE business_reviews (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    kind            TEXT NOT NULL,
    period_from     TEXT NOT NULL,
    period_to       TEXT NOT NULL,
    title           TEXT NOT NULL,
    goals           TEXT NOT NULL DEFAULT '',
    value_delivered TEXT NOT NULL DEFAULT '',
    next_steps      TEXT NOT NULL DEFAULT '',
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX business_reviews_account ON business_reviews (account_id, period_to);
