-- 009_watch: the minute-by-minute watch, why each decision was made, the
-- sources' request budgets and the live scorecard.
-- Never edit this file once landed; add sql/NNN_*.sql instead.

-- Why a decision was made when it was: its schedule, an event of the watch
-- (wake_detail: {"reason","market","signal","value","threshold"}), a control
-- command ({"reason","command_id"}) or the worker's start.
ALTER TABLE decisions
  ADD COLUMN wake text NOT NULL DEFAULT 'scheduled'
      CHECK (wake IN ('scheduled','event','control','startup')),
  ADD COLUMN wake_detail jsonb;
-- the API counts the last 24 hours' decisions by wake, from the index alone
CREATE INDEX decisions_live_time_wake ON decisions (decided_at) INCLUDE (wake) WHERE run_id IS NULL;

-- The watch's state (worker/watch.c watch_to_json: the trailing windows of
-- every instrument and market) and the sources' budget spend, saved in
-- batches (every window, and at a clean stop), loaded when a worker leads.
CREATE TABLE watch_state (
  id        integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  state     jsonb,
  budgets   jsonb,
  saved_at  timestamptz
);
INSERT INTO watch_state (id) VALUES (1);
CREATE TRIGGER watch_state_fence BEFORE INSERT OR UPDATE OR DELETE ON watch_state
  FOR EACH STATEMENT EXECUTE FUNCTION orch_fence();

-- What /status shows of the watch: per market its activity and threshold,
-- per source its budget, spend and the interval it is sampled at now.
ALTER TABLE worker_state ADD COLUMN watch jsonb NOT NULL DEFAULT '{}'::jsonb;

-- The live scorecard: per market and UTC day, what the watch saw and what
-- the worker did, against what cron-5 and a cron with as many runs would
-- have done on the same windows (watch_score_day in worker/watch.c).
--   windows       windows the watch sampled (with data)
--   top           the day's volatile windows: the top decile of each
--                 instrument's windows by activity, all instruments together
--   covered       of those, the windows in which a scan of the market started
--   runs          scans of the market started that day
--   cron5_runs    the runs a cron every 5 minutes would have made in the
--                 windows watched (3 per window; it covers every window)
--   equal_runs_covered   the top windows a cron with `runs` runs would have
--                 covered, averaged over its phases
CREATE TABLE watch_days (
  market        text    NOT NULL CHECK (market IN ('crypto','forex')),
  day           date    NOT NULL,
  windows       integer NOT NULL CHECK (windows >= 0),
  top           integer NOT NULL CHECK (top >= 0),
  covered       integer NOT NULL CHECK (covered >= 0),
  runs          integer NOT NULL CHECK (runs >= 0),
  wakes         integer NOT NULL CHECK (wakes >= 0),
  cron5_runs    integer NOT NULL CHECK (cron5_runs >= 0),
  equal_runs_covered double precision NOT NULL CHECK (equal_runs_covered >= 0),
  latency_median_minutes double precision,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (market, day)
);
CREATE INDEX watch_days_day ON watch_days (day);
CREATE TRIGGER watch_days_fence BEFORE INSERT OR UPDATE OR DELETE ON watch_days
  FOR EACH STATEMENT EXECUTE FUNCTION orch_fence();
CREATE TRIGGER watch_days_notify AFTER INSERT OR UPDATE ON watch_days
  FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_state();

CREATE VIEW decisions_by_wake_per_day AS
SELECT (decided_at AT TIME ZONE 'UTC')::date AS day,
       wake,
       count(*)                                        AS decisions,
       count(*) FILTER (WHERE status IN ('succeeded','partial','failed')) AS acted
  FROM decisions
 WHERE run_id IS NULL
 GROUP BY 1, 2
 ORDER BY 1 DESC, 2;

GRANT SELECT, INSERT, UPDATE, DELETE ON watch_state, watch_days TO orch_worker;
GRANT SELECT ON watch_state, watch_days, decisions_by_wake_per_day TO orch_api;
