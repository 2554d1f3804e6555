// File descriptors the supervisor inherited beyond its stdio. A caller's extra fd (a CI
// runner's pipe, Python's pass_fds) reached the supervisor through start_process and from it
// the command, so the caller never saw EOF on it while the process lived. Node marks fds 0-15
// close-on-exec at startup (and on up to the first unused number), so only a high fd after a
// gap got through; here every fd above 2 that is not close-on-exec is one of those: Node's
// and libuv's own (epoll, eventfd, signal pipes, files) are all opened close-on-exec.
//
// That takes /proc/self/fdinfo (the Linux layer): neither /dev/fd (on Linux a link to
// /proc/self/fd) nor Node tells an fd's close-on-exec flag, and closing blindly would close
// Node's own. The portable layer closes nothing, because on macOS nothing gets through:
// - libuv's uv_spawn (v1.46.0, which Node 20 ships: src/unix/process.c, uv__spawn_and_init_child
//   and uv__spawn_set_posix_spawn_attrs) uses posix_spawn with POSIX_SPAWN_CLOEXEC_DEFAULT on
//   macOS, so the supervisor start_process spawns (detached: POSIX_SPAWN_SETSID, macOS 10.15
//   and later; earlier ones fall back to fork and exec) gets only its stdio, and so does a
//   --no-pty command the supervisor spawns;
// - node-pty (@lydell/node-pty 1.1.0: src/unix/pty.cc, pty_posix_spawn) starts spawn-helper
//   with POSIX_SPAWN_CLOEXEC_DEFAULT | POSIX_SPAWN_SETSID and only the terminal as 0-2.
// On Linux with BG_PLATFORM=portable, libuv forks and execs: a caller's fd without
// close-on-exec then stays open in the supervisor and the command until they end
// (references/REFERENCE.md, start_process; tests/portable-io.test.ts).
import fs from 'node:fs';
import { layerName, type ProcessLayerName } from '../util/platform.ts';

const O_CLOEXEC = 0o2000000;

/** Fds above 2 without close-on-exec, as /proc/self/fdinfo shows them. */
export function inheritedFds(): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (!(fd > 2)) continue;
    let info: string;
    try {
      info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1');
    } catch {
      continue; // the directory listing's own fd, closed by now
    }
    const flags = /^flags:\s+([0-7]+)$/m.exec(info);
    if (flags && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) out.push(fd);
  }
  return out;
}

/** Close what was inherited (see above): neither this process nor its children keep it. The portable layer: nothing. */
export function closeInheritedFds(layer: ProcessLayerName = layerName()): number[] {
  if (layer !== 'linux') return [];
  const fds = inheritedFds();
  for (const fd of fds) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
  }
  return fds;
}
