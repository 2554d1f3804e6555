// Converts gitleaks' default rule set (config/gitleaks.toml, MIT licence) into the JS module
// the redactor reads (skills/background-manager/scripts/lib/util/secret-rules.gen.ts).
// Run: make secret-rules (fetches the pinned gitleaks release), or
//   node tools/gen-secret-rules.mjs <gitleaks.toml> <version> > .../secret-rules.gen.ts
// gitleaks writes Go RE2 patterns: inline flags ((?i), (?i:...), (?-i:...), (?s:...)) and POSIX
// classes, which Node 20's RegExp lacks. They are rewritten here without flags: a letter under
// (?i) becomes [aA], a class gains the other case, `.` under (?s) becomes [\s\S], \z becomes $.
// RE2 has no backreferences or lookarounds, so every pattern runs in V8's linear-time engine.
import fs from 'node:fs';

const [file, version] = process.argv.slice(2);
if (!file || !version) {
  process.stderr.write('usage: node tools/gen-secret-rules.mjs <gitleaks.toml> <version>\n');
  process.exit(2);
}
const toml = fs.readFileSync(file, 'utf8');

/** The TOML subset gitleaks.toml uses: tables, [[arrays]], strings ('''raw''', "basic"), numbers, string arrays. */
function parseToml(text) {
  const root = { rules: [] };
  let cur = root;
  const lines = text.split('\n');
  const str = (s) => {
    s = s.trim();
    if (s.startsWith("'''")) return s.slice(3, s.lastIndexOf("'''"));
    if (s.startsWith('"')) return JSON.parse(s.slice(0, s.lastIndexOf('"') + 1));
    if (s.startsWith("'")) return s.slice(1, s.lastIndexOf("'"));
    return Number(s);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    if (line === '[[rules]]') root.rules.push((cur = { allowlists: [] }));
    else if (line === '[[rules.allowlists]]') root.rules.at(-1).allowlists.push((cur = {}));
    else if (line === '[allowlist]') cur = root.allowlist = {};
    else if (line.startsWith('[')) cur = {};
    else {
      const eq = line.indexOf('=');
      const key = line.slice(0, eq).trim();
      let val = line.slice(eq + 1).trim();
      if (val.startsWith('[')) {
        const items = [];
        let body = val.slice(1);
        for (;;) {
          const t = body.trim();
          if (t.startsWith(']')) break;
          if (t) {
            for (const part of t.match(/'''.*?'''|"(?:[^"\\]|\\.)*"|'[^']*'/g) ?? []) items.push(str(part));
            if (t.endsWith(']') && !t.endsWith("''']") && !/^'''/.test(t)) break;
            if (/\]\s*$/.test(t) && (t.endsWith("''']") || t.endsWith('"]'))) break;
          }
          body = lines[++i];
        }
        cur[key] = items;
      } else cur[key] = str(val);
    }
  }
  return root;
}

const isLetter = (c) => /[a-zA-Z]/.test(c);
const other = (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());
const POSIX = { alnum: 'A-Za-z0-9', alpha: 'A-Za-z', digit: '0-9', lower: 'a-z', upper: 'A-Z', space: '\\s', word: '\\w', xdigit: '0-9A-Fa-f', punct: '!-\\/:-@\\[-`{-~' };

/**
 * Two rewrites for speed on one line at a time, neither changing the secret found: the
 * `[\w.-]{0,50}?` that many rules start with (and nest once) only widens the match to the left
 * of the keyword, so it is dropped; curl-auth-header's `.*?` (and its variant across up to five
 * newlines, which a line never holds) becomes `.{0,512}?`: backtracking over a line of many
 * "curl" words was quadratic.
 */
function forSpeed(src) {
  return src
    .replaceAll('[\\w.-]{0,50}?', '')
    .replace('(?:.*?|.*?(?:[\\r\\n]{1,2}.*?){1,5})', '.{0,512}?')
    .replace('(?:.*|.*(?:[\\r\\n]{1,2}.*){1,5})', '.{0,512}');
}

/**
 * A Go RE2 pattern as a JS one; throws on what it cannot rewrite. `whole`: the pattern is
 * case-insensitive throughout (it starts with (?i)): it is compiled with the `i` flag instead
 * (3x faster than [aA] classes in V8), its (?-i:...) parts then matching any case too (a
 * secret hidden more widely, never less).
 */
