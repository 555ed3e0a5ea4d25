/**
 * Protobuf varints for the hot paths (Data, Ack, mux data): the generated code decodes uint64 as `Long`
 * objects, which costs an allocation per message. Numbers here are integers from 0 to 2^53 − 1.
 */

/** Bytes the varint of `value` takes. */
export function varintLength(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** Writes the varint of `value` at `offset`; returns the offset after it. */
export function writeVarint(bytes: Uint8Array, offset: number, value: number): number {
  if (value < 0x8000_0000) {
    // Bit operations while the value fits in 31 bits (every id and length in practice).
    while (value >= 0x80) {
      bytes[offset++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    bytes[offset++] = value;
    return offset;
  }
  while (value >= 0x80) {
    bytes[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  bytes[offset++] = value;
  return offset;
}

/**
 * The varint at `at.offset` in `bytes` (before `end`), moving `at.offset` past it; -1 if it runs past
 * `end` or beyond 2^53 − 1. For parsers that reuse one cursor instead of allocating a reader.
 */
export function readVarint(bytes: Uint8Array, at: { offset: number }, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (at.offset >= end) return -1;
    const byte = bytes[at.offset++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value <= Number.MAX_SAFE_INTEGER ? value : -1;
    scale *= 128;
  }
  return -1;
}

/** Moves `at.offset` past a field's value of `wireType`; false if it cannot (a group, or past `end`). */
export function skipField(bytes: Uint8Array, at: { offset: number }, end: number, wireType: number): boolean {
  switch (wireType) {
    case 0:
      for (;;) {
        if (at.offset >= end) return false;
        if (bytes[at.offset++]! < 0x80) return true;
      }
    case 1:
      at.offset += 8;
      return at.offset <= end;
    case 2: {
      const length = readVarint(bytes, at, end);
      if (length < 0 || length > end - at.offset) return false;
      at.offset += length;
      return true;
    }
    case 5:
      at.offset += 4;
      return at.offset <= end;
    default:
      return false;
  }
}

/** A cursor over one message's bytes; every read checks bounds and reports failure as `undefined`. */
export class VarintReader {
  readonly bytes: Uint8Array;
  offset: number;
  readonly end: number;

  constructor(bytes: Uint8Array, offset = 0, end = bytes.byteLength) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  /** The next varint, or `undefined` if it runs past the end or beyond 2^53 − 1. */
  varint(): number | undefined {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.offset >= this.end) return undefined;
      const byte = this.bytes[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value <= Number.MAX_SAFE_INTEGER ? value : undefined;
      scale *= 128;
    }
    return undefined;
  }

  /** The next length-delimited field's bytes (a view), or `undefined` if it runs past the end. */
  bytesField(): Uint8Array | undefined {
    const length = this.varint();
    if (length === undefined || length > this.end - this.offset) return undefined;
    const start = this.offset;
    this.offset += length;
    return this.bytes.subarray(start, start + length);
  }
}
