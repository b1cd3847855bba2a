import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { TERMINAL_STATES } from '../../src/core/jobs/lifecycle';
import { ControlPlane, REPO } from '../support/control-plane';
import { ManualNode } from '../support/manual-node';
import { differingBlocks } from '../support/screenshots';
import { newWallet } from '../support/wallets';

/** Debian's chromium package (slurm/local/install.sh BROWSER=1); nothing is downloaded. */
const CHROMIUM = process.env.ARCH_TEST_CHROMIUM ?? '/usr/bin/chromium';
const BASELINE = join(REPO, 'test/fixtures/web-ui/islands.png');
/**
 * Share of 4x4 blocks allowed to differ from the baseline: anti-aliasing at the edges of text passes,
 * one heat map cell in another colour (0.2 %) does not. The cells' values and colours are also
 * checked exactly in the DOM.
 */
const MAX_DIFFERING = 0.0015;
const token = `${process.pid}-${Date.now().toString(36)}`;

/**
 * The web view at /ui/ in a real headless Chromium against the real API and worker: sign-in with a
 * key and with a (test) browser wallet, a script submitted through the form and followed to its
 * output and placement, hold/release/cancel from the job page, and the admins' islands, nodes,
 * queues and usage, the islands view compared with a committed screenshot.
 */
