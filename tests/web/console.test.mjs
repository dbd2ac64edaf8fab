// Browser scenarios of the web console (issue 8), run by tests/e2e/test_console.py against a
// real server and real agents: playwright-core drives the distribution's Chromium headless.
// Environment: TETHER_URL, TETHER_API_KEY, TETHER_AGENT_A / TETHER_AGENT_B (real agents, tagged
// group=a / group=b), TETHER_XSS_AGENT (a host whose update state is an HTML payload),
// TETHER_COMMAND (a saved command taking a parameter `word`), TETHER_ARTIFACTS (screenshots),
// CHROMIUM (default /usr/bin/chromium). Prints "ok - …" / "not ok - …"; exits 1 on a failure.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const env = (name, def) => {
  const v = process.env[name] ?? def;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const URL_ = env('TETHER_URL');
const KEY = env('TETHER_API_KEY');
const A = env('TETHER_AGENT_A');
const B = env('TETHER_AGENT_B');
const XSS_AGENT = env('TETHER_XSS_AGENT');
const SAVED = env('TETHER_COMMAND');
const ARTIFACTS = env('TETHER_ARTIFACTS');
const SLOW = Number(process.env.TETHER_TEST_SLOW || '1');
mkdirSync(ARTIFACTS, { recursive: true });

const browser = await chromium.launch({ executablePath: env('CHROMIUM', '/usr/bin/chromium') });
const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, acceptDownloads: true });
context.setDefaultTimeout(20000 * SLOW);
const page = await context.newPage();

// Anything that would mean script ran from data, or the page broke its own CSP, fails the run.
const problems = [];
page.on('dialog', async (d) => {
  problems.push(`a ${d.type()} dialog fired: ${d.message()}`);
  await d.dismiss();
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() === 'error' && !/status of 401|status of 403/.test(m.text())) problems.push(`console error: ${m.text()}`);
});

