/// <reference lib="dom" />
// The dashboard page (bundled by build.mjs into dist/web/app.js). Everything it shows comes
// from the server's event streams (lib/web/feeds.ts): the process list, one process's lines,
// a PTY process's terminal bytes. Output is shown with textContent only: what a process
// prints is never read as HTML.
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import './app.css';
import { oneLine } from '../scripts/lib/util/format.ts';
import { renderEvents } from './events-panel.ts';

interface Proc {
  id: string;
  name: string | null;
  pid: number;
  status: string;
  label: string;
  command: string;
  pty: boolean;
  ports: number[];
  restarts: number;
  startedAt: string;
  endedAt: string | null;
  provenance: {
    folder: string;
    git: { worktree: string; branch: string | null; commit: string } | null;
  } | null;
  stale: boolean | null;
  waitingForInput: boolean | null;
}
interface LogLine {
  t: number;
  s: 'stdout' | 'stderr' | 'input' | 'event';
  x: string;
  /** The values its [REDACTED:kind] markers stand for, in order (a click shows one). */
  r?: string[];
  p?: boolean;
}

const token = sessionStorage.getItem('bg-token') ?? '';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const MAX_LINES = 20_000;
const LIVE = new Set(['running', 'orphaned', 'restarting', 'exiting', 'zombie']);

/**
 * A server-sent event stream read with fetch, so the token goes in the X-BG-Token header:
 * EventSource cannot send headers, and a cookie would not do (a browser sends 127.0.0.1's
 * cookies to every port of it, any other local server's included).
 */
interface Feed {
  close(): void;
}
function openFeed(
  url: string,
  on: Record<string, (data: string) => void>,
  status?: (live: boolean) => void,
  again = false,
): Feed {
  const abort = new AbortController();
  let closed = false;
  const run = async () => {
    const r = await fetch(url, { headers: { 'X-BG-Token': token }, signal: abort.signal });
    if (!r.ok || !r.body) throw new Error(`the dashboard answered ${r.status}`);
    status?.(true);
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        on[event]?.(data);
      }
    }
  };
  const loop = async () => {
    while (!closed) {
      await run().catch(() => undefined);
      if (closed || !again) return;
      status?.(false); // as EventSource: the process list reconnects after a moment
      await new Promise((ok) => setTimeout(ok, 2000));
    }
  };
  void loop();
  return {
    close() {
      closed = true;
      abort.abort();
    },
  };
}

let procs: Proc[] = [];
let selected: string | undefined;
let seenRun = ''; // startedAt of the run whose output streams are open
let logES: Feed | undefined;
let termES: Feed | undefined;
let lines: LogLine[] = [];
let term: Terminal | undefined;

function notice(text: string, bad = false): void {
  const n = $('notice');
  n.textContent = text;
  n.className = bad ? 'bad' : '';
}

// Today's times as times, older ones with their date.
function when(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
}

function cell(tr: HTMLTableRowElement, cls: string, text: string, label: string): HTMLTableCellElement {
  const td = tr.insertCell();
  td.className = cls;
  td.dataset.label = label; // shown before the value on a narrow window
  td.textContent = text;
  return td;
}

// Each port a link to it.
function portLinks(ports: number[]): DocumentFragment {
  const links = document.createDocumentFragment();
  for (const port of ports) {
    const a = document.createElement('a');
    a.href = `http://${location.hostname}:${port}/`;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = String(port);
    links.append(a, ' ');
  }
  return links;
}

// One line a row: a long name or command is cut (app.css) and shown whole on hover and in the
// detail; PID and restarts are in the detail.
function renderList(): void {
  const body = ($('procs') as HTMLTableElement).tBodies[0]!;
  body.replaceChildren();
  $('empty').hidden = procs.length > 0;
  for (const p of procs) {
    const tr = body.insertRow();
    tr.dataset.id = p.id;
    tr.className = p.id === selected ? 'sel' : '';
    const st = cell(tr, `status st-${p.status}`, p.label, 'Status');
    // Waits for input (the kernel's answer, list_processes' INPUT column): a mark, and the row's class.
    if (p.waitingForInput) {
      tr.classList.add('waiting-input');
      const mark = document.createElement('span');
      mark.className = 'input-mark';
      mark.title = 'waits for input';
      mark.textContent = 'input';
      st.append(' ', mark);
    }
    const name = cell(tr, 'name', p.name ? `${oneLine(p.name)} (${p.id})` : p.id, 'Name');
    name.title = name.textContent!;
    cell(tr, 'ports', '', 'Ports').append(portLinks(p.ports));
    cell(tr, 'started', when(p.startedAt), 'Started');
    cell(tr, 'ended', when(p.endedAt), 'Ended');
    // As list_processes shows them: a bidi control cannot reorder the command, a control is seen.
    cell(tr, 'command', oneLine(p.command), 'Command').title = oneLine(p.command);
    tr.addEventListener('click', () => select(p.id));
  }
}

