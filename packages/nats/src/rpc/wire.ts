/**
 * The subjects and headers of an @ipc/rpc call over NATS (docs/wire.md §9.2–9.4): plain NATS messages
 * whose payloads are the service's own protobuf messages and whose control travels in `Ipc-*` headers,
 * so that any NATS client with protobuf can take either side.
 */
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { InvalidArgumentError } from "../deps.js";
import { RPC_STATUS_CODES, RpcError, statusName, type RpcErrorStatus } from "@ipc/rpc";
import { MAX_METADATA_BYTES, MAX_METADATA_ENTRIES } from "@ipc/rpc/carrier";

/** The default first tokens of every RPC subject. */
export const DEFAULT_RPC_PREFIX = "ipc.rpc";

/** Header names (docs/wire.md §9.3); receivers match them case-insensitively. */
export const H_TIMEOUT = "Ipc-Timeout";
export const H_WINDOW = "Ipc-Window";
export const H_STATUS = "Ipc-Status";
export const H_MESSAGE = "Ipc-Message";
export const H_DETAILS = "Ipc-Details";
export const H_CALL = "Ipc-Call";
export const H_END = "Ipc-End";
export const H_CANCEL = "Ipc-Cancel";
export const H_REPLY = "Ipc-Reply";

/** Lower-case header names, as receivers compare them. */
export const enum Lower {
  Timeout = "ipc-timeout",
  Window = "ipc-window",
  Status = "ipc-status",
  Message = "ipc-message",
  Details = "ipc-details",
  Call = "ipc-call",
  End = "ipc-end",
  Cancel = "ipc-cancel",
  Reply = "ipc-reply",
}

/** The longest status message sent in `Ipc-Message`, in characters (it rides in a header). */
const MAX_STATUS_MESSAGE = 1024;

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Checks a subject prefix: dot-separated tokens without wildcards. */
export function checkPrefix(prefix: string, name = "prefix"): string {
  if (typeof prefix !== "string" || prefix.length === 0 || !prefix.split(".").every((t) => TOKEN.test(t))) {
    throw new InvalidArgumentError(`${name} must be dot-separated tokens of letters, digits, '_' and '-', got ${String(prefix)}`);
  }
  return prefix;
}

/** `ipc.rpc.calc.Calculator`: the subject every method subject of a service starts with. */
export function serviceSubject(prefix: string, service: string): string {
  return `${prefix}.${service}`;
}

/** `ipc.rpc.calc.Calculator.Add`: where calls of a method are sent. */
export function methodSubject(prefix: string, service: string, method: string): string {
  return `${prefix}.${service}.${method}`;
}

/** `ipc.rpc.$cancel.calc.Calculator`: where a client cancels a call whose server it does not know yet. */
export function cancelSubject(prefix: string, service: string): string {
  return `${prefix}.$cancel.${service}`;
}

