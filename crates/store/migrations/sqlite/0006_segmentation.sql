-- Segmentation rules (one JSON document in settings) and which axes a person set by hand on an
-- account, which rules then leave alone. Keep in step with the other backend's 0006.
ALTER TABLE accounts ADD COLUMN axes_by_hand TEXT NOT NULL DEFAULT '';

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
