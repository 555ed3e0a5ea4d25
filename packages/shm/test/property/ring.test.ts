/**
 * Properties of MessageRing's consumer, the decoder of everything a producer in another process writes into
 * shared memory (docs/wire.md §5.5). A real producer fills a ring over a plain ArrayBuffer (guard bytes on
 * both sides), then arbitrary words of the header and the data are overwritten, as a hostile or broken peer
 * could; the consumer must deliver exactly what a reader written from docs/wire.md §5.5 finds there (the
 * model below), then stop with `undefined` (nothing more published), `null` (the end mark) or a ProtocolError
 * that stays — never bytes from outside what was published, never a message that no record holds, and never
 * another kind of error. Seed and runs: see @ipc/testing/property.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { MessageRing, RING_HEADER, type Doorbell } from "../../src/index.js";
import { cleanUp, uniqueName } from "../helpers.js";
import { params } from "@ipc/testing/property";

afterEach(cleanUp);

/** The ring sits at this offset of its buffer, between guard bytes that must stay untouched and unread. */
const GUARD = 64;
const GUARD_BYTE = 0xee;
const PAD = 1;
const MORE = 2;
const END = 4;
// u32 word indexes of the header (docs/wire.md §5.5).
const CAPACITY = 0;
const VERSION = 1;
const HEAD = 16;
const PRODUCER_DONE = 17;
const PRODUCER_PID = 18;
const TAIL = 32;
const CONSUMER_DONE = 33;
const CONSUMER_PID = 34;
const CONSUMER_ASLEEP = 48;
const PRODUCER_ASLEEP = 64;

/** Neither side sleeps in these tests: everything is read from a snapshot that no one is writing. */
const doorbell: Doorbell = {
  ring() {},
  wait: () => Promise.resolve(),
  waitSync() {},
};

const align8 = (n: number): number => (n + 7) & ~7;
const isCapacity = (c: number): boolean => c >= 64 && c <= 2 ** 30 && (c & (c - 1)) === 0;

type Ending = "empty" | "end" | "violation";

interface Expected {
  /** The header itself breaks the protocol: no message may be delivered, only a ProtocolError. */
  readonly badHeader: boolean;
  /** Header words a reader need not look at are out of range: the open may fail with a ProtocolError. */
  readonly oddHeader: boolean;
  readonly messages: Uint8Array[];
  readonly ending: Ending;
}

/** What a consumer written from docs/wire.md §5.5 alone reads from the ring at `offset` of `buffer`. */
function model(buffer: ArrayBuffer, offset: number): Expected {
  const words = new Uint32Array(buffer, offset, RING_HEADER / 4);
  const capacity = words[CAPACITY]!;
  const head = words[HEAD]!;
  const tail = words[TAIL]!;
  const oddHeader =
    [PRODUCER_DONE, CONSUMER_DONE, CONSUMER_ASLEEP, PRODUCER_ASLEEP].some((i) => words[i]! > 1) ||
    [PRODUCER_PID, CONSUMER_PID].some((i) => words[i]! > 0x7fff_ffff);
  const badHeader =
    words[VERSION] !== 1 ||
    !isCapacity(capacity) ||
    offset + RING_HEADER + capacity > buffer.byteLength ||
    (head & 7) !== 0 ||
    (tail & 7) !== 0 ||
    (head - tail) >>> 0 > capacity;
  const messages: Uint8Array[] = [];
  if (badHeader) return { badHeader, oddHeader, messages, ending: "violation" };
  const data = new Uint8Array(buffer, offset + RING_HEADER, capacity);
  const view = new DataView(buffer, offset + RING_HEADER, capacity);
  const maxRecord = capacity / 2 - 8;
  let parts: Uint8Array[] | undefined;
  let position = tail;
  const result = (ending: Ending): Expected => ({ badHeader, oddHeader, messages, ending });
  for (;;) {
    // A chunked message whose last chunk is not published yet is not delivered.
    if (position === head) return result("empty");
    const published = (head - position) >>> 0;
    const index = position & (capacity - 1);
    if (published < 8) return result("violation");
    const length = view.getUint32(index, true);
    const flags = view.getUint32(index + 4, true);
    if (flags === PAD) {
      if (index + 8 + length !== capacity || 8 + length > published) return result("violation");
      position = (position + 8 + length) >>> 0;
      continue;
    }
    if (flags !== 0 && flags !== MORE && flags !== END) return result("violation");
    if (length > maxRecord || (flags === END && length !== 0)) return result("violation");
    if (8 + align8(length) > published || index + 8 + length > capacity) return result("violation");
    if (flags === END) return result(parts === undefined ? "end" : "violation");
    const payload = data.slice(index + 8, index + 8 + length);
    if (flags === MORE) (parts ??= []).push(payload);
    else {
      messages.push(parts === undefined ? payload : Buffer.concat([...parts, payload]));
      parts = undefined;
    }
    position = (position + 8 + align8(length)) >>> 0;
  }
}

