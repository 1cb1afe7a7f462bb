-- 007_history: a year of history.
-- Never edit this file once landed; add sql/NNN_*.sql instead.
--
-- Three parts:
--
-- 1. Totals for the API (history_*_totals).  Row triggers append a delta row
--    for every live decision, trigger, LLM call and result written or
--    changed (a change appends -1 for the old row and +1 for the new one), so
--    the totals always count every live row ever recorded, pruned ones
--    included: deleting rows does not lower them.  Appending never waits for
--    a lock; history_compact() (the worker, every pass of its pruner) folds
--    the deltas into one row per key.  A reader sums them by key: a few dozen
--    rows whatever the history, so an API cache fill costs the same after a
--    year as on the first day.
--
-- 2. Retention: history_prune() deletes, in one call and so in one
--    transaction, at most a batch of rows past their horizon, and adds
--    what it deletes to the daily rollups (history_*_daily) in the same
--    statement as the delete: a crash loses both or neither, nothing is
--    counted twice.  The worker calls it in a loop (store_prune_history),
--    each call its own short transaction.
--
-- 3. The reporting views read the rollups plus the rows still there, so they
--    give the same figures before and after a prune.
--
-- Only live rows count (decisions.run_id IS NULL): replay runs keep theirs.

-- ---- indexes: every read of the API and the pruner bounded by an index ---------------

-- the last 24 hours of live decisions (/status, the sense step), and the
-- pruner's oldest-first walk; agreement for an index-only count
CREATE INDEX decisions_live_time ON decisions (decided_at) INCLUDE (agreement) WHERE run_id IS NULL;
-- the newest decision on which the LLM did not fail (/status fallback_streak)
CREATE INDEX decisions_live_llm_ok ON decisions (id) WHERE run_id IS NULL AND llm_outcome IN ('ok','not_configured');
-- replay decisions, to leave their LLM calls out of the 24-hour figures
CREATE INDEX decisions_replay_id ON decisions (id) WHERE run_id IS NOT NULL;
-- LLM calls of the last 24 hours (/status, /metrics) and the worker's budget
-- restore, answered from the index alone
DROP INDEX llm_calls_time;
CREATE INDEX llm_calls_time ON llm_calls (called_at) INCLUDE (decision_id, provider, outcome, prompt_tokens, completion_tokens);
-- triggers of the last 24 hours (/workflows/available)
CREATE INDEX triggers_created ON triggers (created_at);
-- deleting a decision checks control_commands.decision_id; commands by age
CREATE INDEX control_commands_decision ON control_commands (decision_id) WHERE decision_id IS NOT NULL;
CREATE INDEX control_commands_time ON control_commands (requested_at);

-- ---- 1. totals for the API ------------------------------------------------------------

-- Live decisions by mode, source, status and LLM outcome.
CREATE TABLE history_decision_totals (
  mode        text   NOT NULL,
  source      text   NOT NULL,
  status      text   NOT NULL,
  llm_outcome text   NOT NULL,
  decisions   bigint NOT NULL,
  switches    bigint NOT NULL,      -- prev_mode set and different from mode
  agreed      bigint NOT NULL,      -- agreement true
  compared    bigint NOT NULL       -- agreement not null
);

-- Live triggers by workflow, status and outcome (NULL: none yet), with the
-- execution durations as histogram buckets (the bounds of
-- orchestrator_execution_duration_seconds) and the opportunities results
-- reported.
CREATE TABLE history_trigger_totals (
  workflow        text   NOT NULL,
  status          text   NOT NULL,
  outcome         text,
  triggers        bigint NOT NULL,
  retries         bigint NOT NULL,  -- attempts after the first
  durations       bigint NOT NULL,  -- triggers with a duration_ms
  duration_ms_sum bigint NOT NULL,
  le_100ms bigint NOT NULL, le_500ms bigint NOT NULL, le_1s bigint NOT NULL, le_2500ms bigint NOT NULL,
  le_5s bigint NOT NULL, le_10s bigint NOT NULL, le_30s bigint NOT NULL, le_60s bigint NOT NULL,
  le_120s bigint NOT NULL,
  opportunities   bigint NOT NULL   -- of triggers with a result
);

-- Live LLM calls (those of live decisions, and those without a decision) by
-- provider and outcome, latencies as the buckets of
-- orchestrator_llm_latency_seconds.
CREATE TABLE history_llm_totals (
  provider          text   NOT NULL,
  outcome           text   NOT NULL,
  calls             bigint NOT NULL,
  prompt_tokens     bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  latency_ms_sum    bigint NOT NULL,
  le_100ms bigint NOT NULL, le_250ms bigint NOT NULL, le_500ms bigint NOT NULL, le_1s bigint NOT NULL,
  le_2500ms bigint NOT NULL, le_5s bigint NOT NULL, le_10s bigint NOT NULL
);

-- Results posted to POST /results, by status.
CREATE TABLE history_result_totals (
  status  text   NOT NULL,
  results bigint NOT NULL
);

