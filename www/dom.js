// DOM and formatting helpers shared by app.js and replay.js (loaded first).
// Everything from the API is untrusted: h() and fill() only ever put it into
// the page as text nodes or attribute values, never as HTML.
'use strict';
(() => {
  const DASH = '—';
  // h(tag, props, ...kids): an element; props "class", "style" (set through the
// CSSOM), "on<event>" handlers,
  // other attributes (true: present, null/false: absent); kids flattened,
  // strings become text nodes, null/false dropped.
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v == null || v === false) continue;
        if (k === 'class') el.className = v;
        // through the CSSOM, which the page's Content-Security-Policy (style-src
        // 'self', no inline style attributes) allows
        else if (k === 'style') el.style.cssText = String(v);
        else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of kids.flat(Infinity)) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : String(c)); // strings become text nodes
    }
    return el;
  }
  // Replace an element's children; arrays are flattened, null/false dropped.
  const fill = (el, ...kids) => el.replaceChildren(...kids.flat(Infinity).filter((c) => c != null && c !== false));
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const str = (v) => (v == null || v === '' || (typeof v === 'number' && !isNum(v))) ? DASH : String(v);
  const int = (v) => isNum(v) ? Math.round(v).toLocaleString() : DASH;
  const dec = (v, n = 2) => isNum(v) ? v.toFixed(n) : DASH;
  const pct = (v) => isNum(v) ? (v * 100).toFixed(v === 0 || v >= 0.9995 ? 0 : 1) + '%' : DASH;
  const label = (v) => (typeof v === 'string' && v) ? v.replace(/_/g, ' ') : DASH;
  window.orchDom = Object.freeze({ DASH, h, fill, isNum, isObj, str, int, dec, pct, label });
})();
