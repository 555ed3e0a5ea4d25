/**
 * Mux frames (proto/ipc.proto: `IpcMessage.mux`) to and from bytes. Data frames, one per message, are
 * written and read by hand; the others go through the generated code.
 */
import { ProtocolError } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { readVarint, skipField, VarintReader, varintLength, writeVarint } from "../reliable/varint.js";

/** One decoded mux frame. `reply`: the sender of the frame is the side that accepted the stream. */
export type MuxFrame =
  | { readonly kind: "open"; readonly stream: number; readonly name: string; readonly window: number; readonly features: number }
  | { readonly kind: "accept"; readonly stream: number; readonly window: number; readonly features: number }
  | { readonly kind: "data"; readonly stream: number; readonly reply: boolean; readonly payload: Uint8Array }
  | { readonly kind: "credit"; readonly stream: number; readonly reply: boolean; readonly credit: number }
  | { readonly kind: "end"; readonly stream: number; readonly reply: boolean }
  | { readonly kind: "reset"; readonly stream: number; readonly reply: boolean; readonly message: string };

const EMPTY = new Uint8Array(0);
const MUX_TAG = 0x52; // IpcMessage field 10, length-delimited
const DATA_TAG = 0x1a; // Mux field 3, length-delimited

/** Bytes a data frame adds to its payload, at most. */
export const MUX_DATA_OVERHEAD = 24;

function muxDataInner(stream: number, reply: boolean, length: number): number {
  return 1 + varintLength(stream) + (reply ? 2 : 0) + (length > 0 ? 1 + varintLength(length) + length : 0);
}

/** Bytes of the envelope `IpcMessage { mux { data { stream, reply, payload } } }`. */
export function muxDataLength(stream: number, reply: boolean, payloadLength: number): number {
  const data = muxDataInner(stream, reply, payloadLength);
  const mux = 1 + varintLength(data) + data;
  return 1 + varintLength(mux) + mux;
}

/** Writes that envelope (all {@link muxDataLength} bytes of it) at `offset`. */
export function writeMuxData(bytes: Uint8Array, offset: number, stream: number, reply: boolean, payload: Uint8Array): void {
  const length = payload.byteLength;
  const data = muxDataInner(stream, reply, length);
  bytes[offset++] = MUX_TAG;
  offset = writeVarint(bytes, offset, 1 + varintLength(data) + data);
  bytes[offset++] = DATA_TAG;
  offset = writeVarint(bytes, offset, data);
  bytes[offset++] = 0x08;
  offset = writeVarint(bytes, offset, stream);
  if (reply) {
    bytes[offset++] = 0x10;
    bytes[offset++] = 1;
  }
  if (length > 0) {
    bytes[offset++] = 0x1a;
    offset = writeVarint(bytes, offset, length);
    bytes.set(payload, offset);
  }
}

/** Encodes that envelope in one allocation. */
export function encodeMuxData(stream: number, reply: boolean, payload: Uint8Array): Uint8Array {
  // Every byte is written. allocUnsafe carves small frames from Node's shared pool.
  const bytes = Buffer.allocUnsafe(muxDataLength(stream, reply, payload.byteLength));
  writeMuxData(bytes, 0, stream, reply, payload);
  return bytes;
}

export function encodeMuxFrame(frame: Exclude<MuxFrame, { kind: "data" }>): Uint8Array {
  if (frame.kind === "open" || frame.kind === "accept") return encodeStart(frame);
  const { kind, ...fields } = frame;
  return ipc.IpcMessage.encode({ mux: { [kind]: fields } }).finish();
}

/** Mux field 1 / 2 (length-delimited): MuxOpen / MuxAccept. */
const OPEN_TAG = 0x0a;
const ACCEPT_TAG = 0x12;
/** MuxOpen field 4 / MuxAccept field 3 (varint): the features (docs/wire.md §8.3). */
const OPEN_FEATURES_KEY = 0x20;
const ACCEPT_FEATURES_KEY = 0x18;

/**
 * MuxOpen and MuxAccept, with `features` (their last field) written by hand after what the generated code writes,
 * and only when not 0 (as proto3 does): then the frame is byte for byte what peers from before the features sent.
 */
