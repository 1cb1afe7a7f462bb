// Dashboard panels for learning (GET /status -> "learning") and replays
// (GET /replays, the picture of the selected run via <img src="/replays/{id}/svg">;
// an <img> never runs scripts inside an SVG).  Like app.js: everything from the
// API is untrusted and only ever put into the page as text or attribute values.
'use strict';
(() => {
  const REFRESH_MS = 15000, TIMEOUT_MS = 8000;
  const { DASH, h, fill, isNum, isObj, str, int, dec, pct, label } = window.orchDom;   // dom.js
  const BANDS = ['quiet', 'usual', 'elevated', 'high'];
  const INTENSITIES = ['aggressive', 'normal', 'light'];
  const BAND_TONE = { quiet: 'muted', usual: 'info', elevated: 'warn', high: 'bad' };
  const SESSIONS = ['sydney', 'sydney_tokyo', 'tokyo', 'tokyo_london', 'london', 'london_newyork', 'newyork', 'off_hours', 'closed'];
  // the comparison columns after the orchestrator's: the target's basis first
  const POLICIES = ['market-hours-cron-5', 'cron-5', 'equal-runs-cron', 'cron-15', 'cron-60'];
  const $ = (id) => document.getElementById(id);
  const S = { selected: null, sig: {}, timer: 0 };

  function span(sec) {
    if (!isNum(sec)) return DASH;
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + ' s';
    if (sec < 3600) return Math.floor(sec / 60) + ' min' + (sec < 600 && sec % 60 ? ' ' + (sec % 60) + ' s' : '');
    return Math.floor(sec / 3600) + ' h' + (Math.floor(sec / 60) % 60 ? ' ' + (Math.floor(sec / 60) % 60) + ' min' : '');
  }
  const day = (v) => (typeof v === 'string' && v.length >= 10) ? v.slice(0, 10) : DASH;
  function changed(key, value) {
    const s = JSON.stringify(value === undefined ? null : value);
    if (S.sig[key] === s) return false;
    S.sig[key] = s;
    return true;
  }
  async function getJSON(path) {
    const ctl = new AbortController();
    const to = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const r = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' }, signal: ctl.signal });
      let body = null;
      try { body = await r.json(); } catch (e) { body = null; }
      if (r.ok && isObj(body)) return body;
      throw new Error(isObj(body) && typeof body.error === 'string' ? body.error : 'HTTP ' + r.status);
    } catch (e) {
      throw new Error(e && e.name === 'AbortError' ? 'no answer within ' + TIMEOUT_MS / 1000 + ' s' : (e && e.message) || 'network error');
    } finally { clearTimeout(to); }
  }
  function showErr(id, msg) { const el = $(id); el.hidden = !msg; el.textContent = msg || ''; }

  // ---------- learning ----------
  // A posterior mean with its 90% interval as a small bar on a shared scale.
  function interval(mean, iv, scale) {
    const lo = Array.isArray(iv) && isNum(iv[0]) ? iv[0] : NaN, hi = Array.isArray(iv) && isNum(iv[1]) ? iv[1] : NaN;
    const x = (v) => Math.max(0, Math.min(100, v / scale * 100)).toFixed(1) + '%';
    const bar = h('div', { class: 'ci', title: '90% interval ' + dec(lo) + ' – ' + dec(hi) },
      isNum(lo) && isNum(hi) ? h('span', { class: 'ci-range', style: 'left:' + x(lo) + ';width:calc(' + x(hi) + ' - ' + x(lo) + ')' }) : null,
      isNum(mean) ? h('span', { class: 'ci-mean', style: 'left:' + x(mean) }) : null);
    return h('div', { class: 'ci-cell' }, h('span', { class: 'ci-num' }, dec(mean)), bar,
      h('span', { class: 'muted small ci-iv' }, isNum(lo) && isNum(hi) ? '[' + dec(lo) + ', ' + dec(hi) + ']' : ''));
  }
  // Rows of posteriors per group (a band or a session) and intensity: the
  // current group, then the others that have evidence.
  function armRows(groups, names, current, chip, scale) {
    const has = (g) => isObj(groups[g]) && INTENSITIES.some((i) => isObj(groups[g][i]) && isNum(groups[g][i].runs) && groups[g][i].runs > 0.05);
    const rows = [];
    for (const g of names.filter((n) => n === current || has(n))) {
      INTENSITIES.forEach((i, k) => {
        const arm = isObj(groups[g]) && isObj(groups[g][i]) ? groups[g][i] : {};
        rows.push(h('tr', { class: g === current ? 'cur' : null },
          k === 0 ? h('th', { rowspan: INTENSITIES.length }, chip(g)) : null,
          h('td', null, h('span', { class: 'chip int-' + i }, i)),
          h('td', null, interval(arm.opportunities, arm.opportunities_90, scale)),
          h('td', { class: 'num' }, pct(arm.success)),
          h('td', { class: 'num muted' }, dec(arm.runs, 1))));
      });
    }
    return rows;
  }
  function armScale(groups, names) {
    let scale = 0;
    for (const g of names) for (const i of INTENSITIES) {
      const arm = isObj(groups[g]) && isObj(groups[g][i]) ? groups[g][i] : null;
      const iv = arm && Array.isArray(arm.opportunities_90) ? arm.opportunities_90 : [];
      for (const v of [arm && arm.opportunities, iv[1]]) if (isNum(v) && v > scale) scale = v;
    }
    return scale;
  }
  function marketCard(name, m) {
    const a = isObj(m.activity) ? m.activity : {};
    const band = typeof a.band === 'string' ? a.band : '';
    const session = typeof a.session === 'string' ? a.session : '';
    const bands = isObj(m.bands) ? m.bands : {};
    // per session: the (session, intensity) estimates ("outcomes")
    const sessions = {};
    if (isObj(m.sessions)) for (const s of SESSIONS) if (isObj(m.sessions[s]) && isObj(m.sessions[s].outcomes)) sessions[s] = m.sessions[s].outcomes;
    let scale = Math.max(armScale(bands, BANDS), armScale(sessions, SESSIONS));
    scale = scale > 0 ? scale : 1;
    const rows = armRows(bands, BANDS, band, (b) => h('span', { class: 'chip ' + (BAND_TONE[b] || 'muted') }, b), scale);
    const srows = armRows(sessions, SESSIONS, session, (s) => h('span', { class: 'chip muted' }, label(s)), scale);
    return h('div', { class: 'learn-market' },
      h('div', { class: 'learn-top' },
        h('span', { class: 'learn-name mode-' + name }, name),
        band ? h('span', { class: 'chip ' + (BAND_TONE[band] || 'muted') }, label(band)) : h('span', { class: 'chip muted' }, 'no reading'),
        a.session ? h('span', { class: 'muted small' }, label(a.session)) : null),
      h('dl', { class: 'kv row learn-kv' },
        h('div', null, h('dt', null, 'Activity ratio'), h('dd', { class: 'big2' }, isNum(a.ratio) ? dec(a.ratio) + '×' : DASH)),
        h('div', null, h('dt', null, 'Activity · baseline'), h('dd', null, dec(a.smoothed, 3) + ' · ' + dec(a.baseline, 3) + (isNum(a.baseline_sd) ? ' ± ' + dec(a.baseline_sd, 3) : ''))),
        h('div', null, h('dt', null, 'Next decision (learned)'), h('dd', null, span(m.next_seconds))),
        h('div', null, h('dt', null, 'Last scan'), h('dd', null, isNum(m.last_scan_age_seconds) ? span(m.last_scan_age_seconds) + ' ago' : DASH)),
        h('div', null, h('dt', null, 'Fresh exposure'), h('dd', null, pct(m.fresh_exposure)))),
      rows.length ? h('table', { class: 'table inner learn-arms' },
        h('thead', null, h('tr', null, h('th', null, 'Band'), h('th', null, 'Intensity'), h('th', null, 'Expected opportunities per run (90%)'), h('th', { class: 'num' }, 'Success'), h('th', { class: 'num' }, 'Runs'))),
        h('tbody', null, rows)) : h('div', { class: 'muted small' }, 'No outcomes learned yet.'),
      srows.length ? h('table', { class: 'table inner learn-arms', title: 'The same outcomes by the session the run started in (shown to the LLM; the fallback policy decides by band)' },
        h('thead', null, h('tr', null, h('th', null, 'Session'), h('th', null, 'Intensity'), h('th', null, 'Expected opportunities per run (90%)'), h('th', { class: 'num' }, 'Success'), h('th', { class: 'num' }, 'Runs'))),
        h('tbody', null, srows)) : null);
  }
  function renderLearning(l) {
    if (!changed('learning', l)) return;
    const el = $('learning');
    if (!isObj(l) || !isObj(l.markets) || !Object.keys(l.markets).length) {
      fill($('learning-meta'));
      fill(el, h('span', { class: 'muted' }, 'Nothing learned yet: the summary appears after the worker\'s first decision.'));
      return;
    }
    const p = isObj(l.parameters) ? l.parameters : {};
    fill($('learning-meta'), int(l.observations) + ' observations · half-life ' + str(p.half_life_hours) + ' h · exploration ' + pct(p.epsilon));
    fill(el, Object.keys(l.markets).sort().map((k) => isObj(l.markets[k]) ? marketCard(k, l.markets[k]) : null));
  }

  // ---------- replays ----------
  function cell(p, name) {
    if (!isObj(p)) return h('td', { class: 'muted' }, DASH);
    const every = name === 'equal-runs-cron' && isNum(p.period_s) ? h('div', { class: 'muted small' }, 'every ' + dec(p.period_s / 60, 1) + ' min') : null;
    return h('td', { class: 'num' }, h('span', null, pct(p.coverage)), h('span', { class: 'muted small' }, ' · ' + int(p.runs) + ' runs'), every);
  }
  function select(r) {
    S.selected = r.id;
    const box = $('replay-detail');
    box.hidden = !r.svg;
    for (const tr of $('replays').querySelectorAll('tr')) tr.classList.toggle('sel', tr.dataset.id === String(r.id));
    if (!r.svg) return;
    const src = '/replays/' + encodeURIComponent(String(r.id)) + '/svg';
    fill($('replay-title'), 'Run #' + r.id + ' · ' + day(r.from) + ' → ' + day(r.to) + ' · ' + int(r.decisions) + ' decisions');
    $('replay-open').setAttribute('href', src);
    const img = $('replay-svg');
    if (img.getAttribute('src') !== src) img.setAttribute('src', src);
  }
  function renderReplays(list) {
    if (!changed('replays', list)) return;
    const body = $('replays');
    if (!list.length) {
      fill(body, h('tr', null, h('td', { class: 'empty', colspan: 10 }, 'No replay runs yet: run worker/orch-replay (see README).')));
      $('replay-detail').hidden = true;
      return;
    }
    const rows = [];
    for (const r of list) {
      const sum = isObj(r.scorecard_summary) && isObj(r.scorecard_summary.markets) ? r.scorecard_summary.markets : {};
      const markets = Object.keys(sum).sort();
      const files = Array.isArray(r.files) ? r.files : [];
      const inst = files.map((f) => isObj(f) ? str(f.instrument) : DASH).join(', ');
      const n = Math.max(1, markets.length);
      const pick = () => select(r);
      (markets.length ? markets : [null]).forEach((mk, k) => {
        const m = mk ? sum[mk] : null, pol = m && isObj(m.policies) ? m.policies : {};
        const orch = isObj(pol.orchestrator) ? pol.orchestrator : (m ? { coverage: m.coverage, runs: m.runs } : null);
        rows.push(h('tr', { class: 'replay-row', 'data-id': String(r.id), onclick: pick, tabindex: k === 0 ? 0 : null, onkeydown: (e) => { if (e.key === 'Enter') pick(); } },
          k === 0 ? h('td', { rowspan: n },
            h('div', null, '#' + r.id + ' ', h('span', { class: 'chip ' + (r.status === 'succeeded' ? 'good' : r.status === 'failed' ? 'bad' : 'warn') }, label(r.status))),
            h('div', { class: 'muted small' }, r.label ? str(r.label) + ' · ' : '', 'seed ' + str(r.seed))) : null,
          k === 0 ? h('td', { rowspan: n },
            h('div', null, day(r.from) + ' → ' + day(r.to)),
            h('div', { class: 'muted small', title: files.map((f) => isObj(f) ? str(f.file) : '').join('\n') }, inst || DASH),
            h('div', { class: 'muted small' }, int(r.decisions) + ' decisions' + (isObj(r.timings) && isNum(r.timings.replay_s) ? ' in ' + dec(r.timings.replay_s, 1) + ' s' : ''))) : null,
          h('td', null, mk ? h('span', { class: 'mode-' + mk }, mk) : h('span', { class: 'muted' }, r.error ? str(r.error) : DASH)),
          h('td', { class: 'num orch' }, orch ? [h('strong', null, pct(orch.coverage)), h('span', { class: 'muted small' }, ' · ' + int(orch.runs) + ' runs')] : DASH,
            m && isNum(m.runs_vs_market_hours_cron5) ? h('div', { class: 'muted small' }, pct(m.coverage_vs_market_hours_cron5) + ' of market-hours cron-5 coverage, ' + pct(m.runs_vs_market_hours_cron5) + ' of its runs')
              : m && isNum(m.runs_vs_cron5) ? h('div', { class: 'muted small' }, pct(m.coverage_vs_cron5) + ' of cron-5 coverage, ' + pct(m.runs_vs_cron5) + ' of its runs') : null,
            m && isNum(m.coverage_minus_equal_runs_cron) ? h('div', { class: 'muted small' }, (m.coverage_minus_equal_runs_cron >= 0 ? '+' : '') + dec(m.coverage_minus_equal_runs_cron * 100, 1) + ' points over the equal-runs cron') : null),
          POLICIES.map((p) => cell(pol[p], p)),
          h('td', null, m && typeof m.target_met === 'boolean'
            ? h('span', { class: 'chip ' + (m.target_met ? 'good' : 'bad'), title: 'target: ≥ 90% of ' + (m.target_basis || 'cron-5') + ' coverage with ≤ 35% of its runs' + (typeof m.target_met_vs_cron5 === 'boolean' ? '; against 24/7 cron-5: ' + (m.target_met_vs_cron5 ? 'met' : 'missed') : '') }, m.target_met ? 'target met' : 'missed')
            : h('span', { class: 'muted' }, DASH))));
      });
    }
    fill(body, rows);
    const keep = list.find((r) => r.id === S.selected) || list.find((r) => r.svg) || list[0];
    select(keep);
  }

  async function refresh() {
    clearTimeout(S.timer);
    if (document.hidden) return;
    const [st, rp] = await Promise.allSettled([getJSON('/status'), getJSON('/replays?limit=20')]);
    if (st.status === 'fulfilled') { showErr('learning-err', ''); renderLearning(st.value.learning); }
    else showErr('learning-err', 'Learning: ' + st.reason.message);
    if (rp.status === 'fulfilled' && Array.isArray(rp.value.replays)) { showErr('replays-err', ''); renderReplays(rp.value.replays); }
    else showErr('replays-err', 'Replays: ' + (rp.status === 'rejected' ? rp.reason.message : 'malformed answer'));
    S.timer = setTimeout(refresh, REFRESH_MS);
  }
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', refresh); else refresh();
})();
