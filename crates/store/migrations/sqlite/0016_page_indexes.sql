-- Indexes for pages that read more than they show. Keep in step with
-- ../postgres/0016_page_indexes.sql.

-- The running playbooks, newest first, a page at a time (the automation page): read in index
-- order instead of sorting every active run. Partial, with no status column: an index led by
-- the status would be chosen for one account's running playbooks too (the Customer 360), which
-- then scanned every active run instead of the account's few.
CREATE INDEX playbook_runs_started ON playbook_runs (started_at, id) WHERE status = 'active';

-- The account list's covering index gains the currency, so a grouped account report (the
-- report builder) is answered from the index alone: aggregated in the index's order by its
-- leading columns, then regrouped (see reports.rs, prefix_grouped_query).
DROP INDEX accounts_list;
CREATE INDEX accounts_list ON accounts (
    coverage_tier, lifecycle_stage, contract_value_tier, health_band, growth_potential, brand_value,
    referral_likelihood, owner_id, industry, renewal_date, mrr, health_score, name_lower, created_at,
    updated_at, currency
) WHERE deleted_at IS NULL;

-- A day's snapshots by band gain the score, so a past period's dashboard reads every account's
-- score and band on its last snapshot day from the index alone (the table's rows carry each
-- measure's explanation: reading them took seconds at 100,000 accounts). The account id comes
-- with the primary key.
DROP INDEX health_snapshots_day;
CREATE INDEX health_snapshots_day ON health_snapshots (day, band, score);
