// How the MCP server's messages point to another call: a model has tools, not a shell, so a
// hint names the tool and its arguments as the model would pass them (`the stop_process tool
// (ids: ["web"])`, `force: true`), never a script, a flag or a shell command.
import { argOf, type Hints } from '../install/hints.ts';

/** The tools that take their processes as `ids` (a list); the others take one `id`. */
const TAKE_IDS = new Set(['stop_process', 'remove_process']);

export const TOOL_HINTS: Hints = {
  shell: false,
  call: (verb, c = {}) => {
    const args = [
      ...(c.ref === undefined
        ? []
        : [TAKE_IDS.has(verb) ? `ids: ${JSON.stringify([c.ref])}` : `id: ${JSON.stringify(c.ref)}`]),
      ...Object.entries(c.options ?? {}).map(([k, v]) => `${argOf(k)}: ${JSON.stringify(v)}`),
    ];
    return `the ${verb} tool${args.length ? ` (${args.join(', ')})` : ''}`;
  },
  option: (field, on) => (on ? `${argOf(field)}: true` : argOf(field)),
};
