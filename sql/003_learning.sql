-- 003_learning: learning from outcomes, and replay runs.
-- Never edit this file once landed; add sql/NNN_*.sql instead.

-- One row per replay of recorded market data (worker/orch-replay).
CREATE TABLE replay_runs (
  id          bigserial PRIMARY KEY,
  label       text,
  status      text        NOT NULL DEFAULT 'running' CHECK (status IN ('running','succeeded','failed')),
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  seed        bigint      NOT NULL,
  params      jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- the LEARN_* and decision settings used
  files       jsonb       NOT NULL DEFAULT '[]'::jsonb,  -- [{"path","instrument","market","bars","first","last"}]
  data_from   timestamptz,                               -- the simulated clock's range
  data_to     timestamptz,
  timings     jsonb,                                     -- {"load_s","replay_s","score_s","decisions","cycles_per_s"}
  scorecard   jsonb,                                     -- see below
  svg         text,                                      -- the picture (image/svg+xml)
  error       text
);

-- Scorecard shape (replay_runs.scorecard):
-- {"window_minutes": 15, "top_share": 0.1,
--  "instruments": [
--    {"instrument": "BTCUSDT", "market": "crypto", "windows": 2689, "top_windows": 268,
--     "policies": [
--       {"policy": "orchestrator", "runs": 1520, "covered": 250, "coverage": 0.933,
--        "runs_per_covered": 6.08, "llm_calls": 0, "llm_tokens": 0},
--       {"policy": "cron-1", ...}, {"policy": "cron-5", ...}, {"policy": "cron-15", ...},
--       {"policy": "cron-60", ...},
--       {"policy": "market-hours-cron-5", ...}, ...]}],
--  "markets": {"crypto": {"coverage": 0.93, "runs": 1520, "cron5_coverage": 1.0, "cron5_runs": 8064,
--                         "coverage_vs_cron5": 0.93, "runs_vs_cron5": 0.19, "target_met": true}},
--  "decisions": 9000, "llm_calls": 0, "llm_tokens": 0, "health_checks": 0}
-- "runs" counts the scans of the instrument's market (one scan covers every
-- instrument of its market); a cron runs at every tick of its clock, markets
-- open or not; a market-hours cron skips ticks while its market is closed.

ALTER TABLE decisions ADD COLUMN run_id bigint REFERENCES replay_runs (id) ON DELETE CASCADE;  -- NULL: live
CREATE INDEX decisions_run ON decisions (run_id, id) WHERE run_id IS NOT NULL;
CREATE INDEX decisions_run_time ON decisions (run_id, decided_at) WHERE run_id IS NOT NULL;
CREATE INDEX decisions_live_id ON decisions (id DESC) WHERE run_id IS NULL;