export function convert(src, whole = false) {
  let out = '';
  let i = 0;
  const stack = []; // flags to restore at each ')'
  let ci = false;
  const setCi = (on) => {
    if (!whole) ci = on;
  };
  let dotall = false;
  const escape = () => {
    const c = src[i + 1];
    if (c === 'z') return (i += 2), '$';
    if (c === 'A') return (i += 2), '^';
    if (c === 'x') {
      const e = src.slice(i, i + 4);
      i += 4;
      return e;
    }
    if (c === 'p' || c === 'P' || c === 'Q') throw new Error(`unsupported escape \\${c} in ${src}`);
    i += 2;
    return `\\${c}`;
  };
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') out += escape();
    else if (c === '(') {
      const m = /^\(\?([a-zA-Z-]*)([:)])/.exec(src.slice(i));
      if (m && m[2] === ')') {
        // (?i) etc.: to the end of the group it is in
        const on = !m[1].startsWith('-');
        if (m[1].replace('-', '').includes('i')) setCi(on);
        if (m[1].replace('-', '').includes('s')) dotall = on;
        i += m[0].length;
        continue;
      }
      stack.push({ ci, dotall });
      const named = /^\(\?P?<[a-zA-Z_]\w*>/.exec(src.slice(i));
      if (named) {
        // a named group (jwt-base64's alternatives): not the secret, so not captured
        out += '(?:';
        i += named[0].length;
      } else if (m) {
        const [set, unset = ''] = m[1].split('-');
        if (set.includes('i')) setCi(true);
        if (unset.includes('i')) setCi(false);
        if (set.includes('s')) dotall = true;
        if (unset.includes('s')) dotall = false;
        out += '(?:';
        i += m[0].length;
      } else {
        out += '(';
        i++;
      }
    } else if (c === ')') {
      ({ ci, dotall } = stack.pop());
      out += ')';
      i++;
    } else if (c === '[') {
      let j = i + 1;
      let body = '';
      if (src[j] === '^') body += src[j++];
      if (src[j] === ']') body += `\\${src[j++]}`;
      const extra = [];
      while (src[j] !== ']') {
        if (j >= src.length) throw new Error(`unclosed class in ${src}`);
        if (src.startsWith('[:', j)) {
          const end = src.indexOf(':]', j);
          const name = src.slice(j + 2, end);
          if (!POSIX[name]) throw new Error(`unknown class [:${name}:]`);
          body += POSIX[name];
          j = end + 2;
        } else if (src[j] === '\\') {
          const e = src[j + 1] === 'x' ? src.slice(j, j + 4) : src.slice(j, j + 2);
          body += e;
          j += e.length;
        } else if (src[j + 1] === '-' && src[j + 2] !== ']') {
          const a = src[j];
          let b = src[j + 2];
          let len = 3;
          if (b === '\\') {
            b = src.slice(j + 2, j + 4);
            len = 4;
          }
          body += `${a === '[' ? '\\[' : a}-${b}`;
          if (ci && isLetter(a) && b.length === 1 && isLetter(b)) extra.push(`${other(a)}-${other(b)}`);
          j += len;
        } else {
          const ch = src[j];
          body += ch === '[' ? '\\[' : ch === '-' ? '\\-' : ch;
          if (ci && isLetter(ch)) extra.push(other(ch));
          j++;
        }
      }
      out += `[${body}${extra.join('')}]`;
      i = j + 1;
    } else if (c === '.' && dotall) {
      out += '[\\s\\S]';
      i++;
    } else if (ci && isLetter(c)) {
      out += `[${c}${other(c)}]`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  new RegExp(out); // it compiles
  return out;
}

const cfg = parseToml(toml);
const rules = [];
for (const r of cfg.rules) {
  if (!r.regex) continue; // path-only rules (pkcs12-file) see file names, not output
  if (r.id === 'private-key') continue; // spans lines: the redactor's own PEM block rule does it
  const allow = (r.allowlists ?? [])
    .filter((a) => !a.paths && !a.commits)
    .map((a) => ({
      ...(a.regexes ? { regexes: a.regexes.map(convert) } : {}),
      ...(a.stopwords ? { stopwords: a.stopwords.map((s) => s.toLowerCase()) } : {}),
      ...(a.regexTarget ? { target: a.regexTarget } : {}),
      ...(a.condition ? { condition: a.condition } : {}),
    }))
    .filter((a) => a.regexes || a.stopwords);
  rules.push({
    id: r.id,
    re: convert(forSpeed(r.regex), r.regex.startsWith('(?i)')),
    ...(r.regex.startsWith('(?i)') ? { flags: 'i' } : {}),
    keywords: (r.keywords ?? []).map((k) => k.toLowerCase()),
    ...(r.entropy ? { entropy: r.entropy } : {}),
    ...(r.secretGroup ? { group: r.secretGroup } : {}),
    ...(allow.length ? { allow } : {}),
  });
}
const global = {
  regexes: (cfg.allowlist?.regexes ?? []).map(convert),
  stopwords: (cfg.allowlist?.stopwords ?? []).map((s) => s.toLowerCase()),
};
process.stdout.write(`// GENERATED by tools/gen-secret-rules.mjs from gitleaks ${version} config/gitleaks.toml
// (https://github.com/gitleaks/gitleaks), ${rules.length} rules. Do not edit: run \`make secret-rules\`.
// gitleaks is MIT licensed: Copyright (c) 2019 Zachary Rice. Permission is hereby granted, free
// of charge, to any person obtaining a copy of this software and associated documentation files
// (the "Software"), to deal in the Software without restriction, including without limitation the
// rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the
// Software, and to permit persons to whom the Software is furnished to do so, subject to the
// following conditions: The above copyright notice and this permission notice shall be included
// in all copies or substantial portions of the Software. THE SOFTWARE IS PROVIDED "AS IS",
// WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
// biome-ignore-all format: generated

export const GITLEAKS_VERSION = ${JSON.stringify(version)};

export const RULES = ${JSON.stringify(rules, null, 1)};

export const GLOBAL_ALLOW = ${JSON.stringify(global, null, 1)};
`);
