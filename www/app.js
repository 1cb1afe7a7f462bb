// Dashboard of the AI trading orchestrator: plain JS, same-origin REST API only.
// Everything that comes from the API (and through it from the market and the
// LLM) is untrusted: it is only ever put into the page as text (textContent,
// text nodes, attribute values), never parsed as HTML.
'use strict';
(() => {
  const REFRESH_MS = 5000, TIMEOUT_MS = 8000, PAGE = 20;
  const TOKEN_KEY = 'orchestrator.apiToken';
  const { DASH, h, fill, isNum, isObj, str, int, dec, pct, label } = window.orchDom;   // dom.js
  const SOURCES = ['dexscreener', 'pumpfun', 'tradermade', 'birdeye'];
  const SOURCE_NAMES = { dexscreener: 'DexScreener', pumpfun: 'Pump.fun', tradermade: 'TraderMade', birdeye: 'Birdeye' };
  const MODES = ['crypto', 'forex', 'hybrid', 'standby'];
  const TONE = {
    succeeded: 'good', sent: 'good', ok: 'good', alive: 'good', running: 'good',
    partial: 'warn', pending: 'warn', acting: 'warn', sending: 'warn', unknown: 'warn',
    interrupted: 'warn', degraded: 'warn', stale: 'warn',
    failed: 'bad', unavailable: 'bad', abandoned: 'bad', error: 'bad', down: 'bad',
    dry_run: 'info', forced: 'info', llm: 'llm', fallback: 'warn',
    closed: 'good', half_open: 'warn', open: 'bad', not_configured: 'muted', done: 'good',
    accepted: 'good', rejected: 'bad', budget: 'warn', circuit_open: 'bad', rate_limited: 'warn', timeout: 'bad',
    transport: 'bad', server_error: 'bad', request_error: 'bad', json_validate_failed: 'warn', malformed: 'bad',
    length: 'warn', empty: 'warn', invalid: 'bad',
    retrying: 'warn', skipped: 'muted', superseded: 'info', timed_out: 'bad', crashed: 'bad', canceled: 'warn',
    success: 'good', concurrency: 'muted', not_registered: 'bad', client_error: 'bad',
  };
  const LLM_OK = ['ok', 'not_configured'];
  const CMD = {
    'start': { title: 'Start the orchestrator', desc: 'The worker resumes its decision cycle.', done: 'Start' },
    'stop': { title: 'Stop the orchestrator', desc: 'The worker stops deciding and starting workflows until started again. Workflows already running are not cancelled.', done: 'Stop' },
    'force-decision': { title: 'Force a decision now', desc: 'The worker runs a decision cycle at once instead of waiting for the countdown.', done: 'Force decision' },
    'reload-catalog': { title: 'Reload the workflow catalog', desc: 'The worker reads its catalog file (CATALOG_FILE) again between decisions. A file that is not valid changes nothing: the reason is shown here.', done: 'Reload catalog' },
  };

  const $ = (id) => document.getElementById(id);
  const S = {
    status: null, statusAt: 0, lastOk: 0, skew: 0, inflight: false, timer: 0, ticker: 0,
    first: [], older: [], firstCursor: null, olderCursor: null, mode: '',
    expanded: new Set(), sig: {}, deadline: NaN, span: NaN, hb: null, wfDry: false,
    cmd: null, toastTimer: 0, details: new Map(), detailVer: 0, follow: 0,
  };

  // ---------- small helpers ----------
  const ms = (v) => isNum(v) ? Math.round(v).toLocaleString() + ' ms' : DASH;
  const parseTs = (v) => (typeof v === 'string' && v) ? Date.parse(v) : NaN;
  const now = () => Date.now() + S.skew;
  const tone = (v) => TONE[v] || 'muted';
  const chip = (text, t, title) => h('span', { class: 'chip ' + (t || tone(text)), title }, label(text));
  const cap = (v) => (typeof v === 'string' && v) ? v.charAt(0).toUpperCase() + v.slice(1) : DASH;

  function span(sec) {
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + ' s';
    if (sec < 3600) return Math.floor(sec / 60) + ' min' + (sec < 600 && sec % 60 ? ' ' + (sec % 60) + ' s' : '');
    if (sec < 86400) return Math.floor(sec / 3600) + ' h' + (Math.floor(sec / 60) % 60 ? ' ' + (Math.floor(sec / 60) % 60) + ' min' : '');
    return Math.floor(sec / 86400) + ' d' + (Math.floor(sec / 3600) % 24 ? ' ' + (Math.floor(sec / 3600) % 24) + ' h' : '');
  }
  function rel(t) {
    if (!isNum(t)) return DASH;
    const d = (t - now()) / 1000;
    if (d > 1) return 'in ' + span(d);
    if (d > -2) return 'just now';
    return span(-d) + ' ago';
  }
  const fTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const fDate = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  function clock(v) {
    const t = parseTs(v);
    if (!isNum(t)) return DASH;
    const d = new Date(t);
    return (d.toDateString() === new Date().toDateString() ? fTime : fDate).format(d);
  }
  // A relative age that the 1 s ticker keeps current.
  function ago(v) {
    const t = parseTs(v);
    if (!isNum(t)) return h('span', { class: 'muted' }, DASH);
    return h('span', { class: 'ago', 'data-t': t, title: new Date(t).toLocaleString() }, rel(t));
  }
  const when = (v) => isNum(parseTs(v)) ? h('span', { class: 'when' }, clock(v), h('span', { class: 'muted' }, ' · '), ago(v)) : h('span', { class: 'muted' }, DASH);
  function changed(key, value) {
    const s = JSON.stringify(value === undefined ? null : value);
    if (S.sig[key] === s) return false;
    S.sig[key] = s;
    return true;
  }
  const kv = (k, v) => h('div', null, h('dt', null, k), h('dd', null, v));
  function meter(rate, t) {
    const w = isNum(rate) ? Math.max(0, Math.min(1, rate)) * 100 : 0;
    return h('div', { class: 'meter' }, h('span', { class: t || (rate >= 0.8 ? 'good' : rate >= 0.5 ? 'warn' : 'bad'), style: 'width:' + w.toFixed(1) + '%' }));
  }
  function token(v) { // get/set/clear the API token; storage may be unavailable
    try {
      if (v === undefined) return sessionStorage.getItem(TOKEN_KEY) || '';
      if (v === null) sessionStorage.removeItem(TOKEN_KEY); else sessionStorage.setItem(TOKEN_KEY, v);
    } catch (e) { /* storage disabled: the token is simply not kept */ }
    $('btn-forget').hidden = !token();
    return '';
  }

  // ---------- API ----------
  function errText(b) {
    if (!isObj(b)) return '';
    const e = typeof b.error === 'string' ? b.error : '', m = typeof b.message === 'string' ? b.message : '';
    if (m && /^[a-z_]+$/.test(e)) return m; // {"error":"api_unavailable","message":"..."}
    return [e, m].filter(Boolean).join(': ');
  }
  async function api(path, opts = {}) {
    const ctl = new AbortController();
    const to = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const r = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json', ...(opts.headers || {}) }, method: opts.method || 'GET', signal: ctl.signal });
      const d = Date.parse(r.headers.get('Date') || '');
      if (isNum(d)) { const k = d - Date.now(); S.skew = Math.abs(k) > 3000 ? k : 0; }
      let body = null;
      try { body = await r.json(); } catch (e) { body = null; }
      return { status: r.status, ok: r.ok, body };
    } catch (e) {
      throw new Error(e && e.name === 'AbortError' ? 'no answer within ' + TIMEOUT_MS / 1000 + ' s' : 'network error');
    } finally { clearTimeout(to); }
  }
  async function getJSON(path, lenient) {
    const r = await api(path);
    if (r.ok && isObj(r.body)) return r.body;
    if (lenient && isObj(r.body) && typeof r.body.status === 'string') return r.body;
    throw Object.assign(new Error(errText(r.body) || (r.ok ? 'not a JSON object' : 'HTTP ' + r.status)), { http: r.status });
  }

  // ---------- refresh loop ----------
  function schedule() {
    clearTimeout(S.timer);
    if (!document.hidden) S.timer = setTimeout(refresh, REFRESH_MS);
  }
  async function refresh() {
    if (S.inflight) { S.again = true; return; }
    S.inflight = true;
    S.again = false;
    clearTimeout(S.timer);
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (S.mode) q.set('mode', S.mode);
    const mode = S.mode;
    const [st, de, wf, he] = await Promise.allSettled([
      getJSON('/status'), getJSON('/decisions?' + q), getJSON('/workflows/available'), getJSON('/health', true),
    ]);
    try {
      if (st.status === 'fulfilled') {
        S.status = st.value; S.statusAt = Date.now(); S.lastOk = Date.now();
        renderStatus(st.value);
        $('banner-error').hidden = true;
        document.body.classList.remove('stale');
      } else {
        showDown(st.reason);
      }
      renderHealth(he.status === 'fulfilled' ? he.value : null);
      if (mode === S.mode) {
        if (de.status === 'fulfilled') {
          const list = Array.isArray(de.value.decisions) ? de.value.decisions.filter(isObj) : [];
          S.first = list;
          S.firstCursor = de.value.next_before ?? null;
          $('decisions-err').hidden = true;
          renderDecisions();
        } else if (st.status === 'fulfilled') {
          inlineErr('decisions-err', 'Could not load decisions: ' + de.reason.message);
        }
      }
      if (wf.status === 'fulfilled') {
        $('workflows-err').hidden = true;
        S.wfDry = wf.value.dry_run === true;
        renderWorkflows(Array.isArray(wf.value.workflows) ? wf.value.workflows.filter(isObj) : []);
        renderCatalog(wf.value);
      } else if (st.status === 'fulfilled') {
        inlineErr('workflows-err', 'Could not load the workflow catalog: ' + wf.reason.message);
      }
      $('banner-dry').hidden = !((S.status && S.status.dry_run === true) || S.wfDry);
    } catch (e) {
      console.error(e);
    } finally {
      S.inflight = false;
      tick();
      if (S.again) refresh(); else schedule();
    }
  }
  function inlineErr(id, msg) { const el = $(id); el.textContent = msg; el.hidden = false; }
  function showDown(err) {
    const b = $('banner-error');
    const gone = !err.http || err.http >= 502;
    fill(b, h('strong', null, gone ? 'API unreachable: ' : 'API error (HTTP ' + err.http + '): '), err.message + '. ',
      S.lastOk ? 'Showing the data received ' + rel(S.lastOk + S.skew) + '; ' : 'No data received yet; ',
      'retrying every ' + REFRESH_MS / 1000 + ' s.');
    b.hidden = false;
    document.body.classList.toggle('stale', !!S.lastOk);
    document.body.classList.toggle('nodata', !S.lastOk);
    setControls();
  }

  // ---------- rendering ----------
  function renderStatus(s) {
    document.body.classList.remove('nodata');
    const srv = parseTs(s.server_time); // more precise than the Date header
    if (isNum(srv)) { const k = srv - S.statusAt; S.skew = Math.abs(k) > 3000 ? k : 0; }
    const st = $('state');
    st.className = 'big state ' + (s.running === true ? 'good' : s.running === false ? 'bad' : 'muted');
    st.textContent = s.running === true ? 'Running' : s.running === false ? 'Stopped' : 'Unknown';
    if (s.dry_run === true) st.append(' ', chip('dry run', 'info'));

    const m = $('mode');
    m.className = 'big mode-' + (MODES.includes(s.mode) ? s.mode : 'none');
    m.textContent = s.mode ? cap(s.mode) : 'No mode yet';
    fill($('intensity'), s.intensity
      ? h('span', null, chip(s.intensity, 'int-' + (['aggressive', 'normal', 'light'].includes(s.intensity) ? s.intensity : 'x')), ' intensity')
      : 'no decision has set an intensity yet');

    // countdown: trust the server's "seconds from now" over clocks
    const nd = s.next_decision_in_seconds;
    S.deadline = isNum(nd) ? Date.now() + nd * 1000 : parseTs(s.next_decision_at) - S.skew;
    const ld = isObj(s.last_decision) ? s.last_decision : null;
    const from = ld ? parseTs(ld.decided_at) - S.skew : NaN;
    S.span = isNum(S.deadline) && isNum(from) && S.deadline > from ? S.deadline - from : NaN;
    S.nextAt = s.next_decision_at;

    // worker heartbeat, aged locally between refreshes
    const w = isObj(s.worker) ? s.worker : null;
    S.hb = w ? { alive: w.alive, age: isNum(w.heartbeat_age_seconds) ? w.heartbeat_age_seconds : NaN, at: Date.now(), beat: parseTs(w.heartbeat_at) } : null;
    const ws = $('worker-state');
    ws.className = 'big ' + (!w ? 'muted' : w.alive === true ? 'good' : 'bad');
    ws.textContent = !w ? 'No worker' : w.alive === true ? 'Alive' : 'Stale';
    if (changed('worker', w)) {
      fill($('worker-info'), ...(w ? [
        h('span', { id: 'hb-age' }), h('br'),
        [w.hostname && str(w.hostname), w.version && 'v' + str(w.version).replace(/^v/, ''), isNum(w.pid) && 'pid ' + w.pid].filter(Boolean).join(' · ') || DASH,
        w.started_at ? h('span', null, h('br'), 'up since ', clock(w.started_at)) : null,
      ] : ['no worker has registered a heartbeat']));
    }
    if (changed('leader', [s.leader, s.standbys])) renderLeader(isObj(s.leader) ? s.leader : null, Array.isArray(s.standbys) ? s.standbys : []);
    if (changed('gap', s.missed_decisions)) renderGap(isObj(s.missed_decisions) ? s.missed_decisions : null);
    if (changed('last', ld)) renderLast(ld);
    if (changed('sources', s.sources)) renderSources(isObj(s.sources) ? s.sources : {});
    if (changed('perf', [s.success_rate, s.success_by_mode, s.system_load, s.market_volatility])) renderPerf(s);
    if (changed('counts', [s.counts, s.learning, s.results, s.alerts])) renderCounts(s);
    if (changed('llm', [s.llm, ld && ld.llm_outcome])) renderLlm(isObj(s.llm) ? s.llm : null, ld);
    if (changed('wfstate', s.workflows)) renderWfBanner(isObj(s.workflows) ? s.workflows : {});
    if (changed('watch', s.watch)) {
      window.orchWatch.render($('watch'), isObj(s.watch) ? s.watch : null);
      fill($('watch-meta'), isObj(s.watch) && s.watch.at ? 'sampled ' + clock(s.watch.at) : '');
    }
    setControls();
  }

  // unavailable workflows (n8n answered 404, or lists them inactive) and open circuit breakers
  // One leader acts; standbys wait to take over (GET /status leader, standbys).
  function renderLeader(l, standbys) {
    let el = $('leader-info');
    if (!el) {
      el = h('div', { id: 'leader-info', class: 'sub' });
      $('worker-info').after(el);
    }
    const who = (x) => [x.hostname && str(x.hostname), isNum(x.pid) && 'pid ' + x.pid].filter(Boolean).join(' ') || str(x.worker || '?');
    fill(el, l ? 'leader ' + who(l) + ' (epoch ' + str(l.epoch) + ', since ' + clock(l.since) + ')' : 'no leader',
      standbys.length ? h('span', null, h('br'), standbys.length + ' standby' + (standbys.length > 1 ? 's' : '') + ': ' +
        standbys.map((x) => who(x) + ' since ' + clock(x.since)).join(', ')) : null);
  }

  // Decisions that were due while no worker led (GET /status missed_decisions).
  function renderGap(g) {
    const b = $('banner-gap');
    const last = g && isObj(g.last) ? g.last : null;
    b.hidden = !last;
    if (!last) return;
    fill(b, h('strong', null, 'Missed decisions: '), str(last.missed) + ' decision(s) were due from ' + clock(last.from) +
      ' to ' + clock(last.to) + ' while no worker led (' + str(g.count) + ' gap(s), ' + str(g.missed_decisions) +
      ' missed in all). The worker decided again at once.');
  }

  function renderWfBanner(w) {
    const un = Array.isArray(w.unavailable) ? w.unavailable.filter(isObj) : [];
    const op = Array.isArray(w.circuits_open) ? w.circuits_open.filter(isObj) : [];
    const b = $('banner-workflows');
    b.hidden = !un.length && !op.length;
    if (b.hidden) return;
    fill(b,
      un.length ? h('div', null, h('strong', null, 'Unavailable in n8n: '),
        ...un.map((u, i) => h('span', { title: str(u.reason) }, i ? ', ' : '', h('span', { class: 'mono' }, str(u.workflow)),
          u.since ? h('span', { class: 'muted' }, ' since ', clock(u.since)) : null)),
        ' · triggers are still tried; the next accepted one makes it available again') : null,
      op.length ? h('div', null, h('strong', null, 'Circuit open: '),
        ...op.map((c, i) => h('span', null, i ? ', ' : '', h('span', { class: 'mono' }, str(c.workflow)), ' ',
          chip(c.state), c.open_until ? h('span', { class: 'muted' }, ' until ', clock(c.open_until)) : null,
          isNum(c.consecutive_failures) ? h('span', { class: 'muted' }, ' (' + int(c.consecutive_failures) + ' failures)') : null)),
        ' · its triggers are skipped until the cooldown ends') : null);
  }

  function renderHealth(hl) {
    const el = $('health');
    if (!hl) { fill(el, 'health: ', chip('unknown', 'muted')); return; }
    const v = typeof hl.status === 'string' ? hl.status : 'unknown';
    fill(el, 'health: ', chip(v, v === 'ok' ? 'good' : v === 'degraded' ? 'warn' : 'bad'));
  }

  function renderLast(d) {
    const box = $('last');
    if (!d) { fill(box, h('p', { class: 'muted' }, 'No decision recorded yet.')); return; }
    fill(box,
      h('div', { class: 'last-line' },
        chip(d.source, 'src-' + (d.source || 'x')), chip(d.status),
        h('strong', null, cap(d.mode)), h('span', { class: 'muted' }, ' · ' + label(d.intensity)),
        d.session ? h('span', { class: 'muted' }, ' · session ' + str(d.session)) : null,
        h('span', { class: 'muted push' }, 'decided ', when(d.decided_at))),
      h('p', { class: 'reason' }, str(d.reason)));
  }

  function sourceState(x) {
    if (!isObj(x) || x.configured === false) return ['not configured', 'muted'];
    if (x.ok === true) return ['ok', 'good'];
    if (x.ok === false) return ['down', 'bad'];
    return ['not probed yet', 'muted'];
  }
  function renderSources(src) {
    const names = SOURCES.concat(Object.keys(src).filter((k) => !SOURCES.includes(k)).sort());
    fill($('sources'), ...names.map((k) => {
      const x = isObj(src[k]) ? src[k] : null;
      const [txt, t] = sourceState(x);
      const det = [];
      if (x && x.configured !== false) {
        if (isNum(x.latency_ms)) det.push(ms(x.latency_ms));
        if (isNum(x.http_status)) det.push('HTTP ' + x.http_status);
        if (x.probed_at) det.push(h('span', null, 'probed ', ago(x.probed_at)));
      } else det.push(x ? 'no API key configured' : 'not reported');
      return h('li', { class: 'src' },
        h('span', { class: 'dot ' + t }),
        h('div', { class: 'src-main' },
          h('div', null, h('strong', null, SOURCE_NAMES[k] || k), ' ', chip(txt, t)),
          h('div', { class: 'muted small' }, det.flatMap((p, i) => i ? [' · ', p] : [p])),
          x && x.error && x.ok !== true ? h('div', { class: 'err small' }, str(x.error)) : null));
    }));
  }

  function renderPerf(s) {
    const by = isObj(s.success_by_mode) ? s.success_by_mode : {};
    const modes = MODES.concat(Object.keys(by).filter((k) => !MODES.includes(k)));
    const rows = modes.filter((k) => isObj(by[k])).map((k) => {
      const x = by[k];
      return h('div', { class: 'perf-row' },
        h('span', { class: 'perf-mode' }, cap(k)), meter(x.rate),
        h('span', { class: 'perf-val' }, pct(x.rate)),
        h('span', { class: 'muted small perf-n' }, int(x.succeeded) + ' / ' + int(x.acted)));
    });
    fill($('perf'),
      h('div', { class: 'perf-top' },
        h('div', null, h('div', { class: 'label' }, 'Success rate'), h('div', { class: 'big' }, pct(s.success_rate)),
          h('div', { class: 'muted small' }, isNum(s.success_rate) ? 'of decisions that acted' : 'no finished runs yet')),
        h('dl', { class: 'kv' },
          kv('System load', dec(s.system_load)),
          kv('Market volatility', isNum(s.market_volatility) ? dec(s.market_volatility, 3) : DASH))),
      h('div', { class: 'label' }, 'By mode'),
      rows.length ? rows : h('p', { class: 'muted small' }, 'No per-mode results yet.'));
  }

  function tile(name, value, sub, t) {
    return h('div', { class: 'tile' }, h('div', { class: 'label' }, name), h('div', { class: 'val ' + (t || '') }, value), sub ? h('div', { class: 'muted small' }, sub) : null);
  }
  function renderCounts(s) {
    const c = isObj(s.counts) ? s.counts : {};
    const bs = isObj(c.by_source) ? c.by_source : {};
    const tr = isObj(c.triggers) ? c.triggers : {};
    const tiles = [
      tile('Decisions', int(c.decisions), int(c.decisions_24h) + ' in the last 24 h'),
      tile('Mode switches', int(c.mode_switches)),
      tile('By source', h('span', { class: 'srcs' },
        chip('llm ' + int(bs.llm), 'src-llm'), chip('fallback ' + int(bs.fallback), 'src-fallback'), chip('forced ' + int(bs.forced), 'src-forced'))),
      tile('Triggers', int(tr.sent), 'sent'),
    ];
    const extra = Object.keys(tr).filter((k) => k !== 'sent' && isNum(tr[k]));
    tiles.push(tile('Trigger outcomes', h('span', { class: 'srcs' },
      extra.length ? extra.map((k) => chip(label(k) + ' ' + int(tr[k]), tone(k))) : h('span', { class: 'muted' }, DASH))));
    const res = isObj(s.results) ? s.results : null;
    if (res) {
      const by = isObj(res.by_status) ? res.by_status : {};
      tiles.push(tile('Results from n8n', int(res.received),
        res.enabled === false ? 'POST /results disabled (no ORCH_RESULTS_TOKEN)'
          : int(by.success) + ' success · ' + int(by.error) + ' error · ' + int(res.opportunities) + ' opportunities'));
    }
    const al = isObj(s.alerts) ? s.alerts : null;
    if (al) tiles.push(tile('Telegram alerts', al.enabled === true ? int(al.sent) : h('span', { class: 'muted' }, 'off'),
      al.enabled === true ? 'sent · ' + int(al.failed) + ' failed · ' + int(al.rate_limited) + ' rate limited · ' + int(al.queued) + ' queued'
        : 'TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID not set'));
    fill($('counts'), ...tiles);
  }

  // ---------- the LLM panel ----------
  const shortHash = (v) => typeof v === 'string' && v ? v.slice(0, 12) : DASH;
  // used / budget as "n / max" with a meter coloured by how much is spent
  function budget(used, max, fmt) {
    if (!isNum(used)) return h('span', { class: 'muted' }, DASH);
    if (!isNum(max) || max <= 0) return h('span', null, fmt(used));
    const r = used / max;
    return h('div', { class: 'budget' }, h('div', null, fmt(used), h('span', { class: 'muted' }, ' / ' + fmt(max) + ' (' + pct(r) + ')')),
      meter(r, r >= 0.9 ? 'bad' : r >= 0.7 ? 'warn' : 'good'));
  }
  function renderLlm(llm, ld) {
    const box = $('llm'), pv = $('llm-prompt');
    if (!llm || llm.configured !== true) {
      fill(pv, llm && llm.prompt_version ? 'prompt ' + str(llm.prompt_version) : '');
      fill(box, h('p', { class: 'muted' }, llm && llm.configured === false
        ? 'No LLM provider is configured (GROQ_API_KEY, OPENAI_API_KEY or LLM_BASE_URL): the fallback policy decides every cycle.'
        : 'The worker has not reported its LLM state yet.'));
      return;
    }
    fill(pv, 'prompt ', h('strong', { class: 'mono' }, str(llm.prompt_version)), ' · ',
      h('span', { class: 'mono', title: typeof llm.prompt_hash === 'string' ? 'SHA-256 ' + llm.prompt_hash : null }, shortHash(llm.prompt_hash)));
    const ps = Array.isArray(llm.providers) ? llm.providers.filter(isObj) : [];
    const ag = isObj(llm.agreement_rate) ? llm.agreement_rate : {};
    const streak = isNum(llm.fallback_streak) ? llm.fallback_streak : NaN;
    const errs = isObj(llm.errors_24h_by_kind) ? llm.errors_24h_by_kind : {};
    const ek = Object.keys(errs).filter((k) => isNum(errs[k]) && errs[k] > 0).sort((a, b) => errs[b] - errs[a]);
    const last = ld && typeof ld.llm_outcome === 'string' ? ld.llm_outcome : null;
    fill(box,
      h('div', { class: 'tiles' },
        tile('Last outcome', last ? chip(last, last === 'ok' ? 'good' : tone(last)) : h('span', { class: 'muted' }, DASH),
          ld ? 'decision #' + str(ld.id) : 'no decision yet'),
        tile('Fallback streak', int(streak), streak > 0 ? 'latest decisions in a row without a usable LLM answer' : 'the LLM answered the latest decision',
          streak >= 3 ? 'bad' : streak > 0 ? 'warn' : 'good'),
        tile('Agreement with shadow', pct(ag.last_24h), 'last 24 h (' + int(ag.compared_24h) + ' compared) · overall ' + pct(ag.overall) + ' (' + int(ag.compared) + ')'),
        tile('Calls last hour', budget(llm.calls_last_hour, llm.max_calls_per_hour, int)),
        tile('Tokens today', budget(llm.tokens_today, llm.max_tokens_per_day, int)),
        tile('Last 24 h', int(llm.calls_24h) + ' calls', int(llm.tokens_24h) + ' tokens'),
        tile('Errors last 24 h', h('span', { class: 'srcs' }, ek.length ? ek.map((k) => chip(label(k) + ' ' + int(errs[k]), tone(k) === 'muted' ? 'bad' : tone(k))) : h('span', { class: 'muted' }, 'none')))),
      h('div', { class: 'label' }, 'Providers (tried in this order)'),
      ps.length ? h('div', { class: 'scroll' }, h('table', { class: 'table inner providers' },
        h('thead', null, h('tr', null, ['Provider', 'Model', 'Circuit', 'Failures in a row', 'Requests left', 'Tokens left'].map((x) => h('th', null, x)))),
        h('tbody', null, ps.map((p) => h('tr', null,
          h('td', null, h('strong', null, str(p.name))), h('td', { class: 'mono' }, str(p.model)),
          h('td', null, chip(p.circuit)), h('td', null, int(p.consecutive_failures)),
          h('td', null, isNum(p.remaining_requests) ? int(p.remaining_requests) : h('span', { class: 'muted', title: 'no x-ratelimit header seen yet' }, 'unknown')),
          h('td', null, isNum(p.remaining_tokens) ? int(p.remaining_tokens) : h('span', { class: 'muted', title: 'no x-ratelimit header seen yet' }, 'unknown')))))))
        : h('p', { class: 'muted small' }, 'No provider reported.'));
  }

  // what a trigger came to: the execution's outcome when known, else its delivery status
  const trigState = (t) => typeof t.outcome === 'string' && t.outcome ? t.outcome : t.status;
  function triggerChips(list) {
    if (!Array.isArray(list) || !list.length) return h('span', { class: 'muted' }, 'none');
    return h('div', { class: 'trigs' }, list.filter(isObj).map((t) => {
      const st = trigState(t);
      const tip = ['status ' + str(t.status), t.outcome && 'outcome ' + str(t.outcome),
        t.execution_id && 'execution ' + str(t.execution_id), isNum(t.opportunities) && t.opportunities + ' opportunities',
        isNum(t.http_status) && 'HTTP ' + t.http_status,
        isNum(t.attempts) && t.attempts + ' attempt' + (t.attempts === 1 ? '' : 's'), isNum(t.latency_ms) && ms(t.latency_ms),
        t.error && 'error: ' + str(t.error)].filter(Boolean).join(' · ');
      return h('span', { class: 'trig ' + tone(st), title: tip }, h('span', { class: 'dot ' + tone(st) }), str(t.workflow),
        h('span', { class: 'muted' }, ' ' + label(st) + (isNum(t.opportunities) ? ' · ' + t.opportunities + ' opp.' : '')));
    }));
  }
  // ---------- decision detail: GET /decisions/{id} (inputs, menu, raw model output) ----------
  // A loaded detail is kept until the list shows the decision changed (status, completion).
  const detailKey = (d) => JSON.stringify([d.status, d.completed_at, Array.isArray(d.triggers) ? d.triggers.length : 0]);
  async function loadDetail(d) {
    const id = String(d.id), key = detailKey(d);
    const cur = S.details.get(id);
    if (cur && (cur.loading || (cur.key === key && (cur.data || Date.now() - cur.at < 10000)))) return;
    S.details.set(id, { loading: true, key, data: cur && cur.data, at: Date.now() });
    let next;
    try {
      next = { key, data: await getJSON('/decisions/' + encodeURIComponent(id)), at: Date.now() };
    } catch (e) {
      next = { key, data: cur && cur.data, err: e.message, at: Date.now() };
    }
    S.details.set(id, next);
    S.detailVer++;
    renderDecisions();
  }
  function choiceRows(actual, shadow) {
    const wf = (x) => isObj(x) && Array.isArray(x.workflows) ? (x.workflows.length ? x.workflows.map(str).join(', ') : 'none') : DASH;
    const secs = (x) => isObj(x) && isNum(x.next_seconds) ? span(x.next_seconds) : DASH;
    const same = (a, b) => a === b ? null : 'diff';
    const row = (name, a, b) => h('tr', { class: same(a, b) }, h('th', null, name), h('td', null, a), h('td', null, b));
    return h('table', { class: 'table inner choice' },
      h('thead', null, h('tr', null, h('th', null, ''), h('th', null, 'Decided'), h('th', null, 'Shadow (fallback policy)'))),
      h('tbody', null,
        row('Mode', str(actual.mode), isObj(shadow) ? str(shadow.mode) : DASH),
        row('Intensity', str(actual.intensity), isObj(shadow) ? str(shadow.intensity) : DASH),
        row('Workflows', wf(actual), wf(shadow)),
        row('Next look', secs(actual), secs(shadow))));
  }
  function auditDetail(d, full) {
    const a = isObj(d.audit) ? d.audit : {};
    const fa = full && isObj(full.audit) ? full.audit : {};
    const calls = Array.isArray(a.llm_calls) ? a.llm_calls.filter(isObj) : [];
    const actual = { mode: d.mode, intensity: d.intensity, next_seconds: d.next_seconds,
      workflows: Array.isArray(d.triggers) ? d.triggers.filter(isObj).map((t) => t.workflow) : [] };
    const oc = typeof a.llm_outcome === 'string' ? a.llm_outcome : null;
    const raw = full ? fa.raw_output : undefined;
    return [
      h('div', { class: 'label' }, 'LLM audit'),
      h('dl', { class: 'kv row' },
        kv('Outcome', oc ? chip(oc, oc === 'ok' ? 'good' : tone(oc)) : DASH),
        kv('Provider · model', a.provider ? str(a.provider) + ' · ' + str(a.model) : DASH),
        kv('Prompt', a.prompt_version ? h('span', null, str(a.prompt_version) + ' · ', h('span', { class: 'mono', title: typeof a.prompt_hash === 'string' ? 'SHA-256 ' + a.prompt_hash : null }, shortHash(a.prompt_hash))) : DASH),
        kv('Tokens', isNum(a.prompt_tokens) || isNum(a.completion_tokens) ? int(a.prompt_tokens) + ' prompt · ' + int(a.completion_tokens) + ' completion' : DASH),
        kv('LLM latency', ms(a.latency_ms)),
        kv('Agreement', a.agreement === true ? chip('agrees', 'good') : a.agreement === false ? chip('differs', 'warn') : h('span', { class: 'muted' }, 'not compared'))),
      a.llm_detail && a.llm_detail !== 'accepted' ? h('p', { class: 'reason' }, h('span', { class: 'muted' }, 'Why the LLM did not decide: '), str(a.llm_detail)) : null,
      isObj(a.shadow) ? h('div', { class: 'scroll' }, choiceRows(actual, isObj(fa.shadow) ? fa.shadow : a.shadow)) : null,
      isObj(fa.shadow) && typeof fa.shadow.reason === 'string' && fa.shadow.reason && !String(d.reason).includes(fa.shadow.reason)
        ? h('p', { class: 'reason small' }, h('span', { class: 'muted' }, 'The shadow policy\'s reason: '), fa.shadow.reason) : null,
      h('div', { class: 'label' }, 'LLM calls'),
      calls.length ? h('div', { class: 'scroll' }, h('table', { class: 'table inner' },
        h('thead', null, h('tr', null, ['Provider', 'Model', 'HTTP', 'Outcome', 'Latency', 'Tokens', 'Error'].map((x) => h('th', null, x)))),
        h('tbody', null, calls.map((c) => h('tr', null,
          h('td', null, str(c.provider)), h('td', { class: 'mono' }, str(c.model)), h('td', null, str(c.http_status)),
          h('td', null, chip(c.outcome, c.outcome === 'ok' ? 'good' : tone(c.outcome))), h('td', null, ms(c.latency_ms)),
          h('td', null, int(c.prompt_tokens) + ' + ' + int(c.completion_tokens)),
          h('td', { class: 'err' }, c.error ? str(c.error) : '')))))) : h('p', { class: 'muted small' }, oc === 'not_configured' ? 'No LLM is configured.' : 'No LLM call was made.'),
      h('div', { class: 'label' }, 'Raw model output'),
      raw === undefined ? h('p', { class: 'muted small' }, 'Loading…')
        : typeof raw === 'string' && raw ? h('pre', { class: 'json raw' }, raw) // model output: text only, never HTML
          : h('p', { class: 'muted small' }, 'No answer text was received.'),
    ];
  }
  function decisionDetail(d) {
    const tr = Array.isArray(d.triggers) ? d.triggers.filter(isObj) : [];
    const det = S.details.get(String(d.id));
    const full = det && isObj(det.data) ? det.data : null;
    let inputs = 'Loading…';
    if (full) {
      try { inputs = full.inputs == null ? 'no inputs recorded' : JSON.stringify(full.inputs, null, 2); } catch (e) { inputs = 'inputs could not be shown'; }
    } else if (det && det.err) inputs = 'Could not load the inputs: ' + det.err;
    return h('div', { class: 'detail' },
      det && det.err ? h('div', { class: 'inline-err' }, 'Could not load the full decision: ' + det.err) : null,
      h('dl', { class: 'kv row' },
        kv('Decision', '#' + str(d.id)), kv('Cycle', str(d.cycle_id)),
        kv('Decided', d.decided_at ? new Date(parseTs(d.decided_at)).toLocaleString() : DASH),
        kv('Completed', d.completed_at ? new Date(parseTs(d.completed_at)).toLocaleString() : DASH),
        kv('Sessions', Array.isArray(d.sessions) && d.sessions.length ? d.sessions.map(str).join(', ') : str(d.session)),
        kv('Woken by', window.orchWatch.wakeText(d)),
        kv('Next look', isNum(d.next_seconds) ? 'after ' + span(d.next_seconds) : DASH),
        kv('Dry run', d.dry_run === true ? 'yes' : d.dry_run === false ? 'no' : DASH)),
      h('div', { class: 'label' }, 'Reason'), h('p', { class: 'reason' }, str(d.reason)),
      h('div', { class: 'label' }, 'Triggers'),
      isNum(d.opportunities) ? h('p', { class: 'small' }, h('strong', null, int(d.opportunities)), ' opportunities reported by the workflows') : null,
      tr.length ? h('div', { class: 'scroll' }, h('table', { class: 'table inner' },
        h('thead', null, h('tr', null, ['Workflow', 'Status', 'HTTP', 'Attempts', 'Latency', 'Execution', 'Outcome', 'Opportunities', 'Duration', 'Started', 'Finished', 'Error'].map((x) => h('th', null, x)))),
        h('tbody', null, tr.map((t) => h('tr', null,
          h('td', { class: 'mono' }, str(t.workflow)), h('td', null, chip(t.status),
            t.status === 'retrying' && t.next_attempt_at ? h('div', { class: 'muted small' }, 'next try ', clock(t.next_attempt_at)) : null),
          h('td', null, str(t.http_status)),
          h('td', null, str(t.attempts)), h('td', null, ms(t.latency_ms)),
          h('td', { class: 'mono' }, t.execution_id ? str(t.execution_id) : DASH,
            t.execution_status ? h('div', { class: 'muted small' }, 'n8n ' + str(t.execution_status)) : null),
          h('td', null, t.outcome ? chip(t.outcome) : h('span', { class: 'muted' }, t.status === 'sent' ? 'running' : DASH)),
          h('td', null, isNum(t.opportunities) ? int(t.opportunities) : DASH),
          h('td', null, isNum(t.duration_ms) ? ms(t.duration_ms) : DASH),
          h('td', null, clock(t.started_at)),
          h('td', null, clock(t.finished_at)), h('td', { class: 'err' }, t.error ? str(t.error) : '')))))) : h('p', { class: 'muted small' }, 'No workflow was started.'),
      auditDetail(d, full),
      h('div', { class: 'label' }, 'Inputs'), h('pre', { class: 'json' }, inputs));
  }
  function renderDecisions() {
    const seen = new Set(S.first.map((d) => d.id));
    const list = S.first.concat(S.older.filter((d) => !seen.has(d.id)));
    const cursor = S.older.length ? S.olderCursor : S.firstCursor;
    $('btn-more').hidden = cursor == null;
    for (const k of [...S.details.keys()]) if (!S.expanded.has(k)) S.details.delete(k);
    for (const d of list) if (S.expanded.has(String(d.id))) loadDetail(d);
    if (!changed('decisions', [list, [...S.expanded], S.detailVer])) return;
    const body = $('decisions');
    if (!list.length) {
      fill(body, h('tr', null, h('td', { colspan: 8, class: 'empty' }, S.mode ? 'No ' + S.mode + ' decisions yet.' : 'No decisions yet.')));
      return;
    }
    fill(body, ...list.flatMap((d) => {
      const key = String(d.id);
      const open = S.expanded.has(key);
      const toggle = () => { open ? S.expanded.delete(key) : S.expanded.add(key); renderDecisions(); };
      const row = h('tr', { class: 'drow' + (open ? ' open' : ''), onclick: (e) => { if (!e.target.closest('button') && !String(getSelection())) toggle(); } },
        h('td', { class: 'x' }, h('button', { type: 'button', class: 'caret', 'aria-expanded': String(open), 'aria-label': 'Details of decision ' + key, onclick: toggle }, open ? '▾' : '▸')),
        h('td', { 'data-l': 'Time' }, h('div', null, h('div', null, clock(d.decided_at)), h('div', { class: 'muted small' }, ago(d.decided_at)))),
        h('td', { 'data-l': 'Mode' }, h('span', { class: 'mode-' + (MODES.includes(d.mode) ? d.mode : 'none') }, cap(d.mode))),
        h('td', { 'data-l': 'Intensity' }, label(d.intensity)),
        h('td', { 'data-l': 'Source' }, chip(d.source, 'src-' + (['llm', 'fallback', 'forced'].includes(d.source) ? d.source : 'x')),
          isObj(d.audit) && typeof d.audit.llm_outcome === 'string' && !LLM_OK.includes(d.audit.llm_outcome)
            ? chip('llm ' + label(d.audit.llm_outcome), tone(d.audit.llm_outcome), str(d.audit.llm_detail)) : null,
          window.orchWatch.wakeChip(d)),
        h('td', { 'data-l': 'Reason', class: 'reason-cell', title: typeof d.reason === 'string' ? d.reason : null }, str(d.reason)),
        h('td', { 'data-l': 'Status' }, chip(d.status), d.dry_run === true && d.status !== 'dry_run' ? chip('dry run', 'info') : null),
        h('td', { 'data-l': 'Triggers' }, triggerChips(d.triggers)));
      return open ? [row, h('tr', { class: 'drow-detail' }, h('td', { colspan: 8 }, decisionDetail(d)))] : [row];
    }));
  }
  async function loadMore() {
    const cursor = S.older.length ? S.olderCursor : S.firstCursor;
    if (cursor == null) return;
    const btn = $('btn-more');
    btn.disabled = true;
    const q = new URLSearchParams({ limit: String(PAGE), before: String(cursor) });
    if (S.mode) q.set('mode', S.mode);
    const mode = S.mode;
    try {
      const r = await getJSON('/decisions?' + q);
      if (mode !== S.mode) return;
      S.older = S.older.concat(Array.isArray(r.decisions) ? r.decisions.filter(isObj) : []);
      S.olderCursor = r.next_before ?? null;
      renderDecisions();
    } catch (e) {
      inlineErr('decisions-err', 'Could not load older decisions: ' + e.message);
    } finally { btn.disabled = false; }
  }

  // the catalog in force, why its last reload was refused, what n8n offers beside it
  function renderCatalog(doc) {
    const c = isObj(doc.catalog) ? doc.catalog : {};
    if (changed('catalog', c)) {
      fill($('catalog-info'), c.file ? h('span', null, 'File ', h('span', { class: 'mono' }, str(c.file)),
        c.version ? ' (' + str(c.version) + ')' : '', ' · ', int(c.workflows), ' workflows · sha256 ',
        h('span', { class: 'mono', title: str(c.hash) }, str(c.hash).slice(0, 12)), c.loaded_at ? h('span', null, ' · loaded ', clock(c.loaded_at)) : null)
        : 'No catalog reported yet.');
      const err = isObj(c.error) ? c.error : null;
      $('catalog-error').hidden = !err;
      if (err) fill($('catalog-error'), h('strong', null, 'Catalog not reloaded'), ' (', clock(err.at), '): ',
        h('span', { class: 'mono' }, str(err.message)), '. The running catalog is kept.');
    }
    const disc = Array.isArray(doc.discovered) ? doc.discovered.filter(isObj) : [];
    if (changed('discovered', disc)) {
      $('discovered').hidden = !disc.length;
      fill($('discovered-list'), ...disc.map((d) => h('li', null, h('span', { class: 'mono' }, str(d.path)), ' — ', str(d.n8n_name),
        Array.isArray(d.guessed) && d.guessed.length ? h('span', { class: 'muted small' }, ' (guessed: ' + d.guessed.map(str).join(', ') + ')') : null,
        h('pre', { class: 'mono small' }, JSON.stringify(d.entry, null, 1)))));
    }
    const rem = Array.isArray(doc.removed) ? doc.removed.filter(isObj) : [];
    if (changed('removed', rem)) {
      $('removed').hidden = !rem.length;
      fill($('removed'), 'No longer in the catalog (their history is kept): ', rem.map((r) => str(r.name)).join(', '));
    }
  }

  function renderWorkflows(list) {
    if (!changed('workflows', list)) return;
    const body = $('workflows');
    if (!list.length) { fill(body, h('tr', null, h('td', { colspan: 9, class: 'empty' }, 'No workflows in the catalog.'))); return; }
    fill(body, ...list.map((w) => {
      const lr = isObj(w.last_run) ? w.last_run : null;
      return h('tr', null,
        h('td', { 'data-l': 'Workflow' }, h('div', null, h('div', null, str(w.title)), h('div', { class: 'mono muted small' }, str(w.path)))),
        h('td', { 'data-l': 'Market' }, label(w.market)),
        h('td', { 'data-l': 'Intensity' }, label(w.intensity)),
        h('td', { 'data-l': 'Needs' }, Array.isArray(w.needs) && w.needs.length ? w.needs.map(str).join(', ') : h('span', { class: 'muted' }, DASH),
          Array.isArray(w.sessions) && w.sessions.length ? h('div', { class: 'muted small' }, 'sessions ' + w.sessions.map(str).join(', ')) : null,
          w.enabled === false ? h('div', null, chip('disabled', 'muted')) : null),
        h('td', { 'data-l': 'Availability' }, w.available === true ? chip('available', 'good') : w.available === false ? chip('unavailable', 'bad', str(w.unavailable_reason)) : chip('unknown', 'muted'),
          w.available === false && w.unavailable_since ? h('div', { class: 'muted small' }, 'since ', clock(w.unavailable_since)) : null,
          isNum(w.running) && w.running > 0 ? h('div', { class: 'muted small' }, int(w.running) + ' running') : null),
        h('td', { 'data-l': 'Circuit' }, typeof w.circuit === 'string' ? chip(w.circuit) : h('span', { class: 'muted' }, DASH),
          w.circuit === 'open' && w.open_until ? h('div', { class: 'muted small' }, 'until ', clock(w.open_until)) : null,
          isNum(w.consecutive_failures) && w.consecutive_failures > 0 ? h('div', { class: 'muted small' }, int(w.consecutive_failures) + ' failures in a row') : null,
          typeof w.concurrency === 'string' && w.concurrency !== 'allow' ? h('div', { class: 'muted small' }, 'concurrency ' + w.concurrency) : null),
        h('td', { 'data-l': 'n8n' }, isObj(w.n8n)
          ? h('div', null, w.n8n.active === true ? chip('active', 'good') : chip(w.n8n.id ? 'inactive' : 'missing', 'bad',
              w.n8n.id ? 'n8n lists it inactive' : 'n8n does not list a workflow with this webhook path'),
            w.n8n.id ? h('div', { class: 'mono muted small' }, str(w.n8n.id)) : null)
          : h('span', { class: 'muted', title: 'N8N_API_KEY not set, or the list not read yet' }, DASH),
          isObj(w.learned) && isNum(w.learned.runs) && w.learned.runs >= 0.5
            ? h('div', { class: 'muted small', title: 'learned per workflow: success rate, opportunities per run' },
              'learned: ' + Math.round((w.learned.success || 0) * 100) + '% ok, ' + (w.learned.opportunities_per_run ?? 0) + ' opp./run') : null),
        h('td', { 'data-l': 'Last run' }, lr
          ? h('div', null, chip(lr.status), lr.outcome ? chip(lr.outcome) : null,
            isNum(lr.http_status) ? h('span', { class: 'muted small' }, ' HTTP ' + lr.http_status) : null,
            h('div', { class: 'muted small' }, ago(lr.at), lr.decision_id != null ? ' · decision #' + str(lr.decision_id) : '',
              lr.execution_id ? ' · execution ' + str(lr.execution_id) : '', isNum(lr.opportunities) ? ' · ' + lr.opportunities + ' opportunities' : ''))
          : h('span', { class: 'muted' }, 'never')),
        h('td', { 'data-l': '24 h' }, isNum(w.runs_24h) ? int(w.succeeded_24h) + ' / ' + int(w.runs_24h) + ' ok' : DASH));
    }));
  }

  // ---------- 1 s ticker: countdown, heartbeat age, relative times ----------
  function tick() {
    const s = S.status;
    const cd = $('countdown'), at = $('next-at'), bar = $('next-bar');
    if (!s) {
      cd.textContent = DASH; at.textContent = S.lastOk ? DASH : 'waiting for the API'; bar.style.width = '0';
    } else if (!isNum(S.deadline)) {
      cd.textContent = DASH; at.textContent = s.running === false ? 'orchestrator stopped' : 'not scheduled'; bar.style.width = '0';
    } else {
      const left = Math.round((S.deadline - Date.now()) / 1000);
      if (left > 0) {
        const hh = Math.floor(left / 3600), mm = Math.floor(left / 60) % 60, ss = left % 60;
        cd.textContent = (hh ? hh + ':' + String(mm).padStart(2, '0') : String(mm)) + ':' + String(ss).padStart(2, '0');
        at.textContent = 'at ' + clock(S.nextAt) + (s.running === false ? ' (stopped)' : '');
      } else {
        cd.textContent = 'due';
        at.textContent = left < -10 ? 'overdue by ' + span(-left) + (s.running === false ? ' (stopped)' : ', waiting for the worker') : 'deciding now…';
      }
      bar.style.width = (isNum(S.span) ? Math.max(0, Math.min(1, 1 - (S.deadline - Date.now()) / S.span)) * 100 : 0).toFixed(1) + '%';
    }
    const hb = $('hb-age');
    if (hb && S.hb) {
      const age = isNum(S.hb.age) ? S.hb.age + (Date.now() - S.hb.at) / 1000 : isNum(S.hb.beat) ? (now() - S.hb.beat) / 1000 : NaN;
      hb.textContent = isNum(age) ? 'heartbeat ' + (age < 2 ? 'just now' : span(age) + ' ago') : 'no heartbeat yet';
    }
    for (const el of document.querySelectorAll('[data-t]')) el.textContent = rel(Number(el.getAttribute('data-t')));
    const c = $('conn'), ct = $('conn-text');
    const down = !$('banner-error').hidden;
    c.className = 'conn ' + (down ? 'bad' : S.lastOk ? 'good' : 'muted');
    ct.textContent = down ? 'API unreachable' : S.lastOk ? 'Live · updated ' + rel(S.lastOk + S.skew) : 'Connecting…';
  }

  // ---------- control ----------
  function setControls() {
    const s = S.status;
    const down = !$('banner-error').hidden;
    const disabled = !s || s.control_enabled !== true || down;
    const why = !s ? 'Waiting for the API status.' : down ? 'The API is not answering.'
      : s.control_enabled !== true ? 'Control is disabled: the API has no token configured. Set ORCHESTRATOR_API_TOKEN for the API and restart it to enable Start, Stop and Force decision.' : '';
    for (const id of ['btn-start', 'btn-stop', 'btn-force', 'btn-reload']) {
      const b = $(id);
      b.disabled = disabled;
      if (why) b.title = why; else b.removeAttribute('title');
    }
    $('btn-start').classList.toggle('primary', !!s && s.running === false);
    const bc = $('banner-control');
    bc.hidden = !(s && s.control_enabled !== true && !down);
    if (!bc.hidden) bc.textContent = why;
  }
  function dlgMode(useSaved) {
    const saved = useSaved && !!token();
    $('dlg-saved').hidden = !saved;
    $('dlg-token-row').hidden = saved;
    if (!saved) { $('dlg-token').value = ''; setTimeout(() => $('dlg-token').focus(), 0); }
  }
  function dlgMsg(text, t) { const m = $('dlg-msg'); m.textContent = text; m.className = 'msg ' + (t || 'bad'); m.hidden = !text; }
  function openCmd(cmd) {
    const c = CMD[cmd];
    if (!c) return;
    S.cmd = cmd;
    $('dlg-title').textContent = c.title;
    $('dlg-desc').textContent = c.desc;
    dlgMsg('');
    $('dlg-ok').textContent = c.done;
    $('dlg-ok').disabled = false;
    dlgMode(true);
    const d = $('dlg');
    if (typeof d.showModal === 'function') d.showModal(); else d.setAttribute('open', '');
    if (!$('dlg-saved').hidden) $('dlg-ok').focus();
  }
  function closeDlg() { const d = $('dlg'); $('dlg-token').value = ''; if (d.open) d.close(); }
  async function sendCmd(e) {
    e.preventDefault();
    const cmd = S.cmd;
    const useSaved = !$('dlg-saved').hidden;
    const tok = useSaved ? token() : $('dlg-token').value.trim();
    if (!tok) { dlgMsg('Enter the API token.'); return; }
    $('dlg-ok').disabled = true;
    dlgMsg('Sending…', 'muted');
    let r;
    try {
      r = await api('/control/' + cmd, { method: 'POST', headers: { Authorization: 'Bearer ' + tok } });
    } catch (err) {
      dlgMsg('Could not reach the API (' + err.message + '). Try again.');
      $('dlg-ok').disabled = false;
      return;
    }
    $('dlg-ok').disabled = false;
    const b = isObj(r.body) ? r.body : {};
    const text = errText(b);
    if (r.ok) {
      token(tok);
      closeDlg();
      toast(CMD[cmd].done + ' accepted' + (b.command_id != null ? ' as command #' + str(b.command_id) : '') + ' (' + str(b.status || 'pending') + '); the worker picks it up at once.', 'good');
      refresh();
      if (isNum(b.command_id)) followCmd(cmd, b.command_id, tok);
    } else if (r.status === 401) {
      token(null);
      dlgMode(false);
      dlgMsg('Wrong or missing token (401). ' + (useSaved ? 'The saved token was cleared; enter it again.' : 'Check the token and try again.'));
    } else if (r.status === 503 && (b.code === 'control_disabled' || (!b.code && /control/i.test(text)))) {
      dlgMsg('Control is disabled on the server (' + text + '). Set ORCHESTRATOR_API_TOKEN in the API\'s environment and restart it to use Start, Stop and Force decision.');
      if (S.status) { S.status.control_enabled = false; setControls(); }
    } else if (r.status === 503) {
      dlgMsg('The API is not answering (' + (text || 'HTTP 503') + '). Try again in a moment.');
    } else {
      dlgMsg('Request refused: HTTP ' + r.status + (text ? ': ' + text : '') + '.');
    }
  }
  // Follow an accepted command (GET /control/commands/{id}) until the worker
  // has processed it, then say what came of it.
  async function followCmd(cmd, id, tok) {
    const mine = ++S.follow, until = Date.now() + 20000;
    while (mine === S.follow && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 1000));
      let r;
      try { r = await api('/control/commands/' + encodeURIComponent(String(id)), { headers: { Authorization: 'Bearer ' + tok } }); } catch (e) { continue; }
      if (mine !== S.follow) return;
      if (!r.ok || !isObj(r.body)) { if (r.status === 401 || r.status === 404) return; continue; }
      const c = r.body;
      if (c.status === 'pending') continue;
      toast(CMD[cmd].done + ' (command #' + str(id) + ') ' + (c.status === 'done' ? 'done' : label(c.status)) + ': ' + str(c.result) +
        (c.decision_id != null ? ' (decision #' + str(c.decision_id) + ')' : '') + '.', c.status === 'done' ? 'good' : 'bad');
      refresh();
      return;
    }
    if (mine === S.follow) toast(CMD[cmd].done + ' (command #' + str(id) + ') is still pending: is the worker running?', 'warn');
  }
  function toast(text, t) {
    const el = $('toast');
    el.textContent = text;
    el.className = 'banner ' + (t || 'info');
    el.hidden = false;
    clearTimeout(S.toastTimer);
    S.toastTimer = setTimeout(() => { el.hidden = true; }, 8000);
  }

  // ---------- wiring ----------
  function init() {
    for (const id of ['btn-start', 'btn-stop', 'btn-force', 'btn-reload']) $(id).addEventListener('click', (e) => openCmd(e.currentTarget.dataset.cmd));
    $('btn-forget').addEventListener('click', () => { token(null); toast('The saved API token was forgotten.', 'info'); });
    $('dlg-form').addEventListener('submit', sendCmd);
    $('dlg-cancel').addEventListener('click', closeDlg);
    $('dlg-other').addEventListener('click', () => dlgMode(false));
    $('dlg').addEventListener('close', () => { $('dlg-token').value = ''; });
    $('btn-more').addEventListener('click', loadMore);
    $('mode-filter').addEventListener('change', (e) => {
      S.mode = e.target.value; S.older = []; S.olderCursor = null; S.first = []; S.firstCursor = null;
      S.sig.decisions = null;
      fill($('decisions'), h('tr', null, h('td', { colspan: 8, class: 'empty' }, 'Loading…')));
      refresh();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) { clearTimeout(S.timer); clearInterval(S.ticker); S.ticker = 0; }
      else { if (!S.ticker) S.ticker = setInterval(tick, 1000); refresh(); }
    });
    $('btn-forget').hidden = !token();
    setControls();
    S.ticker = setInterval(tick, 1000);
    refresh();
  }
  init();
})();