interface Snapshot {
  readonly buffer: ArrayBuffer;
  /** Where the ring starts in `buffer`. */
  readonly offset: number;
  /** What the producer wrote, in order, and whether it wrote the end mark. */
  readonly written: Uint8Array[];
  readonly finished: boolean;
}

/** A ring of `capacity` over a plain buffer, between guard bytes, filled by a real producer from position `start`. */
async function produce(capacity: number, start: number, fill: number, messages: readonly Uint8Array[], finish: boolean): Promise<Snapshot> {
  const buffer = new ArrayBuffer(GUARD + RING_HEADER + capacity + GUARD);
  new Uint8Array(buffer).fill(GUARD_BYTE);
  new MessageRing(buffer, GUARD, { init: true, capacity, doorbell });
  return produceInto(buffer, GUARD, capacity, start, fill, messages, finish);
}

/** Fills the ring (header written) at `offset` of `buffer` with a real producer that starts at position `start`. */
async function produceInto(
  buffer: ArrayBuffer,
  offset: number,
  capacity: number,
  start: number,
  fill: number,
  messages: readonly Uint8Array[],
  finish: boolean,
): Promise<Snapshot> {
  new Uint8Array(buffer, offset + RING_HEADER, capacity).fill(fill);
  const words = new Uint32Array(buffer, offset, RING_HEADER / 4);
  words[HEAD] = start;
  words[TAIL] = start;
  const producer = new MessageRing(buffer, offset, { init: false, doorbell });
  const written: Uint8Array[] = [];
  for (const message of messages) {
    if (message.byteLength <= producer.maxRecord) {
      if (!producer.tryWrite(message)) break;
    } else {
      // A chunked message is written only where it fits at once (nobody reads to make room): its records
      // plus at most one padding record, shorter than a record.
      const chunks = Math.ceil(message.byteLength / producer.maxRecord);
      const need = message.byteLength + chunks * 15 + capacity / 2;
      if (producer.free < need) break;
      await producer.write(message);
    }
    written.push(message);
  }
  let finished = false;
  if (finish && producer.free >= 8) {
    await producer.finish();
    finished = true;
  }
  return { buffer, offset, written, finished };
}

/** One overwritten word: of the data area (a u32 index into it), or of the header. */
type Fault =
  | { readonly where: "data"; readonly word: number; readonly value: number }
  | { readonly where: "head" | "tail"; readonly delta: number; readonly value: number | undefined }
  | { readonly where: "header"; readonly word: number; readonly value: number };

const u32 = fc.nat({ max: 0xffff_ffff });
/** Values a broken or hostile producer is likely to write where a length or flags word is. */
const wordValue = fc.oneof(
  u32,
  fc.nat({ max: 80 }),
  fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0xffff_fff0, 0xffff_ffff, 0x8000_0000, 248, 256, 504, 512),
);
const fault: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ where: fc.constant("data" as const), word: fc.nat(), value: wordValue }) },
  {
    weight: 2,
    arbitrary: fc.record({
      where: fc.constantFrom("head" as const, "tail" as const),
      delta: fc.integer({ min: -64, max: 64 }),
      value: fc.option(u32, { freq: 4 }).map((v) => v ?? undefined),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      where: fc.constant("header" as const),
      word: fc.constantFrom(CAPACITY, VERSION, PRODUCER_DONE, PRODUCER_PID, CONSUMER_DONE, CONSUMER_PID, CONSUMER_ASLEEP, PRODUCER_ASLEEP, 2, 100),
      value: wordValue,
    }),
  },
);

