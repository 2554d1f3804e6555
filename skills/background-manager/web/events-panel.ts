/// <reference lib="dom" />
// The page's recent events (issue 26, part 2): the event log's latest lines, newest first, as
// watch_processes prints them, in a small panel of its own under the list. Text only.

interface PageEvent {
  seq: number;
  event: string;
  line: string;
}

const BAD = new Set(['failed', 'killed']);

function panel(): HTMLOListElement {
  let list = document.getElementById('events') as HTMLOListElement | null;
  if (list) return list;
  const section = document.createElement('section');
  section.id = 'events-pane';
  section.setAttribute('aria-label', 'Recent events');
  const h = document.createElement('h2');
  h.textContent = 'Recent events';
  list = document.createElement('ol');
  list.id = 'events';
  // Its own few styles (the page's stylesheet belongs to the layout): small, monospace, scrolling.
  h.style.cssText = 'font-size: 0.95rem; margin: 0.75rem 0 0.25rem';
  list.style.cssText =
    'list-style: none; margin: 0; padding: 0; max-height: 12rem; overflow-y: auto; font: 0.8rem ui-monospace, monospace';
  section.append(h, list);
  (document.getElementById('list-pane') ?? document.body).append(section);
  return list;
}

/** Show the `lifecycle` feed's list (JSON of PageEvent[]). */
export function renderEvents(data: string): void {
  const events = JSON.parse(data) as PageEvent[];
  const list = panel();
  list.replaceChildren(
    ...events
      .slice()
      .reverse()
      .map((e) => {
        const li = document.createElement('li');
        li.textContent = e.line;
        li.dataset.event = e.event;
        if (BAD.has(e.event)) li.style.color = '#b00020';
        return li;
      }),
  );
  if (!events.length) {
    const li = document.createElement('li');
    li.style.color = '#667';
    li.textContent = 'No events yet.';
    list.append(li);
  }
}
