// Secrets kept out of what agents read (issue 27; SECURITY.md "What agents read"): text with
// each secret replaced by a marker naming its kind, `[REDACTED:aws-access-token]`.
// What counts: gitleaks' default rules (secret-rules.gen.ts, converted by
// tools/gen-secret-rules.mjs), a PEM private key block, and the values a process was given
// as secrets (start_process --env NAME=VALUE with a secret-looking NAME, --secret-env NAME).
// Cost: a keyword prefilter (one pass of an Aho-Corasick automaton over the text, lower-cased;
// for a process's first few short texts, each keyword looked for: rulesByScan) picks the rules
// worth running; a rule's pattern is compiled the first time it is needed and
// runs on windows of WINDOW characters, so a long line costs linear time whatever it holds
// (V8's backtracking engine: a pattern never sees more than a window).
import { GLOBAL_ALLOW, RULES as GITLEAKS } from './secret-rules.gen.ts';

export interface SecretAllow {
  regexes?: string[];
  stopwords?: string[];
  /** What the regexes test: the secret (default), the whole match, or the line. */
  target?: string;
  condition?: string;
}

export interface SecretRule {
  id: string;
  re: string;
  /** `i`: case-insensitive throughout. */
  flags?: string;
  keywords: string[];
  entropy?: number;
  group?: number;
  allow?: SecretAllow[];
}

/** What a secret becomes: the kind named, nothing of the value. */
export function marker(kind: string): string {
  return `[REDACTED:${kind}]`;
}

/** Names whose --env value is hidden: they contain TOKEN, SECRET, PASSWORD, PASSWD, CREDENTIAL or end in _KEY. */
export function isSecretName(name: string): boolean {
  return /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|_KEY$/i.test(name);
}

/** A value shorter than this is never hidden as a value (it would hide ordinary words). */
export const MIN_SECRET_VALUE = 8;

/**
 * The values of a process to hide, by variable name: each --env value whose name looks secret
 * (isSecretName), and each variable named by --secret-env (`secretEnv`: name to value), when at
 * least MIN_SECRET_VALUE characters long.
 */
export function secretValues(env?: Record<string, string>, secretEnv?: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env ?? {})) if (isSecretName(k) && v.length >= MIN_SECRET_VALUE) out[k] = v;
  for (const [k, v] of Object.entries(secretEnv ?? {})) if (v.length >= MIN_SECRET_VALUE) out[k] = v;
  return out;
}

/** A pattern sees at most this many characters at once; windows overlap by OVERLAP. */
export const WINDOW = 2048;
const OVERLAP = 512;

export interface Redactor {
  /** `text` with each secret replaced by its marker; `key` (a stream) carries a PEM block across lines. */
  text(text: string, key?: string): string;
  /** text(), with the values each marker stands for, in order (the page reveals them on a click). */
  withValues(text: string, key?: string): { text: string; values: string[] };
  /** The same for text as written (--raw): found with escape sequences left out, each replaced with what it spans. */
  raw(text: string, key?: string): string;
  /** How many different secrets were hidden so far (each value counted once), and of which kinds. */
  readonly hidden: number;
  readonly kinds: Set<string>;
}

/** The one line a reader prints when anything was hidden (`how`: how to see them, e.g. "--reveal"). */
export function hiddenNote(r: Redactor | undefined, how: string): string | undefined {
  if (!r?.hidden) return undefined;
  const n = r.hidden;
  return `${n} secret${n === 1 ? ' was' : 's were'} hidden as [REDACTED:kind] (${[...r.kinds].sort().join(', ')}); ${how} shows them.`;
}

interface Span {
  start: number;
  end: number;
  kind: string;
}

/** The redactor for a process's output: the rules plus its --env and --secret-env values (none for no record). */
export function recordRedactor(rec?: { env?: Record<string, string>; secretEnv?: Record<string, string> }): Redactor {
  return redactor(secretValues(rec?.env, rec?.secretEnv));
}

