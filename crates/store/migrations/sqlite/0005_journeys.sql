-- Journey maps (milestones with target days, per segment) and each account's completed
-- milestones. Keep in step with ../postgres/0005_journeys.sql.
CREATE TABLE journeys (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE milestone_completions (
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    journey_id   INTEGER NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    milestone    TEXT NOT NULL,
    completed_on TEXT NOT NULL,
    completed_by TEXT NOT NULL,
    PRIMARY KEY (account_id, journey_id, milestone)
);
