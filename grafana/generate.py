#!/usr/bin/env python3
"""Write grafana/orchestrator-dashboard.json, the Grafana dashboard of the AI
trading orchestrator, from the panel list below (one place to read and edit
the queries; the JSON is what Grafana imports).

    python3 grafana/generate.py           # write the JSON beside this file
    python3 grafana/generate.py --check   # exit 1 when the JSON is not up to date
    python3 grafana/generate.py --exprs   # print every panel query, one per line

Every query uses only metrics that fcgi/metrics.c exports; the suite
(tests/e2e/e2e_prometheus.sh) evaluates each one against a real Prometheus
that scrapes the running stack.  Import: Dashboards > New > Import, choose the
Prometheus data source for DS_PROMETHEUS."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "orchestrator-dashboard.json")
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}

# (row title, [(panel title, type, unit, description, [(expr, legend), ...]), ...])
ROWS = [
    ("Decisions", [
        ("Decisions per hour by mode and source", "timeseries", "short",
         "How many decisions the worker made in the last hour, by mode and by who decided (llm, fallback, forced).",
         [('sum by (mode, source) (increase(orchestrator_decisions_by_mode_total[1h]))', "{{mode}} / {{source}}")]),
        ("Success rate by mode", "timeseries", "percentunit",
         "Succeeded / settled decisions that started workflows, per mode (modes that never acted are left out).",
         [('sum by (mode) (orchestrator_decisions_succeeded_total) / (sum by (mode) (orchestrator_decisions_acted_total) > 0)', "{{mode}}")]),
        ("Success rate (all)", "stat", "percentunit", "orchestrator_success_rate, the seed's gauge.",
         [("orchestrator_success_rate", "success rate")]),
        ("Decisions per second", "timeseries", "short", "The seed's rate of decisions.",
         [("rate(orchestrator_decisions_total[5m])", "decisions/s")]),
        ("Mode switches per hour", "timeseries", "short", "Decisions whose mode differs from the previous one.",
         [("increase(orchestrator_mode_switches_total[1h])", "switches")]),
        ("Worker", "stat", "s", "Heartbeat age, time since the last decision and whether cycles run.",
         [("orchestrator_worker_heartbeat_age_seconds", "heartbeat age"),
          ("time() - orchestrator_last_decision_timestamp_seconds", "since last decision"),
          ("orchestrator_running", "running (1) / stopped (0)"),
          ("orchestrator_dry_run", "dry run"),
          ('up{job="ai-orchestrator"}', "API scraped")]),
    ]),
    ("Market sources", [
        ("Source health", "state-timeline", "short", "1 when the source answered the last probe (the seed's api_health_<source>).",
         [("api_health_dexscreener", "DexScreener"), ("api_health_pump_fun", "Pump.fun"),
          ("api_health_tradermade", "TraderMade"), ("api_health_birdeye", "Birdeye")]),
        ("Source latency", "timeseries", "s", "Latency of each source's last probe.",
         [("orchestrator_source_latency_seconds", "{{source}}")]),
        ("Load and volatility", "timeseries", "short", "What the worker sensed last.",
         [("orchestrator_system_load", "load (1 min)"), ("orchestrator_market_volatility", "volatility %")]),
        ("Market activity (watch)", "timeseries", "short",
         "The learner's activity ratio per market: the current reading over the market's baseline.",
         [("orchestrator_learning_activity_ratio", "{{market}}")]),
    ]),
    ("Watch", [
        ("Watch activity vs threshold", "timeseries", "short",
         "Per market, the watch's activity score of the current window against the threshold that wakes a decision "
         "(the WATCH_EVENT_SHARE quantile of its trailing window peaks).",
         [("orchestrator_watch_activity_score", "{{market}} activity"),
          ("orchestrator_watch_threshold", "{{market}} threshold")]),
        ("Watch wake-ups per hour", "timeseries", "short",
         "Decisions the watch woke early, per market (its activity crossed the threshold).",
         [("sum by (market) (increase(orchestrator_watch_wakes_total[1h]))", "{{market}}")]),
        ("Decisions in the last 24 h by wake", "bargauge", "short",
         "Why the decisions of the last 24 hours were made: scheduled, event (the watch), control, startup.",
         [("orchestrator_decisions_24h", "{{wake}}")]),
        ("Source request budgets used", "bargauge", "percentunit",
         "Requests made to each source in the current period (the watch's and the decisions' probes) against "
         "its budget (<SOURCE>_BUDGET).",
         [("orchestrator_source_budget_used / (orchestrator_source_budget_limit > 0)", "{{source}} per {{period}}")]),
        ("Scorecard: volatile windows covered (30 days)", "timeseries", "percentunit",
         "Share of the volatile windows a scan of the market covered, against what a cron making as many runs "
         "would have covered.",
         [("orchestrator_scorecard_coverage_ratio", "{{market}} (the watch)"),
          ("orchestrator_scorecard_equal_runs_coverage_ratio", "{{market}} (a cron with as many runs)")]),
    ]),
    ("LLM", [
        ("LLM calls by provider and outcome", "timeseries", "reqps", "Every HTTP attempt, retries and failovers included.",
         [("sum by (provider, outcome) (rate(orchestrator_llm_calls_total[5m]))", "{{provider}} {{outcome}}")]),
        ("LLM tokens per hour", "timeseries", "short", "Tokens the providers reported.",
         [("sum by (provider, type) (increase(orchestrator_llm_tokens_total[1h]))", "{{provider}} {{type}}")]),
        ("LLM budget used", "gauge", "percentunit", "Tokens today and calls this hour against LLM_MAX_TOKENS_PER_DAY and LLM_MAX_CALLS_PER_HOUR.",
         [("orchestrator_llm_tokens_today / (orchestrator_llm_max_tokens_per_day > 0)", "tokens today"),
          ("orchestrator_llm_calls_last_hour / (orchestrator_llm_max_calls_per_hour > 0)", "calls this hour")]),
        ("LLM latency", "timeseries", "s", "95th percentile and mean of every attempt.",
         [("histogram_quantile(0.95, sum by (le) (rate(orchestrator_llm_latency_seconds_bucket[5m])))", "p95"),
          ("rate(orchestrator_llm_latency_seconds_sum[5m]) / rate(orchestrator_llm_latency_seconds_count[5m])", "mean")]),
        ("Agreement with the shadow policy", "stat", "percentunit",
         "Share of LLM decisions on which the fallback policy chose the same (NaN before the first).",
         [("orchestrator_llm_agreement_rate", "agreement")]),
        ("Fallback reasons per hour", "timeseries", "short", "Why the fallback policy decided instead of the LLM.",
         [('sum by (outcome) (increase(orchestrator_llm_decisions_total{outcome!="ok"}[1h]))', "{{outcome}}")]),
        ("Fallback", "stat", "short", "Fallback decisions per hour and the current streak (ALERT_FALLBACK_STREAK alerts).",
         [("increase(orchestrator_fallback_decisions_total[1h])", "per hour"),
          ("orchestrator_llm_fallback_streak", "streak")]),
        ("LLM errors per hour by kind", "timeseries", "short", "Calls whose outcome was not ok.",
         [("sum by (kind) (increase(orchestrator_llm_errors_total[1h]))", "{{kind}}")]),
        ("LLM circuits", "state-timeline", "short", "1 while a provider's circuit breaker is open.",
         [("orchestrator_llm_circuit_open", "{{provider}}")]),
    ]),
    ("Workflows (n8n)", [
        ("Triggers per hour by workflow", "timeseries", "short", "Workflow triggers recorded.",
         [("sum by (workflow) (increase(orchestrator_triggers_total[1h]))", "{{workflow}}")]),
        ("Triggers by status now", "bargauge", "short", "sent, failed, retrying, unknown, ...",
         [("sum by (status) (orchestrator_triggers)", "{{status}}")]),
        ("Execution outcomes per hour", "timeseries", "short", "Executions that ended, by workflow and outcome.",
         [("sum by (workflow, outcome) (increase(orchestrator_trigger_outcomes_total[1h]))", "{{workflow}} {{outcome}}")]),
        ("Retries per hour", "timeseries", "short", "Webhook attempts after the first.",
         [("sum by (workflow) (increase(orchestrator_trigger_retries_total[1h]))", "{{workflow}}")]),
        ("Circuits", "state-timeline", "short", "Each workflow's circuit breaker.",
         [("orchestrator_workflow_circuit_open", "{{workflow}} open"),
          ("sum by (state) (orchestrator_workflow_circuit_state)", "{{state}}")]),
        ("Availability and running executions", "timeseries", "short", "0: n8n answered 404 or lists it inactive.",
         [("orchestrator_workflow_available", "{{workflow}} available"),
          ("orchestrator_workflow_running", "{{workflow}} running")]),
        ("Execution duration", "timeseries", "s", "90th percentile of the executions' durations.",
         [("histogram_quantile(0.9, sum by (le) (rate(orchestrator_execution_duration_seconds_bucket[15m])))", "p90")]),
        ("Results and opportunities per hour", "timeseries", "short", "Results the workflows posted, and what they found.",
         [("sum by (status) (increase(orchestrator_results_received_total[1h]))", "results {{status}}"),
          ("increase(orchestrator_opportunities_total[1h])", "opportunities")]),
        ("Telegram alerts per hour", "timeseries", "short", "sent, failed, dropped, rate limited.",
         [("sum by (status) (increase(orchestrator_alerts_total[1h]))", "{{status}}")]),
    ]),
]


def build():
    panels, pid, y = [], 1, 0
    for title, row in ROWS:
        panels.append({"type": "row", "title": title, "id": pid, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid += 1
        y += 1
        x = 0
        for (ptitle, ptype, unit, desc, targets) in row:
            w = 8
            if x + w > 24:
                x = 0
                y += 8
            panel = {
                "type": ptype, "title": ptitle, "id": pid, "description": desc, "datasource": DS,
                "gridPos": {"h": 8, "w": w, "x": x, "y": y},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {},
                "targets": [{"refId": chr(ord("A") + i), "datasource": DS, "expr": e, "legendFormat": leg,
                             "range": True, "instant": False}
                            for i, (e, leg) in enumerate(targets)],
            }
            panels.append(panel)
            pid += 1
            x += w
        y += 8
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "scrapes the orchestrator's /metrics",
                      "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__requires": [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.0.0"},
                       {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}],
        "title": "AI trading orchestrator",
        "uid": "ai-orchestrator",
        "description": "Decisions, sources, LLM and n8n workflows of the AI trading orchestrator (grafana/generate.py).",
        "tags": ["ai-orchestrator", "trading", "n8n"],
        "timezone": "utc",
        "schemaVersion": 38,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    }


def text():
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv):
    if "--exprs" in argv:
        for title, row in ROWS:
            for (ptitle, _t, _u, _d, targets) in row:
                for e, _l in targets:
                    print(ptitle + "\t" + e)
        return 0
    if "--check" in argv:
        try:
            with open(OUT, encoding="utf-8") as f:
                same = f.read() == text()
        except OSError:
            same = False
        if not same:
            print("grafana/orchestrator-dashboard.json is not what grafana/generate.py writes: run it", file=sys.stderr)
            return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
