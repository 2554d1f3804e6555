// How a command given as one argument runs. A single plain word (`python3`) is the program
// itself, run directly: its PID is the one recorded and its exit status the one reported.
// Anything with shell syntax goes through `sh -c`; when the line is one simple command the
// shell is told to `exec` it (dash, Debian's sh, does not do this by itself as bash does), so
// that the recorded PID is the program's and a Ctrl-C it handles is not reported as the
// shell's death by SIGINT.

// A word the shell would leave as it is: no spaces, quotes, $, ;, |, &, <, >, globs, ~, \ ...
const PLAIN_WORD = /^[A-Za-z0-9_./+,:@%-]+$/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Whether `line` is one word with no shell syntax, so it can run without a shell. */
export function isPlainWord(line: string): boolean {
  return PLAIN_WORD.test(line) && !ASSIGNMENT.test(line);
}

interface Word {
  start: number;
  text: string; // as written, quotes included
}

/**
 * The top-level words of `line`, or undefined when it is more than one simple command: an
 * unquoted `;`, `&` (not part of `>&`/`<&`), `|`, `(`, `)`, a backquote or a newline. Quoted
 * text and `\`-escapes are skipped over; an unquoted `#` starting a word ends the scan.
 */
export function simpleCommandWords(line: string): Word[] | undefined {
  const words: Word[] = [];
  let quote: '' | "'" | '"' = '';
  let cur: Word | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = '';
    } else if (quote === '"') {
      if (c === '\\') i++;
      else if (c === '"') quote = '';
    } else if (c === ' ' || c === '\t') {
      cur = undefined;
      continue;
    } else if (c === '#' && !cur) {
      break;
    } else if (c === '\\') {
      if (line[i + 1] === '\n') return undefined;
      i++;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '&' && (line[i - 1] === '>' || line[i - 1] === '<')) {
      // a redirection such as 2>&1
    } else if (';&|()`\n\r'.includes(c)) {
      return undefined;
    }
    if (!cur) words.push((cur = { start: i, text: '' }));
    cur.text = line.slice(cur.start, i + 1);
  }
  return quote ? undefined : words;
}

/**
 * `line` with `exec ` put before its program when it is one simple command whose program is
 * a file on PATH (`isProgram` decides), else undefined: builtins, keywords, functions and
 * command lists stay as they are.
 */
export function execLine(line: string, isProgram: (word: string) => boolean): string | undefined {
  const words = simpleCommandWords(line);
  if (!words) return undefined;
  const prog = words.find((w) => !ASSIGNMENT.test(w.text));
  if (!prog || !PLAIN_WORD.test(prog.text) || !isProgram(prog.text)) return undefined;
  return `${line.slice(0, prog.start)}exec ${line.slice(prog.start)}`;
}
