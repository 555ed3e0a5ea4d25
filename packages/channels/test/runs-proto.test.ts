/**
 * The runs' bytes against ipc.proto: what @ipc/channels writes by hand (`DataRun`, IpcMessage field 14;
 * `MuxDataRun`, Mux field 7; docs/wire.md §8.2.1 and §8.3) is what code generated from packages/core/proto/ipc.proto
 * reads, and what that code writes is what @ipc/channels reads — so a peer in another language, generated from the
 * same .proto, speaks runs without reading our codec.
 */
import { ipc } from "@ipc/core/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeMuxFrame, encodeMuxRun, parseMuxRun, parsedMuxRun } from "../src/mux/codec.js";
import { encodeHello, encodeRun, encodeWelcome, parseRun, parsedRun } from "../src/reliable/codec.js";

const payloads = fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 20 });
const plain = (list: readonly Uint8Array[]): number[][] => list.map((m) => [...m]);
const toNumber = (value: number | { toNumber(): number } | null | undefined): number => (typeof value === "number" ? value : (value?.toNumber() ?? 0));

describe("runs and ipc.proto", () => {
  it("a DataRun written by @ipc/channels decodes with the generated code, and one the generated code wrote parses", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.nat({ max: 2 ** 40 }), payloads, (first, ack, list) => {
        const decoded = ipc.IpcMessage.decode(encodeRun(first, ack, list, 0, list.length));
        expect(decoded.kind).toBe("dataRun");
        expect(toNumber(decoded.dataRun!.first)).toBe(first);
        expect(toNumber(decoded.dataRun!.ack)).toBe(ack);
        expect(plain(decoded.dataRun!.payloads!)).toEqual(plain(list));

        const written = ipc.IpcMessage.encode({ dataRun: { first, ack, payloads: list } }).finish();
        const out: Uint8Array[] = [];
        parseRun(written, 0, written.byteLength, out);
        expect(plain(out)).toEqual(plain(list));
        expect({ first: parsedRun.first, ack: parsedRun.ack }).toEqual({ first, ack });
      }),
    );
  });

  it("a MuxDataRun written by @ipc/channels decodes with the generated code, and one the generated code wrote parses", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffff_ffff }), fc.boolean(), payloads, (stream, reply, list) => {
        const decoded = ipc.IpcMessage.decode(encodeMuxRun(stream, reply, list, 0, list.length));
        expect(decoded.kind).toBe("mux");
        expect(decoded.mux!.frame).toBe("dataRun");
        expect(decoded.mux!.dataRun!.stream).toBe(stream);
        expect(decoded.mux!.dataRun!.reply).toBe(reply);
        expect(plain(decoded.mux!.dataRun!.payloads!)).toEqual(plain(list));

        const written = ipc.IpcMessage.encode({ mux: { dataRun: { stream, reply, payloads: list } } }).finish();
        const out: Uint8Array[] = [];
        expect(parseMuxRun(written, 0, written.byteLength, out)).toBe(true);
        expect(plain(out)).toEqual(plain(list));
        expect({ stream: parsedMuxRun.stream, reply: parsedMuxRun.reply }).toEqual({ stream, reply });
      }),
    );
  });

  it("the features @ipc/channels writes in Hello, Welcome, MuxOpen and MuxAccept are the fields ipc.proto names", () => {
    const handshake = { session: new Uint8Array(16), received: 7, ack: 5, window: 1 << 20, features: 1 };
    for (const [encoded, kind] of [
      [encodeHello(handshake), "hello"],
      [encodeWelcome(handshake), "welcome"],
    ] as const) {
      const decoded = ipc.IpcMessage.decode(encoded);
      expect(decoded.kind).toBe(kind);
      const fields = decoded[kind]!;
      expect([toNumber(fields.features), toNumber(fields.received), toNumber(fields.ack), toNumber(fields.window)]).toEqual([1, 7, 5, 1 << 20]);
    }
    const open = ipc.IpcMessage.decode(encodeMuxFrame({ kind: "open", stream: 3, name: "x", window: 1 << 16, features: 1 })).mux!.open!;
    expect([open.stream, open.name, open.window, toNumber(open.features)]).toEqual([3, "x", 1 << 16, 1]);
    const accept = ipc.IpcMessage.decode(encodeMuxFrame({ kind: "accept", stream: 3, window: 1 << 16, features: 1 })).mux!.accept!;
    expect([accept.stream, accept.window, toNumber(accept.features)]).toEqual([3, 1 << 16, 1]);
  });
});
