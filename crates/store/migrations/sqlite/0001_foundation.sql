-- Kizuna foundation schema (SQLite). Dates are TEXT 'YYYY-MM-DD'; timestamps are TEXT in UTC as
-- sqlx writes them; booleans are INTEGER 0/1. Keep in step with ../postgres/0001_foundation.sql.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    locale        TEXT NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT 1,
    password_hash TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_by   INTEGER REFERENCES users(id),
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY,
    external_id         TEXT UNIQUE,
    name                TEXT NOT NULL,
    name_lower          TEXT NOT NULL,
    domain              TEXT,
    industry            TEXT,
    employees           INTEGER,
    contract_value_tier TEXT,
    growth_potential    TEXT,
    brand_value         TEXT,
    referral_likelihood TEXT,
    coverage_tier       TEXT NOT NULL,
    lifecycle_stage     TEXT NOT NULL,
    owner_id            INTEGER REFERENCES users(id),
    parent_id           INTEGER REFERENCES accounts(id),
    currency            TEXT NOT NULL,
    traits              TEXT NOT NULL DEFAULT '{}',
    mrr_minor           INTEGER NOT NULL DEFAULT 0,
    mrr                 REAL NOT NULL DEFAULT 0,
    seats               INTEGER NOT NULL DEFAULT 0,
    renewal_date        TEXT,
    health_score        REAL,
    health_band         TEXT,
    health_trend        TEXT,
    churned_on          TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    deleted_at          TEXT
);
-- The account list filters and sorts live accounts only; partial indexes leave deleted ones out.
CREATE INDEX accounts_name ON accounts (name_lower, id) WHERE deleted_at IS NULL;
CREATE INDEX accounts_owner ON accounts (owner_id, name_lower) WHERE deleted_at IS NULL;
CREATE INDEX accounts_stage ON accounts (lifecycle_stage, name_lower) WHERE deleted_at IS NULL;
CREATE INDEX accounts_tier ON accounts (coverage_tier, name_lower) WHERE deleted_at IS NULL;
CREATE INDEX accounts_segment ON accounts (contract_value_tier, name_lower) WHERE deleted_at IS NULL;
CREATE INDEX accounts_industry ON accounts (industry, name_lower) WHERE deleted_at IS NULL;
CREATE INDEX accounts_band ON accounts (health_band, name_lower) WHERE deleted_at IS NULL;
CREATE INDEX accounts_renewal ON accounts (renewal_date, mrr) WHERE deleted_at IS NULL;
CREATE INDEX accounts_mrr ON accounts (mrr, id) WHERE deleted_at IS NULL;
CREATE INDEX accounts_health ON accounts (health_score, id) WHERE deleted_at IS NULL;
CREATE INDEX accounts_domain ON accounts (domain);
-- Covers every filter and sort column of the list: a filtered list is answered from this index
-- alone (no row lookups), then only the page's rows are read. Low-cardinality columns first.
CREATE INDEX accounts_list ON accounts (
    coverage_tier, lifecycle_stage, contract_value_tier, health_band, growth_potential, brand_value,
    referral_likelihood, owner_id, industry, renewal_date, mrr, health_score, name_lower, created_at, updated_at
) WHERE deleted_at IS NULL;

-- Free-text search on name and domain: a trigram index answers `LIKE '%text%'` for 3+ characters.
CREATE VIRTUAL TABLE accounts_search USING fts5(
    name_lower, domain, content = 'accounts', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER accounts_search_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO accounts_search (rowid, name_lower, domain) VALUES (new.id, new.name_lower, new.domain);
END;
CREATE TRIGGER accounts_search_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO accounts_search (accounts_search, rowid, name_lower, domain)
    VALUES ('delete', old.id, old.name_lower, old.domain);
END;
CREATE TRIGGER accounts_search_update AFTER UPDATE OF name_lower, domain ON accounts BEGIN
    INSERT INTO accounts_search (accounts_search, rowid, name_lower, domain)
    VALUES ('delete', old.id, old.name_lower, old.domain);
    INSERT INTO accounts_search (rowid, name_lower, domain) VALUES (new.id, new.name_lower, new.domain);
END;

CREATE TABLE lifecycle_transitions (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    from_stage  TEXT,
    to_stage    TEXT NOT NULL,
    changed_at  TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    reason      TEXT
);
CREATE INDEX lifecycle_transitions_account ON lifecycle_transitions (account_id, changed_at);

CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    external_id   TEXT UNIQUE,
    name          TEXT,
    email         TEXT,
    title         TEXT,
    roles         TEXT NOT NULL DEFAULT '',
    traits        TEXT NOT NULL DEFAULT '{}',
    first_seen_at TEXT,
    last_seen_at  TEXT,
    left_at       TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id, id);
CREATE INDEX contacts_email ON contacts (email);

