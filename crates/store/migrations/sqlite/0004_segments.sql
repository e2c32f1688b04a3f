-- Saved dynamic segments: a name and a CEL condition over account fields and indicators, counted
-- live. Keep in step with ../postgres/0004_segments.sql.
CREATE TABLE segments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    expression  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
