/**
 * The header at the start of every segment this toolkit creates (docs/wire.md, "Shared memory"): 64
 * little-endian bytes, so other processes — and other languages — can tell what a segment is, who made it
 * and when. The data starts right after it, at byte 64 (cache-line aligned).
 */

/** Bytes of the header; the data region starts here. */
export const HEADER_SIZE = 64;
/** "IPC-SHM" and a NUL. */
const MAGIC = [0x49, 0x50, 0x43, 0x2d, 0x53, 0x48, 0x4d, 0x00];
export const HEADER_VERSION = 1;

/** What a segment holds, as recorded in its header. */
export const SegmentKind = {
  /** Bytes for the application (SharedMemory.create). */
  Raw: 0,
  /** A message ring (MessageRing.create). */
  Ring: 1,
  /** The two rings of one shm-transport connection. */
  Channel: 2,
} as const;

/** One of {@link SegmentKind}. */
export type SegmentKindCode = (typeof SegmentKind)[keyof typeof SegmentKind];

/** What the header says. */
export interface SegmentHeader {
  readonly version: number;
  readonly kind: SegmentKindCode;
  /** The pid of the process that created the segment. */
  readonly creatorPid: number;
  /** When it was created, in ms since the epoch. */
  readonly createdAt: number;
  /** Bytes of data after the header. */
  readonly dataSize: number;
}

export function writeHeader(buffer: ArrayBuffer, kind: SegmentKindCode, dataSize: number): void {
  const view = new DataView(buffer, 0, HEADER_SIZE);
  for (const [i, byte] of MAGIC.entries()) view.setUint8(i, byte);
  view.setUint32(8, HEADER_VERSION, true);
  view.setUint32(12, HEADER_SIZE, true);
  view.setUint32(16, kind, true);
  view.setUint32(20, process.pid, true);
  view.setFloat64(24, Date.now(), true);
  view.setBigUint64(32, BigInt(dataSize), true);
}

const KINDS: ReadonlySet<number> = new Set(Object.values(SegmentKind));

/**
 * The header of `bytes` (at least 64 of them), or undefined if it is not one of ours. Anyone who can open
 * the segment can write it, so every field is checked before it is believed: the magic and header size, a
 * kind this version knows, a data size that is a safe integer (the caller checks it against the mapping).
 * The version is returned as found: a reader of a layout decides what it accepts (MessageRing.open: 1).
 */
export function readHeader(bytes: Uint8Array): SegmentHeader | undefined {
  if (bytes.byteLength < HEADER_SIZE || !MAGIC.every((byte, i) => bytes[i] === byte)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  if (view.getUint32(12, true) !== HEADER_SIZE) return undefined;
  const kind = view.getUint32(16, true);
  const dataSize = view.getBigUint64(32, true);
  if (!KINDS.has(kind) || dataSize > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return {
    version: view.getUint32(8, true),
    kind: kind as SegmentKindCode,
    creatorPid: view.getUint32(20, true),
    createdAt: view.getFloat64(24, true),
    dataSize: Number(dataSize),
  };
}
