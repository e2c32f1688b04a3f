-- Web UI portfolio: count accounts per health band (everyone's, or one owner's) from covering
-- indexes, and list the accounts that got worse from small partial ones. Replaces the narrower
-- owner index of 0010_web.sql (kept unchanged there: applied migrations never change).
DROP INDEX accounts_owner_band;
CREATE INDEX accounts_band_mrr ON accounts (health_band, lifecycle_stage, mrr) WHERE deleted_at IS NULL;
CREATE INDEX accounts_owner_band ON accounts (owner_id, health_band, lifecycle_stage, mrr) WHERE deleted_at IS NULL;
CREATE INDEX accounts_trending_down ON accounts (owner_id, health_score) WHERE deleted_at IS NULL AND health_trend = 'down';
CREATE INDEX accounts_trending_down_all ON accounts (health_score, id) WHERE deleted_at IS NULL AND health_trend = 'down';