function applyFault(snapshot: Snapshot, capacity: number, f: Fault): void {
  const words = new Uint32Array(snapshot.buffer, snapshot.offset, RING_HEADER / 4);
  if (f.where === "data") new Uint32Array(snapshot.buffer, snapshot.offset + RING_HEADER, capacity / 4)[f.word % (capacity / 4)] = f.value;
  else if (f.where === "header") words[f.word] = f.value;
  else {
    const index = f.where === "head" ? HEAD : TAIL;
    words[index] = f.value ?? (words[index]! + f.delta) >>> 0;
  }
}

const message = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 0 }) },
  { weight: 2, arbitrary: fc.integer({ min: 41, max: 600 }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
);
const ringCase = fc.record({
  capacity: fc.constantFrom(64, 128, 256, 1024),
  // Anywhere on the 2^32 counter, the wrap of the counter included.
  start: fc.oneof(
    fc.nat({ max: 0x1fff_ffff }).map((n) => (n * 8) >>> 0),
    fc.integer({ min: 1, max: 40 }).map((n) => (2 ** 32 - n * 8) >>> 0),
  ),
  fill: fc.constantFrom(0, 0xff, 0x5a),
  messages: fc.array(message, { maxLength: 30 }),
  finish: fc.boolean(),
  faults: fc.array(fault, { maxLength: 4 }),
});

function isProtocolError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "IPC_ERR_PROTOCOL" && error instanceof Error;
}

/** Runs `read` until it reports no message; the messages, then how it stopped. */
function readAll(read: () => Uint8Array | undefined | null, limit: number): { messages: Uint8Array[]; ending: Ending | "too many"; error?: unknown } {
  const messages: Uint8Array[] = [];
  for (;;) {
    let message: Uint8Array | undefined | null;
    try {
      message = read();
    } catch (error) {
      if (!isProtocolError(error)) throw new Error(`a read threw something other than a ProtocolError: ${String(error)}`, { cause: error });
      return { messages, ending: "violation", error };
    }
    if (message === undefined) return { messages, ending: "empty" };
    if (message === null) return { messages, ending: "end" };
    messages.push(message.slice());
    if (messages.length > limit) return { messages, ending: "too many" };
  }
}

type Reader = (ring: MessageRing) => () => Uint8Array | undefined | null;

/** tryRead(): a copy per message. */
const byTryRead: Reader = (ring) => () => ring.tryRead();
/** readView() + release(): views into the ring. */
const byReadView: Reader = (ring) => () => {
  const view = ring.readView();
  if (view === undefined || view === null) return view;
  const copy = view.slice();
  ring.release();
  return copy;
};
/** drain(): messages handed out in place, one per call here; tryRead() tells the end mark from an empty ring. */
const byDrain: Reader = (ring) => () => {
  let got: Uint8Array | undefined;
  const handled = ring.drain((data, offset, length) => void (got = data.slice(offset, offset + length)), 1);
  return handled === 0 ? ring.tryRead() : got;
};

type RingCase = typeof ringCase extends fc.Arbitrary<infer T> ? T : never;

async function checkConsumer(c: RingCase, reader: Reader): Promise<void> {
  const snapshot = await produce(c.capacity, c.start, c.fill, c.messages, c.finish);
  await checkSnapshot(c, snapshot, reader, () => new MessageRing(snapshot.buffer, GUARD, { init: false, doorbell }));
}

/**
 * Damages `snapshot` with the case's faults, opens its consumer with `open`, reads everything with `reader`, and
 * checks it against the model: the messages, how it stopped, that it stays stopped, and that the consumer wrote
 * nothing but its own header words.
 */
