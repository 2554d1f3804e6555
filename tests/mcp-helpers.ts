// What the MCP test files share: the server started as a host starts it (node
// dist/mcp_server.mjs, BG_PASSWORD and BG_DATA_DIR in env), driven by the SDK's own Client over
// StdioClientTransport, and a transcript of every call and answer under the sandbox (its path
// printed; MCP_TRANSCRIPT_OUT=<file> keeps a copy outside it).
import { test } from 'uvu';
import fs from 'node:fs';
import path from 'node:path';
import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { makeSandbox, cleanup, track, ROOT, type Sandbox } from './helpers.ts';

export const SERVER = path.join(ROOT, 'skills/background-manager/dist/mcp_server.mjs');

export interface Session {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  call: (name: string, args?: Record<string, unknown>, opts?: { signal?: AbortSignal }) => Promise<CallToolResult>;
}

/** How a test's client connects: its label in the transcript, its capabilities (roots), the server's folder. */
export interface ConnectOptions {
  label?: string;
  capabilities?: ClientOptions['capabilities'];
  /** Called with the client before it connects (to set its request handlers: roots/list). */
  setup?: (client: Client) => void;
  /** The folder the host starts the server in (default: this process's). */
  cwd?: string;
  /** Variables that replace the sandbox's for the server (a wrong BG_PASSWORD). */
  env?: Record<string, string>;
}

/** The transcript of one test: every call and answer, appended to a file in the sandbox. */
function transcript(sb: Sandbox, title: string): { file: string; note: (text: string) => void } {
  const file = path.join(sb.dir, 'mcp-transcript.txt');
  fs.writeFileSync(file, `# ${title}\n`);
  return { file, note: (text) => fs.appendFileSync(file, `${text}\n`) };
}

/** Start the server as a host would and connect. */
export async function connect(sb: Sandbox, note: (text: string) => void, opts: ConnectOptions = {}): Promise<Session> {
  const label = opts.label ?? 'client';
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER],
    env: { ...(sb.env as Record<string, string>), ...opts.env },
    stderr: 'pipe',
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const client = new Client(
    { name: `bgm-test-${label}`, version: '1.0.0' },
    opts.capabilities ? { capabilities: opts.capabilities } : undefined,
  );
  opts.setup?.(client);
  await client.connect(transport);
  track(sb, transport.pid!); // cleanup ends the server if a test fails before it exits
  note(`## ${label} connected (server PID ${transport.pid})`);
  const call = async (name: string, args: Record<string, unknown> = {}, o: { signal?: AbortSignal } = {}) => {
    note(`-> ${name} ${JSON.stringify(args)}`);
    const res = (await client.callTool({ name, arguments: args }, undefined, {
      signal: o.signal,
      timeout: 120_000,
    })) as CallToolResult;
    const text = res.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
    note(`<- ${res.isError ? 'ERROR ' : ''}${text.replace(/\n/g, '\n   ')}`);
    if (res.structuredContent) note(`   structured: ${JSON.stringify(res.structuredContent).slice(0, 600)}`);
    return res;
  };
  return { client, transport, stderr: () => err, call };
}

export function textOf(res: CallToolResult): string {
  return res.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** A test with its own sandbox and transcript; clients closed and the sandbox cleaned up whatever happens. */
export function mcpTest(
  title: string,
  fn: (
    sb: Sandbox,
    note: (t: string) => void,
    open: (label?: string | ConnectOptions) => Promise<Session>,
  ) => Promise<void>,
): void {
  test(title, async () => {
    const sb = makeSandbox('bgm-mcp-');
    const t = transcript(sb, title);
    const sessions: Session[] = [];
    try {
      await fn(sb, t.note, async (o) => {
        const s = await connect(sb, t.note, typeof o === 'string' ? { label: o } : o);
        sessions.push(s);
        return s;
      });
    } finally {
      for (const s of sessions) await s.client.close().catch(() => undefined);
      process.stderr.write(`  [transcript] ${t.file}\n`);
      if (process.env.MCP_TRANSCRIPT_OUT) fs.appendFileSync(process.env.MCP_TRANSCRIPT_OUT, fs.readFileSync(t.file));
      cleanup(sb);
    }
  });
}