function encodeStart(frame: Extract<MuxFrame, { kind: "open" | "accept" }>): Uint8Array {
  const open = frame.kind === "open";
  const inner = open
    ? ipc.MuxOpen.encode({ stream: frame.stream, name: frame.name, window: frame.window }).finish()
    : ipc.MuxAccept.encode({ stream: frame.stream, window: frame.window }).finish();
  const start = inner.byteLength + (frame.features > 0 ? 1 + varintLength(frame.features) : 0);
  const mux = 1 + varintLength(start) + start;
  const bytes = new Uint8Array(1 + varintLength(mux) + mux);
  bytes[0] = MUX_TAG;
  let offset = writeVarint(bytes, 1, mux);
  bytes[offset++] = open ? OPEN_TAG : ACCEPT_TAG;
  offset = writeVarint(bytes, offset, start);
  bytes.set(inner, offset);
  offset += inner.byteLength;
  if (frame.features > 0) {
    bytes[offset++] = open ? OPEN_FEATURES_KEY : ACCEPT_FEATURES_KEY;
    writeVarint(bytes, offset, frame.features);
  }
  return bytes;
}

/**
 * The features of a MuxOpen or MuxAccept envelope the generated code decoded (it skips the field), found by
 * walking the fields by wire type. Only bits 0–6 (the first varint byte) are kept: the rest mean nothing here.
 */
function startFeatures(bytes: Uint8Array, tag: number, key: number): number {
  let features = 0;
  const at = { offset: 0 };
  // IpcMessage → Mux → MuxOpen/MuxAccept: the last occurrence of each, as protobuf merges them.
  const walk = (end: number, path: readonly number[]): void => {
    while (at.offset < end) {
      const field = readVarint(bytes, at, end);
      if (field < 0) return;
      if (path.length > 0 && field === path[0]) {
        const length = readVarint(bytes, at, end);
        if (length < 0 || length > end - at.offset) return;
        const stop = at.offset + length;
        walk(stop, path.slice(1));
        at.offset = stop;
        continue;
      }
      if (path.length === 0 && field === key && at.offset < end) features = bytes[at.offset]! & 0x7f;
      if (!skipField(bytes, at, end, field & 7)) return;
    }
  };
  walk(bytes.byteLength, [MUX_TAG, tag]);
  return features;
}

// ---- MuxDataRun (Mux field 7, docs/wire.md §8.3): several messages of one stream in one frame ----

/** Mux field 7, length-delimited: `MuxDataRun { stream = 1; reply = 2; repeated payloads = 3 }`. */
const RUN_TAG = 0x3a;

/** Bytes of the envelope `IpcMessage { mux { run { stream, reply, payloads } } }` around `payloads` bytes of payload fields. */
export function muxRunLength(stream: number, reply: boolean, payloads: number): number {
  const run = 1 + varintLength(stream) + (reply ? 2 : 0) + payloads;
  const mux = 1 + varintLength(run) + run;
  return 1 + varintLength(mux) + mux;
}

/** Writes that envelope (all {@link muxRunLength} bytes of it) at `offset`, payloads `messages[from..to)`. */
export function writeMuxRun(
  bytes: Uint8Array,
  offset: number,
  stream: number,
  reply: boolean,
  messages: readonly Uint8Array[],
  from: number,
  to: number,
  payloads: number,
): void {
  const run = 1 + varintLength(stream) + (reply ? 2 : 0) + payloads;
  bytes[offset++] = MUX_TAG;
  offset = writeVarint(bytes, offset, 1 + varintLength(run) + run);
  bytes[offset++] = RUN_TAG;
  offset = writeVarint(bytes, offset, run);
  bytes[offset++] = 0x08;
  offset = writeVarint(bytes, offset, stream);
  if (reply) {
    bytes[offset++] = 0x10;
    bytes[offset++] = 1;
  }
  for (let i = from; i < to; i++) {
    const payload = messages[i]!;
    const n = payload.length;
    bytes[offset++] = 0x1a;
    if (n < 0x80) bytes[offset++] = n;
    else offset = writeVarint(bytes, offset, n);
    bytes.set(payload, offset);
    offset += n;
  }
}

/** Encodes a run in one allocation. */
export function encodeMuxRun(stream: number, reply: boolean, messages: readonly Uint8Array[], from: number, to: number): Uint8Array {
  let payloads = 0;
  for (let i = from; i < to; i++) payloads += 1 + varintLength(messages[i]!.length) + messages[i]!.length;
  const bytes = new Uint8Array(muxRunLength(stream, reply, payloads));
  writeMuxRun(bytes, 0, stream, reply, messages, from, to, payloads);
  return bytes;
}