-- What a run found, when it is known (the replay's simulated workflows
-- report it when their window has passed; live, n8n's result callback).
ALTER TABLE triggers
  ADD COLUMN opportunities integer CHECK (opportunities >= 0),
  ADD COLUMN outcome_at    timestamptz;

-- The learned state (worker/learn.c learn_to_json), one row per scope:
-- 'live' for the worker, the run id (as text) for a replay.  Written in the
-- same transaction as each decision; loaded at worker start.
CREATE TABLE learning_state (
  scope      text PRIMARY KEY,
  state      jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- A summary of what was learned for /status, /metrics and the dashboard
-- (learn_summary_json with full = 1):
-- {"version": 1, "observations": 1234,
--  "parameters": {"half_life_hours": 168, "run_cost": 1.0, "epsilon": 0.05,
--                 "max_stale_minutes": 60, "scan_window_minutes": 15},
--  "markets": {
--    "crypto": {
--      "activity": {"valid": true, "reading": 0.21, "smoothed": 0.18, "baseline": 0.15,
--                   "baseline_sd": 0.09, "ratio": 1.4, "band": "elevated", "session": "london"},
--      "last_scan_age_seconds": 420, "fresh_exposure": 0.47, "next_seconds": 180,
--      "bands": {"quiet"|"usual"|"elevated"|"high": {
--          "aggressive"|"normal"|"light": {
--             "runs": 12.5,                        -- decayed number of outcomes
--             "success": 0.98, "success_90": [0.91, 1.0],          -- Beta posterior mean, 90% interval
--             "opportunities": 1.3, "opportunities_90": [0.9, 1.8],-- per run over a fresh window
--             "cost": 1.0, "net_value": 0.27}}},
--      "sessions": {"sydney"|"sydney_tokyo"|"tokyo"|"tokyo_london"|"london"|"london_newyork"|
--                   "newyork"|"off_hours"|"closed": {
--          "volatility_mean": 0.14, "volatility_sd": 0.08, "weight": 33.1,
--          "relative_to_market": 0.93, "elevated_spell_minutes": 41.0, "quiet_spell_minutes": 95.5}}},
--    "forex": {... the same ...}}}
-- The compact form in every decision's inputs ("learning", and so in the LLM
-- prompt) has "current_band" and "current_session" instead of "bands" and
-- "sessions".  Units: crypto volatility is the mean |5-minute change| in
-- percent; forex the mid move in basis points scaled to 5 minutes.
ALTER TABLE worker_state ADD COLUMN learning jsonb NOT NULL DEFAULT '{}'::jsonb;

-- The reporting views show live decisions only.
CREATE OR REPLACE VIEW decisions_per_day AS
SELECT (decided_at AT TIME ZONE 'UTC')::date AS day,
       mode,
       count(*)                                  AS decisions,
       count(*) FILTER (WHERE source = 'llm')      AS by_llm,
       count(*) FILTER (WHERE source = 'fallback') AS by_fallback,
       count(*) FILTER (WHERE source = 'forced')   AS forced
  FROM decisions
 WHERE run_id IS NULL
 GROUP BY 1, 2
 ORDER BY 1 DESC, 2;

CREATE OR REPLACE VIEW success_by_mode_session AS
SELECT mode,
       session,
       count(*) FILTER (WHERE status IN ('succeeded','partial','failed')) AS acted,
       count(*) FILTER (WHERE status = 'succeeded')                        AS succeeded,
       round(100.0 * count(*) FILTER (WHERE status = 'succeeded')
             / nullif(count(*) FILTER (WHERE status IN ('succeeded','partial','failed')), 0), 1)
                                                                           AS success_rate_pct
  FROM decisions
 WHERE run_id IS NULL
 GROUP BY 1, 2
 ORDER BY 1, 2;

CREATE OR REPLACE VIEW trigger_outcomes AS
SELECT t.workflow, t.status, count(*) AS triggers,
       round(avg(t.latency_ms)) AS avg_latency_ms, max(t.finished_at) AS last_finished_at
  FROM triggers t JOIN decisions d ON d.id = t.decision_id
 WHERE d.run_id IS NULL
 GROUP BY 1, 2
 ORDER BY 1, 2;

CREATE OR REPLACE VIEW llm_agreement_per_day AS
SELECT (decided_at AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE llm_outcome = 'ok')                      AS llm_decisions,
       count(*) FILTER (WHERE llm_outcome NOT IN ('ok','not_configured')) AS fell_back,
       count(*) FILTER (WHERE agreement)                                AS agreed,
       round(100.0 * count(*) FILTER (WHERE agreement)
             / nullif(count(*) FILTER (WHERE agreement IS NOT NULL), 0), 1) AS agreement_pct,
       sum(coalesce(llm_prompt_tokens, 0) + coalesce(llm_completion_tokens, 0)) AS tokens
  FROM decisions
 WHERE run_id IS NULL
 GROUP BY 1
 ORDER BY 1 DESC;

-- For SQL users: each replay run's scans and what they found.
CREATE VIEW replay_scans AS
SELECT d.run_id, d.id AS decision_id, d.decided_at, d.mode, d.intensity, d.session,
       t.workflow, t.status, t.opportunities
  FROM decisions d JOIN triggers t ON t.decision_id = d.id
 WHERE d.run_id IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON replay_runs, learning_state TO orch_worker;
GRANT USAGE, SELECT ON SEQUENCE replay_runs_id_seq TO orch_worker;
GRANT SELECT ON replay_runs, learning_state, replay_scans TO orch_api;
