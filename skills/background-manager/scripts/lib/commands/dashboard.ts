// dashboard: a live web page of every process, for the person beside the agent. It unlocks
// the key once (BG_PASSWORD), serves on loopback, and prints the URL with this run's token.
// --detach runs it as a managed process of its own (stop_process ends it): the password and
// the token reach it over a socket in the data dir's run/ folder (control/handoff.ts), never
// through argv or the environment, which a managed child never gets the password in
// (launch.ts childEnv).
import type net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { makeParser, typed } from '../cli/cli.ts';
import { openContext } from '../store/context.ts';
import { dataDirFromEnv, skillRoot } from '../install/paths.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { BgError, EXIT, isErrno } from '../errors.ts';
import { checkName, startProcess } from '../control/launch.ts';
import { entryBundlesBuilt } from '../install/bundle.ts';
import { serveDashboard } from '../web/server.ts';
import { newAccess } from '../web/access.ts';
import { handOver, takeHandoff, withHandoff } from '../control/handoff.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
/** The URL to open: a wildcard address is reached as 127.0.0.1 from this machine. */
function urlOf(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    "Usage: $0 [--port PORT] [--host ADDRESS] [--detach [--name NAME]]\n\nServes a live page of every managed process (status, ports, output, a PTY's terminal;\nstop, restart, remove, send input) on 127.0.0.1 and prints its URL with a token\nfor this run. Runs until interrupted; --detach runs it as a managed process\n(restart_process NAME starts it again from a shell and prints its new URL).",
  )
    .option('port', { type: 'number', default: 0, describe: 'TCP port (default: a free one)', requiresArg: true })
    .option('host', {
      type: 'string',
      describe: 'Address to listen on (default 127.0.0.1). Anything else is reachable by others: a warning says so',
      requiresArg: true,
    })
    .option('detach', {
      type: 'boolean',
      default: false,
      describe: 'Run in the background as a managed process; stop_process ends it',
    })
    .option('name', {
      type: 'string',
      default: 'dashboard',
      describe: 'With --detach: the process name',
      requiresArg: true,
    })
    .option('handoff', { type: 'string', hidden: true, requiresArg: true })
    .example('$0', 'Serve on a free port until Ctrl-C')
    .example('$0 --detach', 'Serve in the background; stop_process dashboard ends it')
    .demandCommand(0, 0, '', 'dashboard takes no arguments.')
    .parseAsync();
  const port = args.port;
  if (!(Number.isInteger(port) && port >= 0 && port < 65536))
    throw new BgError(
      'USAGE',
      `--port must be a TCP port, 1 to 65535, or 0 for a free one (got ${typed(argv, port, '--port')}).`,
    );
  const host = args.host ?? '127.0.0.1';
  if (args.host !== undefined && !LOOPBACK.has(host)) {
    process.stderr.write(
      `dashboard: warning: listening on ${host}, not only on this machine: anyone who can reach it and has the URL's token can stop processes and read their output. Leave out --host to stay on 127.0.0.1.\n`,
    );
  }
  if (args.detach) return detach(argv, checkName(args.name));
  if (args.handoff) return serveHandedOver(args.handoff, host, port);
  const ctx = openContext({ create: true });
  ctx.store.read(); // a data dir it cannot serve (damaged, another process layer's) is refused before the URL
  return serve(ctx, host, port, undefined, (url) => process.stdout.write(`Dashboard: ${url}\n`));
}

async function serve(
  ctx: ReturnType<typeof openContext>,
  host: string,
  port: number,
  token: string | undefined,
  announce: (url: string, port: number) => void,
): Promise<number> {
  const pageDir = path.join(skillRoot(), 'dist', 'web');
  let dash: Awaited<ReturnType<typeof serveDashboard>>;
  try {
    dash = await serveDashboard(ctx, host, port, pageDir, (p) => newAccess(host, p, token));
  } catch (err) {
    if (isErrno(err, 'EADDRINUSE'))
      throw new BgError(
        'USAGE',
        `port ${port} on ${host} is in use; give another --port, or leave it out for a free one.`,
      );
    if (isErrno(err, 'EADDRNOTAVAIL') || isErrno(err, 'ENOTFOUND'))
      throw new BgError('USAGE', `--host ${host} is not an address of this machine.`);
    throw err;
  }
  const bound = (dash.server.address() as net.AddressInfo).port;
  announce(`${urlOf(host, bound)}#token=${dash.access.token}`, bound);
  // Runs until interrupted (Ctrl-C, or stop_process's SIGTERM for a detached one).
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  dash.feed.close();
  dash.server.closeAllConnections();
  await new Promise((r) => dash.server.close(r));
  return EXIT.OK;
}

/** --detach: start `dashboard --handoff NAME` as a managed process, hand it the password and a token, print the URL. */
async function detach(argv: string[], name: string): Promise<number> {
  const ctx = openContext({ create: true });
  ctx.store.read(); // refused before a handoff socket is made (another process layer's data dir)
  const token = randomBytes(32).toString('base64url');
  const rest = argv.filter(
    (a, i) => !['--detach', '--name'].includes(a) && argv[i - 1] !== '--name' && !a.startsWith('--name='),
  );
  const entry = path.join(skillRoot(), 'dist', 'dashboard.mjs');
  const { started, url } = await handOver(ctx, { password: ctx.password, token }, 'the detached dashboard', (socket) =>
    // Its data dir is in its own recorded environment, for restart_process to start it on again.
    startProcess({
      command: withHandoff([process.execPath, entry, ...rest], socket),
      cwd: process.cwd(),
      from: process.cwd(),
      pty: false,
      name,
      extraEnv: { BG_DATA_DIR: ctx.dataDir },
      context: () => ctx,
      hints: SHELL_HINTS,
    }),
  );
  process.stdout.write(`Dashboard: ${url}#token=${token}\n`);
  process.stdout.write(
    `Started process ${started.id} (PID ${started.pid}) named ${name}; stop_process ${name} ends it.\n`,
  );
  await entryBundlesBuilt();
  return EXIT.OK;
}

/** The detached side: the password and token from its handoff socket, its data dir from its own environment; serve, say the URL back. */
async function serveHandedOver(socket: string, host: string, port: number): Promise<number> {
  const dataDir = dataDirFromEnv(process.env);
  const handoff = await takeHandoff(dataDir, socket);
  try {
    const ctx = openContext({ create: false }, { ...process.env, BG_PASSWORD: handoff.password });
    return await serve(ctx, host, port, handoff.token, (url) => {
      const address = url.replace(/#.*/, '');
      handoff.answer({ url: address });
      // Its log gets the address, not the token: that went to the caller only.
      process.stdout.write(`Dashboard: ${address} (the token was given to the caller)\n`);
    });
  } catch (err) {
    handoff.answer({ error: (err as Error).message });
    throw err;
  }
}
