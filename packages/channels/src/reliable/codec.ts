/**
 * The reliable session's messages (proto/ipc.proto: Data, Ack, Hello, Welcome, SessionEnd, Goodbye) to and
 * from bytes. Data and Ack, one per message sent, are written and read by hand; the rest go through the
 * generated code.
 */
import Long from "long";
import { ProtocolError } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { readVarint, VarintReader, varintLength, writeVarint } from "./varint.js";

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

export function encodeHello(hello: Omit<Handshake, "version">): Uint8Array {
  return ipc.IpcMessage.encode({ hello: handshakeFields(hello) }).finish();
}

export function encodeWelcome(welcome: Omit<Handshake, "version">): Uint8Array {
  return ipc.IpcMessage.encode({ welcome: handshakeFields(welcome) }).finish();
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
      return { kind: "hello", ...handshake(message.hello!) };
    case "welcome":
      return { kind: "welcome", ...handshake(message.welcome!) };
    case "sessionEnd":
      return { kind: "sessionEnd", last: safe(message.sessionEnd!.last) };
    case "goodbye":
      return { kind: "goodbye", reason: message.goodbye!.reason ?? 0, message: message.goodbye!.message ?? "" };
    default:
      return { kind: "other", name: message.kind ?? "an empty envelope" };
  }
}

function handshake(h: ipc.IHello): Handshake {
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
