/** Decoding the RPC envelopes: a bounds-checked cursor; anything malformed is a `ProtocolError`. */
import { ProtocolError } from "@ipc/core";
import protobuf from "protobufjs";
import {
  CANCEL,
  EMPTY,
  END,
  MAX_METADATA_BYTES,
  MAX_METADATA_ENTRIES,
  MESSAGE,
  REQUEST,
  RESPONSE,
  WINDOW,
  type CallId,
  type CancelEnvelope,
  type EndEnvelope,
  type Envelope,
  type RequestEnvelope,
  type ResponseEnvelope,
  type StreamEnvelope,
  type WindowEnvelope,
} from "./wire.js";

const utf8 = protobuf.util.utf8;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A cursor over one envelope; every read checks the bounds and throws `ProtocolError`. */
class Cursor {
  buf: Uint8Array = EMPTY;
  pos = 0;
  end = 0;

  /** Starts over on `buf` (one cursor serves every decode: decoding never waits). */
  reset(buf: Uint8Array): this {
    this.buf = buf;
    this.pos = 0;
    this.end = buf.byteLength;
    return this;
  }

  /** A varint as a number, exact up to 2^53; `undefined` when larger (then re-read as a bigint). */
  #varint(): number | undefined {
    const buf = this.buf;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw truncated();
      const byte = buf[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value <= Number.MAX_SAFE_INTEGER ? value : undefined;
      scale *= 128;
    }
    throw new ProtocolError("an @ipc/rpc envelope holds a varint longer than 10 bytes");
  }

  /** A uint64 field: a number up to 2^53, a bigint above. */
  uint64(): CallId {
    // Most varints on this wire (keys, small ids, lengths) are one byte.
    if (this.pos < this.end) {
      const byte = this.buf[this.pos]!;
      if (byte < 0x80) {
        this.pos++;
        return byte;
      }
    }
    const start = this.pos;
    const value = this.#varint();
    if (value !== undefined) return value;
    let big = 0n;
    for (let i = this.pos - 1; i >= start; i--) big = (big << 7n) | BigInt(this.buf[i]! & 0x7f);
    // A varint longer than 64 bits keeps its low 64 bits (protobuf's rule). When those are at most 2^53 − 1 the
    // id is that number, as if it had been written plainly: one id, one value, or a peer could send id 0 or an
    // id in flight again under a second spelling (10 bytes, bits above 64) past the server's checks.
    const low = BigInt.asUintN(64, big);
    return low <= MAX_SAFE ? Number(low) : low;
  }

  /** A uint32 field (a longer varint is truncated to its low 32 bits, as protobuf says). */
  uint32(): number {
    if (this.pos < this.end) {
      const byte = this.buf[this.pos]!;
      if (byte < 0x80) {
        this.pos++;
        return byte;
      }
    }
    const value = this.uint64();
    return typeof value === "number" ? value % 4294967296 : Number(BigInt.asUintN(32, value));
  }

  /** An int32 field (enums): the low 32 bits, signed. */
  int32(): number {
    return this.uint32() | 0;
  }

  /** A length-delimited field, as a view of the envelope. */
  bytes(): Uint8Array {
    const length = this.uint32();
    if (length > this.end - this.pos) throw truncated();
    const start = this.pos;
    this.pos += length;
    return this.buf.subarray(start, this.pos);
  }

  string(): string {
    const length = this.uint32();
    if (length > this.end - this.pos) throw truncated();
    const start = this.pos;
    this.pos += length;
    return length === 0 ? "" : utf8.read(this.buf, start, this.pos);
  }

  /** Starts reading an embedded message; returns the end to restore with {@link Cursor.leave}. */
  enter(): number {
    const length = this.uint32();
    if (length > this.end - this.pos) throw truncated();
    const outer = this.end;
    this.end = this.pos + length;
    return outer;
  }

  leave(outer: number): void {
    this.pos = this.end;
    this.end = outer;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.uint64();
        return;
      case 1:
        this.#advance(8);
        return;
      case 2:
        this.#advance(this.uint32());
        return;
      case 5:
        this.#advance(4);
        return;
      default:
        throw new ProtocolError(`an @ipc/rpc envelope holds wire type ${wireType}, which protobuf 3 does not use`);
    }
  }

  #advance(n: number): void {
    if (n > this.end - this.pos) throw truncated();
    this.pos += n;
  }
}

const CURSOR = new Cursor();

function truncated(): ProtocolError {
  return new ProtocolError("an @ipc/rpc envelope ends inside a field (truncated or not protobuf)");
}

function expectWireType(actual: number, expected: number, what: string): void {
  if (actual !== expected) {
    throw new ProtocolError(`${what} has wire type ${actual}, expected ${expected}`);
  }
}

