/**
 * The reliable session's messages (proto/ipc.proto: Data, Ack, Hello, Welcome, SessionEnd, Goodbye) to and
 * from bytes. Data and Ack, one per message sent, are written and read by hand; the rest go through the
 * generated code.
 */
import Long from "long";
import { ProtocolError } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { readVarint, skipField, VarintReader, varintLength, writeVarint } from "./varint.js";

const EMPTY = new Uint8Array(0);

/** The version of the session protocol this code speaks (Hello.version). */
export const PROTOCOL_VERSION = 1;

/** Hello and Welcome: where one side stands when a connection (re)joins the session. */
export interface Handshake {
  readonly version: number;
  readonly session: Uint8Array;
  readonly received: number;
  readonly ack: number;
  readonly window: number;
  /** The optional features this side announces (field 6; 0 when absent): see `../features.ts`. */
  readonly features: number;
}

/** One decoded message of the session layer. */
export type SessionFrame =
  | { readonly kind: "data"; readonly id: number; readonly payload: Uint8Array; readonly ack: number }
  | { readonly kind: "ack"; readonly id: number }
  | ({ readonly kind: "hello" } & Handshake)
  | ({ readonly kind: "welcome" } & Handshake)
  | { readonly kind: "sessionEnd"; readonly last: number }
  | { readonly kind: "goodbye"; readonly reason: ipc.Goodbye.Reason; readonly message: string }
  | { readonly kind: "other"; readonly name: string };

const DATA_TAG = 0x22; // field 4, length-delimited
const ACK_TAG = 0x2a; // field 5, length-delimited

/** Bytes of the envelope `Data { id, payload, ack }` with a payload of `payloadLength` bytes. */
export function dataLength(id: number, payloadLength: number, ack: number): number {
  const inner = dataInner(id, payloadLength, ack);
  return 1 + varintLength(inner) + inner;
}

/** Bytes of the `Data` message inside the envelope. */
export function dataInner(id: number, payloadLength: number, ack: number): number {
  return 1 + varintLength(id) + (payloadLength > 0 ? 1 + varintLength(payloadLength) + payloadLength : 0) + (ack > 0 ? 1 + varintLength(ack) : 0);
}

/**
 * Writes the envelope `Data { id, payload, ack }` (all {@link dataLength} bytes of it) at `offset`;
 * `inner` is its {@link dataInner}.
 */
export function writeData(bytes: Uint8Array, offset: number, id: number, payload: Uint8Array, ack: number, inner: number): void {
  const payloadLength = payload.byteLength;
  bytes[offset++] = DATA_TAG;
  offset = writeVarint(bytes, offset, inner);
  bytes[offset++] = 0x08;
  offset = writeVarint(bytes, offset, id);
  if (payloadLength > 0) {
    bytes[offset++] = 0x12;
    offset = writeVarint(bytes, offset, payloadLength);
    bytes.set(payload, offset);
    offset += payloadLength;
  }
  if (ack > 0) {
    bytes[offset++] = 0x18;
    writeVarint(bytes, offset, ack);
  }
}

/** Encodes `Data { id, payload, ack }` in one allocation. */
export function encodeData(id: number, payload: Uint8Array, ack: number): Uint8Array {
  // Every byte is written. allocUnsafe carves small frames from Node's shared pool: a fresh typed array
  // per message costs more than the rest of the encoding.
  const inner = dataInner(id, payload.byteLength, ack);
  const bytes = Buffer.allocUnsafe(1 + varintLength(inner) + inner);
  writeData(bytes, 0, id, payload, ack, inner);
  return bytes;
}

/** Encodes `Ack { id }`. */
export function encodeAck(id: number): Uint8Array {
  const inner = id > 0 ? 1 + varintLength(id) : 0;
  const bytes = new Uint8Array(2 + inner);
  bytes[0] = ACK_TAG;
  bytes[1] = inner;
  if (id > 0) {
    bytes[2] = 0x08;
    writeVarint(bytes, 3, id);
  }
  return bytes;
}

const HELLO_TAG = 0x32; // field 6, length-delimited
const WELCOME_TAG = 0x3a; // field 7, length-delimited
/** Hello/Welcome field 6 (varint): the features (docs/wire.md §8.2.1). */
const FEATURES_KEY = 0x30;

export function encodeHello(hello: Omit<Handshake, "version">): Uint8Array {
  return encodeHandshake(HELLO_TAG, hello);
}