-- What one row adds to the totals, times s (1: it is there, -1: it was):
-- one row (SETOF, so that a query over many rows can inline it).
CREATE FUNCTION history_decision_delta(d decisions, s integer) RETURNS SETOF history_decision_totals
LANGUAGE sql IMMUTABLE ROWS 1 AS $$
  SELECT d.mode, d.source, d.status, d.llm_outcome, s::bigint,
         s * (d.prev_mode IS NOT NULL AND d.prev_mode <> d.mode)::int::bigint,
         s * (d.agreement IS TRUE)::int::bigint, s * (d.agreement IS NOT NULL)::int::bigint
$$;

CREATE FUNCTION history_trigger_delta(t triggers, s integer) RETURNS SETOF history_trigger_totals
LANGUAGE sql IMMUTABLE ROWS 1 AS $$
  SELECT t.workflow, t.status, t.outcome, s::bigint, s * greatest(t.attempts - 1, 0)::bigint,
         s * (t.duration_ms IS NOT NULL)::int::bigint, s * coalesce(t.duration_ms, 0)::bigint,
         s * coalesce(t.duration_ms <= 100, false)::int::bigint, s * coalesce(t.duration_ms <= 500, false)::int::bigint,
         s * coalesce(t.duration_ms <= 1000, false)::int::bigint, s * coalesce(t.duration_ms <= 2500, false)::int::bigint,
         s * coalesce(t.duration_ms <= 5000, false)::int::bigint, s * coalesce(t.duration_ms <= 10000, false)::int::bigint,
         s * coalesce(t.duration_ms <= 30000, false)::int::bigint, s * coalesce(t.duration_ms <= 60000, false)::int::bigint,
         s * coalesce(t.duration_ms <= 120000, false)::int::bigint,
         s * CASE WHEN t.result_at IS NOT NULL THEN coalesce(t.opportunities, 0) ELSE 0 END::bigint
$$;

CREATE FUNCTION history_llm_delta(c llm_calls, s integer) RETURNS SETOF history_llm_totals
LANGUAGE sql IMMUTABLE ROWS 1 AS $$
  SELECT c.provider, c.outcome, s::bigint, s * c.prompt_tokens::bigint, s * c.completion_tokens::bigint,
         s * c.latency_ms::bigint,
         s * (c.latency_ms <= 100)::int::bigint, s * (c.latency_ms <= 250)::int::bigint,
         s * (c.latency_ms <= 500)::int::bigint, s * (c.latency_ms <= 1000)::int::bigint,
         s * (c.latency_ms <= 2500)::int::bigint, s * (c.latency_ms <= 5000)::int::bigint,
         s * (c.latency_ms <= 10000)::int::bigint
$$;

-- The row triggers.  SECURITY DEFINER: the roles never write the totals
-- themselves.
CREATE FUNCTION history_count_decision() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.run_id IS NULL THEN
    INSERT INTO history_decision_totals SELECT * FROM history_decision_delta(OLD, -1);
  END IF;
  IF NEW.run_id IS NULL THEN
    INSERT INTO history_decision_totals SELECT * FROM history_decision_delta(NEW, 1);
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION history_count_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM decisions d WHERE d.id = NEW.decision_id AND d.run_id IS NOT NULL) THEN
    RETURN NULL;                                    -- a replay's trigger
  END IF;
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO history_trigger_totals SELECT * FROM history_trigger_delta(OLD, -1);
  END IF;
  INSERT INTO history_trigger_totals SELECT * FROM history_trigger_delta(NEW, 1);
  RETURN NULL;
END
$$;

CREATE FUNCTION history_count_llm_call() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF NEW.decision_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM decisions d WHERE d.id = NEW.decision_id AND d.run_id IS NOT NULL) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO history_llm_totals SELECT * FROM history_llm_delta(OLD, -1);
  END IF;
  INSERT INTO history_llm_totals SELECT * FROM history_llm_delta(NEW, 1);
  RETURN NULL;
END
$$;

CREATE FUNCTION history_count_result() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO history_result_totals VALUES (OLD.status, -1);
  END IF;
  INSERT INTO history_result_totals VALUES (NEW.status, 1);
  RETURN NULL;
END
$$;

CREATE TRIGGER decisions_history_insert AFTER INSERT ON decisions
  FOR EACH ROW WHEN (NEW.run_id IS NULL) EXECUTE FUNCTION history_count_decision();
CREATE TRIGGER decisions_history_update AFTER UPDATE ON decisions
  FOR EACH ROW WHEN ((OLD.run_id IS NULL OR NEW.run_id IS NULL) AND
                     (OLD.mode, OLD.source, OLD.status, OLD.llm_outcome, OLD.prev_mode, OLD.agreement, OLD.run_id)
                     IS DISTINCT FROM
                     (NEW.mode, NEW.source, NEW.status, NEW.llm_outcome, NEW.prev_mode, NEW.agreement, NEW.run_id))
  EXECUTE FUNCTION history_count_decision();
CREATE TRIGGER triggers_history_insert AFTER INSERT ON triggers
  FOR EACH ROW EXECUTE FUNCTION history_count_trigger();
