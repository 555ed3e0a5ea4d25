/**
 * Properties of the client's reading of the server's first frame, the status frame (docs/wire.md §2.1): any
 * first frame a server sends is an accepted connection (status 06 only) or a typed error that says which, and
 * the connection is aborted after an error. Seed and runs: see @ipc/testing/property.
 */
import { memoryPair } from "@ipc/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HandshakeStatus, awaitAccepted, statusMessage } from "../../src/index.js";
import { params } from "@ipc/testing/property";

const EXPECTED_CODE: Record<number, string> = {
  [HandshakeStatus.Refused]: "IPC_ERR_PEER_REJECTED",
  [HandshakeStatus.Busy]: "IPC_ERR_CONNECTION_REFUSED",
};

const firstFrame = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc
    .tuple(fc.constantFrom(HandshakeStatus.Accepted, HandshakeStatus.Refused, HandshakeStatus.Busy), fc.string({ unit: "binary", maxLength: 30 }))
    .map(([status, reason]) => statusMessage(status, reason)),
  fc
    .tuple(fc.constantFrom(HandshakeStatus.Refused, HandshakeStatus.Busy), fc.uint8Array({ maxLength: 30 }))
    .map(([status, reason]) => Uint8Array.from([status, ...reason])),
);

describe("status frame properties", () => {
  it("any first frame is an accepted connection (status 06) or the typed error of its status, and the connection is aborted", async () => {
    await fc.assert(
      fc.asyncProperty(firstFrame, async (frame) => {
        const [server, client] = memoryPair();
        try {
          await server.send(frame);
          const outcome = await awaitAccepted(client, "memory:test").then(
            () => undefined,
            (error: unknown) => error as { code?: string; message?: string },
          );
          if (frame[0] === HandshakeStatus.Accepted) {
            expect(outcome).toBeUndefined();
            return;
          }
          expect(outcome?.code).toBe(EXPECTED_CODE[frame[0]!] ?? "IPC_ERR_PROTOCOL");
          expect(typeof outcome?.message).toBe("string");
          await expect(client.closed).rejects.toBe(outcome);
        } finally {
          server.abort();
          client.abort();
        }
      }),
      params(100, 5),
    );
  });
});
