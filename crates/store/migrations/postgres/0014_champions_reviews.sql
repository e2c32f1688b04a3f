-- Champions and business reviews. Keep in step with ../sqlite/0014_champions_reviews.sql.

-- Each account's champions as the last champion pass read them (tagged and suggested), so the
-- next pass can tell who went quiet or left since.
CREATE TABLE champion_state (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    status     TEXT NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    suggested  BOOLEAN NOT NULL,
    since      DATE NOT NULL,
    read_on    DATE NOT NULL,
    PRIMARY KEY (account_id, contact_id)
);

-- Business reviews (QBR / EBR): what the CSM writes; the figures are gathered when it is shown.
CREATE TABLE business_reviews (
    id              BIGSERIAL PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts(id),
    kind            TEXT NOT NULL,
    period_from     DATE NOT NULL,
    period_to       DATE NOT NULL,
    title           TEXT NOT NULL,
    goals           TEXT NOT NULL DEFAULT '',
    value_delivered TEXT NOT NULL DEFAULT '',
    next_steps      TEXT NOT NULL DEFAULT '',
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX business_reviews_account ON business_reviews (account_id, period_to);