CREATE TRIGGER triggers_history_update AFTER UPDATE ON triggers
  FOR EACH ROW WHEN ((OLD.workflow, OLD.status, OLD.outcome, OLD.attempts, OLD.duration_ms, OLD.opportunities,
                      OLD.result_at IS NULL)
                     IS DISTINCT FROM
                     (NEW.workflow, NEW.status, NEW.outcome, NEW.attempts, NEW.duration_ms, NEW.opportunities,
                      NEW.result_at IS NULL))
  EXECUTE FUNCTION history_count_trigger();
CREATE TRIGGER llm_calls_history_insert AFTER INSERT ON llm_calls
  FOR EACH ROW EXECUTE FUNCTION history_count_llm_call();
CREATE TRIGGER llm_calls_history_update AFTER UPDATE ON llm_calls
  FOR EACH ROW WHEN ((OLD.provider, OLD.outcome, OLD.prompt_tokens, OLD.completion_tokens, OLD.latency_ms)
                     IS DISTINCT FROM (NEW.provider, NEW.outcome, NEW.prompt_tokens, NEW.completion_tokens, NEW.latency_ms))
  EXECUTE FUNCTION history_count_llm_call();
CREATE TRIGGER results_history_insert AFTER INSERT ON results
  FOR EACH ROW EXECUTE FUNCTION history_count_result();
CREATE TRIGGER results_history_update AFTER UPDATE OF status ON results
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION history_count_result();