/** A redactor for one read: the rules, plus `values` (variable name to value) of the process read. */
export function redactor(values: Record<string, string> = {}): Redactor {
  const vals = Object.entries(values)
    .filter(([, v]) => v.length >= MIN_SECRET_VALUE)
    .sort((a, b) => b[1].length - a[1].length);
  const inPem = new Set<string>();
  // The last text asked about and its answer: a line is matched (--grep) then printed, and must
  // count once (and move a PEM block's state once).
  let last: { text: string; key: string; out: string } | undefined;
  const spansOf = (text: string, key: string) => {
    const spans: Span[] = [];
    pemSpans(text, key, inPem, spans);
    for (const [name, v] of vals) valueSpans(text, v, `env:${name}`, spans);
    ruleSpans(text, spans);
    return spans;
  };
  const memo = (text: string, key: string, f: () => string) => {
    if (last && last.text === text && last.key === key) return last.out;
    const out = f();
    // A long line is not kept: the memo would hold it past its use.
    last = text.length <= 1 << 16 ? { text, key, out } : undefined;
    return out;
  };
  const r = {
    hidden: 0,
    kinds: new Set<string>(),
    seen: new Set<string>(),
    text(text: string, key = ''): string {
      return memo(text, key, () => {
        const spans = spansOf(text, key);
        return spans.length ? apply(text, spans, r) : text;
      });
    },
    withValues(text: string, key = ''): { text: string; values: string[] } {
      const spans = spansOf(text, key);
      if (!spans.length) return { text, values: [] };
      const values: string[] = [];
      return { text: apply(text, spans, r, values), values };
    },
    raw(text: string, key = ''): string {
      if (!text.includes('\x1b')) return r.text(text, key);
      return memo(text, `raw:${key}`, () => {
        const { plain, at } = stripEscapes(text);
        const spans = spansOf(plain, key);
        if (!spans.length) return text;
        // Back to positions in the text as written: a span covers the escapes inside it.
        const mapped = spans.map((s) => ({ ...s, start: at(s.start), end: at(s.end - 1) + 1 }));
        return apply(text, mapped, r);
      });
    },
  };
  return r;
}

/**
 * A screen's rows with secrets hidden: a row the terminal soft-wrapped into the next
 * (`wrapped[i + 1]`) is read joined with it, so a secret cut by the wrap is found; its marker
 * takes the place of the secret's first part, the rest of it is blanked. Best effort: a
 * program that paints a secret in pieces by moving the cursor is not read as one.
 */
export function redactRows(r: Redactor, rows: string[], wrapped: boolean[] = []): string[] {
  const out = [...rows];
  for (let i = 0; i < rows.length; ) {
    let j = i + 1;
    while (j < rows.length && wrapped[j]) j++;
    if (j === i + 1) out[i] = r.text(rows[i]!, 'screen');
    else {
      const parts = rows.slice(i, j);
      const joined = parts.join('');
      const shown = r.text(joined, 'screen');
      if (shown !== joined) {
        // Row by row: the first row takes the text up to where the second began, and so on,
        // as long as the text before each cut is unchanged; else the joined text goes on row i.
        let at = 0;
        let rest = shown;
        for (let k = i; k < j; k++) {
          const len = parts[k - i]!.length;
          const prefixSame = joined.slice(at, at + len) === rest.slice(0, len);
          if (k === j - 1 || !prefixSame) {
            out[k] = k === j - 1 ? rest : rest;
            for (let m = k + 1; m < j; m++) out[m] = '';
            break;
          }
          out[k] = rest.slice(0, len);
          rest = rest.slice(len);
          at += len;
        }
      }
    }
    i = j;
  }
  return out;
}

// CSI and OSC sequences, other ESC sequences: what colours text without being text.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?/g;

