// notebook.test.mjs - Trellis in Debian's classic Notebook UI, driven by
// Playwright through Debian's chromium: make a notebook with the Trellis
// kernel from the tree page's New menu, run Lua, display and %%sql cells,
// check what renders (HTML tables, an SVG plot, stream output, a traceback,
// an interrupt), complete registry names, columns and magics with Tab,
// save, take screenshots, and close and halt. Run by run_notebook_test.py,
// which starts the server; every wait is on the page's state, none on time.
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through run_notebook_test.py`);
  return v;
};
const base = env('TRELLIS_NB_URL');
const token = env('TRELLIS_NB_TOKEN');
const artifacts = env('TRELLIS_ARTIFACTS');
const timeout = Number(process.env.TRELLIS_BROWSER_TIMEOUT_MS || 120000);

const log = [];  // the pages' console and errors, shown on failure
const note = (line) => log.push(line);
let browser;
let nb;  // the notebook's page
let step = 'start';

function artifact(name) {
  return path.join(artifacts, name);
}

// ---- the notebook's cells --------------------------------------------------

const cell = (i) => nb.locator('#notebook-container .cell').nth(i);
const output = (i) => cell(i).locator('.output_area');

// Types code into cell i as the keyboard would (insertText: no
// auto-closed brackets, no auto-indent) and checks the editor has it.
async function typeInto(i, code) {
  await cell(i).locator('.CodeMirror').click();
  await nb.keyboard.insertText(code);
  const text = await nb.evaluate((n) => Jupyter.notebook.get_cell(n).get_text(), i);
  assert.equal(text, code, `cell ${i} holds what was typed`);
}

// Runs cell i with Shift-Enter and waits for its execute_reply, shown as
// the prompt's number replacing `*`. Outputs travel on iopub, which may
// arrive after the reply: callers wait for each output they check.
async function run(i) {
  await nb.keyboard.press('Shift+Enter');
  await nb.waitForFunction((n) => {
    const p = document.querySelectorAll('#notebook-container .cell')[n]
      .querySelector('.input_prompt');
    return /In\s*\[\d+\]/.test(p.textContent);
  }, i, { timeout });
}

async function typeAndRun(i, code) {
  await typeInto(i, code);
  await run(i);
}

// Waits for a selector inside cell i's output area; returns its locator.
async function outputOf(i, selector, what) {
  const loc = output(i).locator(selector).first();
  try {
    await loc.waitFor({ state: 'visible', timeout });
  } catch (e) {
    const shown = await output(i).allInnerTexts().catch(() => []);
    throw new Error(`cell ${i}: no ${what} (${selector}) in its output; ` +
                    `the output area shows: ${JSON.stringify(shown)}`);
  }
  return loc;
}

async function waitForText(loc, pattern, what) {
  const el = await loc.elementHandle();
  try {
    await nb.waitForFunction(([e, src, flags]) => new RegExp(src, flags).test(e.innerText),
                             [el, pattern.source, pattern.flags], { timeout });
  } catch (e) {
    const text = await loc.innerText().catch(() => '(gone)');
    throw new Error(`${what}: ${JSON.stringify(text)} does not match ${pattern}`);
  }
}

async function headers(table) {
  return (await table.locator('thead th').allInnerTexts()).map((t) => t.trim());
}

// Presses Tab in the editor and returns the completer's dropdown options
// ({text, kind}: kind "introspection" came from the kernel).
async function completionOptions() {
  await nb.keyboard.press('Tab');
  await nb.locator('#complete select option').first().waitFor({ timeout });
  return nb.$$eval('#complete select option',
                   (os) => os.map((o) => ({ text: o.textContent, kind: o.className })));
}

// Presses Tab where the kernel has one match: the completer inserts it.
async function completeInline(i, expected) {
  await nb.keyboard.press('Tab');
  await nb.waitForFunction(([n, want]) => Jupyter.notebook.get_cell(n).get_text() === want,
                           [i, expected], { timeout });
}

// The notebook scrolls inside #site, not the document, so a full-page
// screenshot would stop at the window: grow the window to the notebook.
async function screenshotWhole(file) {
  const height = await nb.evaluate(() => document.querySelector('#header').offsetHeight +
                                         document.querySelector('#notebook').scrollHeight);
  await nb.setViewportSize({ width: 1280, height: Math.min(height + 20, 12000) });
  await nb.waitForFunction(() => {
    const site = document.querySelector('#site');
    return site.scrollHeight <= site.clientHeight + 1;
  }, null, { timeout });
  await nb.screenshot({ path: file });
}

// ---- the steps -------------------------------------------------------------

async function steps() {
  browser = await chromium.launch({
    executablePath: process.env.TRELLIS_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--disable-dev-shm-usage'],  // small /dev/shm in containers
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(timeout);
  context.on('page', (p) => {
    p.on('console', (m) => note(`[console.${m.type()}] ${m.text()}`));
    p.on('pageerror', (e) => note(`[pageerror] ${e.message}`));
  });

  step = 'tree page lists the Trellis kernel in New';
  const tree = await context.newPage();
  await tree.goto(`${base}tree?token=${token}`);
  await tree.locator('#new-dropdown-button').click();
  const entry = tree.locator('#kernel-trellis a');
  assert.equal((await entry.innerText()).trim(), 'Trellis');
  const opened = context.waitForEvent('page');
  await entry.click();
  nb = await opened;

  step = 'the new notebook runs the Trellis kernel';
  await nb.waitForLoadState('domcontentloaded');
  await nb.locator('#kernel_indicator_icon.kernel_idle_icon').waitFor({ state: 'attached' });
  assert.equal((await nb.locator('.kernel_indicator_name').innerText()).trim(), 'Trellis');
  await nb.waitForFunction(() => Jupyter.notebook.kernel && Jupyter.notebook.kernel.info_reply &&
                                 Jupyter.notebook.kernel.info_reply.implementation);
  const info = await nb.evaluate(() => {
    const r = Jupyter.notebook.kernel.info_reply;
    return { implementation: r.implementation, language: r.language_info.name,
             protocol: r.protocol_version, kernel: Jupyter.notebook.kernel.name,
             mode: Jupyter.notebook.get_cell(0).code_mirror.getOption('mode'),
             version: Jupyter.version };
  });
  console.log(`notebook ${info.version}, kernel ${info.kernel}: ${info.implementation} ` +
              `(protocol ${info.protocol}, ${info.language}, editor mode ${JSON.stringify(info.mode)})`);
  assert.equal(info.implementation, 'trellis');
  assert.equal(info.kernel, 'trellis');
  assert.equal(info.language, 'lua');

  step = 'a Lua cell: _VERSION';
  await typeAndRun(0, '_VERSION');
  await waitForText(await outputOf(0, '.output_result', 'execute_result'),
                    /"Lua 5\.4"/, 'the result of _VERSION');

  step = 'read a CSV, register frames, print';
  await typeAndRun(1, [
    'f = features.read_csv("churn.csv")',
    'features.register("churn", f)',
    'features.register("churn_active", f:filter(f.churned:not_()))',
    'print("rows", #f)'].join('\n'));
  await waitForText(await outputOf(1, '.output_stdout', 'stream output'),
                    /rows\s+8/, 'the printed row count');

  step = 'a frame displays as an HTML table';
  await typeAndRun(2, 'f');
  const frame = await outputOf(2, '.output_html table', 'HTML table');
  assert.deepEqual((await headers(frame)).map((h) => h.split(/\s/)[0]),
                   ['', 'user_id', 'plan', 'tenure', 'monthly_spend', 'churned']);
  assert.ok((await frame.locator('td').allInnerTexts()).includes('120.25'),
            'the frame table shows 120.25');

  step = 'f:hist draws an SVG';
  await typeAndRun(3, 'f:hist("monthly_spend")');
  const svg = await outputOf(3, 'svg', 'SVG plot');
  const box = await svg.boundingBox();
  assert.ok(box && box.width > 100 && box.height > 50, `the SVG is drawn (${JSON.stringify(box)})`);
  assert.ok(await svg.locator('rect').count() >= 2, 'the histogram has bars');

  step = 'a %%sql cell renders a table';
  await typeAndRun(4, '%%sql\nSELECT plan, count(*) AS n FROM churn GROUP BY plan ORDER BY plan');
  const sql = await outputOf(4, '.output_html table', 'SQL result table');
  assert.deepEqual((await headers(sql)).map((h) => h.split(/\s/)[0]), ['', 'plan', 'n']);
  const rows = await sql.locator('tbody tr').evaluateAll(
    (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
  assert.deepEqual(rows, [['basic', '3'], ['pro', '3'], ['team', '2']]);

  step = 'an error renders a traceback';
  await typeAndRun(5, 'local x = 1\nerror("boom from the browser")');
  const tb = await outputOf(5, '.output_error', 'traceback');
  await waitForText(tb, /LuaError[\s\S]*In \[\d+\], line 2: boom from the browser[\s\S]*stack traceback/,
                    'the traceback');

  step = 'Tab in a %%sql cell offers registry names';
  await typeInto(6, '%%sql\nSELECT tenure FROM ch');
  const options = await completionOptions();
  await nb.screenshot({ path: artifact('browser-completion.png') });
  const fromKernel = options.filter((o) => o.kind.includes('introspection')).map((o) => o.text);
  assert.ok(fromKernel.includes('churn') && fromKernel.includes('churn_active'),
            `the kernel offers both registered frames: ${JSON.stringify(options)}`);
  await nb.locator('#complete select option', { hasText: /^churn_active$/ }).click();
  await nb.waitForFunction(() => Jupyter.notebook.get_cell(6).get_text() ===
                                 '%%sql\nSELECT tenure FROM churn_active');
  await nb.locator('#complete').waitFor({ state: 'detached' });
  await run(6);
  const active = await outputOf(6, '.output_html table', 'SQL result table');
  const tenures = await active.locator('tbody td').allInnerTexts();
  assert.deepEqual(tenures.map((t) => t.trim()), ['26', '40', '12', '30']);

  step = 'Tab completes a frame column in Lua';
  await typeInto(7, '#f.monthly');
  await completeInline(7, '#f.monthly_spend');
  await run(7);
  await waitForText(await outputOf(7, '.output_result', 'execute_result'), /^\s*8\s*$/, 'the column length');

  step = 'Tab completes a magic; %features lists the registry';
  await typeInto(8, '%feat');
  await completeInline(8, '%features');
  await run(8);
  const registry = await outputOf(8, '.output_html table', '%features table');
  const names = await registry.locator('tbody tr td:first-child').allInnerTexts();
  assert.ok(names.includes('churn') && names.includes('churn_active'),
            `%features lists both frames: ${JSON.stringify(names)}`);

  step = 'the stop button interrupts a cell; the cell queued after it is aborted';
  await typeInto(9, 'while true do end');
  await nb.keyboard.press('Escape');
  await nb.keyboard.press('b');  // a cell below, in command mode
  await typeInto(10, 'print("never runs")');
  await cell(9).locator('.CodeMirror').click();
  await nb.locator('#celllink').click();  // Cell > Run All Below
  await nb.locator('#run_all_cells_below a').click();
  await nb.locator('#kernel_indicator_icon.kernel_busy_icon').waitFor({ state: 'attached' });
  await waitForText(cell(10).locator('.input_prompt'), /In\s*\[\*\]/, 'the queued cell');
  // An interrupt that reaches the kernel before the cell starts is
  // ignored (README): press stop until the cell answers.
  const interrupted = output(9).locator('.output_error');
  for (let tries = 0; !(await interrupted.count()); tries++) {
    assert.ok(tries < 20, 'the cell stopped after 20 interrupts');
    await nb.locator('button[data-jupyter-action="jupyter-notebook:interrupt-kernel"]').click();
    await interrupted.waitFor({ timeout: 5000 }).catch(() => {});
  }
  await waitForText(interrupted, /KeyboardInterrupt/, 'the interrupted cell');
  // aborted, as ipykernel's: no number (a count would show as In [n]),
  // no output
  await waitForText(cell(10).locator('.input_prompt'), /^In\s*\[\s*\]:$/, 'the aborted cell');
  assert.equal(await output(10).count(), 0, 'the aborted cell has no output');
  await nb.locator('#kernel_indicator_icon.kernel_idle_icon').waitFor({ state: 'attached' });

  step = 'save';
  await nb.evaluate(() => {
    window.trellisSaved = false;
    Jupyter.notebook.events.one('notebook_saved.Notebook', () => { window.trellisSaved = true; });
  });
  await nb.keyboard.press('Escape');
  await nb.keyboard.press('Control+S');
  await nb.waitForFunction(() => window.trellisSaved);
  await screenshotWhole(artifact('browser-notebook.png'));

  step = 'File > Close and Halt';
  const closed = nb.waitForEvent('close');
  await nb.locator('#filelink').click();
  await nb.locator('#close_and_halt a').click();
  await closed;

  const errors = log.filter((l) => l.startsWith('[pageerror]'));
  assert.deepEqual(errors, [], 'no uncaught errors in the pages');
}

try {
  await steps();
  console.log('ok - every step passed');
  await browser.close();
} catch (e) {
  console.error(`FAIL at step "${step}": ${e.stack || e}`);
  if (nb && !nb.isClosed()) {
    await nb.screenshot({ path: artifact('browser-failure.png'), fullPage: true })
      .then(() => console.error(`screenshot: ${artifact('browser-failure.png')}`))
      .catch((err) => console.error(`no screenshot: ${err.message}`));
  }
  console.error('---- browser console ----\n' + log.join('\n') + '\n---- end of console ----');
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