/** What {@link parseMuxRun} found besides the payloads; overwritten by each call: read it at once. */
export const parsedMuxRun: { stream: number; reply: boolean; payloadBytes: number } = { stream: 0, reply: false, payloadBytes: 0 };

/**
 * If `bytes[start..end)` is a MuxDataRun envelope, appends its payloads (plain views) to `payloads`, puts its
 * stream, reply and the payloads' total length in {@link parsedMuxRun}, and returns true; returns false if it
 * is another envelope. Fields may come in any order; unknown ones are skipped. A run that does not decode, names
 * stream 0 or carries no payload is a `ProtocolError`; every length is checked against the bytes at hand.
 */
export function parseMuxRun(bytes: Uint8Array, start: number, end: number, payloads: Uint8Array[]): boolean {
  if (bytes[start] !== MUX_TAG) return false;
  cursor.offset = start + 1;
  const mux = readVarint(bytes, cursor, end);
  if (mux < 0 || cursor.offset + mux !== end || bytes[cursor.offset] !== RUN_TAG) return false;
  cursor.offset++;
  const run = readVarint(bytes, cursor, end);
  if (run < 0 || cursor.offset + run !== end) throw badRun(end - start, "its length does not match the bytes");
  let stream = 0;
  let reply = false;
  let payloadBytes = 0;
  const before = payloads.length;
  while (cursor.offset < end) {
    const key = bytes[cursor.offset++];
    if (key === 0x1a) {
      // A length under 128 is one byte (every payload of a small-message run): read it here, the rest in readVarint.
      const byte = cursor.offset < end ? bytes[cursor.offset]! : 0x80;
      const length = byte < 0x80 ? byte : readVarint(bytes, cursor, end);
      if (byte < 0x80) cursor.offset++;
      if (length < 0 || length > end - cursor.offset) throw badRun(end - start, "a payload runs past its end");
      payloads.push(new Uint8Array(bytes.buffer, bytes.byteOffset + cursor.offset, length));
      payloadBytes += length;
      cursor.offset += length;
    } else if (key === 0x08) {
      if ((stream = readVarint(bytes, cursor, end)) < 0 || stream > 0xffff_ffff) throw badRun(end - start, "its stream is not a uint32");
    } else if (key === 0x10) {
      const value = readVarint(bytes, cursor, end);
      if (value < 0) throw badRun(end - start, "its reply flag does not decode");
      reply = value !== 0;
    } else {
      cursor.offset--;
      const field = readVarint(bytes, cursor, end);
      if (field < 8 || !skipField(bytes, cursor, end, field & 7)) throw badRun(end - start, "a field does not decode");
    }
  }
  if (payloads.length === before) throw badRun(end - start, "it carries no payload");
  if (stream === 0) throw new ProtocolError("received a mux data run for stream 0");
  parsedMuxRun.stream = stream;
  parsedMuxRun.reply = reply;
  parsedMuxRun.payloadBytes = payloadBytes;
  return true;
}

function badRun(length: number, why: string): ProtocolError {
  return new ProtocolError(`received a MuxDataRun of ${length} bytes that cannot be read: ${why}`);
}

/** What {@link parseMuxData} found; one object, overwritten by each call: read it at once. */
export const parsedMuxData: { stream: number; reply: boolean; payload: Uint8Array } = { stream: 0, reply: false, payload: EMPTY };
const cursor = { offset: 0 };

/**
 * Parses `bytes[start..end)` if it is a mux data envelope in its canonical layout, into
 * {@link parsedMuxData}, allocating nothing but the payload's view; returns false otherwise (decode it
 * with {@link decodeMuxFrame} then). The receiving hot path.
 */
