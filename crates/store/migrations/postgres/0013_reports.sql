-- Saved reports of the report builder (PostgreSQL). Keep in step with ../sqlite/0013_reports.sql.
-- A shared report is visible to everyone; a private one to its owner (and to managers and admins).
-- The definition is the report's JSON as `ReportDefinition::to_draft` writes it; it is parsed
-- again on every read, so a definition the catalogue no longer accepts is reported, never run.
CREATE TABLE reports (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    -- The Japanese name of a report Kizuna ships; people name their own in one language.
    name_ja    TEXT,
    definition JSONB NOT NULL,
    owner_id   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    shared     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX reports_owner ON reports (owner_id, name);
CREATE INDEX reports_shared ON reports (shared, name);

-- The reports Kizuna ships, shared with everyone and owned by no one (managers and admins may
-- change them). Relative dates (`today+90`) keep them true as time passes.
INSERT INTO reports (name, name_ja, definition, owner_id, shared, created_at, updated_at) VALUES
    ('ARR by segment and health band', 'セグメント・ヘルス帯別のARR',
     '{"subject":"accounts","filters":[{"field":"lifecycle_stage","op":"ne","value":"churned"}],"group_by":[{"field":"segment"},{"field":"health_band"}],"aggregates":[{"fn":"sum","field":"arr"},{"fn":"count"}],"chart":"bar"}',
     NULL, TRUE, now(), now()),
    ('Renewals in the next 90 days', '今後90日の更新',
     '{"subject":"subscriptions","columns":["account_name","product","arr","end_date","account_health_band","account_owner"],"filters":[{"field":"status","op":"eq","value":"active"},{"field":"end_date","op":"between","value":["today","today+90"]}],"sort":[{"field":"end_date","desc":false}]}',
     NULL, TRUE, now(), now()),
    ('Open tasks by owner', '担当者別の未完了タスク',
     '{"subject":"tasks","filters":[{"field":"status","op":"ne","value":"closed"}],"group_by":[{"field":"owner"},{"field":"priority"}],"aggregates":[{"fn":"count"}],"sort":[{"field":"count","desc":true}],"chart":"bar"}',
     NULL, TRUE, now(), now()),
    ('Touchpoints by type per month', '月別・種類別のタッチポイント',
     '{"subject":"touchpoints","filters":[{"field":"occurred_on","op":"ge","value":"today-365"}],"group_by":[{"field":"occurred_on","bucket":"month"},{"field":"kind"}],"aggregates":[{"fn":"count"},{"fn":"sum","field":"duration_minutes"}],"chart":"line"}',
     NULL, TRUE, now(), now());
