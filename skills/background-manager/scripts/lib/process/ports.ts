// TCP ports a process tree listens on: LISTEN sockets in /proc/net/tcp{,6} matched by inode
// to the tree members' open file descriptors.
// The portable layer (BG_PLATFORM=portable) asks lsof instead (portable.ts listeningByPid).
import fs from 'node:fs';
import { isPortable, treeMembers, type ProcStat } from './proc.ts';
import { listeningByPid } from './portable.ts';

function listeningInodes(): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A: LISTEN
      const port = parseInt(f[1]!.split(':')[1]!, 16);
      out.set(f[9]!, port);
    }
  }
  return out;
}

function socketInodes(pid: number): string[] {
  const out: string[] = [];
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) out.push(link.slice(8, -1));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** The machine's LISTEN sockets as one string (their inodes): a change says a port opened or closed somewhere. */
export function listeningInodeSet(): string {
  if (isPortable())
    return [...listeningByPid()]
      .map(([pid, ports]) => `${pid}:${ports.join('+')}`)
      .sort()
      .join(',');
  return [...listeningInodes().keys()].sort().join(',');
}

/**
 * What one look at the ports reads once: the LISTEN sockets of /proc/net/tcp{,6} (inode ->
 * port), read only when a process of a tree holds a socket at all. A listing shares one
 * for all its processes (each read of those files costs about 1-2 ms; issue 25).
 */
export interface PortScan {
  inodes?: Map<string, number>;
  /** The portable layer's one lsof per look: PID -> ports. */
  byPid?: Map<number, number[]>;
}

/** Sorted TCP ports that any process of `leader`'s tree listens on. */
export function listeningPorts(leader: number, stats?: ProcStat[], scan: PortScan = {}): number[] {
  const ports = new Set<number>();
  if (isPortable()) {
    scan.byPid ??= listeningByPid();
    for (const m of treeMembers(leader, stats)) for (const p of scan.byPid.get(m.pid) ?? []) ports.add(p);
    return [...ports].sort((a, b) => a - b);
  }
  for (const m of treeMembers(leader, stats)) {
    for (const ino of socketInodes(m.pid)) {
      scan.inodes ??= listeningInodes();
      const port = scan.inodes.get(ino);
      if (port !== undefined) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}
