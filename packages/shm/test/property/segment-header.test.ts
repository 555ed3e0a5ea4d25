/**
 * Properties of the segment header reader (docs/wire.md §5.1): the first 64 bytes of any segment, which
 * whoever can open the segment can write. A header written by writeHeader reads back; any 64 bytes are either
 * not a header (undefined) or one whose kind is known and whose data size is a safe integer, never a throw.
 * Seed and runs: see @ipc/testing/property.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HEADER_SIZE, SegmentKind, readHeader, writeHeader } from "../../src/header.js";
import { params } from "@ipc/testing/property";

const KINDS = Object.values(SegmentKind) as number[];

/** 64 bytes: a valid header with some bytes overwritten, or arbitrary bytes. */
const headerBytes = fc.oneof(
  fc
    .tuple(fc.constantFrom(...KINDS), fc.nat({ max: 2 ** 40 }), fc.array(fc.tuple(fc.nat({ max: HEADER_SIZE - 1 }), fc.nat({ max: 255 })), { maxLength: 3 }))
    .map(([kind, size, edits]) => {
      const buffer = new ArrayBuffer(HEADER_SIZE);
      writeHeader(buffer, kind as 0, size);
      const bytes = new Uint8Array(buffer);
      for (const [at, value] of edits) bytes[at] = value;
      return bytes;
    }),
  fc.uint8Array({ minLength: HEADER_SIZE, maxLength: HEADER_SIZE }),
);

describe("segment header properties", () => {
  it("a written header reads back", () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), fc.maxSafeNat(), (kind, size) => {
        const buffer = new ArrayBuffer(HEADER_SIZE);
        writeHeader(buffer, kind as 0, size);
        expect(readHeader(new Uint8Array(buffer))).toMatchObject({ version: 1, kind, creatorPid: process.pid, dataSize: size });
      }),
      params(200),
    );
  });

  it("any 64 bytes are no header or one of a known kind with a safe data size", () => {
    fc.assert(
      fc.property(headerBytes, (bytes) => {
        const header = readHeader(bytes);
        if (header === undefined) return;
        expect(KINDS).toContain(header.kind);
        expect(Number.isSafeInteger(header.dataSize) && header.dataSize >= 0).toBe(true);
      }),
      params(500),
    );
  });
});
