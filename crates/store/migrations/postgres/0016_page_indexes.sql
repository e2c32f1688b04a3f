-- Indexes for pages that read more than they show. Keep in step with
-- ../sqlite/0016_page_indexes.sql (which also widens the account list's covering index for
-- grouped reports; PostgreSQL groups with a hash aggregate and needs no such index).

-- The running playbooks, newest first, a page at a time (the automation page): read in index
-- order instead of sorting every active run (partial, so one account's runs keep their index).
CREATE INDEX playbook_runs_started ON playbook_runs (started_at, id) WHERE status = 'active';

-- A day's snapshots by band carry the account and score, so a past period's dashboard reads
-- every account's score and band on its last snapshot day from the index.
DROP INDEX health_snapshots_day;
CREATE INDEX health_snapshots_day ON health_snapshots (day, band) INCLUDE (account_id, score);
