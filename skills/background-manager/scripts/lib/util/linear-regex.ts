// Regular expressions a client sends (grep, wait_for) run in the MCP server's one thread, on
// lines a process chose. In V8's backtracking engine a pattern like ^(a+)+$ on "aaaa…a!" takes
// exponential time: one call would hold every other call, cancellations and the client's exit
// for hours. V8's linear-time engine (the `l` flag) cannot be made to backtrack; a pattern it
// cannot run (a backreference, a lookaround) is refused with what to do instead.
import { createRequire } from 'node:module';
import { BgError } from '../errors.ts';
import { oneLine } from './format.ts';
import { compileRegex } from './regex.ts';

let linearOn = false;

/** `src` compiled for V8's linear-time engine; a USAGE error if it is not a regex or needs backtracking. */
export function linearRegex(flag: string, src: string): RegExp {
  compileRegex(flag, src); // not a regex at all: the scripts' words
  if (!linearOn) {
    // Read when a regex is compiled, so turning it on now (not at node's start) is enough.
    // node:v8 is loaded here, not at start-up: the scripts' get_logs imports this module too
    // (ops/logs.ts), and node:v8 costs every call about 3 ms.
    const require = createRequire(import.meta.url);
    (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--enable-experimental-regexp-engine');
    linearOn = true;
  }
  try {
    return new RegExp(src, 'l');
  } catch {
    throw new BgError(
      'USAGE',
      `${flag} "${oneLine(src)}" needs backtracking (a backreference or lookaround), which a crafted line can make take hours; write it without them.`,
    );
  }
}
