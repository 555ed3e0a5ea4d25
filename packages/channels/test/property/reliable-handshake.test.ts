/**
 * Properties of the reliable session handshake (docs/wire.md §8.2.2), where a stranger's bytes first reach a
 * session. A listener answers any first message of a connection — a Hello of any version, session id (a live
 * session's included) and position, damaged or not, or anything else — with the Welcome or the Goodbye reason
 * that §8.2.2 allows, never silence or a crash, and a live session that was not validly resumed goes on carrying
 * messages. A new client joins only on a possible Welcome, and tells a server that broke the protocol why.
 * Seed and runs: see @ipc/testing/property.
 */
import { memoryTransport } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import fc from "fast-check";
import Long from "long";
import { afterEach, describe, expect, it } from "vitest";
import { reliable, reliableListener } from "../../src/index.js";
import { decodeSessionFrame } from "../../src/reliable/codec.js";
import { memoryAddress } from "../fixtures/messages.js";
import { anyEnvelope, u64 } from "./envelopes.js";
import { params } from "@ipc/testing/property";
import { apply, edits } from "@ipc/testing/property";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A live session's id (hex), for Hellos that name it. */
const LIVE = "live";

/** A first message: a Hello (its session: none, the live one, or other bytes), damaged or not, or any envelope. */
const firstMessage = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      version: fc.oneof(fc.constant(1), fc.nat({ max: 3 }), fc.nat()),
      session: fc.oneof(fc.constant(new Uint8Array(0)), fc.constant(LIVE), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 20 })),
      received: fc.oneof(fc.constant(Long.UZERO), u64),
      ack: fc.oneof(fc.constant(Long.UZERO), u64),
      window: fc.oneof(fc.constant(Long.fromNumber(1 << 20, true)), u64),
      damage: fc.option(edits, { freq: 3 }),
    }),
  },
  { weight: 1, arbitrary: anyEnvelope },
);

type First = typeof firstMessage extends fc.Arbitrary<infer T> ? T : never;

function bytesOf(first: First, live: Uint8Array): Uint8Array {
  if (first instanceof Uint8Array) return first;
  const { damage, session, ...hello } = first;
  const bytes = ipc.IpcMessage.encode({ hello: { ...hello, session: session === LIVE ? live : session } }).finish();
  return damage === null ? bytes : apply(bytes, damage);
}

/** A reason of `Goodbye` (proto/ipc.proto). */
const { REASON_SESSION_UNKNOWN, REASON_PROTOCOL, REASON_VERSION } = ipc.Goodbye.Reason;

/**
 * The answers docs/wire.md §8.2.2 allows to `bytes` as the first message of a connection, with one live session
 * `live` to which the server sent nothing and whose client acknowledged nothing: a Welcome (of a new session, or
 * handing over the live one) when nothing is wrong, else a Goodbye with one of the reasons that apply (the text
 * does not rank them: a Hello both for an unknown session and with a window of 0 may hear either).
 */
function prescribed(bytes: Uint8Array, live: string): { kind: "welcome"; session: "new" | "live" } | { kind: "goodbye"; reasons: number[] } {
  let hello;
  try {
    hello = decodeSessionFrame(bytes);
  } catch {
    return { kind: "goodbye", reasons: [REASON_PROTOCOL] };
  }
  if (hello.kind !== "hello") return { kind: "goodbye", reasons: [REASON_PROTOCOL] };
  const reasons = new Set<number>();
  if (hello.version !== 1) reasons.add(REASON_VERSION);
  if (hello.session.byteLength !== 0 && hello.session.byteLength !== 16) reasons.add(REASON_PROTOCOL);
  if (hello.window < 64) reasons.add(REASON_PROTOCOL);
  const id = Buffer.from(hello.session).toString("hex");
  if (hello.session.byteLength === 0 && (hello.received !== 0 || hello.ack !== 0)) reasons.add(REASON_PROTOCOL);
  if (hello.session.byteLength === 16 && id !== live) reasons.add(REASON_SESSION_UNKNOWN);
  // The server sent nothing: a resume that holds more, or acknowledges more than it holds, is impossible.
  if (id === live && (hello.received > 0 || hello.ack > hello.received)) reasons.add(REASON_PROTOCOL);
  if (reasons.size > 0) return { kind: "goodbye", reasons: [...reasons] };
  return { kind: "welcome", session: hello.session.byteLength === 0 ? "new" : "live" };
}

