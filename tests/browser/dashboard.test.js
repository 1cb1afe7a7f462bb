// The dashboard (www/) in headless Chromium (Debian's /usr/bin/chromium),
// driven by playwright-core: run by tests/e2e/e2e_browser.sh against the
// running stack.  Prints one "ok - ..." or "not ok - ..." line per check and
// "# ..." notes; exits 0 when every check passed.
//
// Environment: PLAYWRIGHT_CORE (path of the installed playwright-core),
// BASE (the dashboard through nginx), TOKEN (the API token), MARKUP (the
// token name with markup the stand-in's DexScreener serves and the stand-in
// LLM quotes), SHOTS (a directory for screenshots), CHROMIUM (default
// /usr/bin/chromium).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const BASE = process.env.BASE, TOKEN = process.env.TOKEN, MARKUP = process.env.MARKUP;
const SHOTS = process.env.SHOTS;
let passed = 0, failed = 0;
const ok = (d) => { passed++; console.log('ok - ' + d); };
const notOk = (d) => { failed++; console.log('not ok - ' + d); };
const note = (d) => console.log('# ' + d);
const check = (d, cond, why) => (cond ? ok(d) : notOk(d + (why ? ': ' + why : '')));

// poll fn() until it returns a truthy value or ms pass: the value, or null
async function until(ms, fn) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { /* not yet */ }
    if (Date.now() >= end) return null;
    await new Promise((r) => setTimeout(r, 250));
  }
}
async function api(method, p) {
  const r = await fetch(BASE + p, {
    method, headers: method === 'POST' ? { Authorization: 'Bearer ' + TOKEN } : {},
    signal: AbortSignal.timeout(10000),
  });
  return { status: r.status, body: await r.json() };
}
const status = async () => (await api('GET', '/status')).body;
const newestId = async () => ((await api('GET', '/decisions?limit=1')).body.decisions[0] || {}).id || 0;
let shot = 0;
async function screenshot(page, name) {
  const f = path.join(SHOTS, String(++shot).padStart(2, '0') + '-' + name + '.png');
  await page.screenshot({ path: f, fullPage: true });
  note('screenshot ' + f);
}
// the decision ids shown in the table, newest first
const shownIds = (page) => page.$$eval('#decisions tr.drow button.caret',
  (bs) => bs.map((b) => Number((b.getAttribute('aria-label') || '').replace(/\D+/g, ''))));

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
  });
  try {
    await run(context);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function run(context) {
  const page = context.pages()[0] || await context.newPage();
  const errors = [], dialogs = [], outside = [];
  let phase = 'load';
  page.on('console', (m) => { if (m.type() === 'error') errors.push({ phase, text: m.text() }); });
  page.on('pageerror', (e) => errors.push({ phase, text: 'uncaught: ' + e.message }));
  page.on('dialog', async (d) => { dialogs.push(d.type() + ': ' + d.message()); await d.dismiss(); });
  page.on('response', (r) => { if (r.status() >= 400) note(`HTTP ${r.status()} for ${r.request().method()} ${r.url()} (${phase})`); });
  page.on('request', (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith('data:')) outside.push(r.url()); });

  // ---- the page loads and shows the stack ------------------------------------------
  const resp = await page.goto(BASE + '/', { waitUntil: 'load' });
  check('the dashboard answers 200', resp && resp.status() === 200, resp && String(resp.status()));
  const running = await until(20000, async () => (await page.textContent('#state')) === 'Running');
  check('the page shows the worker Running', running, await page.textContent('#state'));
  const rows = await until(20000, async () => (await shownIds(page)).length > 0);
  check('decisions are listed', rows);
  await until(10000, async () => /Live/.test(await page.textContent('#conn-text')));
  check('the connection says Live', /Live/.test(await page.textContent('#conn-text')), await page.textContent('#conn-text'));
  await screenshot(page, 'loaded');
  check('no console error while loading', errors.length === 0, JSON.stringify(errors));

  // ---- the watch: its card, and why a decision was made ---------------------------------
  phase = 'watch';
  const sources = await until(20000, async () => page.isVisible('#watch-sources tr[data-source="dexscreener"]'));
  check('the watch card lists DexScreener with its budget', sources && /per minute/.test(await page.textContent('#watch-sources')),
        await page.textContent('#watch'));
  check('the watch card shows the crypto market\'s activity', await page.isVisible('#watch .watch-market[data-market="crypto"]'));
  const eventId = Number(process.env.EVENT_ID);
  const chipSel = `#decisions tr.drow:has(button[aria-label="Details of decision ${eventId}"]) .chip.wake-event`;
  const chip = await until(20000, async () => page.isVisible(chipSel));
  check(`decision #${eventId} shows it was woken by an event`, chip && (await page.textContent(chipSel)) === 'woken: event');
  const title = chip ? await page.getAttribute(chipSel, 'title') : '';
  check('the wake chip says which signal crossed which threshold', /crypto/.test(title) && /activity:dex:e2ePair/.test(title) &&
        /threshold 1\.50/.test(title), title);
  await page.click(`#decisions button[aria-label="Details of decision ${eventId}"]`);
  const woken = await until(10000, async () => /event: crypto, activity:dex:e2ePair, activity 14\.20, over 1\.50/
    .test(await page.textContent('#decisions tr.drow-detail')));
  check('its detail says "Woken by" the event, with value and threshold', woken);
  await page.click(`#decisions button[aria-label="Details of decision ${eventId}"]`);
  await screenshot(page, 'watch');

  // ---- it refreshes by itself ---------------------------------------------------------
  phase = 'refresh';
  await page.evaluate(() => { window.__noReload = 1; });
  const before = await newestId();
  const forced = await api('POST', '/control/force-decision');
  check('a decision forced through the API (202)', forced.status === 202, String(forced.status));
  const newer = await until(20000, async () => (await newestId()) > before);
  check('the worker made it', newer);
  const after = await newestId();
  const shown = await until(30000, async () => (await shownIds(page)).includes(after));
  check(`decision #${after} appears in the page without a reload`, shown && await page.evaluate(() => window.__noReload === 1));
  await screenshot(page, 'refreshed');

  // ---- control: the buttons ask for the token and act -------------------------------------
  phase = 'control';
  await page.click('#btn-stop');
  const dlg = await until(5000, async () => page.isVisible('#dlg'));
  check('Stop opens the control dialog', dlg);
  check('the dialog asks for the token', await page.isVisible('#dlg-token'));
  await page.fill('#dlg-token', TOKEN + '-wrong');
  await page.click('#dlg-ok');
  const refused = await until(10000, async () => /401/.test(await page.textContent('#dlg-msg')));
  check('a wrong token is refused in the dialog (401)', refused, await page.textContent('#dlg-msg'));
  await screenshot(page, 'wrong-token');
  await page.fill('#dlg-token', TOKEN);
  await page.click('#dlg-ok');
  check('the dialog closes after Stop is sent', await until(10000, async () => !(await page.isVisible('#dlg'))));
  check('Stop reaches the worker (/status running false)', await until(15000, async () => (await status()).running === false));
  check('the page shows Stopped', await until(15000, async () => (await page.textContent('#state')) === 'Stopped'),
        await page.textContent('#state'));
  await screenshot(page, 'stopped');

  await page.click('#btn-start');
  await until(5000, async () => page.isVisible('#dlg'));
  check('with the token saved, the dialog does not ask again', await page.isHidden('#dlg-token-row') && await page.isVisible('#dlg-saved'));
  await page.click('#dlg-ok');
  check('Start reaches the worker (/status running true)', await until(15000, async () => (await status()).running === true));
  check('the page shows Running again', await until(15000, async () => (await page.textContent('#state')) === 'Running'));

  const beforeForce = await newestId();
  await page.click('#btn-force');
  await until(5000, async () => page.isVisible('#dlg'));
  await page.click('#dlg-ok');
  const forcedId = await until(20000, async () => {
    const d = (await api('GET', '/decisions?limit=5')).body.decisions.find((x) => x.id > beforeForce && x.source === 'forced');
    return d ? d.id : 0;
  });
  check('Force decision makes a forced decision', forcedId);
  check(`the forced decision #${forcedId} shows in the page`, await until(20000, async () => (await shownIds(page)).includes(forcedId)));
  const toast = await until(10000, async () => (await page.isVisible('#toast')) && await page.textContent('#toast'));
  check('a message says the command was done or accepted', toast && /(accepted|done)/.test(toast), String(toast));
  // the one console error allowed here: the browser's own line for the 401 of the wrong token
  const ctlErrors = errors.filter((e) => e.phase !== 'load' && !/status of 401/.test(e.text));
  check('no console error while refreshing and controlling (besides the deliberate 401)', ctlErrors.length === 0, JSON.stringify(ctlErrors));

  // ---- a decision row expands to its audit --------------------------------------------------
  phase = 'expand';
  const llmRow = await until(20000, async () => {
    const d = (await api('GET', '/decisions?limit=20')).body.decisions.find((x) => x.source === 'llm');
    return d && (await shownIds(page)).includes(d.id) ? d.id : 0;
  });
  check('an LLM decision is listed', llmRow);
  await page.click(`#decisions button.caret[aria-label="Details of decision ${llmRow}"]`);
  const detail = await until(15000, async () => {
    const t = await page.textContent('#decisions tr.drow-detail');
    return t && /LLM audit/.test(t) && /Raw model output/.test(t) && !/Loading…/.test(t) ? t : null;
  });
  check(`decision #${llmRow} expands to its audit (LLM audit, calls, raw output, inputs)`, detail && /LLM calls/.test(detail) && /Inputs/.test(detail));
  await screenshot(page, 'expanded');

  // ---- market text with markup is text, not HTML -----------------------------------------------
  phase = 'markup';
  const rawText = await page.textContent('#decisions tr.drow-detail pre.raw');
  check('the raw model output quoting the token name is shown as text', rawText && rawText.includes(MARKUP), String(rawText).slice(0, 200));
  const reasonText = await page.$$eval('#decisions td.reason-cell', (tds) => tds.map((t) => t.textContent).join('\n'));
  check('the reason with the token name is shown as text in the table', reasonText.includes(MARKUP));
  const injected = await page.evaluate(() => document.querySelectorAll('img[src="x"], [onerror]').length);
  check('no element was made from the markup', injected === 0, String(injected));
  check('no script ran from it (no alert dialog)', dialogs.length === 0, JSON.stringify(dialogs));
  check('the page loaded nothing from outside', outside.length === 0, JSON.stringify(outside.slice(0, 5)));
  check('no console error at all (besides the deliberate 401)', errors.filter((e) => !/status of 401/.test(e.text)).length === 0,
        JSON.stringify(errors));
  await screenshot(page, 'markup-as-text');
}

main().then(() => {
  console.log(`# browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}, (e) => {
  console.log('not ok - the browser test crashed: ' + (e && e.stack || e));
  process.exit(1);
});