async function checkSnapshot(c: RingCase, snapshot: Snapshot, reader: Reader, open: () => MessageRing): Promise<void> {
  for (const f of c.faults) applyFault(snapshot, c.capacity, f);
  const expected = model(snapshot.buffer, snapshot.offset);
  if (c.faults.length === 0) {
    // Nothing broken: exactly what was written, then the end mark if it was written.
    expect(expected.messages).toEqual(snapshot.written);
    expect(expected.ending).toBe(snapshot.finished ? "end" : "empty");
  }
  const dataStart = snapshot.offset + RING_HEADER;
  const before = new Uint8Array(snapshot.buffer).slice();
  let ring: MessageRing;
  try {
    ring = open();
  } catch (error) {
    expect(isProtocolError(error), `opening the ring threw ${String(error)}`).toBe(true);
    expect(expected.badHeader || expected.oddHeader, `opening a ring with a valid header threw ${String(error)}`).toBe(true);
    return;
  }
  try {
    const header = new Uint32Array(snapshot.buffer, snapshot.offset, RING_HEADER / 4);
    const published = (header[HEAD]! - header[TAIL]!) >>> 0;
    // Every record takes at least 8 bytes: more messages than that are phantoms.
    const got = readAll(reader(ring), Math.floor(published / 8) + 1);
    if (expected.badHeader) {
      expect(got.messages.length, "messages delivered from a ring whose header breaks the protocol").toBe(0);
      expect(got.ending).toBe("violation");
    } else {
      expect(got.messages.length, "messages delivered").toBe(expected.messages.length);
      for (const [i, m] of got.messages.entries()) expect(Buffer.compare(m, expected.messages[i]!), `message ${i}`).toBe(0);
      expect(got.ending).toBe(expected.ending);
    }
    // How it stopped, it stays: an empty ring stays empty, the end stays the end, a violation fails the ring for good.
    const again = readAll(reader(ring), 0);
    expect(again.messages.length, "a message after the ring said it had none").toBe(0);
    expect(again.ending).toBe(got.ending);
    // The consumer writes only its own header words; the data and the guards are as the producer left them.
    const after = new Uint8Array(snapshot.buffer);
    expect(Buffer.compare(after.subarray(0, snapshot.offset), before.subarray(0, snapshot.offset))).toBe(0);
    expect(Buffer.compare(after.subarray(dataStart), before.subarray(dataStart)), "the consumer wrote into the data or past the ring").toBe(0);
  } finally {
    ring.close();
  }
}