describe('web view (/ui/) in headless Chromium', { timeout: 180_000 }, () => {
  const cp = new ControlPlane('web_ui', { islands: [{ name: 'local-a' }], redisDb: 3 });
  let browser: Browser;
  let alice: { id: string; key: string };

  const context = (): Promise<BrowserContext> =>
    browser.newContext({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1, locale: 'en-US', timezoneId: 'UTC' });
  const signIn = async (page: Page, key: string) => {
    await page.goto(`${cp.url}/ui/`);
    await page.fill('#api-key', key);
    await page.click('#key-sign-in button[type=submit]');
    await page.locator('#nav').waitFor({ state: 'visible' });
  };
  const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';

  before(async () => {
    await cp.start();
    alice = await cp.researcher('web-alice', 'alice');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  });
  after(async () => {
    await browser?.close();
    await cp.stop();
  });

  it('is served by the API: the page and its modules under /ui/, with a CSP that allows only its own files', async () => {
    const page = await fetch(`${cp.url}/ui/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'.*frame-ancestors 'none'/);
    assert.match(await page.text(), /<script type="module" src="main.js">/);
    const script = await fetch(`${cp.url}/ui/main.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    const states = await fetch(`${cp.url}/ui/job-states.js`);
    assert.match(states.headers.get('content-type') ?? '', /javascript/);
    assert.match(states.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(await states.text(), `export const TERMINAL_STATES = ${JSON.stringify([...TERMINAL_STATES])};\n`);
    assert.equal((await fetch(`${cp.url}/ui`, { redirect: 'manual' })).headers.get('location'), '/ui/');
    for (const outside of ['/ui/tsconfig.json', '/ui/main.ts', '/ui/%2e%2e/%2e%2e/package.json'])
      assert.notEqual((await fetch(`${cp.url}${outside}`)).status, 200, outside);
  });

  it('refuses a wrong key, signs in with a right one and keeps the token in sessionStorage only', async () => {
    const ctx = await context();
    const page = await ctx.newPage();
    await page.goto(`${cp.url}/ui/`);
    await page.fill('#api-key', 'ak_not-a-key');
    await page.click('#key-sign-in button[type=submit]');
    await page.locator('#sign-in-error', { hasText: 'Not signed in' }).waitFor();
    await signIn(page, alice.key);
    assert.match(await text(page, '#who'), /web-alice \(researcher\)/);
    assert.equal(await page.evaluate('sessionStorage.getItem("archipelago.token")'), alice.key);
    assert.equal(await page.evaluate('localStorage.length'), 0);
    assert.deepEqual(await page.locator('#nav a').allTextContents(), ['Jobs', 'Submit', 'Islands', 'Queues', 'Usage']);
    await ctx.close();
  });

  it('submits a pasted script with the options form and shows it reach COMPLETED with its output and placement', async () => {
    const ctx = await context();
    const page = await ctx.newPage();
    await signIn(page, alice.key);
    await page.click('#nav a[href="#submit"]');
    await page.fill('#script', `#!/bin/bash\necho "hello from the web view ${token}"\n`);
    await page.fill('#opt-job-name', `web-${token}`);
    await page.fill('#opt-time', '2:00');
    await page.click('#submit-job');
    await page.waitForURL(/#jobs\/[^/]+$/);
    const id = decodeURIComponent(page.url().split('#jobs/')[1]);
    await page.locator('#job-state', { hasText: 'COMPLETED' }).waitFor({ timeout: 60_000 });
    await page.locator('#job-output', { hasText: `hello from the web view ${token}` }).waitFor({ timeout: 10_000 });
    await page.locator('#placement', { hasText: 'local-a' }).waitFor();
    assert.match(await text(page, '#placement'), /start-now|queued/);
    const job = (await cp.request('GET', `/v1/jobs/${id}`, alice.key)).json;
    assert.equal(job.name, `web-${token}`);
    assert.equal(job.options.timeLimitMinutes, 2);
    assert.equal(job.state, 'COMPLETED');
    // The list shows it too, with its island.
    await page.click('#nav a[href="#jobs"]');
    const row = page.locator('table.jobs tr', { hasText: id });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /COMPLETED.*local-a/);
    await ctx.close();
  });

  it('submits an uploaded script held, then releases, holds and cancels it from the job page', async () => {
    const ctx = await context();
    const page = await ctx.newPage();
    await signIn(page, alice.key);
    await page.click('#nav a[href="#submit"]');
    const script = '#!/bin/bash\nsleep 120\n';
    await page.setInputFiles('#script-file', { name: `held-${process.pid}.sh`, mimeType: 'text/x-shellscript', buffer: Buffer.from(script) });
    await page.waitForFunction(`document.getElementById('script').value.includes('sleep 120')`);
    await page.check('#opt-hold');
    // The begin time keeps it pending in SLURM once released, so hold can be shown on a pending job.
    await page.fill('#opt-extra', 'begin=now+1hour');
    await page.click('#submit-job');
    await page.waitForURL(/#jobs\/[^/]+$/);
    const id = decodeURIComponent(page.url().split('#jobs/')[1]);
    const job = () => cp.request('GET', `/v1/jobs/${id}`, alice.key).then((r) => r.json);
    assert.equal((await job()).name, `held-${process.pid}.sh`, 'an uploaded file names the job, as sbatch run.sh does');
    await page.locator('#job-state', { hasText: '(held)' }).waitFor();
    await page.click('#job-release');
    await cp.waitForJob(alice.key, id, (j) => j.hold === false);
    await page.locator('#job-hold').waitFor();
    assert.equal(await page.locator('#job-release').count(), 0);
    await page.click('#job-hold');
    await cp.waitForJob(alice.key, id, (j) => j.hold === true);
    await page.locator('#job-release').waitFor();
    await page.click('#job-cancel');
    await page.locator('#job-state', { hasText: 'CANCELLED' }).waitFor({ timeout: 30_000 });
    assert.equal((await job()).state, 'CANCELLED');
    assert.equal(await page.locator('.actions button').count(), 0, 'an ended job offers no action');
    await ctx.close();
  });

  it('signs in with a browser wallet (ADR-036 signature over the server challenge) and gets a session', async () => {
    const wallet = await newWallet();
    const mapped = await cp.request('PUT', `/v1/wallet-accounts/${wallet.address}`, cp.adminKey, { slurmUser: 'alice' });
    assert.equal(mapped.status, 200, mapped.text);
    const ctx = await context();
    // The extension's interface as Keplr offers it; the key and signature are real (cosmjs).
    await ctx.exposeFunction('testWalletSign', (message: string) => wallet.signArbitrary(message));
    await ctx.addInitScript({
      content: `window.keplr = { enable: async () => {}, getKey: async () => ({ bech32Address: ${JSON.stringify(wallet.address)} }),
        signArbitrary: async (_chainId, _signer, data) => window.testWalletSign(data) };`,
    });
    const page = await ctx.newPage();
    await page.goto(`${cp.url}/ui/`);
    await page.click('#wallet-sign-in button[type=submit]');
    await page.locator('#nav').waitFor({ state: 'visible' });
    assert.match(await text(page, '#who'), /\(researcher\)/);
    assert.match(String(await page.evaluate('sessionStorage.getItem("archipelago.token")')), /^st_/);
    await page.locator('#jobs-table', { hasText: 'No jobs yet.' }).waitFor();
    await page.click('#sign-out');
    await page.locator('#api-key').waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
    await ctx.close();
  });

  it('shows admins islands with members and tier, the RTT matrix as a heat map (screenshot), nodes, queues and usage', async () => {
    // Fixed data: four nodes joined through the agent protocol, fixed RTTs, two islands formed from them.
    const provider = await cp.provider('web-prov');
    const nodes = [new ManualNode(cp), new ManualNode(cp), new ManualNode(cp), new ManualNode(cp)];
    for (const node of nodes) {
      await node.join(provider.key);
      assert.equal((await node.heartbeat()).status, 200);
    }
    const rtt = [
      [null, 0.3, 40, 42],
      [0.3, null, 41, 39],
      [40, 41, null, 0.5],
      [null, 39, 0.5, null],
    ];
    for (const [from, node] of nodes.entries()) {
      const samples = rtt[from].flatMap((ms, to) => (to === from ? [] : [{ peer: nodes[to].id, rttMs: ms, loss: ms === null ? 1 : 0, probes: 5 }]));
      const report = await node.reportLatency(samples);
      assert.equal(report.status, 200, report.text);
    }
    await cp.sql(
      `INSERT INTO islands (name, topology_id, tier, bound_ms, state, launcher, diameter_ms, measured_diameter_ms, measured_pairs, inferred_pairs)
       VALUES ('web-1', 'web-a', 'tight', 2, 'ACTIVE', 'local', 0.3, 0.3, 1, 0), ('web-2', 'web-b', 'tight', 2, 'ACTIVE', 'local', 0.5, 0.5, 1, 0)`,
    );
    await cp.sql(`UPDATE nodes SET island = $2, slurm_island = $2 WHERE id = ANY($1)`, [[nodes[0].id, nodes[1].id], 'web-1']);
    await cp.sql(`UPDATE nodes SET island = $2, slurm_island = $2 WHERE id = ANY($1)`, [[nodes[2].id, nodes[3].id], 'web-2']);

    const ctx = await context();
    const page = await ctx.newPage();
    await signIn(page, cp.adminKey);
    await page.click('#nav a[href="#islands"]');
    await page.locator('#latency-map').waitFor();
    const card = page.locator('#formed-islands .island[data-island="web-1"]');
    assert.match((await card.textContent()) ?? '', /tight \(bound 2 ms\).*web-prov-1, web-prov-2/);
    assert.match(await text(page, '#configured-islands'), /local-a/);
    assert.equal(await page.locator('#latency-map rect.cell').count(), 16);
    // The diagonal and the one pair that lost every probe are the unmeasured cells.
    assert.equal(await page.locator('#latency-map rect.cell.unmeasured').count(), 5);
    assert.deepEqual(await page.locator('#latency-map rect.island-outline').evaluateAll((rects) => rects.map((r) => r.getAttribute('data-island'))), [
      'web-1',
      'web-2',
    ]);
    const fill = (ms: number) => page.locator(`#latency-map rect.cell[data-ms="${ms}"]`).first().getAttribute('fill');
    assert.equal(await fill(0.3), 'rgb(26, 152, 80)', 'the fastest pair is the scale’s green end');
    assert.equal(await fill(42), 'rgb(215, 48, 39)', 'the slowest pair is the scale’s red end');

    const shot = await page.locator('#formed-islands').screenshot();
    if (process.env.ARCH_UPDATE_SCREENSHOTS === '1') writeFileSync(BASELINE, shot);
    assert.ok(existsSync(BASELINE), `no baseline at ${BASELINE}: run this test once with ARCH_UPDATE_SCREENSHOTS=1 and commit the picture`);
    const diff = differingBlocks(shot, readFileSync(BASELINE));
    if (diff.differing > diff.total * MAX_DIFFERING) {
      const actual = join(REPO, '.stack/test/web-ui-islands.actual.png');
      mkdirSync(join(REPO, '.stack/test'), { recursive: true });
      writeFileSync(actual, shot);
      assert.fail(`the islands view differs from ${BASELINE} (${diff.sizes}; ${diff.differing} of ${diff.total} blocks): see ${actual}`);
    }

    await page.click('#nav a[href="#nodes"]');
    await page.locator('#nodes').waitFor();
    assert.match(await text(page, '#nodes'), /web-prov-1.*web-1.*web-prov-4.*web-2/s);
    await page.click('#nav a[href="#queues"]');
    await page.locator('#queues').waitFor();
    assert.match(await text(page, '#queues'), /local-a/);
    await page.click('#nav a[href="#usage"]');
    await page.locator('#usage').waitFor();
    assert.match(await text(page, '#usage'), /web-alice.*researcher.*alice/s);

    // A provider admin's key reads no jobs: the page opens on its own nodes (a new tab: its own sessionStorage).
    const providerPage = await ctx.newPage();
    await signIn(providerPage, provider.key);
    assert.deepEqual(await providerPage.locator('#nav a').allTextContents(), ['Nodes', 'Usage']);
    await providerPage.locator('#nodes').waitFor();
    assert.match(await text(providerPage, '#nodes'), /web-prov-1.*web-prov-4/s);
    await ctx.close();
  });
});
