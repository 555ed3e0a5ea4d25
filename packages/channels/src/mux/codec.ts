/**
 * Mux frames (proto/ipc.proto: `IpcMessage.mux`) to and from bytes. Data frames, one per message, are
 * written and read by hand; the others go through the generated code.
 */
import { ProtocolError } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { readVarint, VarintReader, varintLength, writeVarint } from "../reliable/varint.js";

/** One decoded mux frame. `reply`: the sender of the frame is the side that accepted the stream. */
export type MuxFrame =
  | { readonly kind: "open"; readonly stream: number; readonly name: string; readonly window: number }
  | { readonly kind: "accept"; readonly stream: number; readonly window: number }
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
  const { kind, ...fields } = frame;
  return ipc.IpcMessage.encode({ mux: { [kind]: fields } }).finish();
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
      return { kind: "open", stream: m.open!.stream ?? 0, name: m.open!.name ?? "", window: m.open!.window ?? 0 };
    case "accept":
      return { kind: "accept", stream: m.accept!.stream ?? 0, window: m.accept!.window ?? 0 };
    case "data":
      return { kind: "data", stream: m.data!.stream ?? 0, reply: m.data!.reply ?? false, payload: m.data!.payload ?? EMPTY };
    case "credit":
      return { kind: "credit", stream: m.credit!.stream ?? 0, reply: m.credit!.reply ?? false, credit: m.credit!.credit ?? 0 };
    case "end":
      return { kind: "end", stream: m.end!.stream ?? 0, reply: m.end!.reply ?? false };
    default:
      return { kind: "reset", stream: m.reset!.stream ?? 0, reply: m.reset!.reply ?? false, message: m.reset!.message ?? "" };
  }
}
