import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatAddress, parseAddress, parseAddressOf, type Address } from "../src/index.js";

describe("parseAddress", () => {
  it.each<[string, Address]>([
    ["unix:///run/app.sock", { scheme: "unix", path: "/run/app.sock" }],
    ["unix:/run/app.sock", { scheme: "unix", path: "/run/app.sock" }],
    ["unix:relative/app.sock", { scheme: "unix", path: "relative/app.sock" }],
    ["unix:///tmp/my%20dir/a.sock", { scheme: "unix", path: "/tmp/my dir/a.sock" }],
    ["unix-abstract:my-app", { scheme: "unix-abstract", name: "my-app" }],
    ["tcp://127.0.0.1:7000", { scheme: "tcp", host: "127.0.0.1", port: 7000 }],
    ["tcp://localhost:0", { scheme: "tcp", host: "localhost", port: 0 }],
    ["tcp://[::1]:65535", { scheme: "tcp", host: "::1", port: 65535 }],
    ["tcp://[fe80::1%25eth0]:80", { scheme: "tcp", host: "fe80::1%25eth0", port: 80 }],
    ["shm://orders.v1_ring-2", { scheme: "shm", name: "orders.v1_ring-2" }],
    ["fifo:///run/app/fifo", { scheme: "fifo", path: "/run/app/fifo" }],
    ["pipe:", { scheme: "pipe", command: undefined, args: [] }],
    ["pipe:/usr/bin/python3?arg=worker.py&arg=--fast", { scheme: "pipe", command: "/usr/bin/python3", args: ["worker.py", "--fast"] }],
    ["memory://test", { scheme: "memory", name: "test" }],
  ])("parses %s", (url, expected) => {
    expect(parseAddress(url)).toEqual(expected);
  });

  it.each([
    ["foo://x", /unknown scheme 'foo:'.*known: unix:, unix-abstract:, tcp:, shm:, fifo:, pipe:, memory:/],
    ["/run/app.sock", /no scheme/],
    [`unix:///${"a".repeat(107)}`, /108 bytes, over the Linux limit of 107/],
    ["unix://run/app.sock", /absolute path after '\/\/'/],
    ["unix://", /expected an absolute path|empty/],
    ["unix:///a?b", /cannot contain '\?' or '#'/],
    ["tcp://127.0.0.1", /missing ':port'/],
    ["tcp://127.0.0.1:70000", /port 70000 is over 65535/],
    ["tcp://127.0.0.1:http", /'http' is not a port number/],
    ["tcp://:80", /host is empty/],
    ["tcp://::1:80", /IPv6 host must be in brackets/],
    ["tcp://[::1]80", /expected ':port' after the IPv6 host/],
    ["tcp:127.0.0.1:80", /expected 'tcp:\/\/host:port'/],
    ["shm://a/b", /only letters, digits/],
    [`shm://${"x".repeat(256)}`, /256 bytes, over the limit of 255/],
    ["shm://", /name is empty/],
    ["pipe:cat?argh=1", /unknown parameter 'argh'/],
    ["unix:///bad%zz", /bad percent-encoding/],
  ])("rejects %s with a clear InvalidAddressError", (url, message) => {
    expect(() => parseAddress(url)).toThrow(message);
    try {
      parseAddress(url);
    } catch (error) {
      expect((error as { code: string }).code).toBe("IPC_ERR_INVALID_ADDRESS");
      expect((error as Error).message).toContain(url.slice(0, 20));
    }
  });

  it("accepts a unix path of exactly 107 bytes", () => {
    const path = `/${"a".repeat(106)}`;
    expect(parseAddress(`unix://${path}`)).toEqual({ scheme: "unix", path });
  });

  it("counts bytes, not characters, against the socket path limit", () => {
    expect(() => parseAddress(`unix:///${"é".repeat(54)}`)).toThrow(/109 bytes/);
  });

  it("parseAddressOf checks the scheme", () => {
    expect(parseAddressOf("memory://x", "memory").name).toBe("x");
    expect(() => parseAddressOf("memory://x", "unix")).toThrow(/takes 'unix:' addresses/);
  });

  it("rejects a non-string", () => {
    expect(() => parseAddress(42 as unknown as string)).toThrow(/must be a URL string/);
  });
});

describe("formatAddress", () => {
  it("round-trips every form through parseAddress", () => {
    const path = fc
      .string({ minLength: 1, maxLength: 40 })
      .filter((s) => !s.includes("\0"))
      .map((s) => `/${s}`);
    const address: fc.Arbitrary<Address> = fc.oneof(
      path.map((p) => ({ scheme: "unix" as const, path: p })),
      path.map((p) => ({ scheme: "fifo" as const, path: p })),
      fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/).map((name) => ({ scheme: "shm" as const, name })),
      fc.stringMatching(/^[^/\0]{1,40}$/).map((name) => ({ scheme: "memory" as const, name })),
      fc.stringMatching(/^[^\0]{1,40}$/).map((name) => ({ scheme: "unix-abstract" as const, name })),
      fc.record({
        scheme: fc.constant("tcp" as const),
        host: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant("localhost")),
        port: fc.integer({ min: 0, max: 65535 }),
      }),
      fc.record({
        scheme: fc.constant("pipe" as const),
        command: fc.stringMatching(/^\/[a-z/]{1,20}$/),
        args: fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
      }),
    );
    fc.assert(
      fc.property(address, (a) => {
        expect(parseAddress(formatAddress(a))).toEqual(a);
      }),
    );
  });

  it("writes the canonical forms", () => {
    expect(formatAddress({ scheme: "unix", path: "/run/a b.sock" })).toBe("unix:///run/a%20b.sock");
    expect(formatAddress({ scheme: "tcp", host: "::1", port: 80 })).toBe("tcp://[::1]:80");
    expect(formatAddress({ scheme: "pipe", command: undefined, args: [] })).toBe("pipe:");
  });
});
