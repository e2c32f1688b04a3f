-- Team: the competency framework (a scale of levels, skills with a description per level), the
-- career ladder (levels with the skill levels they expect, each CSM's place on it), skill
-- assessments (every one kept: the latest per CSM and skill is the current level), and incentive
-- plans with per-CSM targets. Keep in step with ../postgres/0012_team.sql.

CREATE TABLE competency_scale (
    level   INTEGER PRIMARY KEY,
    name_ja TEXT NOT NULL,
    name_en TEXT NOT NULL
);

CREATE TABLE skills (
    id             INTEGER PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    category       TEXT NOT NULL,
    name_ja        TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    description_ja TEXT,
    description_en TEXT,
    position       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE skill_levels (
    skill_id       INTEGER NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    level          INTEGER NOT NULL,
    description_ja TEXT NOT NULL,
    description_en TEXT NOT NULL,
    PRIMARY KEY (skill_id, level)
);

CREATE TABLE career_levels (
    id             INTEGER PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    name_ja        TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    description_ja TEXT,
    description_en TEXT,
    rank           INTEGER NOT NULL UNIQUE,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE career_expectations (
    career_level_id INTEGER NOT NULL REFERENCES career_levels(id) ON DELETE CASCADE,
    skill_id        INTEGER NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    level           INTEGER NOT NULL,
    PRIMARY KEY (career_level_id, skill_id)
);
CREATE INDEX career_expectations_skill ON career_expectations (skill_id);

-- Each CSM's step on the ladder.
CREATE TABLE member_careers (
    user_id         INTEGER PRIMARY KEY REFERENCES users(id),
    career_level_id INTEGER NOT NULL REFERENCES career_levels(id),
    set_by          TEXT NOT NULL,
    set_at          TEXT NOT NULL
);
CREATE INDEX member_careers_level ON member_careers (career_level_id);

CREATE TABLE skill_assessments (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    skill_id    INTEGER NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    level       INTEGER NOT NULL,
    assessed_on TEXT NOT NULL,
    assessor_id INTEGER REFERENCES users(id),
    assessed_by TEXT NOT NULL,
    note        TEXT,
    created_at  TEXT NOT NULL
);
-- The current level: the latest assessment per CSM and skill.
CREATE INDEX skill_assessments_member ON skill_assessments (user_id, skill_id, assessed_on, id);
CREATE INDEX skill_assessments_skill ON skill_assessments (skill_id);

CREATE TABLE incentive_plans (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL,
    period_from         TEXT NOT NULL,
    period_to           TEXT NOT NULL,
    currency            TEXT NOT NULL,
    target_bonus_minor  INTEGER NOT NULL,
    renewal_weight      REAL NOT NULL,
    expansion_weight    REAL NOT NULL,
    nps_weight          REAL NOT NULL,
    attainment_floor    REAL NOT NULL,
    attainment_cap      REAL NOT NULL,
    nps_gate            REAL,
    nps_fall_multiplier REAL,
    renewal_rate_target REAL NOT NULL,
    nnmrr_target_minor  INTEGER,
    nps_target          REAL NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX incentive_plans_period ON incentive_plans (period_from, period_to);

CREATE TABLE incentive_targets (
    plan_id            INTEGER NOT NULL REFERENCES incentive_plans(id) ON DELETE CASCADE,
    user_id            INTEGER NOT NULL REFERENCES users(id),
    target_bonus_minor INTEGER,
    renewal_rate       REAL,
    nnmrr_minor        INTEGER,
    nps                REAL,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (plan_id, user_id)
);
CREATE INDEX incentive_targets_user ON incentive_targets (user_id);

-- Answers by day for the NPS of a period.
CREATE INDEX survey_responses_day ON survey_responses (responded_at);
