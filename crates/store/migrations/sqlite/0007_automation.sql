-- Early warning and automation: rules and their firings, tasks, playbooks and their runs,
-- e-mail templates and the outbound e-mail log, webhooks and their deliveries, NPS survey
-- invitations, and the scheduler's jobs. Keep in step with ../postgres/0007_automation.sql.
CREATE TABLE rules (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT 1,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One row per (rule, account, occurrence): the same occurrence never fires twice.
CREATE TABLE rule_firings (
    id         INTEGER PRIMARY KEY,
    rule_id    INTEGER NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    occurrence TEXT NOT NULL,
    trigger    TEXT NOT NULL,
    fired_at   TEXT NOT NULL,
    matched    TEXT NOT NULL,
    actions    TEXT NOT NULL,
    UNIQUE (rule_id, account_id, occurrence)
);
CREATE INDEX rule_firings_account ON rule_firings (account_id, fired_at);
CREATE INDEX rule_firings_time ON rule_firings (fired_at);

-- Changes that change-triggered rules look at, filled by triggers.
CREATE TABLE rule_queue (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    trigger    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    queued_at  TEXT NOT NULL
);
CREATE TRIGGER rule_queue_band AFTER UPDATE OF health_band ON accounts
WHEN NEW.health_band IS NOT NULL AND OLD.health_band IS NOT NEW.health_band BEGIN
    INSERT INTO rule_queue (account_id, trigger, detail, queued_at)
    VALUES (NEW.id, 'health_change', COALESCE(OLD.health_band, 'none') || '>' || NEW.health_band || '@' || strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
CREATE TRIGGER rule_queue_stage AFTER UPDATE OF lifecycle_stage ON accounts
WHEN OLD.lifecycle_stage IS NOT NEW.lifecycle_stage BEGIN
    INSERT INTO rule_queue (account_id, trigger, detail, queued_at)
    VALUES (NEW.id, 'lifecycle_change', OLD.lifecycle_stage || '>' || NEW.lifecycle_stage || '@' || strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
CREATE TRIGGER rule_queue_nps AFTER INSERT ON survey_responses BEGIN
    INSERT INTO rule_queue (account_id, trigger, detail, queued_at)
    VALUES (NEW.account_id, 'nps_response', 'response:' || NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;

-- Per rule: how far the change pass has read (event-triggered rules read usage since then).
CREATE TABLE rule_state (
    rule_id    INTEGER PRIMARY KEY REFERENCES rules(id) ON DELETE CASCADE,
    watermark  TEXT NOT NULL
);

CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    kind          TEXT NOT NULL,
    priority      TEXT NOT NULL,
    title         TEXT NOT NULL,
    title_ja      TEXT,
    reason        TEXT NOT NULL,
    evidence      TEXT NOT NULL DEFAULT '{}',
    owner_id      INTEGER REFERENCES users(id),
    due_on        TEXT,
    status        TEXT NOT NULL,
    snoozed_until TEXT,
    outcome       TEXT,
    outcome_note  TEXT,
    source        TEXT NOT NULL,
    source_id     INTEGER,
    dedup_key     TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    closed_at     TEXT
);
-- The same source never has two open tasks for one account.
CREATE UNIQUE INDEX tasks_open_dedup ON tasks (dedup_key) WHERE status <> 'closed' AND dedup_key IS NOT NULL;
CREATE INDEX tasks_owner ON tasks (owner_id, status, due_on);
CREATE INDEX tasks_account ON tasks (account_id, status);
CREATE INDEX tasks_status_due ON tasks (status, due_on);

CREATE TABLE playbooks (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE playbook_runs (
    id          INTEGER PRIMARY KEY,
    playbook_id INTEGER NOT NULL REFERENCES playbooks(id) ON DELETE CASCADE,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    status      TEXT NOT NULL,
    started_on  TEXT NOT NULL,
    started_by  TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE UNIQUE INDEX playbook_runs_active ON playbook_runs (playbook_id, account_id) WHERE status = 'active';
CREATE INDEX playbook_runs_account ON playbook_runs (account_id);

CREATE TABLE playbook_steps (
    run_id   INTEGER NOT NULL REFERENCES playbook_runs(id) ON DELETE CASCADE,
    step     INTEGER NOT NULL,
    due_on   TEXT,
    status   TEXT NOT NULL,
    task_id  INTEGER REFERENCES tasks(id),
    email_ids TEXT,
    done_at  TEXT,
    PRIMARY KEY (run_id, step)
);
CREATE INDEX playbook_steps_due ON playbook_steps (status, due_on);

CREATE TABLE email_templates (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    customer_facing BOOLEAN NOT NULL,
    subject_ja      TEXT NOT NULL,
    body_ja         TEXT NOT NULL,
    subject_en      TEXT NOT NULL,
    body_en         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- The outbound e-mail log: queued, sent, retried with back-off, failed, or suppressed
-- (unsubscribed); dedup_key makes a repeated request queue one e-mail.
CREATE TABLE emails (
    id              INTEGER PRIMARY KEY,
    template_key    TEXT,
    account_id      INTEGER REFERENCES accounts(id),
    contact_id      INTEGER REFERENCES contacts(id),
    user_id         INTEGER REFERENCES users(id),
    to_address      TEXT NOT NULL,
    locale          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    last_error      TEXT,
    dedup_key       TEXT UNIQUE,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX emails_due ON emails (status, next_attempt_at);
CREATE INDEX emails_account ON emails (account_id, created_at);

CREATE TABLE unsubscribes (
    email      TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    url        TEXT NOT NULL,
    format     TEXT NOT NULL,
    secret     TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    dedup_key       TEXT UNIQUE,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

-- NPS survey invitations: the signed answer link carries the id; answered once.
CREATE TABLE survey_invitations (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    email       TEXT NOT NULL,
    locale      TEXT NOT NULL,
    email_id    INTEGER REFERENCES emails(id),
    campaign    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    answered_at TEXT,
    score       INTEGER,
    comment     TEXT,
    response_id INTEGER REFERENCES survey_responses(id),
    UNIQUE (campaign, contact_id)
);

-- The scheduler: each job is due at next_run_at; an instance claims it by taking its lease in
-- one conditional UPDATE, so each due run happens once however many instances share the database.
CREATE TABLE scheduled_jobs (
    name             TEXT PRIMARY KEY,
    next_run_at      TEXT NOT NULL,
    lease_owner      TEXT,
    lease_until      TEXT,
    last_started_at  TEXT,
    last_finished_at TEXT,
    last_status      TEXT,
    last_error       TEXT,
    runs             INTEGER NOT NULL DEFAULT 0,
    failures         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE job_history (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    instance    TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX job_history_job ON job_history (job, started_at);