CREATE TABLE subscriptions (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    external_id TEXT UNIQUE,
    product     TEXT NOT NULL,
    plan        TEXT,
    mrr_minor   INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    seats       INTEGER NOT NULL,
    start_date  TEXT NOT NULL,
    end_date    TEXT NOT NULL,
    status      TEXT NOT NULL,
    renews_id   INTEGER REFERENCES subscriptions(id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX subscriptions_account ON subscriptions (account_id, start_date);
CREATE INDEX subscriptions_end ON subscriptions (end_date);

-- MRR changes inside one term (an upgrade mid-term). The term's first MRR is its start.
CREATE TABLE subscription_mrr_changes (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id),
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    effective_on    TEXT NOT NULL,
    mrr_minor       INTEGER NOT NULL,
    seats           INTEGER NOT NULL
);
CREATE INDEX subscription_mrr_changes_sub ON subscription_mrr_changes (subscription_id, effective_on);
CREATE INDEX subscription_mrr_changes_account ON subscription_mrr_changes (account_id);

-- Derived from subscriptions; rewritten for an account whenever its subscriptions change.
CREATE TABLE revenue_movements (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    subscription_id  INTEGER REFERENCES subscriptions(id),
    kind             TEXT NOT NULL,
    effective_on     TEXT NOT NULL,
    mrr_before_minor INTEGER NOT NULL,
    mrr_after_minor  INTEGER NOT NULL,
    currency         TEXT NOT NULL
);
CREATE INDEX revenue_movements_account ON revenue_movements (account_id, effective_on);
CREATE INDEX revenue_movements_day ON revenue_movements (effective_on);

CREATE TABLE tickets (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    contact_id  INTEGER REFERENCES contacts(id),
    external_id TEXT UNIQUE,
    subject     TEXT NOT NULL,
    severity    TEXT NOT NULL,
    status      TEXT NOT NULL,
    category    TEXT,
    opened_at   TEXT NOT NULL,
    solved_at   TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX tickets_account ON tickets (account_id, opened_at);

CREATE TABLE survey_responses (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    contact_id   INTEGER REFERENCES contacts(id),
    external_id  TEXT UNIQUE,
    survey       TEXT NOT NULL,
    score        INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment      TEXT,
    responded_at TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX survey_responses_account ON survey_responses (account_id, responded_at);

CREATE TABLE touchpoints (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    contact_id       INTEGER REFERENCES contacts(id),
    author_id        INTEGER REFERENCES users(id),
    external_id      TEXT UNIQUE,
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    notes            TEXT,
    sentiment        TEXT,
    occurred_at      TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX touchpoints_account ON touchpoints (account_id, occurred_at);

CREATE TABLE features (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    display_name  TEXT,
    module        TEXT,
    is_key        BOOLEAN NOT NULL DEFAULT 0,
    weight        REAL NOT NULL DEFAULT 1,
    first_seen_at TEXT NOT NULL
);

-- Raw usage, append-only. account_id is NULL until the account (or the user's contact) is known.
CREATE TABLE usage_events (
    id                  INTEGER PRIMARY KEY,
    message_id          TEXT NOT NULL UNIQUE,
    account_id          INTEGER REFERENCES accounts(id),
    account_external_id TEXT,
    user_key            TEXT,
    feature_id          INTEGER NOT NULL REFERENCES features(id),
    day                 TEXT NOT NULL,
    occurred_at         TEXT NOT NULL,
    received_at         TEXT NOT NULL,
    properties          TEXT
);
CREATE INDEX usage_events_unattributed ON usage_events (account_external_id) WHERE account_id IS NULL;
CREATE INDEX usage_events_unattributed_user ON usage_events (user_key) WHERE account_id IS NULL;

-- Rollups, maintained by increments in the transaction that stores the events. The per-user
-- rows say whether a user is new for a (day, feature) or a day, which keeps the distinct-user
-- counts exact without rescanning; they also carry each person's usage (champions).
CREATE TABLE usage_user_feature_daily (
    account_id INTEGER NOT NULL,
    day        TEXT NOT NULL,
    user_key   TEXT NOT NULL,
    feature_id INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    PRIMARY KEY (account_id, day, user_key, feature_id)
) WITHOUT ROWID;

CREATE TABLE usage_user_daily (
    account_id INTEGER NOT NULL,
    day        TEXT NOT NULL,
    user_key   TEXT NOT NULL,
    events     INTEGER NOT NULL,
    PRIMARY KEY (account_id, day, user_key)
) WITHOUT ROWID;

CREATE TABLE usage_feature_daily (
    account_id INTEGER NOT NULL,
    feature_id INTEGER NOT NULL,
    day        TEXT NOT NULL,
    events     INTEGER NOT NULL,
    users      INTEGER NOT NULL,
    PRIMARY KEY (account_id, day, feature_id)
) WITHOUT ROWID;

CREATE TABLE usage_account_daily (
    account_id   INTEGER NOT NULL,
    day          TEXT NOT NULL,
    events       INTEGER NOT NULL,
    active_users INTEGER NOT NULL,
    PRIMARY KEY (account_id, day)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   INTEGER,
    detail       TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
