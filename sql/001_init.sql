-- 001_init: the orchestrator's core schema.
-- Never edit this file once landed; add sql/NNN_*.sql instead.
-- Applied by sql/migrate.sh, which records it in schema_migrations.

-- Roles: the worker writes, the API reads (and inserts control commands).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orch_worker') THEN
    CREATE ROLE orch_worker LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orch_api') THEN
    CREATE ROLE orch_api LOGIN;
  END IF;
END
$$;

CREATE TABLE decisions (
  id               bigserial PRIMARY KEY,
  cycle_id         text        NOT NULL,
  decided_at       timestamptz NOT NULL DEFAULT now(),
  mode             text        NOT NULL CHECK (mode IN ('crypto','forex','hybrid','standby')),
  intensity        text        NOT NULL CHECK (intensity IN ('aggressive','normal','light')),
  source           text        NOT NULL CHECK (source IN ('llm','fallback','forced')),
  reason           text        NOT NULL,
  inputs           jsonb       NOT NULL,            -- everything the cycle sensed
  menu             jsonb       NOT NULL,            -- the allowed actions it chose from
  sessions         text[]      NOT NULL DEFAULT '{}',
  session          text        NOT NULL,            -- primary forex session label, for reporting
  prev_mode        text,
  next_seconds     integer     NOT NULL CHECK (next_seconds > 0),
  next_decision_at timestamptz NOT NULL,
  dry_run          boolean     NOT NULL DEFAULT false,
  status           text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending','acting','succeeded','partial','failed',
                                     'dry_run','no_action','interrupted')),
  completed_at     timestamptz
);
CREATE INDEX decisions_mode_id ON decisions (mode, id DESC);
CREATE INDEX decisions_decided_at ON decisions (decided_at);

CREATE TABLE triggers (
  id               bigserial PRIMARY KEY,
  decision_id      bigint      NOT NULL REFERENCES decisions (id),
  workflow         text        NOT NULL CHECK (workflow IN (
                     'crypto-aggressive-scan','crypto-normal-scan','crypto-light-monitoring',
                     'forex-london-session','forex-newyork-session','forex-asia-session',
                     'health-monitor-check','deep-market-analysis')),
  idempotency_key  text        NOT NULL UNIQUE,
  payload          jsonb       NOT NULL,
  status           text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending','sending','sent','failed','unavailable',
                                     'dry_run','unknown','abandoned')),
  http_status      integer,
  attempts         integer     NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  latency_ms       integer,
  error            text,
  response         text                               -- first bytes of the answer
);
CREATE INDEX triggers_decision ON triggers (decision_id);
CREATE INDEX triggers_workflow_id ON triggers (workflow, id DESC);
CREATE INDEX triggers_open ON triggers (id) WHERE status IN ('pending','sending');

CREATE TABLE probes (
  id               bigserial PRIMARY KEY,
  cycle_id         text,
  source           text        NOT NULL CHECK (source IN ('dexscreener','pumpfun','tradermade','birdeye')),
  probed_at        timestamptz NOT NULL DEFAULT now(),
  ok               boolean     NOT NULL,
  latency_ms       integer,
  http_status      integer,
  error            text
);
CREATE INDEX probes_source_time ON probes (source, probed_at DESC);
CREATE INDEX probes_time ON probes (probed_at);

CREATE TABLE control_commands (
  id               bigserial PRIMARY KEY,
  command          text        NOT NULL CHECK (command IN ('start','stop','force_decision')),
  requested_at     timestamptz NOT NULL DEFAULT now(),
  requested_by     text,
  status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','done','failed')),
  processed_at     timestamptz,
  result           text,
  decision_id      bigint      REFERENCES decisions (id)
);
CREATE INDEX control_pending ON control_commands (id) WHERE status = 'pending';

-- One row: what the worker is doing. The worker is its only writer.
CREATE TABLE worker_state (
  id                integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  running           boolean     NOT NULL DEFAULT true,
  pid               integer,
  hostname          text,
  version           text,
  started_at        timestamptz,
  heartbeat_at      timestamptz,
  dry_run           boolean     NOT NULL DEFAULT true,
  current_mode      text,
  last_decision_id  bigint,
  next_decision_at  timestamptz,
  system_load       double precision,
  market_volatility double precision,
  sources           jsonb       NOT NULL DEFAULT '{}'::jsonb   -- latest health per source
);
INSERT INTO worker_state (id) VALUES (1);

-- Wake-ups: the tables are the truth, NOTIFY only says "look again".
CREATE FUNCTION orch_notify_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('orch_state', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
CREATE FUNCTION orch_notify_control() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('orch_control', '');
  PERFORM pg_notify('orch_state', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
CREATE TRIGGER decisions_notify AFTER INSERT OR UPDATE ON decisions
  FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_state();
CREATE TRIGGER triggers_notify AFTER INSERT OR UPDATE ON triggers
  FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_state();
CREATE TRIGGER worker_state_notify AFTER UPDATE ON worker_state
  FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_state();
CREATE TRIGGER control_notify AFTER INSERT ON control_commands
  FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_control();

-- Reporting views for psql users.
CREATE VIEW decisions_per_day AS
SELECT (decided_at AT TIME ZONE 'UTC')::date AS day,
       mode,
       count(*)                                  AS decisions,
       count(*) FILTER (WHERE source = 'llm')      AS by_llm,
       count(*) FILTER (WHERE source = 'fallback') AS by_fallback,
       count(*) FILTER (WHERE source = 'forced')   AS forced
  FROM decisions
 GROUP BY 1, 2
 ORDER BY 1 DESC, 2;

CREATE VIEW success_by_mode_session AS
SELECT mode,
       session,
       count(*) FILTER (WHERE status IN ('succeeded','partial','failed')) AS acted,
       count(*) FILTER (WHERE status = 'succeeded')                        AS succeeded,
       round(100.0 * count(*) FILTER (WHERE status = 'succeeded')
             / nullif(count(*) FILTER (WHERE status IN ('succeeded','partial','failed')), 0), 1)
                                                                           AS success_rate_pct
  FROM decisions
 GROUP BY 1, 2
 ORDER BY 1, 2;

CREATE VIEW trigger_outcomes AS
SELECT workflow, status, count(*) AS triggers,
       round(avg(latency_ms)) AS avg_latency_ms, max(finished_at) AS last_finished_at
  FROM triggers
 GROUP BY 1, 2
 ORDER BY 1, 2;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO orch_worker;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO orch_worker;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO orch_api;
GRANT INSERT ON control_commands TO orch_api;
GRANT USAGE ON SEQUENCE control_commands_id_seq TO orch_api;