export function encodeWelcome(welcome: Omit<Handshake, "version">): Uint8Array {
  return encodeHandshake(WELCOME_TAG, welcome);
}

/**
 * Hello and Welcome have the same fields. `features` (field 6) is written by hand after what the generated code
 * writes, where it would write it, and only when not 0 (as proto3 does): a handshake without features is byte
 * for byte what peers from before the features sent and expect.
 */
function encodeHandshake(tag: number, h: Omit<Handshake, "version">): Uint8Array {
  const inner = ipc.Hello.encode(handshakeFields(h)).finish();
  const features = h.features > 0 ? 1 + varintLength(h.features) : 0;
  const length = inner.byteLength + features;
  const bytes = new Uint8Array(1 + varintLength(length) + length);
  bytes[0] = tag;
  let offset = writeVarint(bytes, 1, length);
  bytes.set(inner, offset);
  offset += inner.byteLength;
  if (features > 0) {
    bytes[offset++] = FEATURES_KEY;
    writeVarint(bytes, offset, h.features);
  }
  return bytes;
}

/**
 * The features field of a Hello or Welcome envelope that the generated code decoded (it skips field 6): found
 * by walking the fields by wire type. Only the bits of the first varint byte are kept (bits 0–6; the rest are
 * for later versions and mean nothing here).
 */
function handshakeFeatures(bytes: Uint8Array, tag: number): number {
  let features = 0;
  const at = { offset: 0 };
  const end = bytes.byteLength;
  while (at.offset < end) {
    const key = readVarint(bytes, at, end);
    if (key < 0) return features;
    if (key === tag) {
      const length = readVarint(bytes, at, end);
      if (length < 0 || length > end - at.offset) return features;
      const stop = at.offset + length;
      while (at.offset < stop) {
        const field = readVarint(bytes, at, stop);
        if (field < 0) break;
        if (field === FEATURES_KEY && at.offset < stop) features = bytes[at.offset]! & 0x7f;
        if (!skipField(bytes, at, stop, field & 7)) break;
      }
      at.offset = stop;
    } else if (!skipField(bytes, at, end, key & 7)) return features;
  }
  return features;
}

export function encodeSessionEnd(last: number): Uint8Array {
  return ipc.IpcMessage.encode({ sessionEnd: { last } }).finish();
}

export function encodeGoodbye(reason: ipc.Goodbye.Reason, message: string): Uint8Array {
  return ipc.IpcMessage.encode({ goodbye: { reason, message } }).finish();
}

function handshakeFields(h: Omit<Handshake, "version">): ipc.IHello {
  return { version: PROTOCOL_VERSION, session: h.session, received: h.received, ack: h.ack, window: h.window };
}

// ---- DataRun (IpcMessage field 14, docs/wire.md §8.2.3): several Data with consecutive ids in one envelope ----

/** IpcMessage field 14, length-delimited: a `DataRun { first = 1; repeated payloads = 2; ack = 3 }`. */
export const RUN_TAG = 0x72;

/** Bytes of a run's payload fields for `messages[from..to)`: `12 varint(n) payload` each. */
export function runPayloadsLength(messages: readonly Uint8Array[], from: number, to: number): number {
  let length = 0;
  for (let i = from; i < to; i++) {
    const n = messages[i]!.length;
    length += 1 + (n < 0x80 ? 1 : varintLength(n)) + n;
  }
  return length;
}

/** Bytes of the `DataRun` message inside the envelope, around `payloads` bytes of payload fields. */
export function runInner(first: number, ack: number, payloads: number): number {
  return 1 + varintLength(first) + (ack > 0 ? 1 + varintLength(ack) : 0) + payloads;
}

/**
 * Writes the envelope `DataRun { first, ack, payloads: messages[from..to) }` at `offset`, in the layout
 * @ipc writes (first, ack, then the payloads: docs/wire.md §8.2.3); `inner` is its {@link runInner}.
 */
export function writeRun(
  bytes: Uint8Array,
  offset: number,
  first: number,
  ack: number,
  messages: readonly Uint8Array[],
  from: number,
  to: number,
  inner: number,
): void {
  bytes[offset++] = RUN_TAG;
  offset = writeVarint(bytes, offset, inner);
  bytes[offset++] = 0x08;
  offset = writeVarint(bytes, offset, first);
  if (ack > 0) {
    bytes[offset++] = 0x18;
    offset = writeVarint(bytes, offset, ack);
  }
  for (let i = from; i < to; i++) {
    const payload = messages[i]!;
    const n = payload.length;
    bytes[offset++] = 0x12;
    if (n < 0x80) bytes[offset++] = n;
    else offset = writeVarint(bytes, offset, n);
    bytes.set(payload, offset);
    offset += n;
  }
}