// Where it was started: branch and worktree (list_processes --json's provenance), and whether its worktree moved on.
function fromText(p: Proc): string {
  const g = p.provenance?.git;
  if (!p.provenance) return '';
  if (!g) return `Started from ${oneLine(p.provenance.folder)} (not a git worktree)`;
  const branch = g.branch === null ? `detached at ${g.commit.slice(0, 8)}` : `branch ${oneLine(g.branch)}`;
  const stale = p.stale ? ' · stale: its worktree is on another commit now; restart it to run the new code' : '';
  return `Started from ${branch} in ${oneLine(g.worktree)}${stale}`;
}

// What the row leaves out or cuts: the whole command, PID, ports, restarts, times.
function renderMeta(p: Proc): void {
  const dl = $('d-meta');
  dl.replaceChildren();
  const item = (label: string, value: string | Node, cls = '') => {
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = label;
    dd.className = cls;
    dd.append(value);
    dl.append(dt, dd);
  };
  item('Command', oneLine(p.command), 'd-command');
  item('PID', String(p.pid));
  if (p.ports.length) item('Ports', portLinks(p.ports));
  if (p.restarts) item('Restarts', String(p.restarts));
  item('Started', when(p.startedAt));
  if (p.endedAt) item('Ended', when(p.endedAt));
}

function renderDetail(): void {
  const p = procs.find((x) => x.id === selected);
  $('main').classList.toggle('picked', !!p); // the list narrows to make room (app.css)
  $('detail-empty').hidden = !!p;
  $('detail-body').hidden = !p;
  viewSoon(); // the terminal's viewer: held or let go (a process selected, gone or ended)
  if (!p) return;
  $('d-title').textContent = `${oneLine(p.name ?? p.id)} · ${p.label}`;
  $('d-from').textContent = fromText(p);
  renderMeta(p);
  ($('b-stop') as HTMLButtonElement).disabled = !LIVE.has(p.status);
  // Typing only into a running process: an ended one's detail takes none.
  const running = p.status === 'running';
  $('send-form').hidden = !running;
  $('term-hint').hidden = !running;
  if (term) term.options.disableStdin = !running;
  $('t-term').hidden = !p.pty;
  if (!p.pty) showTab('output');
  // A new run (restart_process, a --restart policy): its output streams are opened again.
  if (p.startedAt !== seenRun) openStreams(p);
}

function matchesFilter(l: LogLine): boolean {
  const s = ($('stream') as HTMLSelectElement).value;
  const okStream = s === 'all' || (s === 'output' ? l.s === 'stdout' || l.s === 'stderr' : l.s === s);
  if (!okStream) return false;
  const q = ($('search') as HTMLInputElement).value;
  if (!q) return true;
  try {
    return new RegExp(q, 'i').test(l.x);
  } catch {
    return l.x.toLowerCase().includes(q.toLowerCase());
  }
}

function lineNode(l: LogLine): HTMLElement {
  const div = document.createElement('div');
  div.className = `l l-${l.s}${l.p ? ' partial' : ''}`;
  div.textContent = l.x === '' ? '\u00a0' : l.x;
  div.title = new Date(l.t).toLocaleTimeString();
  if (l.r?.length) revealable(div, l.x, l.r);
  return div;
}

// A secret is shown as its [REDACTED:kind] marker; a click on the marker shows its value.
function revealable(div: HTMLElement, text: string, values: string[]): void {
  div.replaceChildren();
  let at = 0;
  let i = 0;
  for (const m of text.matchAll(/\[REDACTED:[\w.:-]+\]/g)) {
    div.append(text.slice(at, m.index));
    const value = values[i++];
    const span = document.createElement('span');
    span.className = 'secret';
    span.textContent = m[0];
    if (value !== undefined) {
      span.title = 'Click to show this secret';
      span.style.cursor = 'pointer';
      span.style.textDecoration = 'underline dotted';
      span.addEventListener('click', (e) => {
        e.stopPropagation();
        span.textContent = span.textContent === m[0] ? value : m[0];
      });
    }
    div.append(span);
    at = m.index + m[0].length;
  }
  div.append(text.slice(at));
}

function renderLines(): void {
  const log = $('log');
  log.replaceChildren(...lines.filter(matchesFilter).map(lineNode));
  scrollDown();
}

function scrollDown(): void {
  if (($('follow') as HTMLInputElement).checked) $('log').scrollTop = $('log').scrollHeight;
}

