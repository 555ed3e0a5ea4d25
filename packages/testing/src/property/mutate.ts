/**
 * Byte sequences a hostile or broken peer may send: arbitrary bytes, and valid messages damaged the ways a
 * decoder is most likely to trip on (a byte changed, bytes cut out or inserted, a length or varint made huge,
 * the message cut short or run on).
 */
import fc from "fast-check";

export type Edit =
  | { readonly op: "set"; readonly at: number; readonly value: number }
  | { readonly op: "delete"; readonly at: number; readonly count: number }
  | { readonly op: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: "truncate"; readonly at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: fc.oneof(fc.nat({ max: 255 }), fc.constantFrom(0x00, 0x7f, 0x80, 0xff)) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("insert" as const),
      at: fc.nat(),
      bytes: fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        // A varint of 10 or 11 bytes, the largest lengths and ids.
        fc.constantFrom(
          Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
          Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
          Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
          Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x10]),
        ),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }) },
);

/** `bytes` with `edits` applied (positions taken modulo the length at each step). */
export function apply(bytes: Uint8Array, edits: readonly Edit[]): Uint8Array {
  let out = Uint8Array.from(bytes);
  for (const e of edits) {
    const at = e.at % (out.byteLength + 1);
    switch (e.op) {
      case "set":
        if (out.byteLength > 0) out[e.at % out.byteLength] = e.value;
        break;
      case "delete":
        out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + e.count)]);
        break;
      case "insert":
        out = Uint8Array.from([...out.subarray(0, at), ...e.bytes, ...out.subarray(at)]);
        break;
      case "truncate":
        out = out.slice(0, at);
    }
  }
  return out;
}

/** `valid`, damaged by one edit, sometimes up to four. */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, edits).map(([bytes, list]) => apply(bytes, list));
}

/** One edit, sometimes up to four: damage for {@link apply}. */
export const edits: fc.Arbitrary<Edit[]> = fc.oneof(
  { weight: 3, arbitrary: fc.array(edit, { minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.array(edit, { minLength: 2, maxLength: 4 }) },
);

/** What a peer may send in place of `valid`: it intact, damaged, or arbitrary bytes. */
export function hostile(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof({ weight: 2, arbitrary: valid }, { weight: 4, arbitrary: mutated(valid) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) });
}

/** True when `error` is an @ipc ProtocolError (what a decoder may throw on bad bytes). */
export function isProtocolError(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === "IPC_ERR_PROTOCOL";
}

/** Runs `decode`; returns its result, or undefined after a ProtocolError; anything else thrown fails the test. */
export function decodeOrProtocolError<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (isProtocolError(error)) return undefined;
    throw new Error(`the decoder threw something other than a ProtocolError: ${String(error)}`, { cause: error });
  }
}
