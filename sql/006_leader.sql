-- 006_leader: one decider and exactly-once actions, whatever crashes.
-- Never edit this file once landed; add sql/NNN_*.sql instead.
--
--  * leader_lease: exactly one worker acts per database.  A worker becomes
--    leader by taking the lease when it is free (released, expired, or its
--    holder's database session is gone); every takeover increments epoch,
--    the fencing token.  The leader renews it well within its time to live
--    (LEADER_TAKEOVER_SECONDS); a standby polls it.
--  * Fencing: a worker that is leader sets the session setting
--    orch.leader_epoch to its epoch; every statement that writes the tables
--    the leader owns runs orch_fence() first, which share-locks the lease
--    row (a takeover waits for the statement's transaction) and refuses
--    (SQLSTATE OR001) when the epoch is no longer the lease's.  A frozen
--    leader that wakes up after a takeover can therefore change nothing.
--    Sessions without the setting (the API, the replay, psql) are not fenced.
--  * workers: every worker process, leader or standby, with its heartbeat.
--  * Claims: our workflows claim their idempotency key from the orchestrator
--    when they start (POST /claims, claim_trigger()): the first claim wins,
--    a repeated delivery is told it is a duplicate and stops.
--  * control_commands.accepted_at: when the worker saw the command; a
--    command is done in the same transaction as what it did.
--  * decision_gaps: time during which no leader decided although a
--    decision was due.

CREATE TABLE leader_lease (
  id           integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  epoch        bigint      NOT NULL DEFAULT 0,   -- fencing token: +1 at every takeover
  holder       text,                             -- workers.id of the leader
  backend_pid  integer,                          -- the leader's database session (pg_backend_pid())
  acquired_at  timestamptz,
  renewed_at   timestamptz,
  expires_at   timestamptz,
  released_at  timestamptz                       -- set by a leader that stopped cleanly
);
INSERT INTO leader_lease (id) VALUES (1);

CREATE TABLE workers (
  id           text PRIMARY KEY,                 -- "<hostname>:<pid>:<random>"
  hostname     text        NOT NULL,
  pid          integer     NOT NULL,
  version      text        NOT NULL,
  role         text        NOT NULL CHECK (role IN ('leader','standby','stopped')),
  epoch        bigint,                           -- the lease epoch it holds as leader
  started_at   timestamptz NOT NULL DEFAULT now(),
  role_since   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workers_heartbeat ON workers (heartbeat_at);

CREATE FUNCTION orch_fence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  e text := current_setting('orch.leader_epoch', true);
BEGIN
  IF e IS NULL OR e = '' THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM leader_lease WHERE id = 1 AND epoch = e::bigint FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'fenced: this worker is no longer the leader (epoch %)', e
      USING ERRCODE = 'OR001', HINT = 'another worker took the lease; this one must stop acting';
  END IF;
  RETURN NULL;
END
$$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['decisions','triggers','control_commands','worker_state','workflow_state',
                           'learning_state','probes','llm_calls']
  LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION orch_fence()', t || '_fence', t);
  END LOOP;
END
$$;

-- ---- triggers: who sent it, and the claims of its key ---------------------------
ALTER TABLE triggers
  ADD COLUMN leader_epoch         bigint,        -- the epoch of the leader that last marked it sending
  ADD COLUMN claimed_at           timestamptz,   -- the first claim of its key (its execution started)
  ADD COLUMN claimed_execution_id text,          -- that execution's id
  ADD COLUMN claims               integer NOT NULL DEFAULT 0;  -- claims received, duplicates included
CREATE INDEX triggers_claimed_open ON triggers (id)
  WHERE claimed_at IS NOT NULL AND status IN ('unknown','retrying','failed');

-- ---- commands -------------------------------------------------------------------------
ALTER TABLE control_commands ADD COLUMN accepted_at timestamptz;

-- ---- missed decisions -------------------------------------------------------------------
CREATE TABLE decision_gaps (
  id           bigserial PRIMARY KEY,
  gap_from     timestamptz NOT NULL,             -- when a decision was due
  gap_to       timestamptz NOT NULL,             -- when a leader decided again
  missed       integer     NOT NULL CHECK (missed >= 1),  -- decisions due in [gap_from, gap_to)
  interval_seconds integer NOT NULL CHECK (interval_seconds > 0),  -- the schedule they were counted with
  detected_at  timestamptz NOT NULL DEFAULT now(),
  detected_by  text,                             -- workers.id of the leader that found it
  epoch        bigint,
  CHECK (gap_to >= gap_from)
);
CREATE INDEX decision_gaps_time ON decision_gaps (gap_to DESC);
CREATE TRIGGER decision_gaps_fence BEFORE INSERT OR UPDATE OR DELETE ON decision_gaps
  FOR EACH STATEMENT EXECUTE FUNCTION orch_fence();
CREATE TRIGGER decision_gaps_notify AFTER INSERT ON decision_gaps
  FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_state();
CREATE TRIGGER leader_lease_notify AFTER UPDATE ON leader_lease
  FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_state();

-- ---- claim_trigger: the idempotency authority --------------------------------------
-- Called by orch-api for POST /claims (Bearer ORCH_RESULTS_TOKEN), by a
-- workflow as it starts.  verdict:
--   'claimed'      the first claim of this key, or the same execution claiming again
--   'duplicate'    another execution claimed it first: this delivery must not run
--                  (execution_id and claimed_at are the first claim's)
--   'unknown_key'  no live trigger has this key
--   'mismatch'     the key belongs to another workflow
--   'not_sent'     its trigger was never sent (skipped, abandoned, a dry run, not yet sent)
-- NOTIFY orch_claims (payload: the trigger id) lets the worker reconcile a
-- trigger whose delivery it did not know had arrived.
CREATE FUNCTION claim_trigger(p_key text, p_execution_id text, p_workflow text,
                              OUT verdict text, OUT trigger_id bigint, OUT decision_id bigint,
                              OUT execution_id text, OUT claimed_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  t record;
BEGIN
  IF p_key IS NULL OR length(p_key) NOT BETWEEN 1 AND 95 OR p_execution_id IS NULL
     OR length(p_execution_id) NOT BETWEEN 1 AND 64 THEN
    RAISE EXCEPTION 'claim_trigger: invalid claim' USING ERRCODE = '22023';
  END IF;
  SELECT tr.id, tr.decision_id, tr.workflow, tr.status, tr.claimed_at, tr.claimed_execution_id
    INTO t
    FROM triggers tr JOIN decisions d ON d.id = tr.decision_id
   WHERE tr.idempotency_key = p_key AND d.run_id IS NULL
     FOR UPDATE OF tr;
  IF NOT FOUND THEN
    verdict := 'unknown_key';
    RETURN;
  END IF;
  trigger_id := t.id;
  decision_id := t.decision_id;
  IF p_workflow IS NOT NULL AND p_workflow <> '' AND p_workflow IS DISTINCT FROM t.workflow THEN
    verdict := 'mismatch';
    RETURN;
  END IF;
  IF t.claimed_at IS NOT NULL THEN
    UPDATE triggers SET claims = claims + 1 WHERE id = t.id;
    execution_id := t.claimed_execution_id;
    claimed_at := t.claimed_at;
    verdict := CASE WHEN t.claimed_execution_id = p_execution_id THEN 'claimed' ELSE 'duplicate' END;
    RETURN;
  END IF;
  IF t.status NOT IN ('sending','sent','retrying','unknown','failed') THEN
    verdict := 'not_sent';
    RETURN;
  END IF;
  UPDATE triggers SET claimed_at = now(), claimed_execution_id = p_execution_id, claims = claims + 1
   WHERE id = t.id
  RETURNING triggers.claimed_at INTO claimed_at;
  execution_id := p_execution_id;
  verdict := 'claimed';
  PERFORM pg_notify('orch_claims', t.id::text);
END
$$;
REVOKE ALL ON FUNCTION claim_trigger(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_trigger(text, text, text) TO orch_api;

-- ---- reporting -------------------------------------------------------------------------
CREATE VIEW decision_gaps_per_day AS
SELECT (gap_to AT TIME ZONE 'UTC')::date AS day,
       count(*)                          AS gaps,
       sum(missed)                       AS missed_decisions,
       max(gap_to - gap_from)            AS longest
  FROM decision_gaps
 GROUP BY 1
 ORDER BY 1 DESC;

GRANT SELECT, UPDATE ON leader_lease TO orch_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON workers, decision_gaps TO orch_worker;
GRANT USAGE, SELECT ON SEQUENCE decision_gaps_id_seq TO orch_worker;
GRANT SELECT ON leader_lease, workers, decision_gaps, decision_gaps_per_day TO orch_api;