describe("MessageRing consumer properties (docs/wire.md §5.5)", () => {
  it("reads exactly what a real producer wrote, wherever the counters start", async () => {
    await fc.assert(
      fc.asyncProperty(
        ringCase.map((c) => ({ ...c, faults: [] })),
        (c) => checkConsumer(c, byTryRead),
      ),
      params(100),
    );
  });

  it("tryRead(): overwritten words yield exactly the valid records, then undefined, null or a ProtocolError that stays", async () => {
    await fc.assert(
      fc.asyncProperty(ringCase, (c) => checkConsumer(c, byTryRead)),
      params(250),
    );
  });

  it("readView(): overwritten words yield exactly the valid records, then undefined, null or a ProtocolError that stays", async () => {
    await fc.assert(
      fc.asyncProperty(ringCase, (c) => checkConsumer(c, byReadView)),
      params(120),
    );
  });

  it("drain(): overwritten words yield exactly the valid records, then undefined, null or a ProtocolError that stays", async () => {
    await fc.assert(
      fc.asyncProperty(ringCase, (c) => checkConsumer(c, byDrain)),
      params(120),
    );
  });

  it("over a real segment opened by name (MessageRing.create / open), damaged words yield exactly the valid records, then a typed stop", async () => {
    await fc.assert(
      fc.asyncProperty(ringCase, async (c) => {
        const name = uniqueName("ring-property");
        const created = MessageRing.create({ name, capacity: c.capacity });
        try {
          const snapshot = await produceInto(created.memory!.buffer, 0, c.capacity, c.start, c.fill, c.messages, c.finish);
          await checkSnapshot(c, snapshot, byTryRead, () => MessageRing.open(name));
        } finally {
          created.destroy();
        }
      }),
      params(40, 5),
    );
  });

  it("a producer whose consumer publishes a tail it cannot have reached gets a ProtocolError that stays, not room", async () => {
    await fc.assert(
      fc.asyncProperty(ringCase, fc.oneof(u32, fc.integer({ min: -64, max: 64 })), async (c, tailFault) => {
        const snapshot = await produce(c.capacity, c.start, c.fill, c.messages, false);
        // The producer, once everything written has been read: the only tail the consumer can publish now is the head.
        const words = new Uint32Array(snapshot.buffer, GUARD, RING_HEADER / 4);
        const head = words[HEAD]!;
        words[TAIL] = head;
        const producer = new MessageRing(snapshot.buffer, GUARD, { init: false, doorbell });
        expect(producer.free).toBe(c.capacity);
        const tail = tailFault < 0 || tailFault > 64 ? tailFault >>> 0 : (head + tailFault) >>> 0;
        words[TAIL] = tail;
        const dataBefore = new Uint8Array(snapshot.buffer, GUARD + RING_HEADER, c.capacity).slice();
        if (tail === head) {
          expect(producer.free).toBe(c.capacity);
          return;
        }
        // Ahead of what was published (or behind what was already read, or not 8-aligned): a lie.
        for (const use of [() => producer.free, () => producer.tryWrite(new Uint8Array(c.capacity / 2 - 8)), () => producer.free]) {
          let error: unknown;
          try {
            use();
          } catch (e) {
            error = e;
          }
          expect(isProtocolError(error), `the producer believed tail ${tail} with head ${head}: ${String(error)}`).toBe(true);
        }
        expect(Buffer.compare(new Uint8Array(snapshot.buffer, GUARD + RING_HEADER, c.capacity), dataBefore), "the producer wrote after the lie").toBe(0);
      }),
      params(120),
    );
  });

  it("a ring whose memory is all arbitrary words opens and reads only as docs/wire.md §5.5 allows", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(64, 128, 256),
        fc.uint32Array({ minLength: (RING_HEADER + 256) / 4, maxLength: (RING_HEADER + 256) / 4 }),
        fc.boolean(),
        fc.nat({ max: 0x1fff_ffff }),
        async (capacity, words, plausible, head) => {
          const buffer = new ArrayBuffer(GUARD + RING_HEADER + capacity + GUARD);
          new Uint8Array(buffer).fill(GUARD_BYTE);
          new Uint32Array(buffer, GUARD, (RING_HEADER + capacity) / 4).set(words.subarray(0, (RING_HEADER + capacity) / 4));
          if (plausible) {
            // A header that passes, over arbitrary records: the records are what is checked.
            const header = new Uint32Array(buffer, GUARD, RING_HEADER / 4);
            header.fill(0);
            header[CAPACITY] = capacity;
            header[VERSION] = 1;
            header[TAIL] = (head * 8) >>> 0;
            header[HEAD] = (header[TAIL]! + (words[0]! % (capacity / 8 + 1)) * 8) >>> 0;
          }
          const expected = model(buffer, GUARD);
          let ring: MessageRing;
          try {
            ring = new MessageRing(buffer, GUARD, { init: false, doorbell });
          } catch (error) {
            expect(isProtocolError(error), `opening the ring threw ${String(error)}`).toBe(true);
            expect(expected.badHeader || expected.oddHeader).toBe(true);
            return;
          }
          const header = new Uint32Array(buffer, GUARD, RING_HEADER / 4);
          const published = (header[HEAD]! - header[TAIL]!) >>> 0;
          const got = readAll(byTryRead(ring), Math.floor(published / 8) + 1);
          if (expected.badHeader) {
            expect(got.messages.length).toBe(0);
            expect(got.ending).toBe("violation");
            return;
          }
          expect(got.messages.length).toBe(expected.messages.length);
          for (const [i, m] of got.messages.entries()) expect(Buffer.compare(m, expected.messages[i]!), `message ${i}`).toBe(0);
          expect(got.ending).toBe(expected.ending);
        },
      ),
      params(200),
    );
  });
});
