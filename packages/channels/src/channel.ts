/**
 * `messageChannel(connection)`: typed envelopes (`proto/ipc.proto`'s `IpcMessage`) over any connection — one
 * channel for every kind of message (docs/guide.md#typed-messages-the-envelope). The connection already carries
 * whole messages, so one received message is always one envelope, whatever the transport does with the bytes.
 */
import Long from "long";
import {
  InvalidArgumentError,
  ProtocolError,
  throwIfAborted,
  type CloseOptions,
  type Connection,
  type ReceiveBatchOptions,
  type ReceiveOptions,
  type SendOptions,
} from "@ipc/core";
import { ipc } from "@ipc/core/proto";

/** One envelope, as the channel sends and receives it. */
export type ChannelMessage =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "binary"; readonly binary: Uint8Array }
  | { readonly kind: "command"; readonly cmd: string; readonly args: readonly string[] }
  | { readonly kind: "data"; readonly id: bigint; readonly payload: Uint8Array }
  | { readonly kind: "ack"; readonly id: bigint };

/** A connection that carries {@link ChannelMessage}s. Closing the channel closes its connection. */
export interface MessageChannel extends AsyncIterable<ChannelMessage>, AsyncDisposable {
  /** The connection underneath. */
  readonly connection: Connection;
  /** Encodes and sends one envelope (see `Connection.send`). Throws `InvalidArgumentError` on a bad one. */
  send(message: ChannelMessage, options?: SendOptions): Promise<void>;
  /**
   * Encodes every envelope and sends them with one `Connection.sendBatch` (one wait; accepted whole or, when
   * the wait ends first, not at all). Throws `InvalidArgumentError` on a bad one, before sending any.
   */
  sendBatch(messages: readonly ChannelMessage[], options?: SendOptions): Promise<void>;
  /**
   * The next envelope, or `undefined` after a clean close. A message that is not a valid envelope is a
   * `ProtocolError`, and the connection is aborted (a peer that sends garbage is not to be trusted).
   */
  receive(options?: ReceiveOptions): Promise<ChannelMessage | undefined>;
  /**
   * Every envelope already received (at least one; bounded as `Connection.receiveBatch`), or `undefined` after
   * a clean close. An envelope that does not decode aborts the connection: the ones before it are returned, and
   * the next call rejects with the `ProtocolError`.
   */
  receiveBatch(options?: ReceiveBatchOptions): Promise<ChannelMessage[] | undefined>;
  close(options?: CloseOptions): Promise<void>;
  abort(reason?: Error): void;
  readonly closed: Promise<void>;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

function toLong(id: bigint): Long {
  if (typeof id !== "bigint" || id < 0n || id > U64_MAX) {
    throw new InvalidArgumentError(`a message id must be a bigint from 0 to 2^64 − 1, got ${String(id)}`);
  }
  return Long.fromBigInt(id, true);
}

function toBigInt(value: number | Long | null | undefined): bigint {
  if (value === null || value === undefined) return 0n;
  return typeof value === "number" ? BigInt(value) : Long.fromValue(value, true).toBigInt();
}

/** Encodes a {@link ChannelMessage} into the bytes of one `ipc.IpcMessage`. */
export function encodeChannelMessage(message: ChannelMessage): Uint8Array {
  switch (message?.kind) {
    case "text":
      if (typeof message.text !== "string") throw new InvalidArgumentError("a text message needs a string `text`");
      return ipc.IpcMessage.encode({ text: message.text }).finish();
    case "binary":
      if (!(message.binary instanceof Uint8Array)) {
        throw new InvalidArgumentError("a binary message needs a Uint8Array `binary`");
      }
      return ipc.IpcMessage.encode({ binary: message.binary }).finish();
    case "command":
      if (typeof message.cmd !== "string" || !Array.isArray(message.args) || message.args.some((a) => typeof a !== "string")) {
        throw new InvalidArgumentError("a command message needs a string `cmd` and string `args`");
      }
      return ipc.IpcMessage.encode({ command: { cmd: message.cmd, args: [...message.args] } }).finish();
    case "data":
      if (!(message.payload instanceof Uint8Array)) {
        throw new InvalidArgumentError("a data message needs a Uint8Array `payload`");
      }
      return ipc.IpcMessage.encode({ data: { id: toLong(message.id), payload: message.payload } }).finish();
    case "ack":
      return ipc.IpcMessage.encode({ ack: { id: toLong(message.id) } }).finish();
    default:
      throw new InvalidArgumentError(
        `unknown message kind '${String((message as { kind?: unknown } | undefined)?.kind)}' (expected text, binary, command, data or ack)`,
      );
  }
}

/** Decodes the bytes of one `ipc.IpcMessage`; throws `ProtocolError` if they are not one. */
export function decodeChannelMessage(bytes: Uint8Array): ChannelMessage {
  let decoded: ipc.IpcMessage;
  try {
    decoded = ipc.IpcMessage.decode(bytes);
  } catch (error) {
    throw new ProtocolError(`received ${bytes.byteLength} bytes that are not an ipc.IpcMessage envelope`, {
      cause: error,
    });
  }
  switch (decoded.kind) {
    case "text":
      return { kind: "text", text: decoded.text ?? "" };
    case "binary":
      return { kind: "binary", binary: decoded.binary ?? new Uint8Array(0) };
    case "command":
      return { kind: "command", cmd: decoded.command?.cmd ?? "", args: decoded.command?.args ?? [] };
    case "data":
      return { kind: "data", id: toBigInt(decoded.data?.id), payload: decoded.data?.payload ?? new Uint8Array(0) };
    case "ack":
      return { kind: "ack", id: toBigInt(decoded.ack?.id) };
    case "hello":
    case "welcome":
    case "sessionEnd":
    case "goodbye":
    case "mux":
    case "subscribe":
    case "publish":
    case "batch":
      throw new ProtocolError(
        `received a ${LAYER_OF[decoded.kind]} envelope (${decoded.kind}) on a message channel; ` +
          `open that layer on the connection (${LAYER_OF[decoded.kind]}), not messageChannel()`,
      );
    case "rpcRequest":
    case "rpcResponse":
    case "rpcCancel":
    case "rpcMessage":
    case "rpcEnd":
    case "rpcWindow":
      throw new ProtocolError(
        `received an @ipc/rpc envelope (${decoded.kind}) on a message channel; RPC calls are served and made with @ipc/rpc, not messageChannel()`,
      );
    default:
      throw new ProtocolError(
        `received an ipc.IpcMessage envelope of ${bytes.byteLength} bytes with no kind this channel knows ` +
          `(an empty message, or a field from a newer protocol version)`,
      );
  }
}

/** The layer of @ipc/core that owns each envelope kind messageChannel() refuses. */
const LAYER_OF = {
  hello: "reliable()",
  welcome: "reliable()",
  sessionEnd: "reliable()",
  goodbye: "reliable() or subscribe()",
  mux: "mux()",
  subscribe: "publisher()",
  publish: "subscribe()",
  batch: "reliable() or mux()",
} as const;

class Channel implements MessageChannel {
  readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  get closed(): Promise<void> {
    return this.connection.closed;
  }

