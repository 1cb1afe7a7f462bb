-- 004_n8n: real n8n.  Executions tied to their triggers and followed to
-- their end, results posted back by the workflows, delivery retries, a
-- circuit breaker, availability and a concurrency policy per workflow.
-- Never edit this file once landed; add sql/NNN_*.sql instead.

-- ---- triggers: delivery retries and the execution's outcome ---------------------
--
-- status gains
--   'retrying'  a retryable failure (transport error, 5xx, 429); the next
--               attempt is due at next_attempt_at (the worker's main loop)
--   'skipped'   not sent: the workflow's circuit is open, or its
--               concurrency policy 'forbid' found a previous execution still
--               running (last_error_kind says which)
-- outcome: what the n8n execution came to, NULL while it runs or when it
-- cannot be known (no N8N_API_KEY and no result posted).  'superseded': a
-- later trigger of the same workflow replaced it (concurrency 'replace').
ALTER TABLE triggers DROP CONSTRAINT triggers_status_check;
ALTER TABLE triggers ADD CONSTRAINT triggers_status_check
  CHECK (status IN ('pending','sending','sent','failed','unavailable','dry_run','unknown','abandoned',
                    'retrying','skipped'));
ALTER TABLE triggers
  ADD COLUMN execution_id     text,          -- n8n's execution id (early answer or posted result)
  ADD COLUMN outcome          text CHECK (outcome IN ('succeeded','failed','crashed','canceled','timed_out',
                                                      'superseded')),
  ADD COLUMN execution_status text,          -- n8n's own status word as last seen, or 'gone' (404)
  ADD COLUMN execution_started_at timestamptz,  -- n8n's startedAt / stoppedAt
  ADD COLUMN execution_stopped_at timestamptz,
  ADD COLUMN n8n_workflow_id  text,          -- n8n's workflowId of the execution
  ADD COLUMN duration_ms      integer CHECK (duration_ms >= 0),   -- the execution's (result or n8n times)
  ADD COLUMN result           jsonb,         -- the result the workflow posted (first execution's)
  ADD COLUMN result_at        timestamptz,
  ADD COLUMN next_attempt_at  timestamptz,   -- status 'retrying': when to try again
  ADD COLUMN last_error_kind  text CHECK (last_error_kind IN ('transport','timeout','server_error',
                                                              'rate_limited','client_error','not_registered',
                                                              'circuit_open','concurrency')),
  ADD COLUMN tracked_at       timestamptz,   -- last look at the execution through n8n's API
  ADD COLUMN track_errors     integer NOT NULL DEFAULT 0,  -- failed looks in a row
  ADD COLUMN settled_at       timestamptz,   -- the worker has acted on the outcome (breaker, alert, decision)
  ADD COLUMN learned_at       timestamptz;   -- the worker has learned from the posted opportunities
CREATE INDEX triggers_retrying ON triggers (next_attempt_at) WHERE status = 'retrying';
CREATE INDEX triggers_running ON triggers (workflow, id) WHERE status = 'sent' AND outcome IS NULL;
CREATE INDEX triggers_unsettled ON triggers (id)
  WHERE (outcome IS NOT NULL AND settled_at IS NULL) OR (result_at IS NOT NULL AND learned_at IS NULL);
CREATE INDEX triggers_execution ON triggers (execution_id) WHERE execution_id IS NOT NULL;
CREATE INDEX triggers_tracking ON triggers (tracked_at)
  WHERE status = 'sent' AND execution_id IS NOT NULL
    AND (execution_status IS NULL OR execution_status IN ('new','running','waiting','unknown'));
DROP INDEX triggers_open;
CREATE INDEX triggers_open ON triggers (id) WHERE status IN ('pending','sending','retrying');

-- ---- results: what the workflows posted to POST /results ---------------------------
-- One row per (trigger, execution): the same result posted again (n8n's
-- Report node retries) is a no-op.  A second execution of one trigger (a
-- delivery retried after a lost answer) is kept here; the trigger keeps the
-- first.
CREATE TABLE results (
  id            bigserial PRIMARY KEY,
  trigger_id    bigint      NOT NULL REFERENCES triggers (id),
  execution_id  text        NOT NULL CHECK (length(execution_id) BETWEEN 1 AND 64),
  received_at   timestamptz NOT NULL DEFAULT now(),
  status        text        NOT NULL CHECK (status IN ('success','error')),
  opportunities integer     NOT NULL CHECK (opportunities >= 0),
  duration_ms   integer     NOT NULL CHECK (duration_ms >= 0),
  error         text,
  body          jsonb       NOT NULL,
  UNIQUE (trigger_id, execution_id)
);
CREATE INDEX results_time ON results (received_at);

-- ---- workflow_state: the worker's view of each workflow ------------------------------
-- Written by the worker only: availability (a 404 "not registered" makes a
-- workflow unavailable until a later trigger is accepted), the circuit
-- breaker, the concurrency policy and what n8n's public API lists.
CREATE TABLE workflow_state (
  workflow             text PRIMARY KEY CHECK (workflow IN (
                         'crypto-aggressive-scan','crypto-normal-scan','crypto-light-monitoring',
                         'forex-london-session','forex-newyork-session','forex-asia-session',
                         'health-monitor-check','deep-market-analysis')),
  available            boolean     NOT NULL DEFAULT true,
  unavailable_since    timestamptz,
  unavailable_reason   text,
  circuit              text        NOT NULL DEFAULT 'closed' CHECK (circuit IN ('closed','open','half_open')),
  consecutive_failures integer     NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  open_until           timestamptz,
  circuit_opened_at    timestamptz,
  circuit_opens        integer     NOT NULL DEFAULT 0,  -- times the circuit opened, ever
  concurrency          text        NOT NULL DEFAULT 'allow' CHECK (concurrency IN ('forbid','allow','replace')),
  running              integer     NOT NULL DEFAULT 0 CHECK (running >= 0),
  n8n_id               text,                          -- from GET /api/v1/workflows (N8N_API_KEY)
  n8n_name             text,
  n8n_active           boolean,
  n8n_seen_at          timestamptz,
  updated_at           timestamptz NOT NULL DEFAULT now()
);
INSERT INTO workflow_state (workflow)
SELECT unnest(ARRAY['crypto-aggressive-scan','crypto-normal-scan','crypto-light-monitoring',
                    'forex-london-session','forex-newyork-session','forex-asia-session',
                    'health-monitor-check','deep-market-analysis']);
CREATE TRIGGER workflow_state_notify AFTER INSERT OR UPDATE ON workflow_state
  FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_state();
CREATE TRIGGER results_notify AFTER INSERT ON results
  FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_state();

-- Alert counters (worker/alert.c: sent, failed, dropped, rate_limited,
-- queued) and n8n's public API as the worker sees it
-- ({"api_configured", "workflows_synced_at", "error"}), written with the heartbeat.
ALTER TABLE worker_state
  ADD COLUMN alerts jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN n8n    jsonb NOT NULL DEFAULT '{}'::jsonb;

-- ---- record_result: the API's only way to write --------------------------------------
-- Called by orch-api for POST /results after it validated the body.  Checks
-- the result against its trigger and records it once.  outcome:
--   'recorded'         first result of the trigger: triggers.result, opportunities,
--                      execution_id (when unknown), duration and outcome set
--   'extra'            a new execution of a trigger that already has a result: kept in results only
--   'duplicate'        this execution's result was recorded before, identical: nothing changed
--   'conflict'         this execution's result was recorded before with another status/opportunities
--   'unknown_trigger'  no live trigger with that id
--   'mismatch'         the trigger exists but its idempotency key, decision or workflow differ
-- NOTIFY orch_results (payload: the trigger id) wakes the worker, which
-- learns from the result and settles the decision.
CREATE FUNCTION record_result(p_trigger_id bigint, p_key text, p_decision_id bigint, p_workflow text,
                              p_execution_id text, p_status text, p_opportunities integer,
                              p_duration_ms integer, p_error text, p_body jsonb,
                              OUT verdict text, OUT result_id bigint, OUT trigger_outcome text,
                              OUT mismatch text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  t record;
  r record;
BEGIN
  IF p_status IS NULL OR p_status NOT IN ('success','error') OR p_opportunities IS NULL OR p_opportunities < 0
     OR p_duration_ms IS NULL OR p_duration_ms < 0 OR p_execution_id IS NULL
     OR length(p_execution_id) NOT BETWEEN 1 AND 64 OR p_body IS NULL OR jsonb_typeof(p_body) <> 'object' THEN
    RAISE EXCEPTION 'record_result: invalid result' USING ERRCODE = '22023';
  END IF;
  SELECT tr.id, tr.idempotency_key, tr.decision_id, tr.workflow, tr.result_at, tr.outcome
    INTO t
    FROM triggers tr JOIN decisions d ON d.id = tr.decision_id
   WHERE tr.id = p_trigger_id AND d.run_id IS NULL
     FOR UPDATE OF tr;
  IF NOT FOUND THEN
    verdict := 'unknown_trigger';
    RETURN;
  END IF;
  IF t.idempotency_key IS DISTINCT FROM p_key THEN
    verdict := 'mismatch'; mismatch := 'idempotency_key'; RETURN;
  ELSIF t.decision_id IS DISTINCT FROM p_decision_id THEN
    verdict := 'mismatch'; mismatch := 'decision_id'; RETURN;
  ELSIF t.workflow IS DISTINCT FROM p_workflow THEN
    verdict := 'mismatch'; mismatch := 'workflow'; RETURN;
  END IF;
  SELECT id, status, opportunities INTO r FROM results
   WHERE trigger_id = p_trigger_id AND execution_id = p_execution_id;
  IF FOUND THEN
    result_id := r.id;
    trigger_outcome := t.outcome;
    verdict := CASE WHEN r.status = p_status AND r.opportunities = p_opportunities
                    THEN 'duplicate' ELSE 'conflict' END;
    RETURN;
  END IF;
  INSERT INTO results (trigger_id, execution_id, status, opportunities, duration_ms, error, body)
  VALUES (p_trigger_id, p_execution_id, p_status, p_opportunities, p_duration_ms, left(p_error, 2000), p_body)
  RETURNING id INTO result_id;
  IF t.result_at IS NULL THEN
    UPDATE triggers
       SET result = p_body, result_at = now(), opportunities = p_opportunities, outcome_at = now(),
           execution_id = coalesce(execution_id, p_execution_id),
           duration_ms = coalesce(duration_ms, p_duration_ms),
           outcome = coalesce(outcome, CASE p_status WHEN 'success' THEN 'succeeded' ELSE 'failed' END)
     WHERE id = p_trigger_id
    RETURNING triggers.outcome INTO trigger_outcome;
    verdict := 'recorded';
  ELSE
    trigger_outcome := t.outcome;
    verdict := 'extra';
  END IF;
  PERFORM pg_notify('orch_results', p_trigger_id::text);
END
$$;
REVOKE ALL ON FUNCTION record_result(bigint, text, bigint, text, text, text, integer, integer, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_result(bigint, text, bigint, text, text, text, integer, integer, text, jsonb)
  TO orch_api;

-- ---- reporting views -------------------------------------------------------------------
CREATE OR REPLACE VIEW trigger_outcomes AS
SELECT t.workflow, t.status, count(*) AS triggers,
       round(avg(t.latency_ms)) AS avg_latency_ms, max(t.finished_at) AS last_finished_at,
       count(*) FILTER (WHERE t.outcome = 'succeeded')                  AS executions_succeeded,
       count(*) FILTER (WHERE t.outcome IN ('failed','crashed','timed_out')) AS executions_failed,
       sum(t.opportunities)                                             AS opportunities,
       sum(greatest(t.attempts - 1, 0))                                 AS retries
  FROM triggers t JOIN decisions d ON d.id = t.decision_id
 WHERE d.run_id IS NULL
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- For psql users: what each workflow's executions came to, per day.
CREATE VIEW executions_per_day AS
SELECT (t.created_at AT TIME ZONE 'UTC')::date AS day,
       t.workflow,
       count(*) FILTER (WHERE t.status = 'sent')                         AS started,
       count(*) FILTER (WHERE t.outcome = 'succeeded')                   AS succeeded,
       count(*) FILTER (WHERE t.outcome IN ('failed','crashed','timed_out')) AS failed,
       count(*) FILTER (WHERE t.status = 'skipped')                      AS skipped,
       sum(t.opportunities)                                              AS opportunities,
       round(avg(t.duration_ms))                                         AS avg_duration_ms
  FROM triggers t JOIN decisions d ON d.id = t.decision_id
 WHERE d.run_id IS NULL
 GROUP BY 1, 2
 ORDER BY 1 DESC, 2;

GRANT SELECT, INSERT, UPDATE, DELETE ON workflow_state TO orch_worker;
GRANT SELECT ON results TO orch_worker;
GRANT SELECT ON results, workflow_state, executions_per_day, trigger_outcomes TO orch_api;
