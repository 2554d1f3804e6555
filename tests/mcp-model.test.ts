// The MCP server as a model without a shell meets it (issue 25, items 9 to 11): its errors
// point to tools and their arguments, list_processes carries only what a model should use, a
// start without cwd runs in the client's first root, and the server claims only what it does.
// Driven by the SDK's own Client (tests/mcp-helpers.ts), against dist/mcp_server.mjs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_REQUEST_TIMEOUT_MSEC } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { ListRootsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MCP_WAIT_TIMEOUT_SEC } from '../skills/background-manager/scripts/lib/ops/defaults.ts';
import { alive, listJson, waitFor } from './helpers.ts';
import { mcpTest, textOf } from './mcp-helpers.ts';

/** What a model without a shell cannot use: a flag, a script's file, a shell command. */
const SHELL_WORDS = /(^|[\s(])--?[a-z]|\.(mjs|ts)\b|\bnpx\b|\bnode /;

/** The tool error of a call: its text, which names no flag, script or shell command. */
function toolError(res: CallToolResult, what: string): string {
  const text = textOf(res);
  assert.ok(res.isError, `${what}: refused (${text})`);
  assert.not.match(text, SHELL_WORDS, `${what}: names no flag, script or shell command: ${text}`);
  return text;
}

mcpTest(
  'MCP: errors point to tools and their arguments (list_processes, stop_process ids, force: true, replace: true, cwd, pty: false), never to a shell',
  async (sb, _note, open) => {
    const { call } = await open();
    const missing = toolError(await call('get_logs', { id: 'nope' }), 'an unknown ID');
    assert.is(missing, 'get_logs: error: no process with ID or name "nope" (list them with: the list_processes tool).');
    const two = toolError(await call('stop_process', { ids: ['nope', 'nada'] }), 'two unknown IDs');
    assert.match(two, /"nada" \(list them with: the list_processes tool\)\. Nothing was stopped\.$/);

    // A readiness wait that times out: the process runs on, and the way to stop it is a tool call.
    const slow = await call('start_process', {
      command: ['sleep', '300'],
      name: 'web',
      pty: false,
      wait_for: 'never printed',
      wait_timeout: 1,
    });
    const slowText = toolError(slow, 'a readiness wait that timed out');
    assert.match(
      slowText,
      /process [0-9a-f]{8} is still running \(stop it with the stop_process tool \(ids: \["web"\]\)\)/,
    );
    const { pid } = slow.structuredContent as { pid: number };
    assert.ok(alive(pid), 'it runs on');

    const running = toolError(await call('remove_process', { ids: ['web'] }), 'removing a running process');
    assert.match(running, /is still running; stop it first, or pass force: true\. Nothing was removed\.$/);

    const taken = toolError(await call('start_process', { command: ['sleep', '300'], name: 'web' }), 'a name taken');
    assert.match(
      taken,
      /the name "web" belongs to running process [0-9a-f]{8}\. Stop it, pick another name, or pass replace: true\.$/,
    );
    // ... and replace: true does what the hint says.
    const replaced = await call('start_process', { command: ['sleep', '300'], name: 'web', pty: false, replace: true });
    assert.not.ok(replaced.isError, textOf(replaced));
    assert.match(
      textOf(replaced),
      /^Stopped process [0-9a-f]{8} \(web\) to replace it \(SIGTERM\)\.\nStarted process /,
    );
    assert.not.ok(alive(pid), 'the old one was stopped');

    const cwd = toolError(
      await call('start_process', { command: ['true'], cwd: path.join(sb.dir, 'no-such-folder') }),
      'a cwd that does not exist',
    );
    assert.match(cwd, /does not exist\. Create it or pass another cwd\.$/);
    const file = path.join(sb.dir, 'a-file');
    fs.writeFileSync(file, '');
    const notFolder = toolError(await call('start_process', { command: ['true'], cwd: file }), 'a cwd that is a file');
    assert.match(notFolder, /is not a folder\. Pass a folder as cwd\.$/);

    const secret = toolError(
      await call('start_process', { command: ['true'], env: { BG_PASSWORD: 'x' } }),
      'the password in env',
    );
    assert.match(
      secret,
      /^start_process: error: env BG_PASSWORD is refused: the password never reaches a child process\.$/,
    );

    const pipes = await call('start_process', {
      command: 'echo hi; exec sleep 300',
      name: 'pipes',
      pty: false,
      wait_for: 'hi',
    });
    assert.not.ok(pipes.isError, textOf(pipes));
    const screen = toolError(
      await call('get_logs', { id: 'pipes', screen: true }),
      'screen of a process without a PTY',
    );
    assert.match(
      screen,
      /runs without a terminal \(pty: false\), so it has no screen: its output is lines\. Read them without screen; start it with a terminal \(the default\) to use screen\.$/,
    );

    const back = toolError(await call('get_logs', { id: 'pipes', grep: '(a)\\1' }), 'a backreference');
    assert.match(
      back,
      /needs backtracking \(a backreference or lookaround\), which a crafted line can make take hours; write it without them\.$/,
    );

    assert.not.ok((await call('stop_process', { all: true })).isError);
  },
);

const INTERNAL = ['startTicks', 'bootId', 'supervisorPid', 'supervisorStartTicks', 'treeMark', 'logFile'];

mcpTest(
  "MCP: list_processes's rows and output schema leave out the internal fields the scripts' --json keeps",
  async (sb, _note, open) => {
    const { call, client } = await open();
    const started = await call('start_process', { command: ['sleep', '300'], name: 'quiet', pty: false });
    assert.not.ok(started.isError, textOf(started));
    const listed = await call('list_processes');
    const rows = (listed.structuredContent as { processes: Record<string, unknown>[] }).processes;
    assert.is(rows.length, 1);
    for (const k of INTERNAL) assert.not.ok(k in rows[0]!, `no ${k} in ${JSON.stringify(rows[0])}`);
    for (const k of ['id', 'name', 'command', 'cwd', 'pid', 'status', 'exitStatus', 'ports', 'startedAt'])
      assert.ok(k in rows[0]!, `${k} is kept`);
    const { tools } = await client.listTools();
    const schema = tools.find((t) => t.name === 'list_processes')!.outputSchema as unknown as {
      properties: { processes: { items: { properties: Record<string, unknown> } } };
    };
    assert.ok(schema, 'list_processes has an output schema');
    const props = Object.keys(schema.properties.processes.items.properties);
    for (const k of INTERNAL) assert.not.ok(props.includes(k), `the schema has no ${k}`);
    for (const k of Object.keys(rows[0]!)) assert.ok(props.includes(k), `the schema describes ${k}`);
    // The scripts' --json keeps every recorded field, as REFERENCE.md documents.
    const json = (await listJson(sb))[0] as unknown as Record<string, unknown>;
    for (const k of ['startTicks', 'bootId', 'supervisorPid', 'supervisorStartTicks', 'logFile'])
      assert.ok(k in json, `--json keeps ${k}`);
    assert.not.ok((await call('stop_process', { all: true })).isError);
  },
);

mcpTest(
  'MCP: the server claims no tools.listChanged (its tools never change), and states each wait default below the client timeout',
  async (_sb, _note, open) => {
    const { client } = await open();
    const caps = client.getServerCapabilities()!;
    assert.ok(caps.tools, 'it has tools');
    assert.not.ok(caps.tools!.listChanged, `tools.listChanged is not claimed: ${JSON.stringify(caps.tools)}`);
    assert.equal(caps.resources, { subscribe: true, listChanged: true }, 'the resource list does change');
    assert.ok(
      MCP_WAIT_TIMEOUT_SEC * 1000 < DEFAULT_REQUEST_TIMEOUT_MSEC,
      'the default wait ends before the SDK client gives up',
    );
    const { tools } = await client.listTools();
    const field = (tool: string, name: string) =>
      tools.find((t) => t.name === tool)!.inputSchema.properties![name] as { description?: string; default?: unknown };
    for (const [tool, name] of [
      ['start_process', 'wait_timeout'],
      ['restart_process', 'wait_timeout'],
      ['get_logs', 'timeout'],
      ['wait_process', 'timeout'],
    ] as const) {
      const f = field(tool, name);
      assert.ok(
        f.default === MCP_WAIT_TIMEOUT_SEC ||
          new RegExp(`default ${MCP_WAIT_TIMEOUT_SEC}\\b`).test(f.description ?? ''),
        `${tool}.${name} states its default ${MCP_WAIT_TIMEOUT_SEC}: ${JSON.stringify(f)}`,
      );
    }
    assert.match(
      field('start_process', 'cwd').description ?? '',
      /first root.*roots\/list.*else the MCP server's own folder/s,
    );
  },
);

/** A folder of the sandbox, made. */
function folder(dir: string, name: string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(p, { recursive: true });
  return fs.realpathSync(p);
}

/** Where a start without cwd ran: the record's cwd, and what pwd printed there. */
async function startedIn(call: (n: string, a?: Record<string, unknown>) => Promise<CallToolResult>): Promise<string> {
  const res = await call('start_process', { command: 'pwd -P', pty: false });
  assert.not.ok(res.isError, textOf(res));
  const { id, cwd } = res.structuredContent as { id: string; cwd: string };
  const printed = await waitFor(
    'pwd to print',
    async () => textOf(await call('get_logs', { id })).trim() || undefined,
    20_000,
  );
  assert.is(printed, cwd, 'the answer says where it ran');
  return cwd;
}

mcpTest(
  "MCP: a start without cwd runs in the client's first root, asked again after roots/list_changed (or on each call when the client promises no notification), else in the server's own folder",
  async (sb, note, open) => {
    const home = folder(sb.dir, 'server-home');
    const [one, two, three] = ['root-one', 'root-two', 'root-three'].map((n) => folder(sb.dir, n));
    let roots: { uri: string; name?: string }[] = [
      { uri: pathToFileURL(one!).href, name: 'one' },
      { uri: pathToFileURL(three!).href, name: 'three' },
    ];
    let asked = 0;
    const withRoots = await open({
      label: 'roots, with list_changed',
      cwd: home,
      capabilities: { roots: { listChanged: true } },
      setup: (c) =>
        c.setRequestHandler(ListRootsRequestSchema, () => {
          asked++;
          return { roots };
        }),
    });
    assert.is(await startedIn(withRoots.call), one, 'the first root');
    assert.is(await startedIn(withRoots.call), one);
    assert.is(asked, 1, 'asked once: the answer is kept until the client says the roots changed');
    roots = [{ uri: pathToFileURL(two!).href }];
    await withRoots.client.sendRootsListChanged();
    // The notification and the next call travel the same pipe, in order.
    assert.is(await startedIn(withRoots.call), two, 'the new root, once the client said they changed');
    assert.is(asked, 2);
    const given = await withRoots.call('start_process', { command: 'pwd -P', pty: false, cwd: three });
    assert.is((given.structuredContent as { cwd: string }).cwd, three, 'a cwd given wins');
    assert.is(asked, 2, 'and roots are not asked for');

    let plainRoots = [{ uri: pathToFileURL(one!).href }];
    const noNotice = await open({
      label: 'roots, no list_changed',
      cwd: home,
      capabilities: { roots: {} },
      setup: (c) => c.setRequestHandler(ListRootsRequestSchema, () => ({ roots: plainRoots })),
    });
    assert.is(await startedIn(noNotice.call), one);
    plainRoots = [{ uri: pathToFileURL(three!).href }];
    assert.is(await startedIn(noNotice.call), three, 'asked on each call: no notification was promised');

    const none = await open({ label: 'no roots', cwd: home });
    assert.is(await startedIn(none.call), home, "the server's own folder");
    note(`roots asked ${asked} times by the first client`);
    assert.not.ok((await none.call('stop_process', { all: true })).isError);
  },
);

// The new-user trial: with a wrong BG_PASSWORD the server exited before the handshake, and the
// client saw only "MCP error -32000: Connection closed"; the reason was on stderr, which a model
// never reads. The server now connects and every tool says what is wrong.
mcpTest(
  'a wrong or missing BG_PASSWORD: the tools say so, the model is not left with a closed connection',
  async (_sb, _note, open) => {
    const { call: ownerCall } = await open('owner');
    assert.not.ok((await ownerCall('start_process', { command: ['sleep', '60'], name: 'kept' })).isError);
    for (const [label, password, said] of [
      ['wrong', 'not the password', /^list_processes: error: wrong BG_PASSWORD: .*\. Set BG_PASSWORD to /],
      ['missing', '', /^list_processes: error: .*BG_PASSWORD/],
    ] as const) {
      const s = await open({ label, env: { BG_PASSWORD: password } });
      const listed = await s.call('list_processes');
      assert.ok(listed.isError, `${label}: ${textOf(listed)}`);
      assert.match(textOf(listed), said);
      assert.match(textOf(listed), /The MCP server reads it once, at its start: restart it\.$/);
      const code = (listed.structuredContent as { error: { code: string } }).error.code;
      assert.is(code, label === 'wrong' ? 'WRONG_PASSWORD' : 'NO_PASSWORD');
      assert.match(s.stderr(), /mcp_server: error: .*BG_PASSWORD/);
      const started = await s.call('start_process', { command: ['true'] });
      assert.ok(started.isError, textOf(started));
    }
    // Nothing changed for the owner's data: the process still runs under the right password.
    const rows = (await ownerCall('list_processes')).structuredContent as {
      processes: { name?: string; status: string }[];
    };
    assert.equal(
      rows.processes.map((p) => [p.name, p.status]),
      [['kept', 'running']],
    );
    await ownerCall('stop_process', { ids: ['kept'] });
  },
);

test.run();
