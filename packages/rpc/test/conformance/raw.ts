/**
 * RPC envelopes written and read by hand, straight from docs/wire.md §3 and §7 — independent of @ipc/rpc's own
 * codec, so the cases that use them check the wire format itself.
 */

function varint(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return bytes;
}

function field(number: number, wireType: number): number[] {
  return varint(number * 8 + wireType);
}

function delimited(number: number, bytes: ArrayLike<number>): number[] {
  return [...field(number, 2), ...varint(bytes.length), ...Array.from(bytes)];
}

/** An `IpcMessage { rpc_request: { id, method, metadata, payload } }`. */
export function rawRequest(id: number, method: string, payload: Uint8Array, metadata: readonly [string, string][] = []): Uint8Array {
  const text = new TextEncoder();
  const entries = metadata.flatMap(([name, value]) => delimited(4, [...delimited(1, text.encode(name)), ...delimited(2, text.encode(value))]));
  const inner = [...field(1, 0), ...varint(id), ...delimited(2, text.encode(method)), ...entries, ...delimited(5, payload)];
  return new Uint8Array(delimited(16, inner));
}

/** What a raw reader needs of the envelopes a server or client sends. */
export interface RawEnvelope {
  /** The envelope field: 16 request, 17 response, 18 cancel, 19 message, 20 end, 21 window. */
  readonly kind: number;
  readonly id: number;
  /** Response / cancel status (field 2), window credit (field 2). */
  readonly status: number;
  readonly message: string;
  readonly payload: Uint8Array;
}

class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    public end = bytes.byteLength,
  ) {}
  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new Error(`truncated envelope: ${Buffer.from(this.bytes).toString("hex")}`);
      const byte = this.bytes[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  }
  delimited(): Uint8Array {
    const length = this.varint();
    const start = this.pos;
    this.pos += length;
    return this.bytes.subarray(start, this.pos);
  }
}

/** Reads the envelope kind and the fields every RPC message shares. */
export function readRaw(bytes: Uint8Array): RawEnvelope {
  const outer = new Reader(bytes);
  const key = outer.varint();
  const body = outer.delimited();
  const inner = new Reader(body);
  let id = 0;
  let status = 0;
  let message = "";
  let payload: Uint8Array = new Uint8Array(0);
  const kind = key >>> 3;
  while (inner.pos < inner.end) {
    const k = inner.varint();
    const number = k >>> 3;
    if ((k & 7) === 0) {
      const value = inner.varint();
      if (number === 1) id = value;
      else if (number === 2) status = value;
    } else {
      const value = inner.delimited();
      if (number === 3 && kind === 17) message = new TextDecoder().decode(value);
      if ((number === 5 && (kind === 16 || kind === 17)) || (number === 2 && kind === 19)) payload = value;
    }
  }
  return { kind, id, status, message, payload };
}
