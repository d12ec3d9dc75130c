// Browser test of the dashboard in Debian's headless Chromium, against the dev server
// (fake_cluster_server) or any running job manager with a RUNNING job:
//   node dashboard_test.mjs --server path/to/fake_cluster_server --out screenshots/
//   node dashboard_test.mjs --url http://127.0.0.1:8086 [--token T] --out screenshots/
//   node dashboard_test.mjs --run 'cdcflow run job.so --rest-port 0 ...' --out screenshots/
// (--run starts a real job in the local mini-cluster and reads its dashboard address from
// the "dashboard on http://..." line it prints.)
// Exits non-zero on the first failed check; screenshots stay in --out as artefacts.
import {chromium} from 'playwright-core';
import {spawn} from 'node:child_process';
import {mkdirSync} from 'node:fs';
import assert from 'node:assert/strict';

const argv = process.argv.slice(2);
const opt = name => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const outDir = opt('--out') || 'screenshots';
mkdirSync(outDir, {recursive: true});

let server = null;
const fake = !!opt('--server');
async function startRun(command) {
  server = spawn('bash', ['-c', 'exec ' + command], {stdio: ['ignore', 'ignore', 'pipe']});
  return await new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('job did not start serving in 60 s: ' + buf)), 60000);
    server.stderr.on('data', d => {
      buf += d;
      const m = buf.match(/dashboard on (http:\/\/\S+?)\/?\s/);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    server.on('exit', code => reject(new Error(`job exited with ${code}: ${buf}`)));
    server.on('error', e => reject(e));
  });
}
async function startServer(bin) {
  server = spawn(bin, ['--port', '0', '--fake-connect', '--tick-ms', '300'], {stdio: ['ignore', 'pipe', 'inherit']});
  return await new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('dev server did not start in 20 s')), 20000);
    server.stdout.on('data', d => {
      buf += d;
      const m = buf.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    server.on('exit', code => reject(new Error('dev server exited with ' + code)));
    server.on('error', e => reject(e));
  });
}

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push([name, true]);
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}: ${e.stack || e}`);
    throw e;
  }
}

let browser;
let exitCode = 0;
try {
  const base = opt('--url') || (opt('--run') ? await startRun(opt('--run')) : await startServer(opt('--server')));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const context = await browser.newContext({viewport: {width: 1440, height: 900}, colorScheme: 'light'});
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const pageErrors = [];
  page.on('pageerror', e => pageErrors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') pageErrors.push(m.text()); });
  // Everything the page loads must come from the job manager: no CDN, no internet.
  const foreign = [];
  page.on('request', r => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url()); });

  let jobId;
  await check('overview lists the running job', async () => {
    await page.goto(base + '/');
    const row = page.locator('[data-testid=job-row]').filter({hasText: 'RUNNING'}).first();
    await row.waitFor();
    jobId = await row.getAttribute('data-job');
    assert.ok(jobId, 'job row has an id');
    await page.screenshot({path: `${outDir}/01-overview.png`, fullPage: true});
  });

  await check('job graph shows every vertex with non-zero throughput', async () => {
    await page.locator(`[data-testid=job-row][data-job="${jobId}"]`).click();
    await page.locator('[data-testid=job-graph]').waitFor();
    const nodes = page.locator('[data-testid=vertex]');
    // The fake moves every vertex; a real job at least its sources (a sink may only
    // write at the end, e.g. an aggregation).
    await page.waitForFunction(all => {
      const v = [...document.querySelectorAll('[data-testid=vertex]')];
      const moving = n => Number(n.dataset.rateIn) > 0 || Number(n.dataset.rateOut) > 0;
      return v.length > 0 && (all ? v.every(moving) : v.some(moving));
    }, fake);
    const count = await nodes.count();
    assert.ok(count >= 2, `graph has ${count} vertices`);
    const edges = await page.locator('.dag-edge').count();
    assert.ok(edges >= count - 1, `graph has ${edges} edges for ${count} vertices`);
    const label = await nodes.first().textContent();
    assert.match(label, /\d+(\.\d)?[kMG]?\/s/, "vertex shows a rate");
    assert.equal(await page.locator('[data-testid=job-state]').textContent(), 'RUNNING');
    // Throughput is live: the first vertex's record count moves between polls.
    const before = await page.locator('tbody tr').first().textContent();
    await page.waitForFunction(b => document.querySelector('tbody tr').textContent !== b, before);
    await nodes.nth(Math.min(2, count - 1)).click();
    await page.locator('[data-testid=subtasks] tbody tr').first().waitFor();
    await page.screenshot({path: `${outDir}/02-job-graph.png`, fullPage: true});
  });

  await check('checkpoints tab shows the history', async () => {
    await page.locator('[data-testid=tab-checkpoints]').click();
    await page.locator('[data-testid=checkpoints]').waitFor();
    if (fake) {  // a real job shows its history once checkpointing exists
      await page.locator('[data-testid=checkpoint-row]').first().waitFor();
      assert.match(await page.locator('[data-testid=checkpoints]').textContent(), /COMPLETED/);
    }
    await page.screenshot({path: `${outDir}/03-checkpoints.png`, fullPage: true});
  });

  await check('lag and exceptions tabs render', async () => {
    await page.locator('[data-testid=tab-lag]').click();
    await page.getByText('Lag per partition').waitFor();
    await page.screenshot({path: `${outDir}/04-lag.png`, fullPage: true});
    await page.locator('[data-testid=tab-exceptions]').click();
    await page.getByText(/Restarts:/).waitFor();
  });

  await check('pipeline page shows connect, topics, job and sinks', async () => {
    await page.goto(base + '/#/pipeline');
    await page.locator('[data-testid=pipeline-job]').first().waitFor();
    assert.ok(await page.locator('[data-testid=sink]').count() >= 1, 'a sink card');
    if (fake) {
      await page.locator('[data-testid=connector]').first().waitFor();
      assert.ok(await page.locator('[data-testid=topic]').count() >= 1, 'a topic card');
    }
    await page.screenshot({path: `${outDir}/05-pipeline.png`, fullPage: true});
  });

  await check('task managers page lists slots', async () => {
    await page.goto(base + '/#/taskmanagers');
    await page.locator('.slots i').first().waitFor();
    await page.screenshot({path: `${outDir}/06-taskmanagers.png`, fullPage: true});
  });

  await check('dark theme renders the graph', async () => {
    await page.goto(`${base}/#/jobs/${jobId}/graph`);
    await page.locator('#theme-btn').click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.locator('[data-testid=vertex]').first().waitFor();
    await page.screenshot({path: `${outDir}/07-job-graph-dark.png`, fullPage: true});
    await page.locator('#theme-btn').click();
  });

  if (fake) {
    await check('savepoint from the UI appears in the checkpoint history', async () => {
      await page.goto(`${base}/#/jobs/${jobId}/graph`);
      await page.locator('[data-testid=savepoint-job]').click();
      await page.locator('[data-testid=confirm]').click();
      await page.waitForFunction(() => location.hash.endsWith('/checkpoints'));
      await page.locator('[data-testid=checkpoint-row]').filter({hasText: 'savepoint'}).first().waitFor();
    });

    await check('submit uploads a plugin and opens the new job', async () => {
      await page.goto(`${base}/#/submit`);
      await page.locator('[data-testid=submit-file]').setInputFiles(
          {name: 'ui_job.so', mimeType: 'application/octet-stream', buffer: Buffer.from('\x7fELF from the browser test')});
      await page.locator('textarea[name=args]').fill('--topic pg.public.orders');
      await page.locator('input[name=parallelism]').fill('3');
      await page.locator('[data-testid=submit-button]').click();
      await page.waitForFunction(id => /#\/jobs\/[^/]+\/graph/.test(location.hash) && !location.hash.includes(id), jobId);
      await page.locator('h1').filter({hasText: 'ui_job'}).waitFor();
      assert.equal(await page.locator('[data-testid=job-state]').textContent(), 'RUNNING');
      await page.screenshot({path: `${outDir}/09-submitted.png`, fullPage: true});
    });
  }

  if (opt('--token')) {
    await check('the REST token is entered through the UI', async () => {
      await page.goto(`${base}/#/jobs/${jobId}/graph`);
      await page.locator('#token-btn').click();
      await page.locator('input[type=password]').fill(opt('--token'));
      await page.locator('[data-testid=confirm]').click();
      // The dialog's promise resolves after the click handler: wait for the save, not race it.
      await page.waitForFunction(t => localStorage.getItem('cdcflow.token') === t, opt('--token'),
                                 {timeout: 10000}).catch(() => {});
      assert.equal(await page.evaluate(() => localStorage.getItem('cdcflow.token')), opt('--token'));
    });
  }

  await check('cancel from the UI cancels the job', async () => {
    await page.goto(`${base}/#/jobs/${jobId}/graph`);
    // Only the hash changes: the previous page (the job submitted above) stays on screen,
    // its cancel button too, until this job's page has rendered. Click this job's.
    await page.locator('.jobhead .meta .mono').filter({hasText: jobId}).waitFor();
    await page.locator('[data-testid=cancel-job]').click();
    await page.locator('[data-testid=confirm]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=job-state]')?.textContent === 'CANCELED');
    assert.ok(await page.locator('[data-testid=cancel-job]').isDisabled(), 'cancel button disabled once cancelled');
    await page.screenshot({path: `${outDir}/08-cancelled.png`, fullPage: true});
    const state = await page.evaluate(async id => (await (await fetch('/api/v1/jobs/' + id)).json()).state, jobId);
    assert.equal(state, 'CANCELED');
  });

  await check('no page errors and nothing loaded from outside', async () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(foreign, []);
  });
} catch (e) {
  exitCode = 1;
  if (!results.length || results[results.length - 1][1]) console.log('FAIL setup: ' + (e.stack || e));
} finally {
  if (browser) await browser.close();
  if (server && server.exitCode === null) server.kill('SIGTERM');
}
const passed = results.filter(r => r[1]).length;
console.log(`screenshots in ${outDir}`);
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(exitCode);