describe("reliable listener properties", () => {
  it("answers any first message with the Welcome or Goodbye docs/wire.md §8.2.2 prescribes, and a live session not validly resumed goes on", async () => {
    await fc.assert(
      fc.asyncProperty(firstMessage, async (first) => {
        const raw = await memoryTransport.listen(memoryAddress("reliable-property"));
        const listener = reliableListener(raw);
        cleanups.push(() => listener.close());
        const client = await reliable(() => memoryTransport.connect(raw.address));
        cleanups.push(() => client.abort());
        const session = (await listener.accept())!;
        cleanups.push(() => session.abort());

        const stranger = await memoryTransport.connect(raw.address);
        cleanups.push(() => stranger.abort());
        const sent = bytesOf(first, Buffer.from(client.id, "hex"));
        await stranger.send(sent);
        const reply = await stranger.receive().catch((error: unknown) => error);
        expect(reply, `no answer to ${Buffer.from(sent).toString("hex")}`).toBeInstanceOf(Uint8Array);
        const answer = decodeSessionFrame(reply as Uint8Array);
        const expected = prescribed(sent, client.id);
        expect(answer.kind, `answered ${JSON.stringify(answer)} to ${Buffer.from(sent).toString("hex")}`).toBe(expected.kind);
        if (expected.kind === "goodbye") expect(expected.reasons, `answered ${JSON.stringify(answer)}`).toContain((answer as { reason: number }).reason);
        else {
          const id = Buffer.from((answer as { session: Uint8Array }).session).toString("hex");
          if (expected.session === "live") expect(id).toBe(client.id);
          else expect(id).toMatch(/^[0-9a-f]{32}$/);
          if (expected.session === "new") expect(id).not.toBe(client.id);
        }
        // A valid resume hands the live session over (whoever shows its id may resume over a transport that cannot
        // tell users apart, docs/wire.md §8.2.2); anything else leaves it untouched.
        if (expected.kind === "welcome" && expected.session === "live") return;
        stranger.abort();
        const message = Uint8Array.from([1, 2, 3]);
        await client.send(message);
        expect([...((await session.receive()) ?? [])]).toEqual([...message]);
        expect(session.state).not.toBe("closed");
      }),
      params(40, 20),
    );
  });
});

/** A server's answer to a new session's Hello: a Welcome of any fields, damaged or not, a Goodbye, or any envelope. */
const serverAnswer = fc
  .oneof(
    {
      weight: 3,
      arbitrary: fc
        .record({
          version: fc.oneof(fc.constant(1), fc.nat({ max: 3 })),
          session: fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 20 })),
          received: fc.oneof(fc.constant(Long.UZERO), u64),
          ack: fc.oneof(fc.constant(Long.UZERO), u64),
          window: fc.oneof(fc.constant(Long.fromNumber(1 << 20, true)), u64),
        })
        .map((welcome) => ipc.IpcMessage.encode({ welcome }).finish()),
    },
    {
      weight: 1,
      arbitrary: fc.record({ reason: fc.nat({ max: 5 }), message: fc.string({ maxLength: 10 }) }).map((goodbye) => ipc.IpcMessage.encode({ goodbye }).finish()),
    },
    { weight: 1, arbitrary: anyEnvelope },
  )
  .chain((bytes) => fc.option(edits, { freq: 3 }).map((damage) => (damage === null ? bytes : apply(bytes, damage))));

/** What docs/wire.md §8.2.2 makes a new client do with `bytes` as the server's answer to its Hello. */
function clientOutcome(bytes: Uint8Array): "session" | "refused" | "protocol" {
  let frame;
  try {
    frame = decodeSessionFrame(bytes);
  } catch {
    return "protocol";
  }
  if (frame.kind === "goodbye") return "refused";
  if (frame.kind !== "welcome") return "protocol";
  const possible = frame.version === 1 && frame.session.byteLength === 16 && frame.window >= 64 && frame.received === 0 && frame.ack === 0;
  return possible ? "session" : "protocol";
}

describe("reliable client properties", () => {
  it("a new client joins only on a possible Welcome; any other answer fails it with a typed error, a broken one with Goodbye(REASON_PROTOCOL) to the server", async () => {
    await fc.assert(
      fc.asyncProperty(serverAnswer, async (answer) => {
        const raw = await memoryTransport.listen(memoryAddress("reliable-client-property"));
        cleanups.push(() => raw.close());
        const opening = reliable(() => memoryTransport.connect(raw.address), { minReconnectDelay: 0, maxReconnectDelay: 1 }).then(
          (session) => ({ session }),
          (error: unknown) => ({ error: error as { code?: unknown } }),
        );
        const server = (await raw.accept())!;
        cleanups.push(() => server.abort());
        expect(decodeSessionFrame((await server.receive())!).kind).toBe("hello");
        await server.send(answer);
        const outcome = await opening;
        const expected = clientOutcome(answer);
        if ("session" in outcome) {
          cleanups.push(() => outcome.session.abort());
          expect(expected, `joined on ${Buffer.from(answer).toString("hex")}`).toBe("session");
          return;
        }
        expect(String(outcome.error.code), String(outcome.error)).toMatch(/^IPC_ERR_/);
        expect(expected, `refused ${Buffer.from(answer).toString("hex")}: ${String(outcome.error)}`).not.toBe("session");
        if (expected === "protocol") {
          expect(outcome.error.code).toBe("IPC_ERR_PROTOCOL");
          const goodbye = decodeSessionFrame((await server.receive())!);
          expect(goodbye).toMatchObject({ kind: "goodbye", reason: REASON_PROTOCOL });
        }
      }),
      params(40, 20),
    );
  });
});
