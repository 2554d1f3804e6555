// How values are written for a person: times, shell words, one-line text in tables and
// messages. Used by the commands' output and by the log's line formatter.

/** Local time as YYYY-MM-DD HH:MM:SS, with .mmm when `millis`. */
export function localStamp(ms: number, millis = true): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${millis ? `.${p(d.getMilliseconds(), 3)}` : ''}`;
}

/** A word as a POSIX shell would read it back: as is when plain, else in single quotes. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

// What a terminal would act on or hide rather than show: C0 and C1 controls and DEL (\p{Cc}),
// the line and paragraph separators, and the bidi controls that reorder what follows (U+061C,
// U+200E/F, U+202A-U+202E, U+2066-U+2069). A backslash is left as it is.
const UNSHOWN = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * User-given text (a command, a name, an ID argument) on one line of a table or a message, as
 * it is: newline, CR and tab as \n, \r, \t; other characters up to U+00FF as \xNN; the
 * rest as \uNNNN. Every place that prints such text goes through here (REFERENCE.md).
 */
export function oneLine(text: string): string {
  return text.replace(UNSHOWN, (c) => {
    const n = c.codePointAt(0)!;
    return NAMED[c] ?? (n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`);
  });
}

/** A message of ours, several lines maybe: each line as oneLine shows it (the newlines kept). */
export function shownMessage(text: string): string {
  return text.split('\n').map(oneLine).join('\n');
}
