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

/** Text on one line of a table or a message: newlines and other control bytes escaped. */
export function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => ({ '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
