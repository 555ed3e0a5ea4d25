/**
 * The queue of sends waiting for room, shared by the connections that implement backpressure themselves
 * (the memory transport, mux streams, reliable sessions).
 */
import { wait } from "./deadline.js";
import type { SendOptions } from "./types.js";

/** A send waiting for room: its message, and how to settle it once the message is taken (or fails). */
export interface PendingSend {
  /** The message; for a batch, its first message. */
  readonly message: Uint8Array;
  /** The whole batch of a `sendBatch()` (taken at once, all or none); `undefined` for a single send. */
  readonly batch?: readonly Uint8Array[] | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Queues `message` at the end of `pending` until its owner takes it and calls `resolve` (or `reject`).
 * A timeout or abort from `options` takes it out of the queue first, then calls `onCancel` (the owner
 * may now be able to go on: the next send, or a close waiting for the queue to empty).
 */
export function queueSend(pending: PendingSend[], message: Uint8Array, options: SendOptions | undefined, onCancel: () => void): Promise<void> {
  return queueEntry(pending, message, undefined, options, onCancel);
}

/**
 * Queues a non-empty batch as one entry (`batch` set), taken whole by its owner; a timeout or abort withdraws
 * the whole batch, as {@link queueSend} does a message.
 */
export function queueSendBatch(pending: PendingSend[], batch: readonly Uint8Array[], options: SendOptions | undefined, onCancel: () => void): Promise<void> {
  return queueEntry(pending, batch[0]!, batch, options, onCancel);
}

function queueEntry(
  pending: PendingSend[],
  message: Uint8Array,
  batch: readonly Uint8Array[] | undefined,
  options: SendOptions | undefined,
  onCancel: () => void,
): Promise<void> {
  return wait<void>("send", options, (resolve, reject) => {
    const entry: PendingSend = { message, batch, resolve, reject };
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
