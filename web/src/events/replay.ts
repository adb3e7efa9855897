/**
 * Event replay: the notifier may send an event twice (a live delivery racing a replay after a
 * reconnect), always with the same ``event_id``, in increasing order. The client keeps the greatest
 * id it has handled, drops anything not greater, and reconnects with ``last_event_id`` set to it.
 */

export interface StoryBangEvent {
  event_id: string;
  id: string;
  task?: string;
  [key: string]: unknown;
}

const EVENT_ID = /^(\d+)-(\d+)$/;

/** Compare two ``<ms>-<seq>`` ids: negative, zero or positive like a sort comparator. */
export function compareEventIds(a: string, b: string): number {
  const ma = EVENT_ID.exec(a);
  const mb = EVENT_ID.exec(b);
  if (!ma || !mb) throw new Error(`not an event id: ${ma ? b : a}`);
  const ms = BigInt(ma[1]!) - BigInt(mb[1]!);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(ma[2]!) - BigInt(mb[2]!);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

export class EventCursor {
  constructor(public last: string | null = null) {}

  /** True when ``eventId`` is new (and remember it); false for a duplicate or an older event. */
  accept(eventId: string): boolean {
    if (this.last !== null && compareEventIds(eventId, this.last) <= 0) return false;
    this.last = eventId;
    return true;
  }
}
