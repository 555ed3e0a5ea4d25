/** Valid `ipc.IpcMessage` envelopes of every kind (docs/wire.md §3, §7, §8), encoded by the generated code. */
import { ipc } from "@ipc/core/proto";
import fc from "fast-check";
import Long from "long";

/** uint64 values: mostly small, sometimes past 2^32, 2^53 and up to 2^64 − 1. */
export const u64 = fc
  .oneof(
    { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 1000n }) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
    { weight: 1, arbitrary: fc.constantFrom(2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n) },
  )
  .map((value) => Long.fromBigInt(value, true));
export const u32 = fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: 0xffff_ffff }));
export const text = fc.string({ unit: "binary", maxLength: 12 });
export const bytes = fc.uint8Array({ maxLength: 40 });

const handshake = fc.record({ version: u32, session: bytes, received: u64, ack: u64, window: u64 });
/** A `Mux` message of any frame kind, as an object for the generated code. */
export const muxFrame: fc.Arbitrary<ipc.IMux> = fc.oneof(
  fc.record({ open: fc.record({ stream: u32, name: text, window: u32 }) }),
  fc.record({ accept: fc.record({ stream: u32, window: u32 }) }),
  fc.record({ data: fc.record({ stream: u32, reply: fc.boolean(), payload: bytes }) }),
  fc.record({ credit: fc.record({ stream: u32, reply: fc.boolean(), credit: u32 }) }),
  fc.record({ end: fc.record({ stream: u32, reply: fc.boolean() }) }),
  fc.record({ reset: fc.record({ stream: u32, reply: fc.boolean(), message: text }) }),
);

/** One envelope of any kind, as an object for the generated code. */
export const envelopeObject: fc.Arbitrary<ipc.IIpcMessage> = fc.oneof(
  text.map((t) => ({ text: t })),
  bytes.map((binary) => ({ binary })),
  fc.record({ cmd: text, args: fc.array(text, { maxLength: 3 }) }).map((command) => ({ command })),
  fc.record({ id: u64, payload: bytes, ack: u64 }).map((data) => ({ data })),
  u64.map((id) => ({ ack: { id } })),
  handshake.map((hello) => ({ hello })),
  handshake.map((welcome) => ({ welcome })),
  u64.map((last) => ({ sessionEnd: { last } })),
  fc.record({ reason: fc.integer({ min: 0, max: 6 }), message: text }).map((goodbye) => ({ goodbye })),
  muxFrame.map((mux) => ({ mux })),
  fc.record({ topics: fc.array(text, { maxLength: 3 }), prefixes: fc.array(text, { maxLength: 3 }), history: u32 }).map((subscribe) => ({ subscribe })),
  fc.record({ topic: text, payload: bytes, dropped: u64 }).map((publish) => ({ publish })),
  fc.array(bytes, { maxLength: 4 }).map((messages) => ({ batch: { messages } })),
  fc
    .record({ id: u64, method: text, timeoutMs: u64, metadata: fc.dictionary(text, text, { maxKeys: 3 }), payload: bytes, window: u32 })
    .map((rpcRequest) => ({ rpcRequest })),
  fc.record({ id: u64, status: fc.integer({ min: 0, max: 20 }), message: text, details: bytes, payload: bytes }).map((rpcResponse) => ({ rpcResponse })),
  fc.record({ id: u64, status: fc.integer({ min: 0, max: 20 }) }).map((rpcCancel) => ({ rpcCancel })),
  fc.record({ id: u64, payload: bytes }).map((rpcMessage) => ({ rpcMessage })),
  fc.record({ id: u64 }).map((rpcEnd) => ({ rpcEnd })),
  fc.record({ id: u64, credit: u32 }).map((rpcWindow) => ({ rpcWindow })),
);

/** One envelope of any kind, encoded. */
export const anyEnvelope: fc.Arbitrary<Uint8Array> = envelopeObject.map((m) => ipc.IpcMessage.encode(m).finish());
