/**
 * Encoding the RPC envelopes: sizes first, then one array of exactly that size. The payload is encoded by
 * its codec into a reusable writer and copied once; nothing is shifted or copied again.
 */
import protobuf from "protobufjs";
import { CANCEL, END, MESSAGE, REQUEST, RESPONSE, WINDOW, type CallId, type Encoder } from "./wire.js";

/** Bytes of the varint of `value` (an integer from 0 to 2^53). */
function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  let size = 4;
  for (let rest = Math.floor(value / 0x10000000); rest > 0; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/** An id above 2^53, as the bytes of its varint. */
function bigVarint(value: bigint): number[] {
  const bytes: number[] = [];
  let rest = BigInt.asUintN(64, value);
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return bytes;
}

/** Fills one frame: every write is bounds-free, the size having been computed first. */
class Out {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(value: number): void {
    const buf = this.buf;
    while (value >= 0x80) {
      buf[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    buf[this.pos++] = value;
  }

  id(id: CallId): void {
    this.buf[this.pos++] = 0x08;
    if (typeof id === "number") {
      this.varint(id);
    } else {
      for (const byte of bigVarint(id)) this.buf[this.pos++] = byte;
    }
  }

  bytes(key: number, bytes: Uint8Array): void {
    this.buf[this.pos++] = key;
    this.varint(bytes.byteLength);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }

  string(key: number, text: string, length: number): void {
    this.buf[this.pos++] = key;
    this.varint(length);
    this.pos += this.buf.write(text, this.pos, length, "utf8");
  }
}

/** Bytes of an id field (key and varint). */
function idSize(id: CallId): number {
  return 1 + (typeof id === "number" ? varintSize(id) : bigVarint(id).length);
}

/** Bytes of a length-delimited field of `length` bytes with a 1-byte key. */
function delimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/**
 * Encodes envelopes. Every method returns a fresh array (the connection may hold it while the next one
 * is made).
 */
export class EnvelopeWriter {
  #payload: protobuf.Writer = protobuf.Writer.create();
  /** The encoded size of the payload written by the last call, in bytes (for `maxMessageSize`). */
  payloadSize = 0;

  request(
    id: CallId,
    path: Uint8Array,
    timeoutMs: number,
    metadata: Readonly<Record<string, string>> | undefined,
    encoder: Encoder<never> | undefined,
    message: unknown,
    window: number,
  ): Uint8Array {
    const payload = encoder === undefined ? 0 : this.#encode(encoder, message);
    let size = idSize(id);
    if (path.byteLength > 0) size += delimitedSize(path.byteLength);
    if (timeoutMs > 0) size += 1 + varintSize(timeoutMs);
    if (metadata !== undefined) {
      for (const name in metadata) size += delimitedSize(entrySize(name, metadata[name]!));
    }
    if (payload > 0) size += delimitedSize(payload);
    if (window > 0) size += 1 + varintSize(window);
    const out = begin(REQUEST, size);
    out.id(id);
    if (path.byteLength > 0) out.bytes(0x12, path);
    if (timeoutMs > 0) {
      out.buf[out.pos++] = 0x18;
      out.varint(timeoutMs);
    }
    if (metadata !== undefined) {
      for (const name in metadata) {
        const value = metadata[name]!;
        out.buf[out.pos++] = 0x22;
        out.varint(entrySize(name, value));
        out.string(0x0a, name, Buffer.byteLength(name));
        out.string(0x12, value, Buffer.byteLength(value));
      }
    }
    if (payload > 0) this.#putPayload(out, 0x2a, payload);
    if (window > 0) {
      out.buf[out.pos++] = 0x30;
      out.varint(window);
    }
    return out.buf;
  }

  response(id: CallId, status: number, message: string, details: Uint8Array | undefined, encoder: Encoder<never> | undefined, reply: unknown): Uint8Array {
    const payload = encoder === undefined ? 0 : this.#encode(encoder, reply);
    // Statuses are 0 … 16 on the wire; an int32 outside 0 … 127 would need more bytes than this writes.
    const code = status >= 0 && status < 0x80 ? status : RPC_UNKNOWN;
    const messageLength = message.length === 0 ? 0 : Buffer.byteLength(message);
    let size = idSize(id);
    if (code !== 0) size += 2;
    if (messageLength > 0) size += delimitedSize(messageLength);
    if (details !== undefined && details.byteLength > 0) size += delimitedSize(details.byteLength);
    if (payload > 0) size += delimitedSize(payload);
    const out = begin(RESPONSE, size);
    out.id(id);
    if (code !== 0) {
      out.buf[out.pos++] = 0x10;
      out.buf[out.pos++] = code;
    }
    if (messageLength > 0) out.string(0x1a, message, messageLength);
    if (details !== undefined && details.byteLength > 0) out.bytes(0x22, details);
    if (payload > 0) this.#putPayload(out, 0x2a, payload);
    return out.buf;
  }

  streamMessage(id: CallId, encoder: Encoder<never>, message: unknown): Uint8Array {
    const payload = this.#encode(encoder, message);
    const out = begin(MESSAGE, idSize(id) + (payload > 0 ? delimitedSize(payload) : 0));
    out.id(id);
    if (payload > 0) this.#putPayload(out, 0x12, payload);
    return out.buf;
  }

  cancel(id: CallId, status: number): Uint8Array {
    const out = begin(CANCEL, idSize(id) + (status !== 0 ? 2 : 0));
    out.id(id);
    if (status !== 0) {
      out.buf[out.pos++] = 0x10;
      out.buf[out.pos++] = status;
    }
    return out.buf;
  }

  end(id: CallId): Uint8Array {
    const out = begin(END, idSize(id));
    out.id(id);
    return out.buf;
  }

  window(id: CallId, credit: number): Uint8Array {
    const out = begin(WINDOW, idSize(id) + (credit > 0 ? 1 + varintSize(credit) : 0));
    out.id(id);
    if (credit > 0) {
      out.buf[out.pos++] = 0x10;
      out.varint(credit);
    }
    return out.buf;
  }

  /** Encodes `message` into the payload writer; returns (and records) its size. */
  #encode(encoder: Encoder<never>, message: unknown): number {
    const w = this.#payload;
    w.pos = 0;
    w.states = null;
    try {
      encoder.encode(message as never, w);
    } catch (error) {
      this.#payload = protobuf.Writer.create();
      throw error;
    }
    this.payloadSize = w.pos;
    return w.pos;
  }

  #putPayload(out: Out, key: number, size: number): void {
    out.buf[out.pos++] = key;
    out.varint(size);
    const source = this.#payload.buf;
    const target = out.buf;
    let at = out.pos;
    // Small payloads (most requests and replies) are cheaper to copy by hand than to make a view of.
    if (size <= 64) {
      for (let i = 0; i < size; i++) target[at++] = source[i]!;
    } else {
      target.set(size === source.byteLength ? source : source.subarray(0, size), at);
      at += size;
    }
    out.pos = at;
    const w = this.#payload;
    // A writer grown by one large message would keep that memory for good.
    if (w.buf.byteLength > RETAINED_PAYLOAD_BUFFER) this.#payload = protobuf.Writer.create();
  }
}

/** The largest payload buffer kept between encodes. */
const RETAINED_PAYLOAD_BUFFER = 1024 * 1024;
/** `RPC_STATUS_UNKNOWN`. */
const RPC_UNKNOWN = 2;

/** Bytes of a metadata map entry: key (field 1) and value (field 2). */
export function entrySize(name: string, value: string): number {
  return delimitedSize(Buffer.byteLength(name)) + delimitedSize(Buffer.byteLength(value));
}

/** A frame of `size` bytes of the envelope field `field` (16–21: a 2-byte key), with its key and length written. */
function begin(field: number, size: number): Out {
  const out = new Out(2 + varintSize(size) + size);
  out.buf[out.pos++] = (((field << 3) | 2) & 0x7f) | 0x80;
  out.buf[out.pos++] = ((field << 3) | 2) >>> 7;
  out.varint(size);
  return out;
}
