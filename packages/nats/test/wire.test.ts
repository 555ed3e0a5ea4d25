import { headers, type Msg, type MsgHdrs } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { tokenAfter } from "../src/rpc/raw-msg.js";
import { readRequestHead, readRequestHeadBytes } from "../src/rpc/wire.js";

/** The header block NATS puts on the wire for `h` (what a server receives). */
const blockOf = (h: MsgHdrs): Uint8Array => (h as MsgHdrs & { encode(): Uint8Array }).encode();
const raw = (text: string): Uint8Array => new TextEncoder().encode(text);

function withHeaders(entries: readonly (readonly [string, string])[]): MsgHdrs {
  const h = headers();
  for (const [name, value] of entries) h.set(name, value);
  return h;
}

describe("a request's headers read in place (docs/wire.md §9.3)", () => {
  it.each([
    ["a timeout", [["Ipc-Timeout", "10000"]]],
    ["a window", [["Ipc-Window", "262144"]]],
    [
      "both",
      [
        ["Ipc-Timeout", "7"],
        ["Ipc-Window", "65536"],
      ],
    ],
    [
      "names in other cases",
      [
        ["ipc-timeout", "250"],
        ["IPC-WINDOW", "9"],
      ],
    ],
  ] as const)("%s: the same head as the general read", (_name, entries) => {
    const h = withHeaders(entries);
    const fast = readRequestHeadBytes(blockOf(h));
    expect(fast).toBeDefined();
    expect(fast).toEqual(readRequestHead(h));
  });

  it("a header block without header lines is no timeout and no window", () => {
    expect(readRequestHeadBytes(raw("NATS/1.0\r\n\r\n"))).toEqual({ timeoutMs: 0, window: 0, metadata: undefined, metadataTooLarge: false });
  });

  it("spaces around a value are skipped, as NATS trims them", () => {
    expect(readRequestHeadBytes(raw("NATS/1.0\r\nIpc-Timeout:  42 \r\n\r\n"))?.timeoutMs).toBe(42);
  });

  it.each([
    ["metadata beside the timeout", "NATS/1.0\r\nIpc-Timeout: 5\r\nTenant: a\r\n\r\n"],
    ["a status line", "NATS/1.0 503\r\n\r\n"],
    ["a value that is not a number", "NATS/1.0\r\nIpc-Timeout: soon\r\n\r\n"],
    ["an empty value", "NATS/1.0\r\nIpc-Timeout:\r\n\r\n"],
    ["a number too long for a double", "NATS/1.0\r\nIpc-Timeout: 1234567890123456\r\n\r\n"],
    ["a name that only looks alike", "NATS/1.0\r\nIpc_Timeout: 5\r\n\r\n"],
    ["no end of the block", "NATS/1.0\r\nIpc-Timeout: 5\r\n"],
    ["bytes after the end", "NATS/1.0\r\nIpc-Timeout: 5\r\n\r\nX"],
    ["not a NATS header block", "HTTP/1.1\r\n\r\n"],
  ])("%s: left to the general read (undefined)", (_name, text) => {
    expect(readRequestHeadBytes(raw(text))).toBeUndefined();
  });

  it("metadata is read by the general path as before", () => {
    const h = withHeaders([
      ["Ipc-Timeout", "5"],
      ["Tenant", "a"],
    ]);
    expect(readRequestHeadBytes(blockOf(h))).toBeUndefined();
    expect(readRequestHead(h)).toMatchObject({ timeoutMs: 5, metadata: { Tenant: "a" } });
  });
});

describe("a call's token from its reply subject (docs/wire.md §9.1)", () => {
  const inbox = "_INBOX.abc";
  // Messages of another shape than the official client's (no bytes kept): read from `subject`.
  const msg = (subject: string): Msg => ({ subject }) as unknown as Msg;
  const bytesMsg = (subject: string): Msg => ({ _msg: { subject: raw(subject) }, subject: "unused" }) as unknown as Msg;

  it.each([
    ["from the subject string", msg],
    ["from the subject's bytes", bytesMsg],
  ])("%s", (_how, make) => {
    expect(tokenAfter(make(`${inbox}.7`), inbox.length)).toBe(7);
    expect(tokenAfter(make(`${inbox}.123456789012345`), inbox.length)).toBe(123456789012345);
    expect(tokenAfter(make(`${inbox}.x7`), inbox.length)).toBe(-1);
    expect(tokenAfter(make(`${inbox}.`), inbox.length)).toBe(-1);
    expect(tokenAfter(make(`${inbox}.1234567890123456`), inbox.length)).toBe(-1);
    expect(tokenAfter(make(`${inbox}x7`), inbox.length)).toBe(-1);
  });
});