/** Encodes a run in one allocation (for runs too large for a batch). */
export function encodeRun(first: number, ack: number, messages: readonly Uint8Array[], from: number, to: number): Uint8Array {
  const inner = runInner(first, ack, runPayloadsLength(messages, from, to));
  const bytes = new Uint8Array(1 + varintLength(inner) + inner);
  writeRun(bytes, 0, first, ack, messages, from, to, inner);
  return bytes;
}

/** What {@link parseRun} found besides the payloads; overwritten by each call: read it at once. */
export const parsedRun: { first: number; ack: number; payloadBytes: number } = { first: 0, ack: 0, payloadBytes: 0 };

/**
 * Parses the `DataRun` envelope `bytes[start..end)` (it starts with {@link RUN_TAG}): its payloads, as views
 * (plain `Uint8Array`s), are appended to `payloads`; `first`, `ack` and the payloads' total length go to
 * {@link parsedRun}. Fields may come in any order; unknown ones are skipped. Throws `ProtocolError` if the
 * bytes do not decode, `first` is 0, the run has no payload, or its last id passes 2^53 − 1. Nothing is
 * allocated for what a length claims: every length is checked against the bytes at hand first.
 */
export function parseRun(bytes: Uint8Array, start: number, end: number, payloads: Uint8Array[]): void {
  cursor.offset = start + 1;
  const inner = readVarint(bytes, cursor, end);
  if (inner < 0 || cursor.offset + inner !== end) throw badRun(end - start, "its length does not match the bytes");
  let first = 0;
  let ack = 0;
  let payloadBytes = 0;
  const before = payloads.length;
  while (cursor.offset < end) {
    const key = bytes[cursor.offset++];
    if (key === 0x12) {
      // A length under 128 is one byte (every payload of a small-message run): read it here, the rest in readVarint.
      const byte = cursor.offset < end ? bytes[cursor.offset]! : 0x80;
      const length = byte < 0x80 ? byte : readVarint(bytes, cursor, end);
      if (byte < 0x80) cursor.offset++;
      if (length < 0 || length > end - cursor.offset) throw badRun(end - start, "a payload runs past its end");
      payloads.push(new Uint8Array(bytes.buffer, bytes.byteOffset + cursor.offset, length));
      payloadBytes += length;
      cursor.offset += length;
    } else if (key === 0x08) {
      if ((first = readVarint(bytes, cursor, end)) < 0) throw badRun(end - start, "its first id is not a number below 2^53");
    } else if (key === 0x18) {
      if ((ack = readVarint(bytes, cursor, end)) < 0) throw badRun(end - start, "its ack is not a number below 2^53");
    } else {
      cursor.offset--;
      const field = readVarint(bytes, cursor, end);
      if (field < 8 || !skipField(bytes, cursor, end, field & 7)) throw badRun(end - start, "a field does not decode");
    }
  }
  const count = payloads.length - before;
  if (count === 0) throw badRun(end - start, "it carries no payload");
  if (first === 0) throw badRun(end - start, "its first id is 0 (ids start at 1)");
  if (first + count - 1 > Number.MAX_SAFE_INTEGER) throw badRun(end - start, "its last id passes 2^53 − 1");
  parsedRun.first = first;
  parsedRun.ack = ack;
  parsedRun.payloadBytes = payloadBytes;
}

function badRun(length: number, why: string): ProtocolError {
  return new ProtocolError(`received a DataRun of ${length} bytes that cannot be read: ${why}`);
}

/** What {@link parseData} found; one object, overwritten by each call: read it at once. */
export const parsedData: { id: number; ack: number; payload: Uint8Array } = { id: 0, ack: 0, payload: EMPTY };
const cursor = { offset: 0 };

/**
 * Parses `bytes[start..end)` if it is a `Data` envelope in its canonical layout, into {@link parsedData},
 * without allocating anything but the payload's view; returns false otherwise (decode it with
 * {@link decodeSessionFrame} then). The receiving hot path.
 */
