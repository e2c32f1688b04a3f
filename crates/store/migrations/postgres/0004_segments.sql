-- Saved dynamic segments: a name and a CEL condition over account fields and indicators, counted
-- live. Keep in step with ../sqlite/0004_segments.sql.
CREATE TABLE segments (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    expression  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
