/**
 * The RPC kinds of the `ipc.IpcMessage` envelope (fields 16–21 of packages/core/proto/ipc.proto) as this
 * package handles them: encoded (encode.ts) and decoded (decode.ts) by hand, in one pass over the bytes,
 * ids as plain numbers (bigint only above 2^53), payloads as views of the received frame.
 * `test/wire.test.ts` checks every byte against the code protobufjs generates from the same .proto;
 * docs/wire.md §7 specifies the call flow.
 */
import protobuf from "protobufjs";

/** A call's id: a number, or a bigint when a peer chose one above 2^53. */
export type CallId = number | bigint;

/** A request message's codec, as both protobufjs reflection types and generated classes provide it. */
export interface Encoder<T> {
  encode(message: T, writer?: protobuf.Writer): protobuf.Writer;
}

/** Metadata entries a request may carry (docs/wire.md §7.2); a server answers more with `RESOURCE_EXHAUSTED`. */
export const MAX_METADATA_ENTRIES = 256;
/** Bytes of a request's encoded metadata entries together (docs/wire.md §7.2). */
export const MAX_METADATA_BYTES = 64 * 1024;

export interface RequestEnvelope {
  readonly kind: "request";
  readonly id: CallId;
  /** The method's path as UTF-8 bytes (a view): servers look routes up by bytes, not by string. */
  readonly method: Uint8Array;
  readonly timeoutMs: number;
  /** Undefined when none was sent, or when it was over the limits (see `metadataTooLarge`). */
  readonly metadata: Record<string, string> | undefined;
  /** Over {@link MAX_METADATA_ENTRIES} or {@link MAX_METADATA_BYTES}: the rest was skipped, not kept. */
  readonly metadataTooLarge: boolean;
  readonly payload: Uint8Array;
  readonly window: number;
}

export interface ResponseEnvelope {
  readonly kind: "response";
  readonly id: CallId;
  readonly status: number;
  readonly message: string;
  readonly details: Uint8Array | undefined;
  readonly payload: Uint8Array;
}

export interface CancelEnvelope {
  readonly kind: "cancel";
  readonly id: CallId;
  readonly status: number;
}

export interface StreamEnvelope {
  readonly kind: "message";
  readonly id: CallId;
  readonly payload: Uint8Array;
}

export interface EndEnvelope {
  readonly kind: "end";
  readonly id: CallId;
}

export interface WindowEnvelope {
  readonly kind: "window";
  readonly id: CallId;
  readonly credit: number;
}

/** A valid envelope that is not an RPC message (a channel kind, or a field this version does not know). */
export interface OtherEnvelope {
  readonly kind: "other";
  /** The envelope field that was set, or 0 for an empty envelope. */
  readonly field: number;
}

export type Envelope = RequestEnvelope | ResponseEnvelope | CancelEnvelope | StreamEnvelope | EndEnvelope | WindowEnvelope | OtherEnvelope;

// Envelope field numbers (IpcMessage.kind).
export const REQUEST = 16;
export const RESPONSE = 17;
export const CANCEL = 18;
export const MESSAGE = 19;
export const END = 20;
export const WINDOW = 21;

export const EMPTY: Uint8Array = new Uint8Array(0);
const utf8 = protobuf.util.utf8;

/** UTF-8 bytes of a string, e.g. a method's path (encoded once, written into every request). */
export function utf8Bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A string from UTF-8 bytes. */
export function utf8Text(bytes: Uint8Array): string {
  return bytes.byteLength === 0 ? "" : utf8.read(bytes, 0, bytes.byteLength);
}
