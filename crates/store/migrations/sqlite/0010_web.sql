-- Web UI: signed-in sessions and saved account views (SQLite). Keep in step with
-- ../postgres/0010_web.sql.

-- Only a SHA-256 of the session id is kept; the id itself lives in the browser's cookie.
CREATE TABLE web_sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- A named set of account-list filters (the query string of the accounts page).
CREATE TABLE saved_views (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    query      TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX saved_views_user ON saved_views (user_id, name);

-- The portfolio page counts one owner's accounts per band and lists those that got worse.
CREATE INDEX accounts_owner_band ON accounts (owner_id, health_band) WHERE deleted_at IS NULL;