/**
 * Decodes one received message. Throws `ProtocolError` when the bytes are not an `ipc.IpcMessage`, or an
 * RPC kind in it is malformed. An envelope of another kind decodes as `{ kind: "other" }`.
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const cursor = CURSOR.reset(bytes);
  let envelope: Envelope = { kind: "other", field: 0 };
  while (cursor.pos < cursor.end) {
    const key = cursor.uint32();
    const field = key >>> 3;
    const wireType = key & 7;
    if (field === 0) throw new ProtocolError("an @ipc/rpc envelope holds field number 0, which protobuf forbids");
    if (field < REQUEST || field > WINDOW) {
      cursor.skip(wireType);
      // A later oneof member replaces an earlier one; unknown fields do not.
      if (field <= 15) envelope = { kind: "other", field };
      continue;
    }
    expectWireType(wireType, 2, `envelope field ${field}`);
    const outer = cursor.enter();
    envelope = decodeKind(cursor, field);
    cursor.leave(outer);
  }
  return envelope;
}

function decodeKind(cursor: Cursor, field: number): Envelope {
  switch (field) {
    case REQUEST:
      return decodeRequest(cursor);
    case RESPONSE:
      return decodeResponse(cursor);
    case CANCEL:
      return decodeCancel(cursor);
    case MESSAGE:
      return decodeStreamMessage(cursor);
    case END:
      return decodeEnd(cursor);
    default:
      return decodeWindow(cursor);
  }
}

function decodeRequest(cursor: Cursor): RequestEnvelope {
  let id: CallId = 0;
  let method = EMPTY;
  let timeoutMs = 0;
  let metadata: Record<string, string> | undefined;
  let metadataTooLarge = false;
  let entries = 0;
  let metadataBytes = 0;
  let payload = EMPTY;
  let window = 0;
  while (cursor.pos < cursor.end) {
    const key = cursor.uint32();
    switch (key) {
      case 0x08:
        id = cursor.uint64();
        break;
      case 0x12:
        method = cursor.bytes();
        break;
      case 0x18: {
        const value = cursor.uint64();
        timeoutMs = typeof value === "number" ? value : Number.MAX_SAFE_INTEGER;
        break;
      }
      case 0x22:
        // Bounded: many tiny entries would cost far more memory as an object than as bytes.
        if (metadataTooLarge || ++entries > MAX_METADATA_ENTRIES) {
          metadataTooLarge = true;
          skipField(cursor, key, "RpcRequest");
          break;
        }
        metadataBytes += decodeMetadataEntry(cursor, (metadata ??= newMap()));
        if (metadataBytes > MAX_METADATA_BYTES) metadataTooLarge = true;
        break;
      case 0x2a:
        payload = cursor.bytes();
        break;
      case 0x30:
        window = cursor.uint32();
        break;
      default:
        skipField(cursor, key, "RpcRequest");
    }
  }
  if (metadataTooLarge) metadata = undefined;
  return { kind: "request", id, method, timeoutMs, metadata, metadataTooLarge, payload, window };
}

function newMap(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

/** Adds one map entry to `metadata`; returns its encoded length. */
function decodeMetadataEntry(cursor: Cursor, metadata: Record<string, string>): number {
  const outer = cursor.enter();
  const length = cursor.end - cursor.pos;
  let name = "";
  let value = "";
  while (cursor.pos < cursor.end) {
    const key = cursor.uint32();
    if (key === 0x0a) name = cursor.string();
    else if (key === 0x12) value = cursor.string();
    else skipField(cursor, key, "RpcRequest.metadata entry");
  }
  cursor.leave(outer);
  metadata[name] = value;
  return length;
}

function decodeResponse(cursor: Cursor): ResponseEnvelope {
  let id: CallId = 0;
  let status = 0;
  let message = "";
  let details: Uint8Array | undefined;
  let payload = EMPTY;
  while (cursor.pos < cursor.end) {
    const key = cursor.uint32();
    switch (key) {
      case 0x08:
        id = cursor.uint64();
        break;
      case 0x10:
        status = cursor.int32();
        break;
      case 0x1a:
        message = cursor.string();
        break;
      case 0x22:
        details = cursor.bytes();
        break;
      case 0x2a:
        payload = cursor.bytes();
        break;
      default:
        skipField(cursor, key, "RpcResponse");
    }
  }
  return { kind: "response", id, status, message, details, payload };
}

function decodeCancel(cursor: Cursor): CancelEnvelope {
  let id: CallId = 0;
  let status = 0;
  while (cursor.pos < cursor.end) {
    const key = cursor.uint32();
    if (key === 0x08) id = cursor.uint64();
    else if (key === 0x10) status = cursor.int32();
    else skipField(cursor, key, "RpcCancel");
  }
  return { kind: "cancel", id, status };
}

function decodeStreamMessage(cursor: Cursor): StreamEnvelope {
  let id: CallId = 0;
  let payload = EMPTY;
  while (cursor.pos < cursor.end) {
    const key = cursor.uint32();
    if (key === 0x08) id = cursor.uint64();
    else if (key === 0x12) payload = cursor.bytes();
    else skipField(cursor, key, "RpcMessage");
  }
  return { kind: "message", id, payload };
}

function decodeEnd(cursor: Cursor): EndEnvelope {
  let id: CallId = 0;
  while (cursor.pos < cursor.end) {
    const key = cursor.uint32();
    if (key === 0x08) id = cursor.uint64();
    else skipField(cursor, key, "RpcEnd");
  }
  return { kind: "end", id };
}

function decodeWindow(cursor: Cursor): WindowEnvelope {
  let id: CallId = 0;
  let credit = 0;
  while (cursor.pos < cursor.end) {
    const key = cursor.uint32();
    if (key === 0x08) id = cursor.uint64();
    else if (key === 0x10) credit = cursor.uint32();
    else skipField(cursor, key, "RpcWindow");
  }
  return { kind: "window", id, credit };
}

/** Skips a field this decoder does not read: an unknown one, or a known one with another wire type. */
function skipField(cursor: Cursor, key: number, where: string): void {
  if (key >>> 3 === 0) throw new ProtocolError(`${where} holds field number 0, which protobuf forbids`);
  cursor.skip(key & 7);
}
