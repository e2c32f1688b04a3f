-- Early warning and automation: rules and their firings, tasks, playbooks and their runs,
-- e-mail templates and the outbound e-mail log, webhooks and their deliveries, NPS survey
-- invitations, and the scheduler's jobs. Keep in step with ../sqlite/0007_automation.sql.
CREATE TABLE rules (
    id         BIGSERIAL PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    definition TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- One row per (rule, account, occurrence): the same occurrence never fires twice.
CREATE TABLE rule_firings (
    id         BIGSERIAL PRIMARY KEY,
    rule_id    BIGINT NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    occurrence TEXT NOT NULL,
    trigger    TEXT NOT NULL,
    fired_at   TIMESTAMPTZ NOT NULL,
    matched    TEXT NOT NULL,
    actions    TEXT NOT NULL,
    UNIQUE (rule_id, account_id, occurrence)
);
CREATE INDEX rule_firings_account ON rule_firings (account_id, fired_at);
CREATE INDEX rule_firings_time ON rule_firings (fired_at);

-- Changes that change-triggered rules look at, filled by triggers.
CREATE TABLE rule_queue (
    id         BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    trigger    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    queued_at  TIMESTAMPTZ NOT NULL
);
CREATE FUNCTION kizuna_rule_queue_account() RETURNS trigger AS $$
BEGIN
    IF NEW.health_band IS NOT NULL AND OLD.health_band IS DISTINCT FROM NEW.health_band THEN
        INSERT INTO rule_queue (account_id, trigger, detail, queued_at)
        VALUES (NEW.id, 'health_change', COALESCE(OLD.health_band, 'none') || '>' || NEW.health_band || '@' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), now());
    END IF;
    IF OLD.lifecycle_stage IS DISTINCT FROM NEW.lifecycle_stage THEN
        INSERT INTO rule_queue (account_id, trigger, detail, queued_at)
        VALUES (NEW.id, 'lifecycle_change', OLD.lifecycle_stage || '>' || NEW.lifecycle_stage || '@' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), now());
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER rule_queue_account AFTER UPDATE OF health_band, lifecycle_stage ON accounts
    FOR EACH ROW EXECUTE FUNCTION kizuna_rule_queue_account();

CREATE FUNCTION kizuna_rule_queue_nps() RETURNS trigger AS $$
BEGIN
    INSERT INTO rule_queue (account_id, trigger, detail, queued_at)
    VALUES (NEW.account_id, 'nps_response', 'response:' || NEW.id, now());
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER rule_queue_nps AFTER INSERT ON survey_responses
    FOR EACH ROW EXECUTE FUNCTION kizuna_rule_queue_nps();

-- Per rule: how far the change pass has read (event-triggered rules read usage since then).
CREATE TABLE rule_state (
    rule_id    BIGINT PRIMARY KEY REFERENCES rules(id) ON DELETE CASCADE,
    watermark  TIMESTAMPTZ NOT NULL
);

CREATE TABLE tasks (
    id            BIGSERIAL PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    kind          TEXT NOT NULL,
    priority      TEXT NOT NULL,
    title         TEXT NOT NULL,
    title_ja      TEXT,
    reason        TEXT NOT NULL,
    evidence      TEXT NOT NULL DEFAULT '{}',
    owner_id      BIGINT REFERENCES users(id),
    due_on        DATE,
    status        TEXT NOT NULL,
    snoozed_until DATE,
    outcome       TEXT,
    outcome_note  TEXT,
    source        TEXT NOT NULL,
    source_id     BIGINT,
    dedup_key     TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    closed_at     TIMESTAMPTZ
);
-- The same source never has two open tasks for one account.
CREATE UNIQUE INDEX tasks_open_dedup ON tasks (dedup_key) WHERE status <> 'closed' AND dedup_key IS NOT NULL;
CREATE INDEX tasks_owner ON tasks (owner_id, status, due_on);
CREATE INDEX tasks_account ON tasks (account_id, status);
CREATE INDEX tasks_status_due ON tasks (status, due_on);

CREATE TABLE playbooks (
    id         BIGSERIAL PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE playbook_runs (
    id          BIGSERIAL PRIMARY KEY,
    playbook_id BIGINT NOT NULL REFERENCES playbooks(id) ON DELETE CASCADE,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    status      TEXT NOT NULL,
    started_on  DATE NOT NULL,
    started_by  TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX playbook_runs_active ON playbook_runs (playbook_id, account_id) WHERE status = 'active';
CREATE INDEX playbook_runs_account ON playbook_runs (account_id);

CREATE TABLE playbook_steps (
    run_id   BIGINT NOT NULL REFERENCES playbook_runs(id) ON DELETE CASCADE,
    step     BIGINT NOT NULL,
    due_on   DATE,
    status   TEXT NOT NULL,
    task_id  BIGINT REFERENCES tasks(id),
    email_ids TEXT,
    done_at  TIMESTAMPTZ,
    PRIMARY KEY (run_id, step)
);
CREATE INDEX playbook_steps_due ON playbook_steps (status, due_on);

CREATE TABLE email_templates (
    id              BIGSERIAL PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    customer_facing BOOLEAN NOT NULL,
    subject_ja      TEXT NOT NULL,
    body_ja         TEXT NOT NULL,
    subject_en      TEXT NOT NULL,
    body_en         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- The outbound e-mail log: queued, sent, retried with back-off, failed, or suppressed
-- (unsubscribed); dedup_key makes a repeated request queue one e-mail.
CREATE TABLE emails (
    id              BIGSERIAL PRIMARY KEY,
    template_key    TEXT,
    account_id      BIGINT REFERENCES accounts(id),
    contact_id      BIGINT REFERENCES contacts(id),
    user_id         BIGINT REFERENCES users(id),
    to_address      TEXT NOT NULL,
    locale          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    last_error      TEXT,
    dedup_key       TEXT UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX emails_due ON emails (status, next_attempt_at);
CREATE INDEX emails_account ON emails (account_id, created_at);

CREATE TABLE unsubscribes (
    email      TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhooks (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    url        TEXT NOT NULL,
    format     TEXT NOT NULL,
    secret     TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    webhook_id      BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    last_status     BIGINT,
    last_error      TEXT,
    dedup_key       TEXT UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

-- NPS survey invitations: the signed answer link carries the id; answered once.
CREATE TABLE survey_invitations (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    contact_id  BIGINT NOT NULL REFERENCES contacts(id),
    email       TEXT NOT NULL,
    locale      TEXT NOT NULL,
    email_id    BIGINT REFERENCES emails(id),
    campaign    TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    answered_at TIMESTAMPTZ,
    score       BIGINT,
    comment     TEXT,
    response_id BIGINT REFERENCES survey_responses(id),
    UNIQUE (campaign, contact_id)
);

-- The scheduler: each job is due at next_run_at; an instance claims it by taking its lease in
-- one conditional UPDATE, so each due run happens once however many instances share the database.
CREATE TABLE scheduled_jobs (
    name             TEXT PRIMARY KEY,
    next_run_at      TIMESTAMPTZ NOT NULL,
    lease_owner      TEXT,
    lease_until      TIMESTAMPTZ,
    last_started_at  TIMESTAMPTZ,
    last_finished_at TIMESTAMPTZ,
    last_status      TEXT,
    last_error       TEXT,
    runs             BIGINT NOT NULL DEFAULT 0,
    failures         BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE job_history (
    id          BIGSERIAL PRIMARY KEY,
    job         TEXT NOT NULL,
    instance    TEXT NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX job_history_job ON job_history (job, started_at);