-- Fold the deltas into one row per key (keys whose counts came back to zero
-- go).  Each table in one statement: rows appended meanwhile by other
-- transactions stay for the next call, and two callers at once never count
-- a row twice (the second one's DELETE skips what the first deleted).
-- Returns how many rows the totals lost.
CREATE FUNCTION history_compact() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  before bigint;
  after bigint;
BEGIN
  SELECT (SELECT count(*) FROM history_decision_totals) + (SELECT count(*) FROM history_trigger_totals)
       + (SELECT count(*) FROM history_llm_totals) + (SELECT count(*) FROM history_result_totals) INTO before;
  WITH gone AS (DELETE FROM history_decision_totals RETURNING *)
  INSERT INTO history_decision_totals
  SELECT mode, source, status, llm_outcome, sum(decisions), sum(switches), sum(agreed), sum(compared)
    FROM gone GROUP BY 1, 2, 3, 4
  HAVING sum(decisions) <> 0 OR sum(switches) <> 0 OR sum(agreed) <> 0 OR sum(compared) <> 0;
  WITH gone AS (DELETE FROM history_trigger_totals RETURNING *)
  INSERT INTO history_trigger_totals
  SELECT workflow, status, outcome, sum(triggers), sum(retries), sum(durations), sum(duration_ms_sum),
         sum(le_100ms), sum(le_500ms), sum(le_1s), sum(le_2500ms), sum(le_5s), sum(le_10s), sum(le_30s),
         sum(le_60s), sum(le_120s), sum(opportunities)
    FROM gone GROUP BY 1, 2, 3
  HAVING sum(triggers) <> 0 OR sum(retries) <> 0 OR sum(durations) <> 0 OR sum(duration_ms_sum) <> 0
      OR sum(opportunities) <> 0;
  WITH gone AS (DELETE FROM history_llm_totals RETURNING *)
  INSERT INTO history_llm_totals
  SELECT provider, outcome, sum(calls), sum(prompt_tokens), sum(completion_tokens), sum(latency_ms_sum),
         sum(le_100ms), sum(le_250ms), sum(le_500ms), sum(le_1s), sum(le_2500ms), sum(le_5s), sum(le_10s)
    FROM gone GROUP BY 1, 2
  HAVING sum(calls) <> 0 OR sum(prompt_tokens) <> 0 OR sum(completion_tokens) <> 0 OR sum(latency_ms_sum) <> 0;
  WITH gone AS (DELETE FROM history_result_totals RETURNING *)
  INSERT INTO history_result_totals
  SELECT status, sum(results) FROM gone GROUP BY 1 HAVING sum(results) <> 0;
  SELECT (SELECT count(*) FROM history_decision_totals) + (SELECT count(*) FROM history_trigger_totals)
       + (SELECT count(*) FROM history_llm_totals) + (SELECT count(*) FROM history_result_totals) INTO after;
  RETURN before - after;
END
$$;

-- ---- 2. daily rollups of pruned rows, and the pruner ------------------------------------

-- Live decisions pruned, per UTC day of decided_at.
CREATE TABLE history_decisions_daily (
  day         date   NOT NULL,
  mode        text   NOT NULL,
  session     text   NOT NULL,
  source      text   NOT NULL,
  status      text   NOT NULL,
  llm_outcome text   NOT NULL,
  decisions   bigint NOT NULL,
  switches    bigint NOT NULL,
  agreed      bigint NOT NULL,
  compared    bigint NOT NULL,
  tokens      bigint NOT NULL,      -- llm_prompt_tokens + llm_completion_tokens
  PRIMARY KEY (day, mode, session, source, status, llm_outcome)
);

-- Their triggers, per UTC day of created_at.
CREATE TABLE history_triggers_daily (
  day               date   NOT NULL,
  workflow          text   NOT NULL,
  status            text   NOT NULL,
  outcome           text,
  triggers          bigint NOT NULL,
  retries           bigint NOT NULL,
  latency_n         bigint NOT NULL,      -- with a latency_ms
  latency_ms_sum    bigint NOT NULL,
  last_finished_at  timestamptz,
  duration_n        bigint NOT NULL,      -- with a duration_ms
  duration_ms_sum   bigint NOT NULL,
  opportunities_n   bigint NOT NULL,      -- with opportunities
  opportunities_sum bigint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (day, workflow, status, outcome)
);

-- LLM calls pruned, per UTC day of called_at.
CREATE TABLE history_llm_calls_daily (
  day               date   NOT NULL,
  provider          text   NOT NULL,
  outcome           text   NOT NULL,
  calls             bigint NOT NULL,
  prompt_tokens     bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  latency_ms_sum    bigint NOT NULL,
  PRIMARY KEY (day, provider, outcome)
);

-- Results pruned, per UTC day of received_at.
CREATE TABLE history_results_daily (
  day             date   NOT NULL,
  status          text   NOT NULL,
  results         bigint NOT NULL,
  opportunities   bigint NOT NULL,
  duration_ms_sum bigint NOT NULL,
  PRIMARY KEY (day, status)
);

-- Control commands pruned, per UTC day of requested_at.
CREATE TABLE history_commands_daily (
  day      date   NOT NULL,
  command  text   NOT NULL,
  status   text   NOT NULL,
  commands bigint NOT NULL,
  PRIMARY KEY (day, command, status)
);

-- A trigger whose story is over: not waiting to be sent, not followed any
-- more (an execution id without an outcome is followed until it ends or
-- times out), nothing left to settle or to learn.
CREATE FUNCTION history_trigger_done(t triggers) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT t.status NOT IN ('pending','sending','retrying')
     AND NOT (t.status = 'unknown' AND t.outcome IS NULL)
     AND NOT (t.status = 'sent' AND t.outcome IS NULL AND t.execution_id IS NOT NULL)
     AND NOT (t.outcome IS NOT NULL AND t.settled_at IS NULL)
     AND NOT (t.result_at IS NOT NULL AND t.learned_at IS NULL)
$$;

-- Roll up and delete the results whose ids are in ids.  Returns how many.
CREATE FUNCTION history_prune_results(ids bigint[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  n bigint;
BEGIN
  WITH gone AS (DELETE FROM results WHERE id = ANY (ids) RETURNING *),
       up AS (
    INSERT INTO history_results_daily AS h
    SELECT (received_at AT TIME ZONE 'UTC')::date, status, count(*), sum(opportunities), sum(duration_ms)
      FROM gone GROUP BY 1, 2
    ON CONFLICT (day, status) DO UPDATE
      SET results = h.results + EXCLUDED.results, opportunities = h.opportunities + EXCLUDED.opportunities,
          duration_ms_sum = h.duration_ms_sum + EXCLUDED.duration_ms_sum)
  SELECT count(*) INTO n FROM gone;
  RETURN n;
END
$$;

-- Roll up and delete the LLM calls whose ids are in ids.  Returns how many.
CREATE FUNCTION history_prune_llm_calls(ids bigint[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  n bigint;
BEGIN
  WITH gone AS (DELETE FROM llm_calls WHERE id = ANY (ids) RETURNING *),
       up AS (
    INSERT INTO history_llm_calls_daily AS h
    SELECT (called_at AT TIME ZONE 'UTC')::date, provider, outcome, count(*), sum(prompt_tokens),
           sum(completion_tokens), sum(latency_ms)
      FROM gone GROUP BY 1, 2, 3
    ON CONFLICT (day, provider, outcome) DO UPDATE
      SET calls = h.calls + EXCLUDED.calls, prompt_tokens = h.prompt_tokens + EXCLUDED.prompt_tokens,
          completion_tokens = h.completion_tokens + EXCLUDED.completion_tokens,
          latency_ms_sum = h.latency_ms_sum + EXCLUDED.latency_ms_sum)
  SELECT count(*) INTO n FROM gone;
  RETURN n;
END
$$;

-- Roll up and delete the control commands whose ids are in ids.  Returns how many.
CREATE FUNCTION history_prune_commands(ids bigint[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  n bigint;
BEGIN
  WITH gone AS (DELETE FROM control_commands WHERE id = ANY (ids) RETURNING *),
       up AS (
    INSERT INTO history_commands_daily AS h
    SELECT (requested_at AT TIME ZONE 'UTC')::date, command, status, count(*)
      FROM gone GROUP BY 1, 2, 3
    ON CONFLICT (day, command, status) DO UPDATE SET commands = h.commands + EXCLUDED.commands)
  SELECT count(*) INTO n FROM gone;
  RETURN n;
END
$$;

-- One batch of pruning, in the caller's transaction (one call: one
-- transaction).  At most p_batch rows of each kind:
--   decisions      live ones decided more than p_decision_days ago, settled
--                  (not pending or acting) and whose every trigger is done
--                  (history_trigger_done), with their triggers, the results
--                  posted for those, their LLM calls and the control
--                  commands that caused them
--   results        received more than p_result_days ago
--   llm_calls      made more than p_llm_call_days ago (live ones)
--   commands       requested more than p_command_days ago, no longer pending
-- Children go first, every deleted row is added to its daily rollup in the
-- statement that deletes it.  Rows locked by someone else are left for the
-- next call.  Returns how many rows of each kind went.
CREATE FUNCTION history_prune(p_decision_days integer, p_result_days integer, p_llm_call_days integer,
                              p_command_days integer, p_batch integer,
                              OUT decisions bigint, OUT triggers bigint, OUT results bigint,
                              OUT llm_calls bigint, OUT commands bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  dids bigint[];
  tids bigint[];
  ids bigint[];
BEGIN
  IF p_decision_days IS NULL OR p_decision_days < 1 OR p_result_days IS NULL OR p_result_days < 1
     OR p_llm_call_days IS NULL OR p_llm_call_days < 1 OR p_command_days IS NULL OR p_command_days < 1
     OR p_batch IS NULL OR p_batch < 1 OR p_batch > 100000 THEN
    RAISE EXCEPTION 'history_prune: horizons must be at least 1 day and the batch 1 to 100000'
      USING ERRCODE = '22023';
  END IF;
  decisions := 0; triggers := 0; results := 0; llm_calls := 0; commands := 0;

  -- decisions: lock the candidates (oldest first), then their triggers, and
  -- keep those still done once locked (a result may have arrived meanwhile)
  dids := ARRAY(SELECT d.id FROM decisions d
                 WHERE d.run_id IS NULL AND d.decided_at < now() - make_interval(days => p_decision_days)
                   AND d.status NOT IN ('pending','acting')
                   AND NOT EXISTS (SELECT 1 FROM triggers t WHERE t.decision_id = d.id AND NOT history_trigger_done(t))
                 ORDER BY d.decided_at LIMIT p_batch
                 FOR UPDATE OF d SKIP LOCKED);
  IF cardinality(dids) > 0 THEN
    PERFORM 1 FROM triggers t WHERE t.decision_id = ANY (dids) ORDER BY t.id FOR UPDATE OF t;
    dids := ARRAY(SELECT d.id FROM decisions d
                   WHERE d.id = ANY (dids) AND d.status NOT IN ('pending','acting')
                     AND NOT EXISTS (SELECT 1 FROM triggers t WHERE t.decision_id = d.id AND NOT history_trigger_done(t)));
    tids := ARRAY(SELECT t.id FROM triggers t WHERE t.decision_id = ANY (dids));
    results := results + history_prune_results(ARRAY(SELECT r.id FROM results r WHERE r.trigger_id = ANY (tids)));
    WITH gone AS (DELETE FROM triggers t WHERE t.id = ANY (tids) RETURNING t.*),
         up AS (
      INSERT INTO history_triggers_daily AS h
      SELECT (created_at AT TIME ZONE 'UTC')::date, workflow, status, outcome, count(*),
             sum(greatest(attempts - 1, 0)), count(latency_ms), coalesce(sum(latency_ms), 0), max(finished_at),
             count(duration_ms), coalesce(sum(duration_ms), 0), count(opportunities), coalesce(sum(opportunities), 0)
        FROM gone GROUP BY 1, 2, 3, 4
      ON CONFLICT (day, workflow, status, outcome) DO UPDATE
        SET triggers = h.triggers + EXCLUDED.triggers, retries = h.retries + EXCLUDED.retries,
            latency_n = h.latency_n + EXCLUDED.latency_n, latency_ms_sum = h.latency_ms_sum + EXCLUDED.latency_ms_sum,
            last_finished_at = greatest(h.last_finished_at, EXCLUDED.last_finished_at),
            duration_n = h.duration_n + EXCLUDED.duration_n,
            duration_ms_sum = h.duration_ms_sum + EXCLUDED.duration_ms_sum,
            opportunities_n = h.opportunities_n + EXCLUDED.opportunities_n,
            opportunities_sum = h.opportunities_sum + EXCLUDED.opportunities_sum)
    SELECT count(*) INTO triggers FROM gone;
    llm_calls := llm_calls + history_prune_llm_calls(ARRAY(SELECT c.id FROM llm_calls c WHERE c.decision_id = ANY (dids)));
    commands := commands + history_prune_commands(ARRAY(SELECT c.id FROM control_commands c
                                                          WHERE c.decision_id = ANY (dids)));
    WITH gone AS (DELETE FROM decisions d WHERE d.id = ANY (dids) RETURNING d.*),
         up AS (
      INSERT INTO history_decisions_daily AS h
      SELECT (decided_at AT TIME ZONE 'UTC')::date, mode, session, source, status, llm_outcome, count(*),
             count(*) FILTER (WHERE prev_mode IS NOT NULL AND prev_mode <> mode),
             count(*) FILTER (WHERE agreement), count(*) FILTER (WHERE agreement IS NOT NULL),
             coalesce(sum(coalesce(llm_prompt_tokens, 0) + coalesce(llm_completion_tokens, 0)), 0)
        FROM gone GROUP BY 1, 2, 3, 4, 5, 6
      ON CONFLICT (day, mode, session, source, status, llm_outcome) DO UPDATE
        SET decisions = h.decisions + EXCLUDED.decisions, switches = h.switches + EXCLUDED.switches,
            agreed = h.agreed + EXCLUDED.agreed, compared = h.compared + EXCLUDED.compared,
            tokens = h.tokens + EXCLUDED.tokens)
    SELECT count(*) INTO decisions FROM gone;
  END IF;

  -- rows with a horizon of their own
  ids := ARRAY(SELECT r.id FROM results r WHERE r.received_at < now() - make_interval(days => p_result_days)
                ORDER BY r.received_at LIMIT p_batch FOR UPDATE SKIP LOCKED);
  results := results + history_prune_results(ids);
  ids := ARRAY(SELECT c.id FROM llm_calls c
                WHERE c.called_at < now() - make_interval(days => p_llm_call_days)
                  AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.id = c.decision_id AND d.run_id IS NOT NULL)
                ORDER BY c.called_at LIMIT p_batch FOR UPDATE OF c SKIP LOCKED);
  llm_calls := llm_calls + history_prune_llm_calls(ids);
  ids := ARRAY(SELECT c.id FROM control_commands c
                WHERE c.requested_at < now() - make_interval(days => p_command_days) AND c.status <> 'pending'
                ORDER BY c.requested_at LIMIT p_batch FOR UPDATE SKIP LOCKED);
  commands := commands + history_prune_commands(ids);
END
$$;

-- The totals from the rows present (the migration's first fill; also
-- scripts/bench.sh after generating rows with the row triggers off).  Only
-- right while nothing was pruned: a pruned row lives on in the totals only,
-- so this refuses once a daily rollup holds anything.
CREATE FUNCTION history_recount() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM history_decisions_daily) OR EXISTS (SELECT 1 FROM history_triggers_daily)
     OR EXISTS (SELECT 1 FROM history_llm_calls_daily) OR EXISTS (SELECT 1 FROM history_results_daily) THEN
    RAISE EXCEPTION 'history_recount: rows were pruned; their counts live in the totals only';
  END IF;
  DELETE FROM history_decision_totals;
  DELETE FROM history_trigger_totals;
  DELETE FROM history_llm_totals;
  DELETE FROM history_result_totals;
  INSERT INTO history_decision_totals
  SELECT x.mode, x.source, x.status, x.llm_outcome, sum(x.decisions), sum(x.switches), sum(x.agreed), sum(x.compared)
    FROM decisions d, LATERAL history_decision_delta(d, 1) x WHERE d.run_id IS NULL GROUP BY 1, 2, 3, 4;
  INSERT INTO history_trigger_totals
  SELECT x.workflow, x.status, x.outcome, sum(x.triggers), sum(x.retries), sum(x.durations), sum(x.duration_ms_sum),
         sum(x.le_100ms), sum(x.le_500ms), sum(x.le_1s), sum(x.le_2500ms), sum(x.le_5s), sum(x.le_10s), sum(x.le_30s),
         sum(x.le_60s), sum(x.le_120s), sum(x.opportunities)
    FROM triggers t JOIN decisions d ON d.id = t.decision_id AND d.run_id IS NULL,
         LATERAL history_trigger_delta(t, 1) x
   GROUP BY 1, 2, 3;
  INSERT INTO history_llm_totals
  SELECT x.provider, x.outcome, sum(x.calls), sum(x.prompt_tokens), sum(x.completion_tokens), sum(x.latency_ms_sum),
         sum(x.le_100ms), sum(x.le_250ms), sum(x.le_500ms), sum(x.le_1s), sum(x.le_2500ms), sum(x.le_5s), sum(x.le_10s)
    FROM llm_calls c LEFT JOIN decisions d ON d.id = c.decision_id, LATERAL history_llm_delta(c, 1) x
   WHERE d.run_id IS NULL GROUP BY 1, 2;
  INSERT INTO history_result_totals SELECT status, count(*) FROM results GROUP BY 1;
END
$$;

DO $$ BEGIN PERFORM history_recount(); END $$;

-- ---- 3. the reporting views: rollups plus the rows still there -------------------------

DROP VIEW decisions_per_day, success_by_mode_session, trigger_outcomes, executions_per_day, llm_agreement_per_day;

CREATE VIEW decisions_per_day AS
SELECT day, mode, sum(decisions)::bigint AS decisions, sum(by_llm)::bigint AS by_llm,
       sum(by_fallback)::bigint AS by_fallback, sum(forced)::bigint AS forced
  FROM (SELECT (decided_at AT TIME ZONE 'UTC')::date AS day, mode, count(*) AS decisions,
               count(*) FILTER (WHERE source = 'llm') AS by_llm, count(*) FILTER (WHERE source = 'fallback') AS by_fallback,
               count(*) FILTER (WHERE source = 'forced') AS forced
          FROM decisions WHERE run_id IS NULL GROUP BY 1, 2
        UNION ALL
        SELECT day, mode, sum(decisions), coalesce(sum(decisions) FILTER (WHERE source = 'llm'), 0),
               coalesce(sum(decisions) FILTER (WHERE source = 'fallback'), 0),
               coalesce(sum(decisions) FILTER (WHERE source = 'forced'), 0)
          FROM history_decisions_daily GROUP BY 1, 2) x
 GROUP BY 1, 2
 ORDER BY 1 DESC, 2;

CREATE VIEW success_by_mode_session AS
SELECT mode, session, sum(acted)::bigint AS acted, sum(succeeded)::bigint AS succeeded,
       round(100.0 * sum(succeeded) / nullif(sum(acted), 0), 1) AS success_rate_pct
  FROM (SELECT mode, session, count(*) FILTER (WHERE status IN ('succeeded','partial','failed')) AS acted,
               count(*) FILTER (WHERE status = 'succeeded') AS succeeded
          FROM decisions WHERE run_id IS NULL GROUP BY 1, 2
        UNION ALL
        SELECT mode, session, coalesce(sum(decisions) FILTER (WHERE status IN ('succeeded','partial','failed')), 0),
               coalesce(sum(decisions) FILTER (WHERE status = 'succeeded'), 0)
          FROM history_decisions_daily GROUP BY 1, 2) x
 GROUP BY 1, 2
 ORDER BY 1, 2;

CREATE VIEW trigger_outcomes AS
SELECT workflow, status, sum(triggers)::bigint AS triggers,
       round(sum(latency_ms_sum) / nullif(sum(latency_n), 0)) AS avg_latency_ms,
       max(last_finished_at) AS last_finished_at,
       sum(executions_succeeded)::bigint AS executions_succeeded, sum(executions_failed)::bigint AS executions_failed,
       CASE WHEN sum(opportunities_n) > 0 THEN sum(opportunities_sum)::bigint END AS opportunities,
       sum(retries)::bigint AS retries
  FROM (SELECT t.workflow, t.status, count(*) AS triggers, count(t.latency_ms) AS latency_n,
               coalesce(sum(t.latency_ms), 0)::numeric AS latency_ms_sum, max(t.finished_at) AS last_finished_at,
               count(*) FILTER (WHERE t.outcome = 'succeeded') AS executions_succeeded,
               count(*) FILTER (WHERE t.outcome IN ('failed','crashed','timed_out','canceled')) AS executions_failed,
               count(t.opportunities) AS opportunities_n, coalesce(sum(t.opportunities), 0) AS opportunities_sum,
               sum(greatest(t.attempts - 1, 0)) AS retries
          FROM triggers t JOIN decisions d ON d.id = t.decision_id
         WHERE d.run_id IS NULL GROUP BY 1, 2
        UNION ALL
        SELECT workflow, status, sum(triggers), sum(latency_n), sum(latency_ms_sum), max(last_finished_at),
               coalesce(sum(triggers) FILTER (WHERE outcome = 'succeeded'), 0),
               coalesce(sum(triggers) FILTER (WHERE outcome IN ('failed','crashed','timed_out','canceled')), 0),
               sum(opportunities_n), sum(opportunities_sum), sum(retries)
          FROM history_triggers_daily GROUP BY 1, 2) x
 GROUP BY 1, 2
 ORDER BY 1, 2;

CREATE VIEW executions_per_day AS
SELECT day, workflow, sum(started)::bigint AS started, sum(succeeded)::bigint AS succeeded,
       sum(failed)::bigint AS failed, sum(skipped)::bigint AS skipped,
       CASE WHEN sum(opportunities_n) > 0 THEN sum(opportunities_sum)::bigint END AS opportunities,
       round(sum(duration_ms_sum) / nullif(sum(duration_n), 0)) AS avg_duration_ms
  FROM (SELECT (t.created_at AT TIME ZONE 'UTC')::date AS day, t.workflow,
               count(*) FILTER (WHERE t.status = 'sent') AS started,
               count(*) FILTER (WHERE t.outcome = 'succeeded') AS succeeded,
               count(*) FILTER (WHERE t.outcome IN ('failed','crashed','timed_out','canceled')) AS failed,
               count(*) FILTER (WHERE t.status = 'skipped') AS skipped,
               count(t.opportunities) AS opportunities_n, coalesce(sum(t.opportunities), 0) AS opportunities_sum,
               count(t.duration_ms) AS duration_n, coalesce(sum(t.duration_ms), 0)::numeric AS duration_ms_sum
          FROM triggers t JOIN decisions d ON d.id = t.decision_id
         WHERE d.run_id IS NULL GROUP BY 1, 2
        UNION ALL
        SELECT day, workflow, coalesce(sum(triggers) FILTER (WHERE status = 'sent'), 0),
               coalesce(sum(triggers) FILTER (WHERE outcome = 'succeeded'), 0),
               coalesce(sum(triggers) FILTER (WHERE outcome IN ('failed','crashed','timed_out','canceled')), 0),
               coalesce(sum(triggers) FILTER (WHERE status = 'skipped'), 0),
               sum(opportunities_n), sum(opportunities_sum), sum(duration_n), sum(duration_ms_sum)
          FROM history_triggers_daily GROUP BY 1, 2) x
 GROUP BY 1, 2
 ORDER BY 1 DESC, 2;

CREATE VIEW llm_agreement_per_day AS
SELECT day, sum(llm_decisions)::bigint AS llm_decisions, sum(fell_back)::bigint AS fell_back,
       sum(agreed)::bigint AS agreed, round(100.0 * sum(agreed) / nullif(sum(compared), 0), 1) AS agreement_pct,
       sum(tokens)::bigint AS tokens
  FROM (SELECT (decided_at AT TIME ZONE 'UTC')::date AS day,
               count(*) FILTER (WHERE llm_outcome = 'ok') AS llm_decisions,
               count(*) FILTER (WHERE llm_outcome NOT IN ('ok','not_configured')) AS fell_back,
               count(*) FILTER (WHERE agreement) AS agreed, count(*) FILTER (WHERE agreement IS NOT NULL) AS compared,
               sum(coalesce(llm_prompt_tokens, 0) + coalesce(llm_completion_tokens, 0)) AS tokens
          FROM decisions WHERE run_id IS NULL GROUP BY 1
        UNION ALL
        SELECT day, coalesce(sum(decisions) FILTER (WHERE llm_outcome = 'ok'), 0),
               coalesce(sum(decisions) FILTER (WHERE llm_outcome NOT IN ('ok','not_configured')), 0),
               sum(agreed), sum(compared), sum(tokens)
          FROM history_decisions_daily GROUP BY 1) x
 GROUP BY 1
 ORDER BY 1 DESC;

-- New: LLM calls, results and control commands per day.
CREATE VIEW llm_calls_per_day AS
SELECT day, provider, outcome, sum(calls)::bigint AS calls, sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens,
       round(sum(latency_ms_sum) / nullif(sum(calls), 0)) AS avg_latency_ms
  FROM (SELECT (c.called_at AT TIME ZONE 'UTC')::date AS day, c.provider, c.outcome, count(*) AS calls,
               sum(c.prompt_tokens) AS prompt_tokens, sum(c.completion_tokens) AS completion_tokens,
               sum(c.latency_ms)::numeric AS latency_ms_sum
          FROM llm_calls c LEFT JOIN decisions d ON d.id = c.decision_id
         WHERE d.run_id IS NULL GROUP BY 1, 2, 3
        UNION ALL
        SELECT day, provider, outcome, calls, prompt_tokens, completion_tokens, latency_ms_sum
          FROM history_llm_calls_daily) x
 GROUP BY 1, 2, 3
 ORDER BY 1 DESC, 2, 3;

CREATE VIEW results_per_day AS
SELECT day, status, sum(results)::bigint AS results, sum(opportunities)::bigint AS opportunities,
       round(sum(duration_ms_sum) / nullif(sum(results), 0)) AS avg_duration_ms
  FROM (SELECT (received_at AT TIME ZONE 'UTC')::date AS day, status, count(*) AS results,
               sum(opportunities) AS opportunities, sum(duration_ms)::numeric AS duration_ms_sum
          FROM results GROUP BY 1, 2
        UNION ALL
        SELECT day, status, results, opportunities, duration_ms_sum FROM history_results_daily) x
 GROUP BY 1, 2
 ORDER BY 1 DESC, 2;

CREATE VIEW control_commands_per_day AS
SELECT day, command, status, sum(commands)::bigint AS commands
  FROM (SELECT (requested_at AT TIME ZONE 'UTC')::date AS day, command, status, count(*) AS commands
          FROM control_commands GROUP BY 1, 2, 3
        UNION ALL
        SELECT day, command, status, commands FROM history_commands_daily) x
 GROUP BY 1, 2, 3
 ORDER BY 1 DESC, 2, 3;

-- ---- roles ----------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION history_compact(), history_prune(integer, integer, integer, integer, integer),
                       history_recount(), history_prune_results(bigint[]), history_prune_llm_calls(bigint[]),
                       history_prune_commands(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION history_compact(), history_prune(integer, integer, integer, integer, integer) TO orch_worker;
GRANT SELECT ON history_decision_totals, history_trigger_totals, history_llm_totals, history_result_totals,
                history_decisions_daily, history_triggers_daily, history_llm_calls_daily, history_results_daily,
                history_commands_daily TO orch_worker, orch_api;
GRANT SELECT ON decisions_per_day, success_by_mode_session, trigger_outcomes, executions_per_day,
                llm_agreement_per_day, llm_calls_per_day, results_per_day, control_commands_per_day
  TO orch_worker, orch_api;