/** `text` without escape sequences, and where a character of it was in `text` (by its runs: no per-character map of a long line). */
function stripEscapes(text: string): { plain: string; at: (i: number) => number } {
  const parts: string[] = [];
  const runs: number[] = []; // pairs: where a run starts in plain, and in text
  let from = 0;
  let length = 0;
  const keep = (to: number) => {
    runs.push(length, from);
    parts.push(text.slice(from, to));
    length += to - from;
  };
  for (const m of text.matchAll(ESCAPES)) {
    keep(m.index);
    from = m.index + m[0].length;
  }
  keep(text.length);
  const at = (i: number) => {
    let lo = 0;
    let hi = runs.length / 2 - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (runs[2 * mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return runs[2 * lo + 1]! + (i - runs[2 * lo]!);
  };
  return { plain: parts.join(''), at };
}

// Overlapping spans joined (the first kind named); each replaced by its marker.
function apply(
  text: string,
  spans: Span[],
  r: { hidden: number; kinds: Set<string>; seen: Set<string> },
  values?: string[],
): string {
  // The same text found by a specific rule and gitleaks' generic one: the specific kind named.
  const generic = (s: Span) => (s.kind.startsWith('generic') ? 1 : 0);
  spans.sort((a, b) => a.start - b.start || b.end - a.end || generic(a) - generic(b));
  let out = '';
  let at = 0;
  let cur: Span | undefined;
  const flush = () => {
    if (!cur) return;
    out += text.slice(at, cur.start) + marker(cur.kind);
    const value = text.slice(cur.start, cur.end);
    values?.push(value);
    if (!r.seen.has(value)) {
      r.seen.add(value);
      r.hidden++;
    }
    at = cur.end;
    r.kinds.add(cur.kind);
  };
  for (const s of spans) {
    if (cur && s.start < cur.end) cur.end = Math.max(cur.end, s.end);
    else {
      flush();
      cur = { ...s };
    }
  }
  flush();
  return out + text.slice(at);
}

// A value as a whole token: not inside a longer run of letters and digits.
function valueSpans(text: string, v: string, kind: string, spans: Span[]): void {
  const word = /[A-Za-z0-9]/;
  for (let at = text.indexOf(v); at >= 0; at = text.indexOf(v, at + 1)) {
    const end = at + v.length;
    if (word.test(v[0]!) && at > 0 && word.test(text[at - 1]!)) continue;
    if (word.test(v[v.length - 1]!) && end < text.length && word.test(text[end]!)) continue;
    spans.push({ start: at, end, kind });
  }
}

// A PEM private key: from its BEGIN line to its END line, across lines read in order; a
// line that is nothing but 64 base64 characters (a PEM body line met without its BEGIN, as
// a tail read starting inside the block meets it) too.
const PEM_BEGIN = /-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----/;
const PEM_END = /-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----/;
const PEM_BODY = /^\s*(?=[A-Za-z0-9+/]*[G-Zg-z+/])[A-Za-z0-9+/]{64}\s*$/;
function pemSpans(text: string, key: string, inPem: Set<string>, spans: Span[]): void {
  let from = 0;
  if (inPem.has(key)) {
    const end = PEM_END.exec(text.length > WINDOW ? text.slice(0, WINDOW) : text);
    if (!end) {
      spans.push({ start: 0, end: text.length, kind: 'private-key' });
      return;
    }
    inPem.delete(key);
    spans.push({ start: 0, end: end.index + end[0].length, kind: 'private-key' });
    from = end.index + end[0].length;
  }
  if (!text.includes('PRIVATE KEY')) {
    if (text.length < 80 && PEM_BODY.test(text)) spans.push({ start: 0, end: text.length, kind: 'private-key' });
    return;
  }
  for (;;) {
    const rest = text.slice(from, from + WINDOW);
    const begin = PEM_BEGIN.exec(rest);
    if (!begin) return;
    const start = from + begin.index;
    const after = start + begin[0].length;
    const end = PEM_END.exec(text.slice(after, after + WINDOW));
    if (!end) {
      spans.push({ start, end: text.length, kind: 'private-key' });
      inPem.add(key);
      return;
    }
    from = after + end.index + end[0].length;
    spans.push({ start, end: from, kind: 'private-key' });
  }
}

// ---- gitleaks' rules, and two of ours for what gitleaks leaves to its generic rule: a
// password in a URL, and an Authorization header outside a curl command.
const OURS: SecretRule[] = [
  {
    id: 'url-password',
    re: '\\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\\s:/@]{1,100}:([^\\s/@]{3,200})@',
    keywords: ['://'],
    allow: [{ regexes: ['^(?:\\$\\{?\\w+\\}?|\\*+|x+|<[^>]*>|password|pass|changeme)$'] }],
  },
  {
    id: 'authorization-header',
    re: '[aA]uthorization["\']?\\s{0,5}[:=]\\s{0,5}["\']?(?:[bB]earer|[bB]asic|[tT]oken|[dD]igest)\\s{1,5}([\\w~+/.=-]{8,2000})',
    keywords: ['authorization'],
    allow: [{ regexes: ['^\\$'] }],
  },
];
const RULES: SecretRule[] = [...(GITLEAKS as SecretRule[]), ...OURS];

interface Compiled {
  rule: SecretRule;
  re: RegExp;
  allow: { res: RegExp[]; stopwords: string[]; target: string; and: boolean }[];
}

let compiled: (Compiled | undefined)[] | undefined;
let globalRes: RegExp[] | undefined;
let automaton: Automaton | undefined;

function compiledRule(i: number): Compiled {
  compiled ??= new Array(RULES.length);
  let c = compiled[i];
  if (!c) {
    const rule = RULES[i]!;
    c = compiled[i] = {
      rule,
      re: new RegExp(rule.re, `g${rule.flags ?? ''}`),
      allow: (rule.allow ?? []).map((a) => ({
        res: (a.regexes ?? []).map((s) => new RegExp(s)),
        stopwords: a.stopwords ?? [],
        target: a.target ?? 'secret',
        and: a.condition === 'AND',
      })),
    };
  }
  return c;
}

/**
 * The first SCANS_BEFORE_AUTOMATON short texts a process reads (list_processes' command lines,
 * an event) have their keywords looked for one by one: for a few short texts that is cheaper than
 * building the automaton (about 10 ms). The same rules are picked (keywords are lower-case
 * ASCII, the text is read lower-cased), so nothing is hidden less.
 */
const SHORT_TEXT = 512;
const SCANS_BEFORE_AUTOMATON = 256;
let scans = 0;
const scanned: number[] = [];

function rulesByScan(text: string): number[] {
  const lower = text.toLowerCase();
  scanned.length = 0;
  for (let i = 0; i < RULES.length; i++)
    for (const k of RULES[i]!.keywords)
      if (lower.includes(k)) {
        scanned.push(i);
        break;
      }
  return scanned;
}

/** The rules each prefilter picks for a short text (unit tests: they must be the same). */
export function rulesPicked(text: string): { scan: number[]; automaton: number[] } {
  automaton ??= new Automaton(RULES.map((r) => r.keywords));
  return { scan: [...rulesByScan(text)].sort(), automaton: [...automaton.rulesIn(text, 0, text.length)].sort() };
}

function ruleSpans(text: string, spans: Span[]): void {
  if (!automaton && text.length <= SHORT_TEXT && scans < SCANS_BEFORE_AUTOMATON) {
    scans++;
    const hit = rulesByScan(text);
    for (let k = 0; k < hit.length; k++) matchRule(compiledRule(hit[k]!), text, 0, text, spans);
    return;
  }
  automaton ??= new Automaton(RULES.map((r) => r.keywords));
  if (text.length <= WINDOW) {
    const hit = automaton.rulesIn(text, 0, text.length);
    for (let k = 0; k < hit.length; k++) matchRule(compiledRule(hit[k]!), text, 0, text, spans);
    return;
  }
  // A long line in overlapping windows: a secret shorter than OVERLAP is whole in one of them.
  for (let at = 0; at < text.length; at += WINDOW - OVERLAP) {
    const end = Math.min(text.length, at + WINDOW);
    const hit = automaton.rulesIn(text, at, end);
    if (hit.length) {
      const win = text.slice(at, end);
      for (const i of [...hit]) matchRule(compiledRule(i), win, at, text, spans);
    }
    if (end === text.length) break;
  }
}

function matchRule(c: Compiled, win: string, offset: number, line: string, spans: Span[]): void {
  c.re.lastIndex = 0;
  for (let m = c.re.exec(win); m; m = c.re.exec(win)) {
    if (m[0].length === 0) {
      c.re.lastIndex++;
      continue;
    }
    // The secret: the rule's group, else the first group that matched, else the whole match.
    let secret = m[0];
    let start = m.index;
    const g = c.rule.group ?? (m.length > 1 ? m.findIndex((s, i) => i > 0 && s) : 0);
    if (g > 0 && m[g]) {
      secret = m[g]!;
      start = m.index + m[0].indexOf(secret);
    }
    if (c.rule.entropy && entropy(secret) <= c.rule.entropy) continue;
    if (allowed(c, secret, m[0], line)) continue;
    spans.push({ start: offset + start, end: offset + start + secret.length, kind: c.rule.id });
  }
}

function allowed(c: Compiled, secret: string, match: string, line: string): boolean {
  globalRes ??= GLOBAL_ALLOW.regexes.map((s) => new RegExp(s));
  const lower = secret.toLowerCase();
  if (globalRes.some((re) => re.test(secret))) return true;
  if (GLOBAL_ALLOW.stopwords.some((w) => lower.includes(w))) return true;
  for (const a of c.allow) {
    const target = a.target === 'match' ? match : a.target === 'line' ? line.slice(0, 4 * WINDOW) : secret;
    const byRe = a.res.length ? a.res.some((re) => re.test(target)) : undefined;
    const byWord = a.stopwords.length ? a.stopwords.some((w) => lower.includes(w)) : undefined;
    const got = [byRe, byWord].filter((x) => x !== undefined);
    if (got.length && (a.and ? got.every(Boolean) : got.some(Boolean))) return true;
  }
  return false;
}

/** Shannon entropy in bits per character, as gitleaks computes it. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let e = 0;
  for (const n of counts.values()) {
    const f = n / s.length;
    e -= f * Math.log2(f);
  }
  return e;
}

/** Aho-Corasick over ASCII, lower-cased: which rules have a keyword in a stretch of text. */
class Automaton {
  private readonly width: number;
  private readonly cls = new Uint8Array(128); // char code to column (0: a character no keyword has)
  private readonly next: Int32Array;
  private readonly out: number[][]; // rules whose keyword ends at each state

  constructor(keywords: string[][]) {
    let cols = 1;
    for (const kws of keywords)
      for (const k of kws)
        for (const ch of k) {
          const c = ch.charCodeAt(0);
          if (c < 128 && !this.cls[c]) this.cls[c] = cols++;
        }
    // Upper-case letters read as lower-case ones.
    for (let c = 65; c <= 90; c++) this.cls[c] = this.cls[c + 32]!;
    this.width = cols;
    const trie: number[][] = [new Array(cols).fill(-1)];
    const outs: number[][] = [[]];
    keywords.forEach((kws, rule) => {
      for (const k of kws) {
        let s = 0;
        for (const ch of k) {
          const col = this.cls[ch.charCodeAt(0)]!;
          if (trie[s]![col] === -1) {
            trie[s]![col] = trie.length;
            trie.push(new Array(cols).fill(-1));
            outs.push([]);
          }
          s = trie[s]![col]!;
        }
        if (!outs[s]!.includes(rule)) outs[s]!.push(rule);
      }
    });
    // Breadth first: failure links folded into a full transition table.
    this.next = new Int32Array(trie.length * cols);
    const fail = new Int32Array(trie.length);
    const queue: number[] = [];
    for (let col = 0; col < cols; col++) {
      const t = trie[0]![col]!;
      this.next[col] = t === -1 ? 0 : t;
      if (t > 0) queue.push(t);
    }
    while (queue.length) {
      const s = queue.shift()!;
      outs[s] = [...new Set([...outs[s]!, ...outs[fail[s]!]!])];
      for (let col = 0; col < cols; col++) {
        const t = trie[s]![col]!;
        if (t === -1) this.next[s * cols + col] = this.next[fail[s]! * cols + col]!;
        else {
          fail[t] = this.next[fail[s]! * cols + col]!;
          this.next[s * cols + col] = t;
          queue.push(t);
        }
      }
    }
    this.out = outs;
  }

  private readonly mark = new Uint32Array(RULES.length + 1); // rule -> the call that found it
  private call = 0;
  private readonly found: number[] = [];

  /** The rules with a keyword in text[from, to): an array reused by the next call. */
  rulesIn(text: string, from: number, to: number): number[] {
    const { next, cls, width, out, mark, found } = this;
    const call = ++this.call;
    found.length = 0;
    let s = 0;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      s = next[s * width + (c < 128 ? cls[c]! : 0)]!;
      const o = out[s]!;
      if (o.length)
        for (const r of o)
          if (mark[r] !== call) {
            mark[r] = call;
            found.push(r);
          }
    }
    return found;
  }
}