let failed = 0;
async function scenario(name, fn) {
  try {
    await fn();
    if (problems.length) throw new Error(problems.splice(0).join('; '));
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e.message.split('\n').slice(0, 6).join(' | ')}`);
  }
  const file = `${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`;
  await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true }).catch(() => {});
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

const hostRow = (name) => page.locator(`#hosts-body tr[data-name="${name}"]`);
const pane = (name) => page.locator(`#run-result .pane[data-name="${name}"]`);

async function runCommand(command, hosts) {
  await page.click('#tab-hosts');
  // Select exactly `hosts`.
  for (const name of [A, B]) {
    const box = hostRow(name).locator('input[type="checkbox"]');
    if ((await box.isChecked()) !== hosts.includes(name)) await box.click();
  }
  await page.click('#hosts-run');
  await page.check('input[name="target"][value="selected"]');
  await page.fill('#run-command', command);
  await page.click('#run-submit');
  await page.locator('#run-result .invhead code').waitFor();
}

async function paneDone(name, status) {
  await pane(name).and(page.locator(`[data-status="${status}"]`)).waitFor({ timeout: 30000 * SLOW });
}

await page.goto(URL_);

await scenario('bad key shows a clear error', async () => {
  await page.fill('#signin-key', 'tak_' + 'x'.repeat(43));
  await page.click('#signin-submit');
  await page.locator('#signin-error', { hasText: 'API key rejected' }).waitFor();
  check(await page.locator('#app').isHidden(), 'the console opened with a bad key');
  check(await page.evaluate(() => sessionStorage.getItem('tether.apiKey')) === null, 'a rejected key stayed stored');
});

await scenario('sign in', async () => {
  await page.fill('#signin-key', KEY);
  await page.click('#signin-submit');
  await page.locator('#app').waitFor();
  for (const name of [A, B]) await hostRow(name).locator('.status-text', { hasText: 'online' }).waitFor();
  check(!page.url().includes(KEY), 'the key is in the URL');
});

await scenario('filter hosts', async () => {
  await page.fill('#hosts-search', A);
  await hostRow(B).waitFor({ state: 'detached' });
  check(await hostRow(A).isVisible(), `${A} hidden by searching its own name`);
  await page.fill('#hosts-search', '');
  await page.fill('#hosts-tag', 'group=b');
  await hostRow(A).waitFor({ state: 'detached' });
  check(await hostRow(B).isVisible(), `${B} hidden by its own tag`);
  await page.fill('#hosts-tag', '');
  await page.selectOption('#hosts-status', 'offline');
  await hostRow(A).waitFor({ state: 'detached' });
  check(!(await hostRow(B).count()), 'an online host is listed as offline');
  await page.selectOption('#hosts-status', '');
  await hostRow(A).waitFor();
  await hostRow(B).waitFor();
});

await scenario('run on both hosts, one failing', async () => {
  // $0 is the script in the agent's data dir (agent-NAME): host B fails with a message on stderr.
  await runCommand(`echo "hello from $(basename $(dirname $(dirname $(dirname $0))))"; `
                   + `case "$0" in *agent-${B}/*) echo "B is broken" >&2; exit 3;; esac`, [A, B]);
  await paneDone(A, 'succeeded');
  await paneDone(B, 'failed');
  await pane(A).locator('pre.output', { hasText: `hello from agent-${A}` }).waitFor();
  await pane(B).locator('pre.output', { hasText: `hello from agent-${B}` }).waitFor();
  await pane(B).locator('pre.output .stderr', { hasText: 'B is broken' }).waitFor();
  check((await pane(A).locator('.exit').textContent()) === 'exit 0', 'A has no "exit 0"');
  check((await pane(B).locator('.exit').textContent()) === 'exit 3', 'B has no "exit 3"');
  await page.locator('#run-result .invhead .badge', { hasText: 'failed' }).waitFor();
});

await scenario('download full output', async () => {
  const [dl] = await Promise.all([
    page.waitForEvent('download'),
    pane(A).getByRole('button', { name: 'Download full output' }).click(),
  ]);
  const path = join(ARTIFACTS, 'download.log');
  await dl.saveAs(path);
  const text = (await import('node:fs')).readFileSync(path, 'utf8');
  check(text.includes(`hello from agent-${A}`), `downloaded output is ${JSON.stringify(text)}`);
});

await scenario('cancel a sleep 60', async () => {
  await runCommand('echo sleeping; sleep 60', [A]);
  await pane(A).locator('pre.output', { hasText: 'sleeping' }).waitFor();
  await page.click('#run-cancel');
  await paneDone(A, 'cancelled');
  await page.locator('#run-result .invhead .badge', { hasText: 'cancelled' }).waitFor();
  check(await page.locator('#run-cancel').isDisabled(), 'Cancel still enabled after the end');
});

await scenario('html in output and host data stays text', async () => {
  await runCommand(`printf '%s\\n' '<script>alert(1)</script>' '<img src=x onerror=alert(1)>'`, [A, B]);
  await paneDone(A, 'succeeded');
  await pane(A).locator('pre.output', { hasText: '<script>alert(1)</script>' }).waitFor();
  check(!(await page.locator('#run-result script, #run-result img').count()), 'output became elements');
  await page.click('#tab-hosts');
  const row = hostRow(XSS_AGENT);
  await row.locator('td', { hasText: '<img src=x onerror=alert(1)>' }).first().waitFor();
  check(!(await page.locator('#hosts-body img, #hosts-body script').count()), 'host data became elements');
  // Give a late onerror the chance to fire before the dialog check.
  await page.waitForTimeout(300);
});

await scenario('history shows the invocations and re-runs one', async () => {
  await page.click('#tab-history');
  const first = page.locator('#history-body tr').first();
  await first.locator('code', { hasText: '<script>alert(1)</script>' }).waitFor();
  await first.getByRole('button', { name: 'Open' }).click();
  await page.locator(`#history-detail .pane[data-name="${A}"] pre.output`, { hasText: '<script>alert(1)</script>' }).waitFor();
  await page.click('#history-rerun');
  await page.locator('#view-run').waitFor();
  check((await page.inputValue('#run-command')).includes('<script>alert(1)</script>'), 'the command was not prefilled');
});

await scenario('saved command invoked with a parameter', async () => {
  await page.click('#tab-commands');
  await page.getByRole('button', { name: SAVED }).click();
  await page.fill('#command-detail input[data-param="word"]', "it's; echo injected");
  await page.selectOption('#invoke-target', 'tag');
  await page.fill('#invoke-tag', 'group=a');
  await page.click('#invoke-submit');
  const done = page.locator(`#invoke-result .pane[data-name="${A}"][data-status="succeeded"]`);
  await done.waitFor({ timeout: 30000 * SLOW });
  // The value arrived as one argument: quoted by the server, not run.
  check((await done.locator('pre.output').textContent()) === "word=it's; echo injected\n",
        `output is ${JSON.stringify(await done.locator('pre.output').textContent())}`);
});

await scenario('dark scheme', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.click('#tab-hosts');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg !== 'rgb(247, 248, 250)', `the body stayed light in the dark scheme (${bg})`);
  await page.click('#tab-run');
});

await scenario('a 401 signs out', async () => {
  await page.evaluate(() => sessionStorage.setItem('tether.apiKey', 'tak_' + 'y'.repeat(43)));
  await page.click('#tab-hosts');
  await page.click('#hosts-refresh');
  await page.locator('#signin-error', { hasText: 'API key rejected' }).waitFor();
  check(await page.evaluate(() => sessionStorage.getItem('tether.apiKey')) === null, 'the key was kept');
});

await browser.close();
console.log(failed ? `${failed} scenario(s) failed` : 'all scenarios passed');
process.exit(failed ? 1 : 0);
