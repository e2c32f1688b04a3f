-- Insight: the CSM's call on open renewals, indicators frozen at a lead time before decided
-- renewals (churn analysis and model training read them), fitted churn models, and scorecard
-- weight suggestions waiting for an admin. Keep in step with ../postgres/0008_insight.sql.

CREATE TABLE renewal_calls (
    subscription_id INTEGER PRIMARY KEY REFERENCES subscriptions(id),
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    call            TEXT NOT NULL,
    note            TEXT,
    set_by          TEXT NOT NULL,
    set_at          TEXT NOT NULL
);
CREATE INDEX renewal_calls_account ON renewal_calls (account_id);

-- One row per decided renewal and lead time: the indicators as they stood on `as_of`
-- (renewal date − lead days), read from the daily rollups and records of that day.
CREATE TABLE renewal_features (
    subscription_id INTEGER NOT NULL,
    lead_days       INTEGER NOT NULL,
    account_id      INTEGER NOT NULL,
    renewal_date    TEXT NOT NULL,
    as_of           TEXT NOT NULL,
    indicators      TEXT,
    computed_at     TEXT NOT NULL,
    PRIMARY KEY (subscription_id, lead_days)
);
CREATE INDEX renewal_features_account ON renewal_features (account_id);

CREATE TABLE churn_models (
    id          INTEGER PRIMARY KEY,
    trained_at  TEXT NOT NULL,
    trained_by  TEXT NOT NULL,
    lead_days   INTEGER NOT NULL,
    window_from TEXT NOT NULL,
    window_to   TEXT NOT NULL,
    renewals    INTEGER NOT NULL,
    churned     INTEGER NOT NULL,
    auc         REAL,
    model       TEXT NOT NULL
);

CREATE TABLE weight_suggestions (
    id           INTEGER PRIMARY KEY,
    scorecard_id INTEGER NOT NULL REFERENCES scorecards(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    basis        TEXT NOT NULL,
    definition   TEXT NOT NULL,
    changes      TEXT NOT NULL,
    accepted_at  TEXT,
    accepted_by  TEXT
);

-- Renewals by date for the renewal map; decided renewals by end date for the analyses.
CREATE INDEX subscriptions_status_end ON subscriptions (status, end_date);
-- The term that renews a decided one.
CREATE INDEX subscriptions_renews ON subscriptions (renews_id) WHERE renews_id IS NOT NULL;
