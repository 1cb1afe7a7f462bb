#!/usr/bin/env bash
# The n8n workflow exports (n8n/workflows/*.json) are what n8n/generate.py
# writes, and each is a workflow n8n can import: the eight webhook paths of
# the catalog, a POST Webhook node with header auth that answers through a
# Respond node after claiming its idempotency key (POST /claims), and a
# "Report result" node that posts to ORCH_RESULTS_URL.
# Run by `make check`.  Output: `ok`/`not ok` lines, then `N passed, N failed`.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
PYTHON=${PYTHON:-python3}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

if out=$("$PYTHON" "$top_srcdir/n8n/generate.py" --check 2>&1); then
  ok "n8n/generate.py --check: the exports are what the generator writes"
else
  not_ok "n8n/generate.py --check: $out"
fi

if out=$("$PYTHON" - "$top_srcdir/n8n/workflows" <<'PY' 2>&1
import json, pathlib, sys
want = {"crypto-aggressive-scan", "crypto-normal-scan", "crypto-light-monitoring", "forex-london-session",
        "forex-newyork-session", "forex-asia-session", "health-monitor-check", "deep-market-analysis"}
bad, seen = [], set()
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    wf = json.loads(f.read_text())
    nodes = {n["name"]: n for n in wf.get("nodes", [])}
    hooks = [n for n in nodes.values() if n.get("type") == "n8n-nodes-base.webhook"]
    if len(hooks) != 1:
        bad.append(f"{f.name}: {len(hooks)} webhook nodes"); continue
    p = hooks[0].get("parameters", {})
    seen.add(p.get("path"))
    if p.get("path") != f.stem: bad.append(f"{f.name}: webhook path {p.get('path')!r}")
    if p.get("httpMethod") != "POST": bad.append(f"{f.name}: method {p.get('httpMethod')!r}")
    if p.get("authentication") != "headerAuth": bad.append(f"{f.name}: authentication {p.get('authentication')!r}")
    if p.get("responseMode") != "responseNode": bad.append(f"{f.name}: responseMode {p.get('responseMode')!r}")
    if not any(n.get("type") == "n8n-nodes-base.respondToWebhook" for n in nodes.values()):
        bad.append(f"{f.name}: no Respond to Webhook node")
    claim = nodes.get("Claim", {})
    if "claim.url" not in json.dumps(claim.get("parameters", {})) or "ORCH_RESULTS_TOKEN" not in json.dumps(claim):
        bad.append(f"{f.name}: no Claim node posting the key with the results token")
    conn = wf.get("connections", {})
    nxt = lambda a, i=0: [t["node"] for t in conn.get(a, {}).get("main", [[]] * (i + 1))[i]]  # noqa: E731
    if (nxt("Prepare") != ["Claim?"] or nxt("Claim?", 0) != ["Claim"] or nxt("Claim?", 1) != ["Respond accepted"]
            or nxt("Claim") != ["Claimed"] or nxt("Claimed") != ["Respond accepted"]):
        bad.append(f"{f.name}: the key is not claimed before the answer (Prepare -> Claim? -> Claim -> Claimed -> Respond)")
    if "ORCH_CLAIMS_URL" not in nodes.get("Prepare", {}).get("parameters", {}).get("jsCode", ""):
        bad.append(f"{f.name}: Prepare does not describe the claim")
    rep = nodes.get("Report result", {}).get("parameters", {})
    if "ORCH_RESULTS_URL" not in json.dumps(rep): bad.append(f"{f.name}: Report result does not post to ORCH_RESULTS_URL")
    for src, dst in ((k, t["node"]) for k, v in wf.get("connections", {}).items()
                     for outs in v.get("main", []) for t in outs):
        if src not in nodes or dst not in nodes: bad.append(f"{f.name}: connection {src} -> {dst}")
if seen != want: bad.append(f"paths {sorted(seen ^ want)} missing or extra")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
); then
  ok "the 8 workflows: POST webhook with header auth, the key claimed from the orchestrator before the early answer, result posted to ORCH_RESULTS_URL"
else
  not_ok "workflow exports: $out"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
