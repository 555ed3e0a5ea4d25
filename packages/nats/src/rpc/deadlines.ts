/**
 * One timer for the deadlines of every call of a process, instead of a `setTimeout` per call: deadlines
 * fall into slots of {@link SLOT_MS}, and the one timer waits for the earliest slot that has a call. A
 * deadline fires at the end of its slot, never before it (at most {@link SLOT_MS} later than a timer of
 * its own would). While no call waits, the timer does not keep the process alive (it is unref'd, and left
 * armed: calls that end as soon as they start, as unary calls answered inline do, would otherwise clear and
 * set a timer each), so an idle process can exit as before.
 */

/** The width of a slot, in ms. */
const SLOT_MS = 4;
/** The longest delay `setTimeout` takes; a longer wait is re-armed when it fires. */
const MAX_TIMER = 2 ** 31 - 1;

/** A deadline waiting in the scheduler: clear it when the call ends first. */
export interface DeadlineTimer {
  clear(): void;
}

class Entry implements DeadlineTimer {
  readonly slot: number;
  fire: (() => void) | undefined;

  constructor(slot: number, fire: () => void) {
    this.slot = slot;
    this.fire = fire;
  }

  clear(): void {
    if (this.fire === undefined) return;
    this.fire = undefined;
    remove(this);
  }
}

/** The calls waiting, by slot (the slot's end is `slot * SLOT_MS`). */
const slots = new Map<number, Set<Entry>>();
let waiting = 0;
let timer: NodeJS.Timeout | undefined;
/** The slot the timer is armed for. */
let armedSlot = Number.POSITIVE_INFINITY;
/** False while the armed timer is unref'd (no call waits). */
let holding = false;

function remove(entry: Entry): void {
  const set = slots.get(entry.slot);
  if (set === undefined || !set.delete(entry)) return;
  if (set.size === 0) slots.delete(entry.slot);
  if (--waiting === 0 && timer !== undefined && holding) {
    timer.unref();
    holding = false;
  }
}

function arm(slot: number): void {
  if (timer !== undefined) clearTimeout(timer);
  armedSlot = slot;
  timer = setTimeout(onTimer, Math.max(0, Math.min(slot * SLOT_MS - Date.now(), MAX_TIMER)));
  holding = true;
}

function onTimer(): void {
  timer = undefined;
  armedSlot = Number.POSITIVE_INFINITY;
  holding = false;
  const now = Date.now();
  const due: Entry[] = [];
  let next = Number.POSITIVE_INFINITY;
  for (const [slot, set] of slots) {
    if (slot * SLOT_MS <= now) {
      for (const entry of set) due.push(entry);
      slots.delete(slot);
      waiting -= set.size;
    } else if (slot < next) {
      next = slot;
    }
  }
  if (next !== Number.POSITIVE_INFINITY) arm(next);
  for (const entry of due) {
    const fire = entry.fire;
    entry.fire = undefined;
    try {
      fire?.();
    } catch (error) {
      // As a throwing timer callback would: uncaught, without keeping the other deadlines from firing.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** Calls `fire` once `deadline` (ms since the epoch) has passed; returns the timer to clear. */
export function setDeadline(deadline: number, fire: () => void): DeadlineTimer {
  const slot = Math.ceil(deadline / SLOT_MS);
  const entry = new Entry(slot, fire);
  let set = slots.get(slot);
  if (set === undefined) {
    set = new Set();
    slots.set(slot, set);
  }
  set.add(entry);
  waiting++;
  if (slot < armedSlot) arm(slot);
  else if (!holding) {
    timer!.ref();
    holding = true;
  }
  return entry;
}
