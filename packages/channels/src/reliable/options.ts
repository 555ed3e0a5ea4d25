import { featuresOf } from "../features.js";
import { DEFAULT_HIGH_WATER_MARK, InvalidArgumentError, type WaitOptions } from "@ipc/core";
import type { SessionState } from "./session.js";

/** Options both ends of a reliable session understand. */
export interface SessionOptions {
  /**
   * Bytes of messages sent and not yet acknowledged that this end keeps for replay (each message counts
   * its length + 64). `send()` waits when they would be exceeded: backpressure, not growth. It is also the
   * window this end announces: the peer never has more than this many bytes in flight towards it, so it
   * bounds the unread messages held here too. One message larger than the window is still sent alone.
   * Default: 1 MiB (1 048 576).
   */
  readonly maxBufferedBytes?: number | undefined;
  /** Messages sent and not yet acknowledged that this end keeps; `send()` waits beyond. Default: 4096. */
  readonly maxBufferedMessages?: number | undefined;
  /**
   * Milliseconds after which this end sends a heartbeat (an Ack) when it sent nothing else, so that the
   * peer can tell it is alive. Default: 5 000.
   */
  readonly heartbeatInterval?: number | undefined;
  /**
   * Milliseconds without any message from the peer after which its connection is considered dead and
   * dropped; the session then resumes on a new one. At least twice `heartbeatInterval`. Default: 15 000.
   */
  readonly deadPeerTimeout?: number | undefined;
  /**
   * Milliseconds a session waits to be resumed after losing its connection (a client keeps reconnecting
   * that long; a server keeps the session's state that long) before it fails with `SessionLostError`.
   * Default: 30 000.
   */
  readonly resumeTimeout?: number | undefined;
  /**
   * Milliseconds a received message may wait before it is acknowledged when the application sends
   * nothing to piggy-back the acknowledgement on. Acks are otherwise batched: one per 64 messages taken,
   * or per quarter window of bytes. Default: 5.
   */
  readonly ackDelay?: number | undefined;
  /** Milliseconds the Hello/Welcome exchange on a new connection may take. Default: 10 000. */
  readonly handshakeTimeout?: number | undefined;
  /** Called on every change of state, with the error that caused a loss or the end. Default: none. */
  readonly onStateChange?: ((state: SessionState, error?: Error) => void) | undefined;
}

/** {@link SessionOptions} with every default applied. */
export interface ResolvedSessionOptions {
  readonly maxBufferedBytes: number;
  readonly maxBufferedMessages: number;
  readonly heartbeatInterval: number;
  readonly deadPeerTimeout: number;
  readonly resumeTimeout: number;
  readonly ackDelay: number;
  readonly handshakeTimeout: number;
  readonly onStateChange: ((state: SessionState, error?: Error) => void) | undefined;
  /** The wire features this side announces (`../features.ts`; not a public option). */
  readonly features: number;
}

/** Options of `reliable()`: the session's, plus a deadline for the first connection and handshake. */
export interface ReliableOptions extends SessionOptions, WaitOptions {
  /** Milliseconds between reconnection attempts at first; doubles per failure. Default: 50. */
  readonly minReconnectDelay?: number | undefined;
  /** The longest wait between reconnection attempts, in ms. Default: 2 000. */
  readonly maxReconnectDelay?: number | undefined;
}

/** Options of `reliableListener()`. */
export interface ReliableListenerOptions extends SessionOptions {
  /** New sessions waiting for `accept()`; a client beyond them is refused (Goodbye). Default: 128. */
  readonly backlog?: number | undefined;
  /** Sessions this listener keeps at once (live or waiting to be resumed); more are refused. Default: 1024. */
  readonly maxSessions?: number | undefined;
}

/** Every bound and threshold of the session protocol that is not an option. */
export const MESSAGE_OVERHEAD = 64;
/** Acks are sent at once after this many messages taken by the application. */
export const ACK_EVERY = 64;

function integer(name: string, value: number | undefined, fallback: number, min: number, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Applies the defaults of {@link SessionOptions} and checks every value. */
export function resolveSessionOptions(options: SessionOptions | undefined): ResolvedSessionOptions {
  const heartbeatInterval = integer("heartbeatInterval", options?.heartbeatInterval, 5000, 1);
  const deadPeerTimeout = integer("deadPeerTimeout", options?.deadPeerTimeout, Math.max(15_000, 2 * heartbeatInterval), 1);
  if (deadPeerTimeout < 2 * heartbeatInterval) {
    throw new InvalidArgumentError(
      `deadPeerTimeout (${deadPeerTimeout} ms) must be at least twice heartbeatInterval (${heartbeatInterval} ms), ` +
        `or a live but idle peer would be taken for dead`,
    );
  }
  return {
    maxBufferedBytes: integer("maxBufferedBytes", options?.maxBufferedBytes, 4 * DEFAULT_HIGH_WATER_MARK, MESSAGE_OVERHEAD),
    maxBufferedMessages: integer("maxBufferedMessages", options?.maxBufferedMessages, 4096, 1),
    heartbeatInterval,
    deadPeerTimeout,
    resumeTimeout: integer("resumeTimeout", options?.resumeTimeout, 30_000, 0),
    ackDelay: integer("ackDelay", options?.ackDelay, 5, 0),
    handshakeTimeout: integer("handshakeTimeout", options?.handshakeTimeout, 10_000, 1),
    onStateChange: options?.onStateChange,
    features: featuresOf(options),
  };
}

export { integer as integerOption };
