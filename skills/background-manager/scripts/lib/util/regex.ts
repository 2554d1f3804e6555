// A user's regular expression from a flag (--grep, --wait-for), checked once with the flag's
// name in the error. linear-regex.ts holds the MCP server's linear-time form.
import { BgError } from '../errors.ts';
import { oneLine } from './format.ts';

/** A user's regular expression; a bad one is a usage error naming the flag. */
export function compileRegex(flag: string, src: string): RegExp {
  try {
    return new RegExp(src);
  } catch (err) {
    throw new BgError(
      'USAGE',
      `${flag} "${oneLine(src)}" is not a valid regular expression (${(err as Error).message}).`,
    );
  }
}