// A partial line (a prompt) is replaced by its longer self, then by the whole line.
function addLines(batch: LogLine[]): void {
  const log = $('log');
  for (const l of batch) {
    const last = lines[lines.length - 1];
    const replaces = last?.p && last.s === l.s && last.t === l.t;
    if (replaces) {
      lines.pop();
      if (log.lastElementChild?.classList.contains('partial')) log.lastElementChild.remove();
    }
    lines.push(l);
    if (matchesFilter(l)) log.append(lineNode(l));
  }
  if (lines.length > MAX_LINES) {
    lines = lines.slice(-MAX_LINES);
    renderLines();
  }
  scrollDown();
}

const fromBase64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const toBase64 = (bytes: Uint8Array) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''));

function openStreams(p: Proc): void {
  logES?.close();
  termES?.close();
  seenRun = p.startedAt;
  lines = [];
  renderLines();
  logES = openFeed(`/api/log/${encodeURIComponent(p.id)}?n=2000`, {
    lines: (d) => addLines(JSON.parse(d)),
    issue: (d) => notice(`Log: ${JSON.parse(d)}`, true),
    end: () => logES?.close(),
  });
  if (!p.pty) return;
  term ??= newTerminal();
  termES = openFeed(`/api/term/${encodeURIComponent(p.id)}`, {
    reset: (d) => {
      const r = JSON.parse(d) as {
        cols: number;
        rows: number;
        data: string;
        resizes?: { at: number; cols: number; rows: number }[];
      };
      term!.reset();
      term!.resize(r.cols, r.rows);
      // Queries in the replay (where is the cursor? what terminal is this?) were asked long
      // ago, of no one: xterm's answers to them would be typed into the process. Dropped.
      replaying = true;
      // At the sizes in force: the terminal is resized where the log says its size changed.
      const bytes = fromBase64(r.data);
      let from = 0;
      for (const c of r.resizes ?? []) {
        term!.write(bytes.subarray(from, c.at));
        term!.write('', () => term!.resize(c.cols, c.rows));
        from = c.at;
      }
      term!.write(bytes.subarray(from), () => (replaying = false));
    },
    out: (d) => term!.write(fromBase64(JSON.parse(d))),
    resize: (d) => {
      const r = JSON.parse(d) as { cols: number; rows: number };
      term!.write('', () => term!.resize(r.cols, r.rows));
    },
    end: () => termES?.close(),
  });
}

// Keystrokes go in order, one request at a time, each as the exact bytes xterm made of them.
let typing: Promise<unknown> = Promise.resolve();
let replaying = false;
function newTerminal(): Terminal {
  const t = new Terminal({ cols: 200, rows: 50, fontSize: baseFont(), scrollback: 1000, convertEol: false });
  t.open($('term'));
  const enc = new TextEncoder();
  t.onData((d) => {
    const id = selected;
    if (!id || replaying || procs.find((p) => p.id === id)?.status !== 'running') return;
    typing = typing.then(() => act('send', id, { data: toBase64(enc.encode(d)) }, true));
  });
  t.onResize(() => {
    fitSoon();
    viewSoon();
  });
  new ResizeObserver(() => {
    fitSoon();
    viewSoon();
  }).observe($('term'));
  return t;
}

// The terminal's font: legible (13 px, 11 on a phone), smaller while its columns would not
// fit the pane, never under MIN_FONT px.
const MIN_FONT = 10;
const baseFont = () => (innerWidth < 700 ? 11 : 13);
let fitting = 0;
function fitSoon(): void {
  cancelAnimationFrame(fitting);
  fitting = requestAnimationFrame(() => term && fitFont(term));
}
function fitFont(t: Terminal): void {
  const screen = t.element?.querySelector('.xterm-screen');
  const room = $('term').clientWidth;
  if (!screen || !room || $('term-view').hidden) return;
  const width = screen.getBoundingClientRect().width;
  const size = t.options.fontSize ?? baseFont();
  const want = Math.max(MIN_FONT, Math.min(baseFont(), Math.floor((size * room) / width)));
  if (want === size) return;
  t.options.fontSize = want;
  viewSoon(); // measured again at this font
}

