-- Insight: the CSM's call on open renewals, indicators frozen at a lead time before decided
-- renewals (churn analysis and model training read them), fitted churn models, and scorecard
-- weight suggestions waiting for an admin. Keep in step with ../sqlite/0008_insight.sql.

CREATE TABLE renewal_calls (
    subscription_id BIGINT PRIMARY KEY REFERENCES subscriptions(id),
    account_id      BIGINT NOT NULL REFERENCES accounts(id),
    call            TEXT NOT NULL,
    note            TEXT,
    set_by          TEXT NOT NULL,
    set_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX renewal_calls_account ON renewal_calls (account_id);

CREATE TABLE renewal_features (
    subscription_id BIGINT NOT NULL,
    lead_days       INTEGER NOT NULL,
    account_id      BIGINT NOT NULL,
    renewal_date    DATE NOT NULL,
    as_of           DATE NOT NULL,
    indicators      TEXT,
    computed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (subscription_id, lead_days)
);
CREATE INDEX renewal_features_account ON renewal_features (account_id);

CREATE TABLE churn_models (
    id          BIGSERIAL PRIMARY KEY,
    trained_at  TIMESTAMPTZ NOT NULL,
    trained_by  TEXT NOT NULL,
    lead_days   INTEGER NOT NULL,
    window_from DATE NOT NULL,
    window_to   DATE NOT NULL,
    renewals    INTEGER NOT NULL,
    churned     INTEGER NOT NULL,
    auc         DOUBLE PRECISION,
    model       TEXT NOT NULL
);

CREATE TABLE weight_suggestions (
    id           BIGSERIAL PRIMARY KEY,
    scorecard_id BIGINT NOT NULL REFERENCES scorecards(id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT NOT NULL,
    basis        TEXT NOT NULL,
    definition   TEXT NOT NULL,
    changes      TEXT NOT NULL,
    accepted_at  TIMESTAMPTZ,
    accepted_by  TEXT
);

CREATE INDEX subscriptions_status_end ON subscriptions (status, end_date);
-- The term that renews a decided one.
CREATE INDEX subscriptions_renews ON subscriptions (renews_id) WHERE renews_id IS NOT NULL;
