/**
 * Properties of the envelope decoder that messageChannel() runs on every message a peer sends
 * (`ipc.IpcMessage`, docs/wire.md §3): any bytes decode to a well-formed ChannelMessage or a ProtocolError,
 * and a channel over a real connection delivers exactly that, aborting the connection at the first bad one.
 * Seed and runs: see @ipc/testing/property.
 */
import { memoryPair } from "@ipc/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeChannelMessage, encodeChannelMessage, messageChannel, type ChannelMessage } from "../../src/index.js";
import { anyEnvelope } from "./envelopes.js";
import { params } from "@ipc/testing/property";
import { decodeOrProtocolError, hostile, isProtocolError } from "@ipc/testing/property";

const U64_MAX = 2n ** 64n - 1n;

/** Fails unless `m` is a ChannelMessage with fields of the documented types and ranges. */
function expectWellFormed(m: ChannelMessage): void {
  switch (m.kind) {
    case "text":
      expect(typeof m.text).toBe("string");
      return;
    case "binary":
      expect(m.binary).toBeInstanceOf(Uint8Array);
      return;
    case "command":
      expect(typeof m.cmd).toBe("string");
      expect(Array.isArray(m.args) && m.args.every((a) => typeof a === "string")).toBe(true);
      return;
    case "data":
    case "ack":
      expect(typeof m.id).toBe("bigint");
      expect(m.id >= 0n && m.id <= U64_MAX).toBe(true);
      if (m.kind === "data") expect(m.payload).toBeInstanceOf(Uint8Array);
      return;
    default:
      throw new Error(`decoded an unknown kind: ${JSON.stringify(m)}`);
  }
}

/** Plain values for deep equality (byte arrays of any class as number arrays). */
const plain = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};

const peerBytes = hostile(anyEnvelope);

describe("envelope decoder properties (messageChannel)", () => {
  it("decodes any bytes to a well-formed message or a ProtocolError", () => {
    fc.assert(
      fc.property(peerBytes, (bytes) => {
        const decoded = decodeOrProtocolError(() => decodeChannelMessage(bytes));
        if (decoded !== undefined) expectWellFormed(decoded);
      }),
      params(400),
    );
  });

  it("a message decoded from any bytes encodes to bytes that decode to the same message", () => {
    fc.assert(
      fc.property(peerBytes, (bytes) => {
        const decoded = decodeOrProtocolError(() => decodeChannelMessage(bytes));
        if (decoded === undefined) return;
        expect(plain(decodeChannelMessage(encodeChannelMessage(decoded)))).toEqual(plain(decoded));
      }),
      params(200),
    );
  });

  it("a channel delivers what the decoder says for each message a peer sends, and aborts at the first bad one", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(peerBytes, { minLength: 1, maxLength: 8 }), async (sent) => {
        const [peer, mine] = memoryPair();
        const channel = messageChannel(mine);
        try {
          for (const bytes of sent) await peer.send(bytes);
          for (const bytes of sent) {
            const expected = decodeOrProtocolError(() => decodeChannelMessage(bytes));
            if (expected === undefined) {
              const error = await channel.receive().then(
                (m) => new Error(`received ${JSON.stringify(plain(m!))} where a ProtocolError was due`),
                (e: unknown) => e,
              );
              expect(isProtocolError(error), String(error)).toBe(true);
              await expect(mine.closed).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL" });
              return;
            }
            expect(plain((await channel.receive())!)).toEqual(plain(expected));
          }
          await peer.close();
          expect(await channel.receive()).toBeUndefined();
        } finally {
          peer.abort();
          mine.abort();
        }
      }),
      params(60, 10),
    );
  });
});
