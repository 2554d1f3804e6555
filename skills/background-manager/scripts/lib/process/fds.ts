// File descriptors the supervisor inherited beyond its stdio. A caller's extra fd (a CI
// runner's pipe, Python's pass_fds) reached the supervisor through start_process and from it
// the command, so the caller never saw EOF on it while the process lived. Node marks fds 0-15
// close-on-exec at startup (and on up to the first unused number), so only a high fd after a
// gap got through; here every fd above 2 that is not close-on-exec is one of those: Node's
// and libuv's own (epoll, eventfd, signal pipes, files) are all opened close-on-exec.
import fs from 'node:fs';

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

/** Close what was inherited (see above): neither this process nor its children keep it. */
export function closeInheritedFds(): number[] {
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