export function parseMuxData(bytes: Uint8Array, start: number, end: number): boolean {
  if (bytes[start] !== MUX_TAG) return false;
  cursor.offset = start + 1;
  const mux = readVarint(bytes, cursor, end);
  if (mux < 0 || cursor.offset + mux !== end || bytes[cursor.offset++] !== DATA_TAG) return false;
  const data = readVarint(bytes, cursor, end);
  if (data < 0 || cursor.offset + data !== end) return false;
  let stream = 0;
  let reply = false;
  let payload: Uint8Array = EMPTY;
  while (cursor.offset < end) {
    const key = bytes[cursor.offset++];
    if (key === 0x08) {
      if ((stream = readVarint(bytes, cursor, end)) < 0 || stream > 0xffff_ffff) return false;
    } else if (key === 0x10) {
      const value = readVarint(bytes, cursor, end);
      if (value < 0) return false;
      reply = value !== 0;
    } else if (key === 0x1a) {
      const length = readVarint(bytes, cursor, end);
      if (length < 0 || length > end - cursor.offset) return false;
      // A plain view (not Buffer#subarray's, which is slow, nor a Buffer): payloads are what transports deliver.
      payload = new Uint8Array(bytes.buffer, bytes.byteOffset + cursor.offset, length);
      cursor.offset += length;
    } else return false;
  }
  parsedMuxData.stream = stream;
  parsedMuxData.reply = reply;
  parsedMuxData.payload = payload;
  return true;
}

/** Decodes one mux frame; throws `ProtocolError` if the bytes are anything else. */
export function decodeMuxFrame(bytes: Uint8Array): MuxFrame {
  return decodeData(bytes) ?? decodeOther(bytes);
}

function decodeData(bytes: Uint8Array): MuxFrame | undefined {
  if (bytes[0] !== MUX_TAG) return undefined;
  // One cursor over the nested messages, in place: no view of the inner messages is made.
  const fields = new VarintReader(bytes, 1);
  const mux = fields.varint();
  if (mux === undefined || fields.offset + mux !== bytes.byteLength || bytes[fields.offset++] !== DATA_TAG) return undefined;
  const data = fields.varint();
  if (data === undefined || fields.offset + data !== bytes.byteLength) return undefined;
  let stream = 0;
  let reply = false;
  let payload: Uint8Array = EMPTY;
  while (fields.offset < fields.end) {
    const key = bytes[fields.offset++];
    if (key === 0x08) {
      const value = fields.varint();
      if (value === undefined || value > 0xffff_ffff) return undefined;
      stream = value;
    } else if (key === 0x10) {
      const value = fields.varint();
      if (value === undefined) return undefined;
      reply = value !== 0;
    } else if (key === 0x1a) {
      const value = fields.bytesField();
      if (value === undefined) return undefined;
      payload = value;
    } else return undefined;
  }
  return { kind: "data", stream, reply, payload };
}

function decodeOther(bytes: Uint8Array): MuxFrame {
  let message: ipc.IpcMessage;
  try {
    message = ipc.IpcMessage.decode(bytes);
  } catch (error) {
    throw new ProtocolError(`received ${bytes.byteLength} bytes that are not an ipc.IpcMessage envelope`, { cause: error });
  }
  if (message.kind !== "mux" || message.mux?.frame == null) {
    throw new ProtocolError(`received ${message.kind ?? "an empty envelope"} on a multiplexed connection, where only mux frames are expected`);
  }
  const m = message.mux;
  switch (m.frame) {
    case "open":
      return {
        kind: "open",
        stream: m.open!.stream ?? 0,
        name: m.open!.name ?? "",
        window: m.open!.window ?? 0,
        features: startFeatures(bytes, OPEN_TAG, OPEN_FEATURES_KEY),
      };
    case "accept":
      return { kind: "accept", stream: m.accept!.stream ?? 0, window: m.accept!.window ?? 0, features: startFeatures(bytes, ACCEPT_TAG, ACCEPT_FEATURES_KEY) };
    case "data":
      return { kind: "data", stream: m.data!.stream ?? 0, reply: m.data!.reply ?? false, payload: m.data!.payload ?? EMPTY };
    case "credit":
      return { kind: "credit", stream: m.credit!.stream ?? 0, reply: m.credit!.reply ?? false, credit: m.credit!.credit ?? 0 };
    case "end":
      return { kind: "end", stream: m.end!.stream ?? 0, reply: m.end!.reply ?? false };
    case "reset":
      return { kind: "reset", stream: m.reset!.stream ?? 0, reply: m.reset!.reply ?? false, message: m.reset!.message ?? "" };
    default:
      // A MuxDataRun that parseMuxRun did not take: this side reads no runs, or the run came in a layout @ipc does
      // not read in place (other fields of the Mux envelope around it).
      throw new ProtocolError(`received a mux ${m.frame} frame, which this side does not read (docs/wire.md §8.3)`);
  }
}