export function parseData(bytes: Uint8Array, start: number, end: number): boolean {
  if (bytes[start] !== DATA_TAG) return false;
  cursor.offset = start + 1;
  const inner = readVarint(bytes, cursor, end);
  if (inner < 0 || cursor.offset + inner !== end) return false;
  let id = 0;
  let ack = 0;
  let payload: Uint8Array = EMPTY;
  while (cursor.offset < end) {
    const key = bytes[cursor.offset++];
    if (key === 0x08) {
      if ((id = readVarint(bytes, cursor, end)) < 0) return false;
    } else if (key === 0x12) {
      const length = readVarint(bytes, cursor, end);
      if (length < 0 || length > end - cursor.offset) return false;
      // A plain view (not Buffer#subarray's, which is slow, nor a Buffer): payloads are what transports deliver.
      payload = new Uint8Array(bytes.buffer, bytes.byteOffset + cursor.offset, length);
      cursor.offset += length;
    } else if (key === 0x18) {
      if ((ack = readVarint(bytes, cursor, end)) < 0) return false;
    } else return false;
  }
  parsedData.id = id;
  parsedData.ack = ack;
  parsedData.payload = payload;
  return true;
}

/** Decodes one message; throws `ProtocolError` if it is not an envelope or a number is out of range. */
export function decodeSessionFrame(bytes: Uint8Array): SessionFrame {
  return decodeFast(bytes) ?? decodeSlow(bytes);
}

/** Data and Ack in their canonical layout; anything else (or anything odd) returns `undefined`. */
function decodeFast(bytes: Uint8Array): SessionFrame | undefined {
  const tag = bytes[0];
  if (tag !== DATA_TAG && tag !== ACK_TAG) return undefined;
  // One cursor over the envelope's fields, in place: no view of the inner message is made.
  const fields = new VarintReader(bytes, 1);
  const inner = fields.varint();
  if (inner === undefined || fields.offset + inner !== bytes.byteLength) return undefined;
  let id = 0;
  let ack = 0;
  let payload: Uint8Array = EMPTY;
  while (fields.offset < fields.end) {
    const key = bytes[fields.offset++];
    if (key === 0x08) {
      const value = fields.varint();
      if (value === undefined) return undefined;
      id = value;
    } else if (key === 0x12 && tag === DATA_TAG) {
      const value = fields.bytesField();
      if (value === undefined) return undefined;
      payload = value;
    } else if (key === 0x18 && tag === DATA_TAG) {
      const value = fields.varint();
      if (value === undefined) return undefined;
      ack = value;
    } else {
      return undefined;
    }
  }
  return tag === DATA_TAG ? { kind: "data", id, payload, ack } : { kind: "ack", id };
}

function decodeSlow(bytes: Uint8Array): SessionFrame {
  let message: ipc.IpcMessage;
  try {
    message = ipc.IpcMessage.decode(bytes);
  } catch (error) {
    throw new ProtocolError(`received ${bytes.byteLength} bytes that are not an ipc.IpcMessage envelope`, { cause: error });
  }
  switch (message.kind) {
    case "data":
      return { kind: "data", id: safe(message.data!.id), payload: message.data!.payload ?? EMPTY, ack: safe(message.data!.ack) };
    case "ack":
      return { kind: "ack", id: safe(message.ack!.id) };
    case "hello":
      return { kind: "hello", ...handshake(message.hello!), features: handshakeFeatures(bytes, HELLO_TAG) };
    case "welcome":
      return { kind: "welcome", ...handshake(message.welcome!), features: handshakeFeatures(bytes, WELCOME_TAG) };
    case "sessionEnd":
      return { kind: "sessionEnd", last: safe(message.sessionEnd!.last) };
    case "goodbye":
      return { kind: "goodbye", reason: message.goodbye!.reason ?? 0, message: message.goodbye!.message ?? "" };
    default:
      return { kind: "other", name: message.kind ?? "an empty envelope" };
  }
}

function handshake(h: ipc.IHello): Omit<Handshake, "features"> {
  return {
    version: h.version ?? 0,
    session: h.session ?? EMPTY,
    received: safe(h.received),
    ack: safe(h.ack),
    window: safe(h.window),
  };
}

/** A uint64 from the generated code as a number; ids past 2^53 − 1 are a protocol error. */
export function safe(value: number | Long | null | undefined): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === "number") return value;
  const long = Long.fromValue(value, true);
  if (long.greaterThan(Long.fromNumber(Number.MAX_SAFE_INTEGER, true))) {
    throw new ProtocolError(`received a number over 2^53 − 1 (${long.toString()}) where an id or count was expected`);
  }
  return long.toNumber();
}
