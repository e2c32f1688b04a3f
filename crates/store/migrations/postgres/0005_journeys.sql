-- Journey maps (milestones with target days, per segment) and each account's completed
-- milestones. Keep in step with ../sqlite/0005_journeys.sql.
CREATE TABLE journeys (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE milestone_completions (
    account_id   BIGINT NOT NULL REFERENCES accounts(id),
    journey_id   BIGINT NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    milestone    TEXT NOT NULL,
    completed_on DATE NOT NULL,
    completed_by TEXT NOT NULL,
    PRIMARY KEY (account_id, journey_id, milestone)
);
