/**
 * Reading a NATS message's subject and headers from the bytes the official client received, on the
 * per-call paths of RPC, instead of through `msg.subject` and `msg.headers` (which decode the subject to a
 * string and every header into a `MsgHdrs`). The bytes are the fields of `MsgImpl` in
 * @nats-io/nats-core 3.4.0 (this package pins that version): `_msg.subject`, `_msg.hdr` (the header
 * block's length, or -1) and `_rdata` (headers, then payload). Every reader checks that they are there and
 * falls back to the public getters when they are not, so a message of another shape is still read right.
 */
import type { Msg } from "@nats-io/transport-node";

/** The fields of `MsgImpl` read here. */
interface RawMsg {
  readonly _msg?: { readonly subject?: unknown; readonly hdr?: unknown };
  readonly _rdata?: unknown;
}

/** The subject's bytes, or undefined when the message does not keep them. */
export function subjectBytes(msg: Msg): Uint8Array | undefined {
  const subject = (msg as unknown as RawMsg)._msg?.subject;
  return subject instanceof Uint8Array ? subject : undefined;
}

const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
/** The largest token {@link tokenAfter} reads: 15 digits stay exact in a double. */
const MAX_TOKEN_DIGITS = 15;

/**
 * The decimal token that ends `msg`'s subject right after a prefix of `prefixLength` characters and a dot
 * (`<inbox>.<n>`: docs/wire.md §9.1), or -1 when the last token is not a number of at most 15 digits or
 * does not start there. The subject's prefix itself is not compared: the message came on a subscription to
 * `<inbox>.*`, so NATS already matched it.
 */
export function tokenAfter(msg: Msg, prefixLength: number): number {
  const bytes = subjectBytes(msg);
  if (bytes === undefined) return tokenOfString(msg.subject, prefixLength);
  const digits = bytes.length - prefixLength - 1;
  if (digits < 1 || digits > MAX_TOKEN_DIGITS || bytes[prefixLength] !== DOT) return -1;
  let n = 0;
  for (let i = prefixLength + 1; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < ZERO || b > NINE) return -1;
    n = n * 10 + (b - ZERO);
  }
  return n;
}

function tokenOfString(subject: string, prefixLength: number): number {
  const digits = subject.length - prefixLength - 1;
  if (digits < 1 || digits > MAX_TOKEN_DIGITS || subject.charCodeAt(prefixLength) !== DOT) return -1;
  let n = 0;
  for (let i = prefixLength + 1; i < subject.length; i++) {
    const c = subject.charCodeAt(i);
    if (c < ZERO || c > NINE) return -1;
    n = n * 10 + (c - ZERO);
  }
  return n;
}

/** True when `msg`'s subject is exactly `expected` (ASCII bytes); undefined when the bytes are not kept. */
export function subjectEquals(msg: Msg, expected: Uint8Array): boolean | undefined {
  const bytes = subjectBytes(msg);
  if (bytes === undefined) return undefined;
  if (bytes.length !== expected.length) return false;
  // From the end: subjects of one service differ in their last token.
  for (let i = bytes.length - 1; i >= 0; i--) if (bytes[i] !== expected[i]) return false;
  return true;
}

/**
 * The header block's bytes (`NATS/1.0…\r\n\r\n`); `null` when the message has no headers; undefined when
 * the message does not keep its bytes (read `msg.headers` then).
 */
export function headerBytes(msg: Msg): Uint8Array | null | undefined {
  const raw = msg as unknown as RawMsg;
  const hdr = raw._msg?.hdr;
  const data = raw._rdata;
  if (typeof hdr !== "number" || !(data instanceof Uint8Array)) return undefined;
  if (hdr < 0) return null;
  if (hdr > data.length) return undefined;
  return data.subarray(0, hdr);
}
