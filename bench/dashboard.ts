// The dashboard's bench rows (issue 16): how soon the page paints, how soon a fresh page shows
// the first process row, and how long a line a process prints takes to show in the browser
// (target: under 300 ms). make bench runs it from its frozen copy of the skill; alone, run
// `npx tsx bench/dashboard.ts` (after npm run build: the checkout's dist/); BENCH_REPS pages
// (default 7), BENCH_LINES lines (default 30). Needs Debian's chromium (CHROMIUM_PATH to use
// another) and python3.
//
// Paint: a fresh page per rep; first-contentful-paint from the browser's own paint timing,
// and the time from navigation start to the process row shown (token handover, app.js, the
// first SSE event). Line latency: the process prints "mark <ms since epoch>" every 200 ms; a
// MutationObserver in the page notes when each line's node is added (same machine, same
// clock). Medians with (min-max).
import path from 'node:path';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';
import { cleanup, makeSandbox, ROOT, track, waitFor } from '../tests/helpers.ts';
import { stat, timeRun } from './lib.ts';

const REPS = Number(process.env.BENCH_REPS ?? 7);
const LIVE_SKILL = path.join(ROOT, 'skills/background-manager');
const LINES = Number(process.env.BENCH_LINES ?? 30);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const fmt = (xs: number[]) => {
  const s = stat(xs);
  return `${s.median.toFixed(0)} ms (${s.min.toFixed(0)}-${s.max.toFixed(0)})`;
};

/** The figures, measured in a sandbox of their own; everything started is ended. */
export async function measureDashboard(
  opts: { skill?: string; python?: string; reps?: number } = {},
): Promise<{ fcp: number[]; list: number[]; line: number[] }> {
  const skill = opts.skill ?? LIVE_SKILL; // the skill folder whose dist/ runs (make bench: its frozen copy)
  const python = opts.python ?? 'python3';
  const reps = opts.reps ?? REPS;
  const sb = makeSandbox('bgm-bench-dash-');
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const dash = spawn(process.execPath, [path.join(skill, 'dist/dashboard.mjs')], {
    env: sb.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    track(sb, dash.pid!);
    let out = '';
    dash.stdout!.on('data', (d) => (out += d));
    const prog =
      'import time\nwhile True:\n    print("mark %d" % int(time.time() * 1000), flush=True)\n    time.sleep(0.2)';
    const st = await timeRun(
      process.execPath,
      [path.join(skill, 'dist/start_process.mjs'), '--name', 'marks', '--no-pty', '--', python, '-c', prog],
      { env: sb.env, cwd: ROOT },
    );
    const id = /^Started process ([0-9a-f]{8}) /m.exec(st.stdout)?.[1];
    if (st.code !== 0 || !id) throw new Error(`start_process: exit ${st.code}\n${st.stdout}${st.stderr}`);
    const url = await waitFor('the Dashboard line', () => /^Dashboard: (\S+)$/m.exec(out)?.[1], 60_000);
    const fcp: number[] = [];
    const list: number[] = [];
    for (let i = 0; i < reps; i++) {
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
        for (const m of muts)
          for (const n of m.addedNodes) {
            const t = /^mark (\d+)$/.exec(n.textContent ?? '')?.[1];
            if (t) w.lat.push(now - Number(t));
          }
      }).observe(document.getElementById('log')!, { childList: true });
    });
    await page.waitForFunction((n) => (window as unknown as { lat: number[] }).lat.length >= n, LINES, {
      timeout: 60_000 + LINES * 1000,
    });
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
  console.log(`| page load to the first process row shown | ${fmt(r.list)} |`);
  console.log(`| a line printed -> shown in the browser (${r.line.length} lines; target < 300 ms) | ${fmt(r.line)} |`);
}
