// A prompt with input sent after it is answered: `get_logs --new --wait-for PROMPT` right after
// send_input waits for the next prompt, not the one the input answered. The new-user trial of
// issue 25 lost a REPL's answer this way over MCP (3 of 3 tries): start (wait for `>>> `), send
// `print(6*7)`, then at once get_logs new + wait_for `^>>> $` matched the first prompt, still
// unread and not yet followed by the echo, and returned without `42`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { run, start, withSandbox } from './helpers.ts';
import { mcpTest, textOf } from './mcp-helpers.ts';

// Reads a line, takes 3 s to answer (so the old prompt is still the log's last line when
// get_logs reads it), answers, asks again. Pipes: no echo, the answer continues the prompt's line.
const SLOW_ANSWER = 'import time\nwhile True:\n    s = input("> ")\n    time.sleep(3)\n    print("answer", s)\n';

withSandbox(
  'get_logs --new --wait-for right after send_input waits for the next prompt, not the answered one',
  async (sb) => {
    const { id } = await start(sb, ['--no-pty', '--wait-for', '^> $', 'python3', '-u', '-c', SLOW_ANSWER]);
    assert.is((await run(sb, 'send_input.ts', [id, 'x'])).code, 0);
    const r = await run(sb, 'get_logs.ts', [id, '--new', '--wait-for', '^> $', '--timeout', '30']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^> answer x$/m, r.stdout);
    assert.ok(r.stdout.endsWith('> \n'), JSON.stringify(r.stdout));
    // With nothing sent since, a prompt standing there matches at once, as before.
    const again = await run(sb, 'get_logs.ts', [id, '--wait-for', '^> $', '--timeout', '5']);
    assert.is(again.code, 0, again.stderr);
    assert.is(again.stdout, '> \n');
  },
);

mcpTest(
  'MCP: start, send_input, then at once get_logs new + wait_for the prompt returns the answer',
  async (_sb, _note, open) => {
    const { call } = await open();
    const started = await call('start_process', {
      command: 'python3',
      name: 'repl',
      wait_for: '^>>> ',
      wait_timeout: 60,
    });
    assert.not.ok(started.isError, textOf(started));
    const texts = (r: CallToolResult) =>
      (r.structuredContent as { lines: { text: string }[] }).lines.map((l) => l.text);
    for (const [expr, value] of [
      ['print(6*7)', '42'],
      ['print(2**10)', '1024'],
    ]) {
      assert.not.ok((await call('send_input', { id: 'repl', text: expr! })).isError);
      const answer = await call('get_logs', { id: 'repl', new: true, wait_for: '^>>> $', timeout: 30 });
      assert.not.ok(answer.isError, textOf(answer));
      assert.ok(texts(answer).includes(value!), JSON.stringify(texts(answer)));
    }
    await call('stop_process', { ids: ['repl'] });
  },
);

test.run();
