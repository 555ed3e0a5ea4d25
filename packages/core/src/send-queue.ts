/**
 * The queue of sends waiting for room, shared by the connections that implement backpressure themselves
 * (the memory transport, mux streams, reliable sessions).
 */
import { wait } from "./deadline.js";
import type { SendOptions } from "./types.js";

/** A send waiting for room: its message, and how to settle it once the message is taken (or fails). */
export interface PendingSend {
  readonly message: Uint8Array;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Queues `message` at the end of `pending` until its owner takes it and calls `resolve` (or `reject`).
 * A timeout or abort from `options` takes it out of the queue first, then calls `onCancel` (the owner
 * may now be able to go on: the next send, or a close waiting for the queue to empty).
 */
export function queueSend(pending: PendingSend[], message: Uint8Array, options: SendOptions | undefined, onCancel: () => void): Promise<void> {
  return wait<void>("send", options, (resolve, reject) => {
    const entry: PendingSend = { message, resolve, reject };
    pending.push(entry);
    return () => {
      removeItem(pending, entry);
      onCancel();
    };
  });
}

/** Removes the first occurrence of `item` from `list`, if there is one. */
export function removeItem<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
