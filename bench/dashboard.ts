// The dashboard's bench row (issue 16): how soon the page paints, and how long a line a
// process prints takes to show in the browser (target: under 300 ms). Run with
// `npx tsx bench/dashboard.ts` (after npm run build); BENCH_REPS pages (default 7), BENCH_LINES
// lines (default 30). Needs Debian's chromium (CHROMIUM_PATH to use another).
//
// Paint: a fresh page per rep; first-contentful-paint from the browser's own paint timing,
// and the time from navigation start to the process row shown (token handover, app.js, the
// first SSE event). Line latency: the process prints "mark <ms since epoch>" every 200 ms; a
// MutationObserver in the page notes when each line's node is added (same machine, same
// clock). Medians with (min-max).
import path from 'node:path';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';
import { cleanup, makeSandbox, SCRIPTS, start, track, waitFor } from '../tests/helpers.ts';
import { stat } from './lib.ts';

const REPS = Number(process.env.BENCH_REPS ?? 7);
const LINES = Number(process.env.BENCH_LINES ?? 30);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const fmt = (xs: number[]) => {
  const s = stat(xs);
  return `${s.median.toFixed(0)} ms (${s.min.toFixed(0)}-${s.max.toFixed(0)})`;
};

/** The figures, measured in a sandbox of their own; everything started is ended. */
export async function measureDashboard(): Promise<{ fcp: number[]; list: number[]; line: number[] }> {
  const sb = makeSandbox('bgm-bench-dash-');
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const dash = spawn(process.execPath, [path.join(SCRIPTS, '../dist/dashboard.mjs')], { env: sb.env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    track(sb, dash.pid!);
    let out = '';
    dash.stdout!.on('data', (d) => (out += d));
    const prog = 'import time\nwhile True:\n    print("mark %d" % int(time.time() * 1000), flush=True)\n    time.sleep(0.2)';
    const { id } = await start(sb, ['--name', 'marks', '--no-pty', '--', 'python3', '-c', prog]);
    const url = await waitFor('the Dashboard line', () => /^Dashboard: (\S+)$/m.exec(out)?.[1], 60_000);
    const fcp: number[] = [];
    const list: number[] = [];
    for (let i = 0; i < REPS; i++) {
      const page = await browser.newPage();
      await page.goto(url);
      await page.locator(`#procs tr[data-id="${id}"]`).waitFor({ timeout: 30_000 });
      list.push(await page.evaluate(() => performance.now()));
      fcp.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN));
      await page.close();
    }
    const page = await browser.newPage();
    await page.goto(url);
    await page.locator(`#procs tr[data-id="${id}"]`).click();
    await page.locator('#log .l').first().waitFor({ timeout: 30_000 });
    await page.evaluate(() => {
      const w = window as unknown as { lat: number[] };
      w.lat = [];
      new MutationObserver((muts) => {
        const now = Date.now();
        for (const m of muts) for (const n of m.addedNodes) {
          const t = /^mark (\d+)$/.exec(n.textContent ?? '')?.[1];
          if (t) w.lat.push(now - Number(t));
        }
      }).observe(document.getElementById('log')!, { childList: true });
    });
    await page.waitForFunction((n) => (window as unknown as { lat: number[] }).lat.length >= n, LINES, { timeout: 60_000 + LINES * 1000 });
    const line = await page.evaluate(() => (window as unknown as { lat: number[] }).lat);
    await page.close();
    return { fcp, list, line };
  } finally {
    await browser.close();
    dash.kill('SIGTERM');
    cleanup(sb);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureDashboard();
  console.log('| dashboard | median (min-max) |');
  console.log('| --- | --- |');
  console.log(`| first contentful paint (${r.fcp.length} page loads) | ${fmt(r.fcp)} |`);
  console.log(`| page load to the process list shown | ${fmt(r.list)} |`);
  console.log(`| a line printed -> shown in the browser (${r.line.length} lines; target < 300 ms) | ${fmt(r.line)} |`);
}