// While a person looks at a running PTY process's terminal (its tab open, the page visible),
// the page is one of its viewers (lib/web/viewers.ts): the terminal takes the smallest
// viewer's size, the page's being the cols x rows that fit its pane at the base font. The page
// lets go when the person looks away; its size follows the pane's (debounced).
let view: { id: string; feed: Feed; key?: string; size: string } | undefined;
let viewing = 0;
function viewSoon(): void {
  clearTimeout(viewing);
  viewing = window.setTimeout(syncView, 250);
}
function syncView(): void {
  const p = procs.find((x) => x.id === selected);
  const looking = p?.pty && p.status === 'running' && !$('term-view').hidden && document.visibilityState === 'visible';
  const size = looking ? paneSize() : undefined;
  if (!p || !size) {
    view?.feed.close();
    view = undefined;
    return;
  }
  const wanted = `${size.cols}x${size.rows}`;
  if (view?.id === p.id) {
    if (view.key && view.size !== wanted) void act('view', p.id, { viewer: view.key, ...size }, true);
    view.size = wanted;
    return;
  }
  view?.feed.close();
  const v: typeof view = { id: p.id, size: wanted, feed: { close() {} } };
  v.feed = openFeed(`/api/view/${encodeURIComponent(p.id)}?cols=${size.cols}&rows=${size.rows}`, {
    viewer: (d) => {
      v.key = JSON.parse(d);
      v.size = '';
      viewSoon(); // the pane may have changed while it opened
    },
    end: () => v.feed.close(),
  });
  view = v;
}
// The cols x rows of the base font's cells that fit the terminal's pane (a scrollbar's width
// spared). A cell is measured on the terminal at that font, else on a line of text like it
// (close: once the terminal has the font, it is measured again).
function paneSize(): { cols: number; rows: number } | undefined {
  const screen = term?.element?.querySelector('.xterm-screen')?.getBoundingClientRect();
  const pane = $('term');
  if (!term || !screen?.width || !pane.clientWidth) return;
  let cell = { w: screen.width / term.cols, h: screen.height / term.rows };
  if (term.options.fontSize !== baseFont()) {
    const probe = document.createElement('span');
    probe.style.cssText = `position:absolute;visibility:hidden;white-space:pre;font:${baseFont()}px ${term.options.fontFamily}`;
    probe.textContent = 'W'.repeat(50);
    pane.append(probe);
    const r = probe.getBoundingClientRect();
    probe.remove();
    cell = { w: r.width / 50, h: Math.ceil(r.height) };
  }
  return {
    cols: Math.max(20, Math.floor((pane.clientWidth - 14) / cell.w)),
    rows: Math.max(5, Math.floor(pane.clientHeight / cell.h)),
  };
}

function showTab(which: 'output' | 'term'): void {
  $('output-view').hidden = which !== 'output';
  $('term-view').hidden = which !== 'term';
  $('t-output').classList.toggle('on', which === 'output');
  $('t-term').classList.toggle('on', which === 'term');
  if (which === 'term') {
    fitSoon();
    term?.focus();
  }
  viewSoon();
}

function select(id: string): void {
  if (selected !== id) seenRun = '';
  selected = id;
  location.hash = `p=${id}`;
  renderList();
  renderDetail();
  const p = procs.find((x) => x.id === id);
  showTab(p?.pty ? 'term' : 'output');
}

async function act(what: string, id: string, body: object = {}, quiet = false): Promise<void> {
  try {
    const r = await fetch(`/api/${what}/${encodeURIComponent(id)}`, {
      method: 'POST',
      headers: { 'X-BG-Token': token, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const j = (await r.json()) as { ok: boolean; message?: string; error?: string };
    if (!j.ok) notice(j.error ?? `failed (${r.status})`, true);
    else if (!quiet) notice(j.message ?? 'done');
  } catch (err) {
    notice(`the dashboard did not answer: ${(err as Error).message}`, true);
  }
}

function wire(): void {
  $('b-stop').addEventListener('click', () => selected && act('stop', selected));
  $('b-restart').addEventListener('click', () => selected && act('restart', selected));
  $('b-remove').addEventListener('click', () => {
    const p = procs.find((x) => x.id === selected);
    if (p && confirm(`Remove ${oneLine(p.name ?? p.id)} and delete its log? This cannot be undone.`))
      act('remove', p.id);
  });
  $('send-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('send-text') as HTMLInputElement;
    if (selected) act('send', selected, { text: input.value });
    input.value = '';
  });
  $('search').addEventListener('input', renderLines);
  $('stream').addEventListener('change', renderLines);
  $('t-output').addEventListener('click', () => showTab('output'));
  $('t-term').addEventListener('click', () => showTab('term'));
  document.addEventListener('visibilitychange', viewSoon);
  addEventListener('pagehide', () => view?.feed.close());
  openFeed(
    '/api/events',
    {
      processes: (d) => {
        const snap = JSON.parse(d) as { processes?: Proc[]; error?: string };
        if (snap.error) return notice(snap.error, true);
        procs = snap.processes ?? [];
        if (selected && !procs.some((p) => p.id === selected)) selected = undefined;
        renderList();
        renderDetail();
      },
      lifecycle: renderEvents,
    },
    (live) => ($('conn').textContent = live ? 'live' : 'reconnecting…'),
    true,
  );
  const wanted = /^#p=([0-9a-f]+)$/.exec(location.hash)?.[1];
  if (wanted) selected = wanted;
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', wire);
else wire();
