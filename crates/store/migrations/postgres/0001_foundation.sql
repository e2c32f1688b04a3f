-- Kizuna foundation schema (PostgreSQL). Keep in step with ../sqlite/0001_foundation.sql: same
-- tables, columns and indexes, with native types (DATE, TIMESTAMPTZ, BOOLEAN, JSONB).

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    locale        TEXT NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    password_hash TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_by   BIGINT REFERENCES users(id),
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE TABLE accounts (
    id                  BIGSERIAL PRIMARY KEY,
    external_id         TEXT UNIQUE,
    name                TEXT NOT NULL,
    name_lower          TEXT NOT NULL,
    domain              TEXT,
    industry            TEXT,
    employees           BIGINT,
    contract_value_tier TEXT,
    growth_potential    TEXT,
    brand_value         TEXT,
    referral_likelihood TEXT,
    coverage_tier       TEXT NOT NULL,
    lifecycle_stage     TEXT NOT NULL,
    owner_id            BIGINT REFERENCES users(id),
    parent_id           BIGINT REFERENCES accounts(id),
    currency            TEXT NOT NULL,
    traits              JSONB NOT NULL DEFAULT '{}',
    mrr_minor           BIGINT NOT NULL DEFAULT 0,
    mrr                 DOUBLE PRECISION NOT NULL DEFAULT 0,
    seats               BIGINT NOT NULL DEFAULT 0,
    renewal_date        DATE,
    health_score        DOUBLE PRECISION,
    health_band         TEXT,
    health_trend        TEXT,
    churned_on          DATE,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    deleted_at          TIMESTAMPTZ
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

-- Free-text search on name and domain: trigram indexes answer `LIKE '%text%'`.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX accounts_name_trgm ON accounts USING gin (name_lower gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX accounts_domain_trgm ON accounts USING gin (domain gin_trgm_ops) WHERE deleted_at IS NULL;

CREATE TABLE lifecycle_transitions (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    from_stage  TEXT,
    to_stage    TEXT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    changed_by  TEXT NOT NULL,
    reason      TEXT
);
CREATE INDEX lifecycle_transitions_account ON lifecycle_transitions (account_id, changed_at);

CREATE TABLE contacts (
    id            BIGSERIAL PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    external_id   TEXT UNIQUE,
    name          TEXT,
    email         TEXT,
    title         TEXT,
    roles         TEXT NOT NULL DEFAULT '',
    traits        JSONB NOT NULL DEFAULT '{}',
    first_seen_at TIMESTAMPTZ,
    last_seen_at  TIMESTAMPTZ,
    left_at       TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id, id);
CREATE INDEX contacts_email ON contacts (email);

CREATE TABLE subscriptions (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    external_id TEXT UNIQUE,
    product     TEXT NOT NULL,
    plan        TEXT,
    mrr_minor   BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    seats       BIGINT NOT NULL,
    start_date  DATE NOT NULL,
    end_date    DATE NOT NULL,
    status      TEXT NOT NULL,
    renews_id   BIGINT REFERENCES subscriptions(id),
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX subscriptions_account ON subscriptions (account_id, start_date);
CREATE INDEX subscriptions_end ON subscriptions (end_date);

-- MRR changes inside one term (an upgrade mid-term). The term's first MRR is its start.
CREATE TABLE subscription_mrr_changes (
    id              BIGSERIAL PRIMARY KEY,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions(id),
    account_id      BIGINT NOT NULL REFERENCES accounts(id),
    effective_on    DATE NOT NULL,
    mrr_minor       BIGINT NOT NULL,
    seats           BIGINT NOT NULL
);
CREATE INDEX subscription_mrr_changes_sub ON subscription_mrr_changes (subscription_id, effective_on);
CREATE INDEX subscription_mrr_changes_account ON subscription_mrr_changes (account_id);

-- Derived from subscriptions; rewritten for an account whenever its subscriptions change.
CREATE TABLE revenue_movements (
    id               BIGSERIAL PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts(id),
    subscription_id  BIGINT REFERENCES subscriptions(id),
    kind             TEXT NOT NULL,
    effective_on     DATE NOT NULL,
    mrr_before_minor BIGINT NOT NULL,
    mrr_after_minor  BIGINT NOT NULL,
    currency         TEXT NOT NULL
);
CREATE INDEX revenue_movements_account ON revenue_movements (account_id, effective_on);
CREATE INDEX revenue_movements_day ON revenue_movements (effective_on);

CREATE TABLE tickets (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    contact_id  BIGINT REFERENCES contacts(id),
    external_id TEXT UNIQUE,
    subject     TEXT NOT NULL,
    severity    TEXT NOT NULL,
    status      TEXT NOT NULL,
    category    TEXT,
    opened_at   TIMESTAMPTZ NOT NULL,
    solved_at   TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX tickets_account ON tickets (account_id, opened_at);

CREATE TABLE survey_responses (
    id           BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts(id),
    contact_id   BIGINT REFERENCES contacts(id),
    external_id  TEXT UNIQUE,
    survey       TEXT NOT NULL,
    score        BIGINT NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment      TEXT,
    responded_at TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX survey_responses_account ON survey_responses (account_id, responded_at);

CREATE TABLE touchpoints (
    id               BIGSERIAL PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts(id),
    contact_id       BIGINT REFERENCES contacts(id),
    author_id        BIGINT REFERENCES users(id),
    external_id      TEXT UNIQUE,
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    notes            TEXT,
    sentiment        TEXT,
    occurred_at      TIMESTAMPTZ NOT NULL,
    duration_minutes BIGINT NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX touchpoints_account ON touchpoints (account_id, occurred_at);

CREATE TABLE features (
    id            BIGSERIAL PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    display_name  TEXT,
    module        TEXT,
    is_key        BOOLEAN NOT NULL DEFAULT FALSE,
    weight        DOUBLE PRECISION NOT NULL DEFAULT 1,
    first_seen_at TIMESTAMPTZ NOT NULL
);

-- Raw usage, append-only. account_id is NULL until the account (or the user's contact) is known.
CREATE TABLE usage_events (
    id                  BIGSERIAL PRIMARY KEY,
    message_id          TEXT NOT NULL UNIQUE,
    account_id          BIGINT REFERENCES accounts(id),
    account_external_id TEXT,
    user_key            TEXT,
    feature_id          BIGINT NOT NULL REFERENCES features(id),
    day                 DATE NOT NULL,
    occurred_at         TIMESTAMPTZ NOT NULL,
    received_at         TIMESTAMPTZ NOT NULL,
    properties          TEXT
);
CREATE INDEX usage_events_unattributed ON usage_events (account_external_id) WHERE account_id IS NULL;
CREATE INDEX usage_events_unattributed_user ON usage_events (user_key) WHERE account_id IS NULL;

-- Rollups, maintained by increments in the transaction that stores the events. The per-user
-- rows say whether a user is new for a (day, feature) or a day, which keeps the distinct-user
-- counts exact without rescanning; they also carry each person's usage (champions).
CREATE TABLE usage_user_feature_daily (
    account_id BIGINT NOT NULL,
    day        DATE NOT NULL,
    user_key   TEXT NOT NULL,
    feature_id BIGINT NOT NULL,
    events     BIGINT NOT NULL,
    PRIMARY KEY (account_id, day, user_key, feature_id)
);

CREATE TABLE usage_user_daily (
    account_id BIGINT NOT NULL,
    day        DATE NOT NULL,
    user_key   TEXT NOT NULL,
    events     BIGINT NOT NULL,
    PRIMARY KEY (account_id, day, user_key)
);

CREATE TABLE usage_feature_daily (
    account_id BIGINT NOT NULL,
    feature_id BIGINT NOT NULL,
    day        DATE NOT NULL,
    events     BIGINT NOT NULL,
    users      BIGINT NOT NULL,
    PRIMARY KEY (account_id, day, feature_id)
);

CREATE TABLE usage_account_daily (
    account_id   BIGINT NOT NULL,
    day          DATE NOT NULL,
    events       BIGINT NOT NULL,
    active_users BIGINT NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   BIGINT,
    detail       TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
