/**
 * Publishing a call's messages without the official client's per-message string work: `nc.publish()`
 * checks the subject with a regular expression, builds the protocol line (`HPUB <subject> <reply> <hlen>
 * <len>\r\n`, docs/wire.md §9.4's messages) as a string and encodes it into a fresh buffer each time. Here
 * the line is written as ASCII into a shared slab, the `HPUB <subject> ` part of a method's subject is
 * encoded once, and the result goes to the connection's outbound buffer through the protocol handler's
 * `sendCommand()` — the call `nc.publish()` ends with, so the bytes on the wire and their batching into
 * socket writes are the same. It uses the protocol handler of @nats-io/nats-core 3.4.0 (this package pins
 * that version); when the connection does not look like one, is closed or draining, or the message is not
 * the plain case (non-ASCII or blank in a subject, over `max_payload`), {@link fastPublish} returns false
 * and the caller publishes the ordinary way, which also raises the official client's errors.
 */
import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";

/** The parts of `ProtocolHandler` used here. */
interface Protocol {
  sendCommand(cmd: Uint8Array, ...payloads: Uint8Array[]): void;
  outBytes: number;
  outMsgs: number;
  noMorePublishing: boolean;
  info?: { readonly max_payload?: number; readonly headers?: boolean } | undefined;
}

/** Headers that can give their encoded bytes (`MsgHdrsImpl`; the shared request headers of wire.ts). */
interface EncodableHeaders {
  encode(): Uint8Array;
}

const SLAB_SIZE = 64 * 1024;
/** The longest protocol line written here; a longer one (long subjects) goes the ordinary way. */
const MAX_LINE = 1024;
const CRLF = new Uint8Array([0x0d, 0x0a]);
const SPACE = 0x20;

/**
 * Protocol lines are cut from a slab that is never written twice: a line may sit in the outbound buffer
 * (or in a socket write) until after the next publish, so a full slab is left to the garbage collector.
 */
let slab = new Uint8Array(SLAB_SIZE);
let used = 0;

const protocols = new WeakMap<NatsConnection, Protocol | null>();
/** `HPUB <subject> ` and `PUB <subject> ` of the subjects published to repeatedly (method subjects), by subject. */
const withHeaderVerbs = new Map<string, Uint8Array>();
const plainVerbs = new Map<string, Uint8Array>();
const MAX_VERBS = 1024;

function protocolOf(nc: NatsConnection): Protocol | null {
  let protocol = protocols.get(nc);
  if (protocol === undefined) {
    const candidate = (nc as unknown as { protocol?: Partial<Protocol> }).protocol;
    protocol =
      candidate !== undefined && typeof candidate.sendCommand === "function" && typeof candidate.outBytes === "number" && typeof candidate.outMsgs === "number"
        ? (candidate as Protocol)
        : null;
    protocols.set(nc, protocol);
  }
  return protocol;
}

/** Writes `text` as ASCII at `at`; -1 if a character is not a visible ASCII one (the ordinary path decides then). */
function writeToken(into: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= SPACE || c > 0x7e) return -1;
    into[at++] = c;
  }
  return at;
}

function writeNumber(into: Uint8Array, at: number, n: number): number {
  if (n < 10) {
    into[at] = 0x30 + n;
    return at + 1;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let end = at + digits;
  for (let x = n; end > at; x = Math.floor(x / 10)) into[--end] = 0x30 + (x % 10);
  return at + digits;
}

/** `HPUB <subject> ` (or `PUB …`), encoded once per repeated subject; undefined if the subject is not plain. */
function verbOf(subject: string, withHeaders: boolean, repeated: boolean): Uint8Array | undefined {
  const verbs = withHeaders ? withHeaderVerbs : plainVerbs;
  if (repeated) {
    const known = verbs.get(subject);
    if (known !== undefined) return known;
  }
  const verb = new Uint8Array((withHeaders ? 5 : 4) + subject.length + 1);
  let at = writeToken(verb, 0, withHeaders ? "HPUB" : "PUB");
  verb[at++] = SPACE;
  at = writeToken(verb, at, subject);
  if (at < 0) return undefined;
  verb[at] = SPACE;
  if (repeated) {
    if (verbs.size >= MAX_VERBS) verbs.clear();
    verbs.set(subject, verb);
  }
  return verb;
}

/**
 * Publishes as `nc.publish(subject, data, { reply, headers })` would, or returns false without sending
 * anything when this message or connection needs the ordinary path. `repeated`: the subject is published
 * to again and again (a method's subject), so its encoding is kept.
 */
export function fastPublish(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  reply: string | undefined,
  headers: MsgHdrs | undefined,
  repeated: boolean,
): boolean {
  const protocol = protocolOf(nc);
  if (protocol === null || protocol.noMorePublishing || nc.isClosed()) return false;
  const info = protocol.info;
  const maxPayload = info?.max_payload;
  if (maxPayload === undefined) return false;
  let head: Uint8Array | undefined;
  if (headers !== undefined) {
    if (info!.headers !== true || typeof (headers as unknown as Partial<EncodableHeaders>).encode !== "function") return false;
    head = (headers as unknown as EncodableHeaders).encode();
  }
  const hlen = head === undefined ? 0 : head.length;
  const len = data.length + hlen;
  if (len > maxPayload) return false;
  const verb = verbOf(subject, head !== undefined, repeated);
  if (verb === undefined) return false;
  const room = verb.length + (reply === undefined ? 0 : reply.length + 1) + 2 * 21 + 2;
  if (room > MAX_LINE) return false;
  if (used + room > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    used = 0;
  }
  const start = used;
  slab.set(verb, start);
  let at = start + verb.length;
  if (reply !== undefined && reply !== "") {
    at = writeToken(slab, at, reply);
    if (at < 0) return false;
    slab[at++] = SPACE;
  }
  if (head !== undefined) {
    at = writeNumber(slab, at, hlen);
    slab[at++] = SPACE;
  }
  at = writeNumber(slab, at, len);
  slab[at++] = 0x0d;
  slab[at++] = 0x0a;
  used = at;
  protocol.outBytes += len;
  protocol.outMsgs++;
  const line = slab.subarray(start, at);
  if (head === undefined) protocol.sendCommand(line, data, CRLF);
  else protocol.sendCommand(line, head, data, CRLF);
  return true;
}