  send(message: ChannelMessage, options?: SendOptions): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = encodeChannelMessage(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.connection.send(bytes, options);
  }

  sendBatch(messages: readonly ChannelMessage[], options?: SendOptions): Promise<void> {
    let encoded: Uint8Array[];
    try {
      if (!Array.isArray(messages)) throw new InvalidArgumentError("sendBatch() takes an array of messages");
      encoded = messages.map(encodeChannelMessage);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.connection.sendBatch(encoded, options);
  }

  async receive(options?: ReceiveOptions): Promise<ChannelMessage | undefined> {
    // Envelopes the iterator already took in its last batch come first.
    if (this.#head < this.#buffered.length) {
      throwIfAborted(options?.signal, "receive");
      return this.#decode(this.#next());
    }
    const bytes = await this.connection.receive(options);
    return bytes === undefined ? undefined : this.#decode(bytes);
  }

  async receiveBatch(options?: ReceiveBatchOptions): Promise<ChannelMessage[] | undefined> {
    const batch = this.#head < this.#buffered.length ? this.#rest() : await this.connection.receiveBatch(options);
    if (batch === undefined) return undefined;
    const messages: ChannelMessage[] = [];
    for (const bytes of batch) {
      try {
        messages.push(decodeChannelMessage(bytes));
      } catch (error) {
        this.connection.abort(error as Error);
        if (messages.length === 0) throw error;
        break;
      }
    }
    return messages;
  }

  /** Reads the connection with `receiveBatch()`: one call for everything that has arrived. */
  async *[Symbol.asyncIterator](): AsyncIterator<ChannelMessage> {
    for (;;) {
      if (this.#head === this.#buffered.length) {
        const batch = await this.connection.receiveBatch();
        if (batch === undefined) return;
        this.#buffered = batch;
        this.#head = 0;
      }
      yield this.#decode(this.#next());
    }
  }

  /** The batch the iterator took with one `receiveBatch()`, and how far it got. */
  #buffered: Uint8Array[] = [];
  #head = 0;

  #next(): Uint8Array {
    const bytes = this.#buffered[this.#head++]!;
    if (this.#head === this.#buffered.length) this.#rest();
    return bytes;
  }

  /** What is left of the iterator's batch, which is then empty. */
  #rest(): Uint8Array[] {
    const rest = this.#head === 0 ? this.#buffered : this.#buffered.slice(this.#head);
    this.#buffered = [];
    this.#head = 0;
    return rest;
  }

  #decode(bytes: Uint8Array): ChannelMessage {
    try {
      return decodeChannelMessage(bytes);
    } catch (error) {
      this.#rest();
      this.connection.abort(error as Error);
      throw error;
    }
  }

  close(options?: CloseOptions): Promise<void> {
    return this.connection.close(options);
  }

  abort(reason?: Error): void {
    this.connection.abort(reason);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Wraps `connection` so that it sends and receives typed {@link ChannelMessage} envelopes. */
export function messageChannel(connection: Connection): MessageChannel {
  return new Channel(connection);
}
