// What send_input says while people are attached to the process (attach_process, the page):
// apart from ops/attach.ts, so that send_input loads nothing of the viewer's.
import type { ProcessRecord } from '../store/state.ts';

/** What send_input adds while people are attached (the state's `viewers`). */
export function attachedNote(rec: ProcessRecord): string | undefined {
  const n = rec.viewers ?? 0;
  if (n <= 0) return undefined;
  return `note: ${n === 1 ? 'a person is' : `${n} people are`} attached to process ${rec.id} (attach_process) and may be typing too.`;
}
