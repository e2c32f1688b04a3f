-- Health scores: scorecards, daily snapshots, the latest indicators per account, manual scores,
-- the queue of accounts whose inputs changed, and the "latest use" tables that let a full
-- recompute read one row per (account, user) and (account, feature) instead of every day.
-- Keep in step with ../sqlite/0003_health.sql.

CREATE TABLE scorecards (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    is_default BOOLEAN NOT NULL DEFAULT false,
    priority   INTEGER NOT NULL DEFAULT 0,
    definition TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX scorecards_one_default ON scorecards (is_default) WHERE is_default;

CREATE TABLE health_snapshots (
    account_id     BIGINT NOT NULL,
    day            DATE NOT NULL,
    scorecard_id   BIGINT NOT NULL,
    score          DOUBLE PRECISION,
    band           TEXT,
    previous_score DOUBLE PRECISION,
    trend          TEXT,
    adoption_index DOUBLE PRECISION,
    adoption_band  TEXT,
    measures       TEXT NOT NULL,
    computed_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, day)
);
CREATE INDEX health_snapshots_day ON health_snapshots (day, band);

CREATE TABLE account_indicators (
    account_id            BIGINT PRIMARY KEY,
    day                   DATE NOT NULL,
    usage_trend           DOUBLE PRECISION,
    active_users          DOUBLE PRECISION,
    seat_utilization      DOUBLE PRECISION,
    breadth               DOUBLE PRECISION,
    depth                 DOUBLE PRECISION,
    days_since_activity   DOUBLE PRECISION,
    open_tickets          DOUBLE PRECISION,
    nps_latest            DOUBLE PRECISION,
    nps_average           DOUBLE PRECISION,
    days_since_touchpoint DOUBLE PRECISION,
    days_to_renewal       DOUBLE PRECISION,
    champion_active       DOUBLE PRECISION,
    adoption_index        DOUBLE PRECISION,
    metrics               TEXT NOT NULL DEFAULT '{}'
);

ALTER TABLE accounts ADD COLUMN adoption_index DOUBLE PRECISION;
ALTER TABLE accounts ADD COLUMN adoption_band TEXT;
ALTER TABLE accounts ADD COLUMN scorecard_id BIGINT;

CREATE TABLE manual_scores (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    measure    TEXT NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    expires_on DATE,
    note       TEXT,
    set_by     TEXT NOT NULL,
    set_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, measure)
);

CREATE TABLE usage_user_last (
    account_id BIGINT NOT NULL,
    user_key   TEXT NOT NULL,
    last_day   DATE NOT NULL,
    PRIMARY KEY (account_id, user_key)
);
INSERT INTO usage_user_last (account_id, user_key, last_day)
SELECT account_id, user_key, MAX(day) FROM usage_user_daily GROUP BY account_id, user_key;

CREATE TABLE usage_feature_last (
    account_id BIGINT NOT NULL,
    feature_id BIGINT NOT NULL,
    last_day   DATE NOT NULL,
    PRIMARY KEY (account_id, feature_id)
);
INSERT INTO usage_feature_last (account_id, feature_id, last_day)
SELECT account_id, feature_id, MAX(day) FROM usage_feature_daily GROUP BY account_id, feature_id;

-- Accounts whose score inputs changed since their last recompute. Triggers fill it, so no write
-- path can forget to; the server drains it every few seconds.
CREATE TABLE score_queue (
    account_id BIGINT PRIMARY KEY
);

CREATE FUNCTION kizuna_queue_score() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO score_queue (account_id) VALUES (OLD.account_id) ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO score_queue (account_id) VALUES (NEW.account_id) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION kizuna_queue_account_score() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_queue (account_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER score_queue_usage AFTER INSERT OR UPDATE ON usage_account_daily
    FOR EACH ROW EXECUTE FUNCTION kizuna_queue_score();
CREATE TRIGGER score_queue_tickets AFTER INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION kizuna_queue_score();
CREATE TRIGGER score_queue_surveys AFTER INSERT OR UPDATE ON survey_responses
    FOR EACH ROW EXECUTE FUNCTION kizuna_queue_score();
CREATE TRIGGER score_queue_touchpoints AFTER INSERT OR UPDATE ON touchpoints
    FOR EACH ROW EXECUTE FUNCTION kizuna_queue_score();
CREATE TRIGGER score_queue_contacts_insert AFTER INSERT ON contacts
    FOR EACH ROW EXECUTE FUNCTION kizuna_queue_score();
CREATE TRIGGER score_queue_contacts_update AFTER UPDATE OF roles, left_at, external_id, account_id ON contacts
    FOR EACH ROW EXECUTE FUNCTION kizuna_queue_score();
CREATE TRIGGER score_queue_metrics AFTER INSERT OR UPDATE ON metrics
    FOR EACH ROW EXECUTE FUNCTION kizuna_queue_score();
CREATE TRIGGER score_queue_manual AFTER INSERT OR UPDATE OR DELETE ON manual_scores
    FOR EACH ROW EXECUTE FUNCTION kizuna_queue_score();
CREATE TRIGGER score_queue_accounts_insert AFTER INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION kizuna_queue_account_score();
CREATE TRIGGER score_queue_accounts_update AFTER UPDATE OF
    coverage_tier, lifecycle_stage, contract_value_tier, seats, renewal_date, churned_on, deleted_at ON accounts
    FOR EACH ROW EXECUTE FUNCTION kizuna_queue_account_score();

-- Daily jobs claimed by one instance: the first to insert (job, day) runs it.
CREATE TABLE job_runs (
    job        TEXT NOT NULL,
    day        DATE NOT NULL,
    PRIMARY KEY (job, day)
);
