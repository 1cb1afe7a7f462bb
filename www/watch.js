// The watch card of the dashboard (GET /status "watch"): each market's
// activity against the threshold that wakes a decision, each source's request
// budget and the interval the watch samples it at, the last 24 hours'
// decisions by why they were made, and the live scorecard of the last 30 days
// as a small chart (volatile windows covered by a scan against what a cron
// making as many runs would have covered).  Everything is untrusted API data,
// put into the page as text or attribute values only (dom.js).
'use strict';
(() => {
  const { DASH, h, fill, isNum, isObj, str, int, dec, pct, label } = window.orchDom;
  const MARKETS = ['crypto', 'forex'];
  const SOURCES = { dexscreener: 'DexScreener', pumpfun: 'Pump.fun', tradermade: 'TraderMade', birdeye: 'Birdeye' };
  const PERIODS = ['minute', 'day', 'month'];
  const WAKES = ['scheduled', 'event', 'control', 'startup'];
  const SVG = 'http://www.w3.org/2000/svg';

  // an SVG element with attributes (numbers and strings only) and children
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) el.setAttribute(k, String(v));
    for (const c of kids.flat()) if (c != null) el.append(c instanceof Node ? c : String(c));
    return el;
  }

  function tile(name, value, sub, t) {
    return h('div', { class: 'tile' }, h('div', { class: 'label' }, name),
      h('div', { class: 'val ' + (t || '') }, value), sub ? h('div', { class: 'muted small' }, sub) : null);
  }

  // one market: its score against the threshold, as a meter
  function market(name, m) {
    if (!isObj(m)) return null;
    const sc = m.score, th = m.threshold;
    const r = isNum(sc) && isNum(th) && th > 0 ? Math.min(sc / th, 1) : NaN;
    const sub = [isNum(th) ? 'wakes at ' + dec(th, 2) : 'learning its threshold',
      isNum(m.windows) ? int(m.windows) + ' windows of history' : null,
      m.instrument ? 'most active ' + str(m.instrument) : null].filter(Boolean).join(' · ');
    return h('div', { class: 'tile watch-market', 'data-market': name },
      h('div', { class: 'label' }, name + (m.covered === true ? '' : ' (not watched now)')),
      h('div', { class: 'val ' + (isNum(r) && r >= 1 ? 'bad' : isNum(r) && r >= 0.7 ? 'warn' : '') }, isNum(sc) ? dec(sc, 2) : DASH),
      h('div', { class: 'meter thin' }, h('span', { 'data-w': isNum(r) ? Math.round(r * 100) : 0 })),
      h('div', { class: 'muted small' }, sub),
      h('div', { class: 'muted small' }, int(m.wakes) + ' decisions woken'));
  }

  // one source's budget: spend / limit per period, the interval now
  function sourceRow(key, x) {
    const lim = isObj(x.limits) ? x.limits : {}, used = isObj(x.used) ? x.used : {};
    const spend = PERIODS.filter((p) => isNum(lim[p])).map((p) => {
      const u = isNum(used[p]) ? used[p] : 0, r = lim[p] > 0 ? u / lim[p] : 0;
      return h('span', { class: 'chip ' + (r >= 0.9 ? 'bad' : r >= 0.7 ? 'warn' : 'good'), title: pct(r) + ' of this ' + p + "'s budget" },
        int(u) + ' / ' + int(lim[p]) + ' per ' + p);
    });
    const watched = x.watched === true;
    return h('tr', { 'data-source': key },
      h('td', null, h('strong', null, SOURCES[key])),
      h('td', null, watched ? (x.healthy === false ? h('span', { class: 'chip bad', title: str(x.error) }, 'failing')
        : h('span', { class: 'chip good' }, 'watched')) : h('span', { class: 'chip muted' }, 'not watched')),
      h('td', { class: 'watch-interval' }, watched && isNum(x.interval_seconds) ? 'every ' + int(x.interval_seconds) + ' s' : DASH,
        x.stretched === true ? h('div', { class: 'small warn' }, 'stretched: ' + str(x.why)) : null),
      h('td', null, spend.length ? h('span', { class: 'srcs' }, spend) : h('span', { class: 'muted' }, 'no budget')),
      h('td', null, int(x.samples)));
  }

  // the last 30 days per market: bars of volatile windows covered by a scan
  // (filled) and what a cron with the same runs would have covered (line)
  function chart(days, mk) {
    const rows = days.filter((d) => isObj(d) && d.market === mk && isNum(d.top) && d.top > 0);
    if (!rows.length) return null;
    const W = 300, H = 70, n = rows.length, bw = Math.max(2, Math.floor(W / Math.max(n, 10)) - 2);
    const x = (i) => i * (W / Math.max(n, 10));
    const y = (r) => H - Math.max(0, Math.min(1, r)) * H;
    const bars = rows.map((d, i) => s('rect', { x: x(i).toFixed(1), y: y(d.covered / d.top).toFixed(1), width: bw,
      height: (H - y(d.covered / d.top)).toFixed(1), class: 'cov' },
    s('title', null, str(d.day) + ': ' + int(d.covered) + ' of ' + int(d.top) + ' volatile windows covered, ' + int(d.runs) +
      ' runs (cron-5: ' + int(d.cron5_runs) + '); a cron with as many runs: ' + dec(d.equal_runs_covered, 1))));
    const pts = rows.map((d, i) => (x(i) + bw / 2).toFixed(1) + ',' + y(d.equal_runs_covered / d.top).toFixed(1)).join(' ');
    return h('div', { class: 'watch-chart' }, h('div', { class: 'label' }, mk + ': volatile windows covered, last ' + n + ' days'),
      s('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', height: H, role: 'img',
        'aria-label': mk + ' coverage per day against a cron with as many runs' },
      s('line', { x1: 0, y1: 0, x2: W, y2: 0, class: 'grid' }), bars,
      n > 1 ? s('polyline', { points: pts, class: 'eq' }) : null));
  }

  function scorecard(sc) {
    const days = sc && Array.isArray(sc.days) ? sc.days : [];
    const sum = sc && isObj(sc.summary) ? sc.summary : {};
    const tiles = MARKETS.filter((m) => isObj(sum[m])).map((m) => {
      const x = sum[m];
      return tile(m + ', last ' + int(x.days) + ' days',
        isNum(x.coverage_percent) ? x.coverage_percent.toFixed(1) + '%' : DASH,
        'of ' + int(x.top) + ' volatile windows covered with ' + int(x.runs) + ' runs (' +
          (isNum(x.runs_vs_cron5_percent) ? x.runs_vs_cron5_percent.toFixed(1) + '% of cron-5' : DASH) + '); a cron with as many runs: ' +
          (isNum(x.equal_runs_coverage_percent) ? x.equal_runs_coverage_percent.toFixed(1) + '%' : DASH),
        isNum(x.coverage_percent) && isNum(x.equal_runs_coverage_percent)
          ? (x.coverage_percent >= x.equal_runs_coverage_percent ? 'good' : 'warn') : '');
    });
    if (!tiles.length) return h('p', { class: 'muted small' }, 'No day scored yet: the scorecard fills in as the watch sees the market.');
    return [h('div', { class: 'tiles' }, tiles),
      h('div', { class: 'watch-charts' }, MARKETS.map((m) => chart(days, m))),
      h('p', { class: 'muted small' }, 'Bars: share of the day\'s volatile windows (top decile) a scan covered. Line: what a cron spending the same runs would have covered (averaged over its phases).')];
  }

  function render(el, w) {
    if (!el) return;
    if (!isObj(w) || w.active !== true) {
      fill(el, h('p', { class: 'muted' }, 'The watch has not reported yet (it samples the markets every WATCH_SECONDS once this worker leads).'),
        isObj(w) ? scorecard(w.scorecard) : null);
      return;
    }
    const ms = isObj(w.markets) ? w.markets : {}, ss = isObj(w.sources) ? w.sources : {};
    const d24 = isObj(w.decisions_24h) ? w.decisions_24h : {};
    fill(el,
      h('div', { class: 'tiles' }, MARKETS.map((m) => market(m, ms[m])),
        tile('Decisions, last 24 h', int(WAKES.reduce((a, k) => a + (isNum(d24[k]) ? d24[k] : 0), 0)),
          WAKES.filter((k) => isNum(d24[k]) && d24[k] > 0).map((k) => int(d24[k]) + ' ' + label(k)).join(' · ') || 'none')),
      h('p', { class: 'muted small' }, 'Activity of the current ' + int(w.window_minutes) + '-minute window against each instrument\'s usual one; a decision is woken when it crosses the threshold that ' +
        pct(w.event_share) + ' of the market\'s past windows reached.'),
      h('div', { class: 'label' }, 'Sources: request budgets'),
      h('div', { class: 'scroll' }, h('table', { class: 'table inner', id: 'watch-sources' },
        h('thead', null, h('tr', null, ['Source', 'Watch', 'Sampled', 'Spent this period', 'Samples'].map((x) => h('th', null, x)))),
        h('tbody', null, Object.keys(SOURCES).filter((k) => isObj(ss[k])).map((k) => sourceRow(k, ss[k]))))),
      h('div', { class: 'label' }, 'Live scorecard'),
      scorecard(w.scorecard));
    // meters: width set as a property (no inline style attribute: CSP)
    for (const b of el.querySelectorAll('.meter span[data-w]')) b.style.width = b.getAttribute('data-w') + '%';
  }

  // why a decision was made: "event" with the watch's signal, value and threshold
  function wakeChip(d) {
    if (!d || typeof d.wake !== 'string' || d.wake === 'scheduled') return null;
    const x = isObj(d.wake_detail) ? d.wake_detail : {};
    const t = d.wake === 'event'
      ? [x.market && str(x.market), x.signal && str(x.signal), isNum(x.value) && 'activity ' + dec(x.value, 2),
        isNum(x.threshold) && 'threshold ' + dec(x.threshold, 2)].filter(Boolean).join(' · ')
      : str(x.reason);
    return h('span', { class: 'chip wake-' + d.wake, title: t || null }, d.wake === 'event' ? 'woken: event' : label(d.wake));
  }
  function wakeText(d) {
    if (!d || typeof d.wake !== 'string') return DASH;
    const x = isObj(d.wake_detail) ? d.wake_detail : {};
    if (d.wake !== 'event') return label(d.wake) + (x.reason ? ': ' + str(x.reason) : '');
    return 'event: ' + [x.market && str(x.market), x.signal && str(x.signal), isNum(x.value) && 'activity ' + dec(x.value, 2),
      isNum(x.threshold) && 'over ' + dec(x.threshold, 2)].filter(Boolean).join(', ');
  }

  window.orchWatch = Object.freeze({ render, wakeChip, wakeText });
})();
