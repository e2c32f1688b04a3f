-- Health scores: scorecards, daily snapshots, the latest indicators per account, manual scores,
-- the queue of accounts whose inputs changed, and the "latest use" tables that let a full
-- recompute read one row per (account, user) and (account, feature) instead of every day.
-- Keep in step with ../postgres/0003_health.sql.

CREATE TABLE scorecards (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    is_default BOOLEAN NOT NULL DEFAULT 0,
    priority   INTEGER NOT NULL DEFAULT 0,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX scorecards_one_default ON scorecards (is_default) WHERE is_default = 1;

-- One row per account per day.
CREATE TABLE health_snapshots (
    account_id     INTEGER NOT NULL,
    day            TEXT NOT NULL,
    scorecard_id   INTEGER NOT NULL,
    score          REAL,
    band           TEXT,
    previous_score REAL,
    trend          TEXT,
    adoption_index REAL,
    adoption_band  TEXT,
    measures       TEXT NOT NULL,
    computed_at    TEXT NOT NULL,
    PRIMARY KEY (account_id, day)
) WITHOUT ROWID;
CREATE INDEX health_snapshots_day ON health_snapshots (day, band);

-- The indicators of the latest recompute, for segments, rules and analytics.
CREATE TABLE account_indicators (
    account_id            INTEGER PRIMARY KEY,
    day                   TEXT NOT NULL,
    usage_trend           REAL,
    active_users          REAL,
    seat_utilization      REAL,
    breadth               REAL,
    depth                 REAL,
    days_since_activity   REAL,
    open_tickets          REAL,
    nps_latest            REAL,
    nps_average           REAL,
    days_since_touchpoint REAL,
    days_to_renewal       REAL,
    champion_active       REAL,
    adoption_index        REAL,
    metrics               TEXT NOT NULL DEFAULT '{}'
);

ALTER TABLE accounts ADD COLUMN adoption_index REAL;
ALTER TABLE accounts ADD COLUMN adoption_band TEXT;
ALTER TABLE accounts ADD COLUMN scorecard_id INTEGER;

CREATE TABLE manual_scores (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    measure    TEXT NOT NULL,
    score      REAL NOT NULL,
    expires_on TEXT,
    note       TEXT,
    set_by     TEXT NOT NULL,
    set_at     TEXT NOT NULL,
    PRIMARY KEY (account_id, measure)
);

CREATE TABLE usage_user_last (
    account_id INTEGER NOT NULL,
    user_key   TEXT NOT NULL,
    last_day   TEXT NOT NULL,
    PRIMARY KEY (account_id, user_key)
) WITHOUT ROWID;
INSERT INTO usage_user_last (account_id, user_key, last_day)
SELECT account_id, user_key, MAX(day) FROM usage_user_daily GROUP BY account_id, user_key;

CREATE TABLE usage_feature_last (
    account_id INTEGER NOT NULL,
    feature_id INTEGER NOT NULL,
    last_day   TEXT NOT NULL,
    PRIMARY KEY (account_id, feature_id)
) WITHOUT ROWID;
INSERT INTO usage_feature_last (account_id, feature_id, last_day)
SELECT account_id, feature_id, MAX(day) FROM usage_feature_daily GROUP BY account_id, feature_id;

-- Accounts whose score inputs changed since their last recompute. Triggers fill it, so no write
-- path can forget to; the server drains it every few seconds. (Not `INSERT OR IGNORE`: inside a
-- trigger the outer statement's conflict handling would override it.)
CREATE TABLE score_queue (
    account_id INTEGER PRIMARY KEY
);
CREATE TRIGGER score_queue_usage_insert AFTER INSERT ON usage_account_daily BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_usage_update AFTER UPDATE ON usage_account_daily BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_tickets_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_tickets_update AFTER UPDATE ON tickets BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_surveys_insert AFTER INSERT ON survey_responses BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_surveys_update AFTER UPDATE ON survey_responses BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_touchpoints_insert AFTER INSERT ON touchpoints BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_touchpoints_update AFTER UPDATE ON touchpoints BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_contacts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_contacts_update AFTER UPDATE OF roles, left_at, external_id, account_id ON contacts BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_metrics_insert AFTER INSERT ON metrics BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_metrics_update AFTER UPDATE ON metrics BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_manual_insert AFTER INSERT ON manual_scores BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_manual_update AFTER UPDATE ON manual_scores BEGIN
    INSERT INTO score_queue (account_id) SELECT new.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.account_id);
END;
CREATE TRIGGER score_queue_manual_delete AFTER DELETE ON manual_scores BEGIN
    INSERT INTO score_queue (account_id) SELECT old.account_id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = old.account_id);
END;
CREATE TRIGGER score_queue_accounts_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO score_queue (account_id) SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.id);
END;
CREATE TRIGGER score_queue_accounts_update AFTER UPDATE OF
    coverage_tier, lifecycle_stage, contract_value_tier, seats, renewal_date, churned_on, deleted_at ON accounts BEGIN
    INSERT INTO score_queue (account_id) SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM score_queue WHERE account_id = new.id);
END;

-- Daily jobs claimed by one instance: the first to insert (job, day) runs it.
CREATE TABLE job_runs (
    job        TEXT NOT NULL,
    day        TEXT NOT NULL,
    PRIMARY KEY (job, day)
);
