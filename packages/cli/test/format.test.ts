import { describe, expect, it } from "vitest";
import { printer, timestamp } from "../src/format.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("--print utf8", () => {
  it("escapes control characters: a message stays on one line and cannot drive the terminal", () => {
    const line = printer("utf8")(bytes("a\nb\r\tc\x1b[31mred\x00\x7f\u0085"));
    expect(line).toBe("a\\nb\\r\\tc\\x1b[31mred\\x00\\x7f\\x85");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test checks no control character is left.
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it("keeps printable text, accents and emoji as they are", () => {
    expect(printer("utf8")(bytes("héllo wörld 👋 \\n"))).toBe("héllo wörld 👋 \\n");
  });

  it("shows bytes that are not UTF-8 in hex", () => {
    expect(printer("utf8")(new Uint8Array([0x78, 0x00, 0xff]))).toBe("not UTF-8: 78 00 ff");
  });
});

describe("timestamp()", () => {
  it("takes milliseconds and microseconds from the same instant", () => {
    const ms = new Date(2026, 10, 27, 14, 5, 9, 123).getTime() + 0.4567;
    expect(timestamp(ms)).toBe("14:05:09.123456");
  });

  it("orders instants a microsecond apart across a millisecond boundary", () => {
    const base = new Date(2026, 10, 27, 14, 5, 9, 123).getTime();
    expect([timestamp(base + 0.9995), timestamp(base + 1.0005)]).toEqual(["14:05:09.123999", "14:05:09.124000"]);
  });
});