/** The header value of a non-negative integer, or undefined when absent or malformed. */
export function parseCount(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

/** True for header names that carry no metadata: the protocol's own and NATS's. */
export function isReservedHeader(lowerName: string): boolean {
  return lowerName.startsWith("ipc-") || lowerName.startsWith("nats-");
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The headers of a request: its timeout, initial window and metadata. Throws an `RpcError` with
 * `INVALID_ARGUMENT` for metadata NATS cannot carry as headers, `RESOURCE_EXHAUSTED` over the limits of
 * docs/wire.md §7.2.
 */
export function requestHeaders(timeoutMs: number, window: number, metadata: Readonly<Record<string, string>> | undefined): MsgHdrs | undefined {
  if (metadata === undefined && timeoutMs < SHARED_MAX_TIMEOUT && window < SHARED_MAX_WINDOW) {
    return timeoutMs > 0 || window > 0 ? sharedRequestHeaders(timeoutMs, window) : undefined;
  }
  let headers: MsgHdrs | undefined;
  if (timeoutMs > 0) (headers ??= natsHeaders()).set(H_TIMEOUT, String(timeoutMs));
  if (window > 0) (headers ??= natsHeaders()).set(H_WINDOW, String(window));
  if (metadata === undefined) return headers;
  if (typeof metadata !== "object" || metadata === null) {
    throw new RpcError("INVALID_ARGUMENT", "metadata must be an object of strings");
  }
  let entries = 0;
  let bytes = 0;
  for (const name in metadata) {
    const value = metadata[name];
    if (typeof value !== "string") {
      throw new RpcError("INVALID_ARGUMENT", `metadata '${name}' must be a string, got ${typeof value}`);
    }
    if (!HEADER_NAME.test(name) || isReservedHeader(name.toLowerCase())) {
      throw new RpcError(
        "INVALID_ARGUMENT",
        `metadata name '${name}' cannot travel as a NATS header: use letters, digits and -_.!#$%&'*+^\`|~, ` +
          `not starting with Ipc- or Nats- (docs/wire.md §9.3)`,
      );
    }
    if (/[\r\n]/.test(value) || value !== value.trim()) {
      throw new RpcError("INVALID_ARGUMENT", `metadata '${name}': a NATS header value cannot hold CR or LF, nor start or end with whitespace`);
    }
    entries++;
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
    (headers ??= natsHeaders()).set(name, value);
  }
  if (entries > MAX_METADATA_ENTRIES || bytes > MAX_METADATA_BYTES) {
    throw new RpcError(
      "RESOURCE_EXHAUSTED",
      `the metadata (${entries} entries, ${bytes} bytes) is over the limits of ${MAX_METADATA_ENTRIES} entries and ${MAX_METADATA_BYTES} bytes`,
    );
  }
  return headers;
}

/** The most headers {@link sharedRequestHeaders} keeps; past it, it starts again from none. */
const SHARED_HEADERS_KEPT = 256;
/** Shared headers are keyed by `timeoutMs * SHARED_MAX_WINDOW + window`, below 2^53. */
const SHARED_MAX_TIMEOUT = 2 ** 20;
const SHARED_MAX_WINDOW = 2 ** 32;
const sharedHeaders = new Map<number, MsgHdrs>();

/**
 * The headers of a request without metadata, shared by every request with the same timeout and window
 * and encoded once: calls with the same timeout in flight together mostly have the same number of ms left.
 * They must never be changed (`set`, `append`, `delete`).
 */
function sharedRequestHeaders(timeoutMs: number, window: number): MsgHdrs {
  const key = timeoutMs * SHARED_MAX_WINDOW + window;
  let headers = sharedHeaders.get(key);
  if (headers === undefined) {
    // `encode()` is what NATS's publish() calls on the headers (MsgHdrsImpl); MsgHdrs does not declare it.
    const fresh = natsHeaders() as MsgHdrs & { encode(): Uint8Array };
    if (timeoutMs > 0) fresh.set(H_TIMEOUT, String(timeoutMs));
    if (window > 0) fresh.set(H_WINDOW, String(window));
    const bytes = fresh.encode();
    // NATS only reads what `encode()` returns (it queues, then copies it): the same bytes serve every request.
    fresh.encode = () => bytes;
    if (sharedHeaders.size >= SHARED_HEADERS_KEPT) sharedHeaders.clear();
    sharedHeaders.set(key, fresh);
    headers = fresh;
  }
  return headers;
}

/** What a server reads from a request's headers. */
export interface RequestHead {
  timeoutMs: number;
  window: number;
  metadata: Record<string, string> | undefined;
  metadataTooLarge: boolean;
}

/** Reads a request's headers in one pass. */
export function readRequestHead(headers: MsgHdrs | undefined): RequestHead {
  const head: RequestHead = { timeoutMs: 0, window: 0, metadata: undefined, metadataTooLarge: false };
  if (headers === undefined) return head;
  let entries = 0;
  let bytes = 0;
  for (const [name, values] of headers) {
    const lower = name.toLowerCase();
    const value = values[values.length - 1] ?? "";
    if (lower === Lower.Timeout) head.timeoutMs = parseCount(value) ?? 0;
    else if (lower === Lower.Window) head.window = parseCount(value) ?? 0;
    else if (!isReservedHeader(lower)) {
      entries++;
      bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
      (head.metadata ??= Object.create(null) as Record<string, string>)[name] = value;
    }
  }
  if (entries > MAX_METADATA_ENTRIES || bytes > MAX_METADATA_BYTES) {
    head.metadata = undefined;
    head.metadataTooLarge = true;
  }
  return head;
}

const HEADER_LINE = "NATS/1.0\r\n";
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;
const TAB = 0x09;
const ZERO = 0x30;
const NINE = 0x39;
const TIMEOUT_NAME = new TextEncoder().encode(Lower.Timeout);
const WINDOW_NAME = new TextEncoder().encode(Lower.Window);

/**
 * {@link readRequestHead} of a request's raw header block, for the common request whose only headers
 * are `Ipc-Timeout` and `Ipc-Window` with decimal values (docs/wire.md §9.3): read in place, without
 * decoding the block into a `MsgHdrs`. Returns undefined for anything else (metadata, a status line, odd
 * spacing): the caller then reads the headers the general way, which gives the same result.
 */
export function readRequestHeadBytes(block: Uint8Array): RequestHead | undefined {
  const n = block.length;
  if (n < HEADER_LINE.length + 2) return undefined;
  for (let i = 0; i < HEADER_LINE.length; i++) if (block[i] !== HEADER_LINE.charCodeAt(i)) return undefined;
  const head: RequestHead = { timeoutMs: 0, window: 0, metadata: undefined, metadataTooLarge: false };
  let i = HEADER_LINE.length;
  for (;;) {
    if (i + 1 >= n) return undefined;
    if (block[i] === CR && block[i + 1] === LF) return i + 2 === n ? head : undefined;
    let which: 0 | 1;
    if (nameAt(block, i, TIMEOUT_NAME)) which = 0;
    else if (nameAt(block, i, WINDOW_NAME)) which = 1;
    else return undefined;
    i += which === 0 ? TIMEOUT_NAME.length : WINDOW_NAME.length;
    if (block[i] !== COLON) return undefined;
    i++;
    while (block[i] === SPACE || block[i] === TAB) i++;
    let value = 0;
    const start = i;
    while (i < n && block[i]! >= ZERO && block[i]! <= NINE) value = value * 10 + (block[i++]! - ZERO);
    if (i === start || i - start > 15) return undefined;
    while (block[i] === SPACE || block[i] === TAB) i++;
    if (block[i] !== CR || block[i + 1] !== LF) return undefined;
    i += 2;
    if (which === 0) head.timeoutMs = value;
    else head.window = value;
  }
}

/** True when `block` holds `lowerName` at `at`, in any case (header names are ASCII). */
function nameAt(block: Uint8Array, at: number, lowerName: Uint8Array): boolean {
  if (at + lowerName.length > block.length) return false;
  for (let j = 0; j < lowerName.length; j++) {
    const b = block[at + j]!;
    const l = lowerName[j]!;
    // A letter matches in either case (upper case is 0x20 below); anything else exactly.
    if (b !== l && (l < 0x61 || l > 0x7a || b !== l - 0x20)) return false;
  }
  return true;
}

/** The headers of the message that ends a call: `Ipc-Status`, and for a failure its message and details. */
export function statusHeaders(error: RpcError | undefined): MsgHdrs {
  const headers = natsHeaders();
  if (error === undefined) {
    headers.set(H_STATUS, "0");
    return headers;
  }
  headers.set(H_STATUS, String(RPC_STATUS_CODES[error.status]));
  const message = error.message
    .replace(/[\r\n]+/g, " ")
    .trim()
    .slice(0, MAX_STATUS_MESSAGE);
  if (message.length > 0) headers.set(H_MESSAGE, message);
  if (error.details !== undefined && error.details.byteLength > 0) {
    headers.set(H_DETAILS, Buffer.from(error.details.buffer, error.details.byteOffset, error.details.byteLength).toString("base64"));
  }
  return headers;
}

/** What a client reads from a message the server sent to its reply subject. */
export interface ReplyHead {
  /** The status of a message that ends the call, else undefined. */
  status: number | undefined;
  message: string;
  details: Uint8Array | undefined;
  /** The server's subject for this call (`Ipc-Call`), on its first message of a streaming call. */
  call: string | undefined;
  /** Credit granted (`Ipc-Window`), or 0. */
  window: number;
  /** NATS's own status code (503: no responders), or 0. */
  natsCode: number;
}

export function readReplyHead(headers: MsgHdrs | undefined): ReplyHead | undefined {
  if (headers === undefined) return undefined;
  const head: ReplyHead = { status: undefined, message: "", details: undefined, call: undefined, window: 0, natsCode: headers.code };
  for (const [name, values] of headers) {
    const value = values[values.length - 1] ?? "";
    switch (name.toLowerCase()) {
      case Lower.Status:
        head.status = parseCount(value) ?? RPC_STATUS_CODES.UNKNOWN;
        break;
      case Lower.Message:
        head.message = value;
        break;
      case Lower.Details:
        head.details = new Uint8Array(Buffer.from(value, "base64"));
        break;
      case Lower.Call:
        head.call = value;
        break;
      case Lower.Window:
        head.window = parseCount(value) ?? 0;
        break;
      default:
    }
  }
  return head;
}

/** The error a client raises for a failure status the server sent. */
export function statusError(head: ReplyHead, path: string): RpcError {
  const status = statusName(head.status!) as RpcErrorStatus;
  return new RpcError(status, head.message || `${path} failed with ${status}`, { details: head.details });
}

/** A header-only control message: `Ipc-End`, `Ipc-Window` or `Ipc-Cancel`. */
export function controlHeaders(name: string, value: string): MsgHdrs {
  const headers = natsHeaders();
  headers.set(name, value);
  return headers;
}
