import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { listen, rpc } from "../src/index.js";
import { ipc, start, stopAll, tempDir, until } from "./fixtures/cli.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  stopAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function temp(): string {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  return dir;
}

describe("ipc serve + ipc send", () => {
  it("a message sent is printed by serve and echoed back to send", async () => {
    const url = `unix://${join(temp(), "s.sock")}`;
    const server = await start(["serve", url, "--echo"], /^listening on /);
    const sent = await ipc(["send", url, "hello there", "--replies", "1"]);
    expect(sent).toMatchObject({ code: 0, stdout: "hello there\n" });
    expect(await until(server.stdout, (t) => t.includes("hello"))).toMatch(/^#1 11 B: hello there$/m);
  });

  it("sends a file (@file) and stdin lines (- --lines), printed as hex", async () => {
    const dir = temp();
    const url = `unix://${join(dir, "s.sock")}`;
    const server = await start(["serve", url, "--print", "hex"], /^listening on /);
    writeFileSync(join(dir, "m.bin"), Buffer.from([0, 1, 255]));
    expect((await ipc(["send", url, `@${join(dir, "m.bin")}`])).code).toBe(0);
    expect((await ipc(["send", url, "-", "--lines"], { input: "ab\ncd\n" })).code).toBe(0);
    const out = await until(server.stdout, (t) => t.includes("63 64"));
    expect(out).toContain("3 B: 00 01 ff");
    expect(out).toMatch(/2 B: 61 62\n#\d 2 B: 63 64/);
  });

  it("a proto printer decodes messages with a .proto type", async () => {
    const dir = temp();
    const proto = join(dir, "p.proto");
    writeFileSync(proto, 'syntax = "proto3"; package t; message Point { int32 x = 1; string label = 2; }');
    const url = `unix://${join(dir, "s.sock")}`;
    const server = await start(["serve", url, "--print", `proto:${proto}:t.Point`], /^listening on /);
    const Point = rpc.protobuf.loadSync(proto).lookupType("t.Point");
    writeFileSync(join(dir, "point.bin"), Point.encode(Point.fromObject({ x: 7, label: "seven" })).finish());
    expect((await ipc(["send", url, `@${join(dir, "point.bin")}`])).code).toBe(0);
    expect(await until(server.stdout, (t) => t.includes("Point"))).toContain(`Point {"x":7,"label":"seven"}`);
  });
});

describe("ipc call", () => {
  it("calls an @ipc/rpc server's method with JSON and prints the JSON response", async () => {
    const dir = temp();
    const proto = join(dir, "calc.proto");
    writeFileSync(
      proto,
      'syntax = "proto3"; package calc; message AddRequest { int32 a = 1; int32 b = 2; } message Result { int64 value = 1; }\n' +
        "service Calculator { rpc Add (AddRequest) returns (Result); }",
    );
    const listener = await listen(`unix://${join(dir, "calc.sock")}`);
    cleanups.push(() => listener.close());
    const service = rpc.loadService(proto, "calc.Calculator");
    const server = rpc.serve(listener, service, { add: ({ a, b }: { a: number; b: number }) => ({ value: a + b }) } as never);
    cleanups.push(() => server.close());
    const result = await ipc(["call", listener.address, "calc.Calculator/Add", "--proto", proto, "--data", '{"a":19,"b":23}']);
    expect(result).toMatchObject({ code: 0, stdout: '{"value":"42"}\n' });

    const malformed = await ipc(["call", listener.address, "calc.Calculator/Add", "--proto", proto, "--data", "{a:1"]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/^ipc call: --data is not valid JSON: .+\n$/);

    const unknown = await ipc(["call", listener.address, "calc.Calculator/Divide", "--proto", proto]);
    expect(unknown.stderr).toBe("ipc call: calc.Calculator has no method Divide (it has: Add)\n");
  });
});

describe("ipc trace", () => {
  it("forwards a live exchange both ways and logs each frame with its direction and size", async () => {
    const dir = temp();
    const upstream = `unix://${join(dir, "up.sock")}`;
    const front = `unix://${join(dir, "front.sock")}`;
    await start(["serve", upstream, "--echo"], /^listening on /);
    const tracer = await start(["trace", front, upstream, "--print", "utf8"], /^tracing /);
    const sent = await ipc(["send", front, "ping through", "--replies", "1"]);
    expect(sent).toMatchObject({ code: 0, stdout: "ping through\n" });
    const log = await until(tracer.stdout, (t) => t.includes("←"));
    expect(log).toMatch(/^\d\d:\d\d:\d\d\.\d{6} #1 → 12 B {2}ping through$/m);
    expect(log).toMatch(/^\d\d:\d\d:\d\d\.\d{6} #1 ← 12 B {2}ping through$/m);
  });
});

describe("ipc bench", () => {
  it("with a tiny duration writes JSON, Markdown and an SVG chart, and prints a table", async () => {
    const out = temp();
    const result = await ipc(["bench", "--transports", "unix,memory", "--sizes", "64", "--rounds", "1", "--duration", "20", "--out", out], { timeout: 120_000 });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Messages of 64 B/);
    expect(result.stdout).toMatch(/raw node:net, Unix socket \(baseline\)/);
    expect(result.stderr).toMatch(/^\[1\/\d+\] round 1\/1: /m); // plain progress lines when stderr is not a TTY
    const json = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as { tool: string; cases: { subject: string; rounds: unknown[] }[] };
    expect(json.tool).toBe("ipc bench");
    expect(json.cases.map((c) => c.subject)).toEqual(expect.arrayContaining(["unix", "raw-unix", "memory"]));
    expect(json.cases.every((c) => c.rounds.length === 1)).toBe(true);
    const svg = readFileSync(join(out, "latest.svg"), "utf8");
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).not.toMatch(/<script|href=/);
    expect(svg.match(/<rect /g)!.length).toBeGreaterThan(4);
    expect(readFileSync(join(out, "latest.md"), "utf8")).toMatch(/^# ipc bench/);
  });
});

describe("bad input: one line on stderr, a non-zero exit, no stack trace", () => {
  const cases: [string, string[], RegExp][] = [
    ["unknown scheme", ["send", "carrier-pigeon://x", "hi"], /^ipc send: invalid address 'carrier-pigeon:\/\/x': unknown scheme/],
    ["unreachable endpoint", ["send", "unix:///tmp/ipc-kit-test-nothing-here.sock", "hi"], /^ipc send: connect to .*nothing is listening/],
    ["missing file", ["send", "unix:///tmp/x.sock", "@/nonexistent/file"], /^ipc send: cannot read \/nonexistent\/file: ENOENT/],
    ["bad --print", ["serve", "memory://x", "--print", "base64"], /^ipc serve: --print base64: how to show messages/],
    ["bad --rounds", ["bench", "--rounds", "zero"], /^ipc bench: --rounds must be a positive integer, got 'zero'/],
    ["unknown transport", ["bench", "--transports", "carrier-pigeon"], /^ipc bench: unknown transport 'carrier-pigeon'/],
    ["bad --sizes", ["bench", "--sizes", "64,huge"], /^ipc bench: --sizes takes sizes/],
    ["call without --proto", ["call", "unix:///tmp/x.sock", "a.B/C"], /^ipc call: --proto <file> is required/],
    ["unknown command", ["teleport"], /^ipc: unknown command 'teleport'/],
    ["unknown option", ["send", "--frobnicate"], /^ipc: unknown option '--frobnicate'/],
    ["bad shm name", ["shm", "inspect", "../etc"], /^ipc shm inspect: invalid shared-memory name/],
    ["unknown segment", ["shm", "inspect", "no-such-segment"], /^ipc shm inspect: no @ipc segment named 'no-such-segment'/],
  ];
  it.each(cases)("%s", async (_name, args, message) => {
    const result = await ipc(args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("ipc shm and ipc doctor", () => {
  it("shm ls shows a live ring, inspect shows its state, rm-stale leaves it alone", async () => {
    const name = `kit-test-ring-${process.pid}`;
    const { MessageRing } = await import("@ipc/shm");
    const ring = MessageRing.create({ name, capacity: 4096 });
    cleanups.push(() => {
      ring.close();
      ring.memory!.unlink();
    });
    ring.tryWrite(new Uint8Array(100));
    const ls = await ipc(["shm", "ls"]);
    expect(ls.stdout).toMatch(new RegExp(`^${name} +ring +\\d+ +${process.pid} `, "m"));
    const inspect = await ipc(["shm", "inspect", name]);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain("capacity 4096 B");
    expect(inspect.stdout).toMatch(/112 B unread/); // a record: 8-byte header + 100 B, padded to 8
    expect(inspect.stdout).toContain(`mapped by ${process.pid}`);
    expect((await ipc(["shm", "rm-stale"])).stdout).not.toContain(name);
  });

  it("doctor checks koffi, /dev/shm, pipe-max-size, socket paths and the user", async () => {
    const result = await ipc(["doctor"]);
    expect(result.stdout).toMatch(/^✔ koffi \d+\.\d+\.\d+ loads/m);
    expect(result.stdout).toMatch(/\/dev\/shm is writable, \d+ MiB free/);
    expect(result.stdout).toMatch(/pipe-max-size \d+ B/);
    expect(result.stdout).toMatch(/Unix sockets bind in .* \(paths are limited to 107 bytes/);
    expect(result.stdout).toMatch(/uid \d+|running as root/);
    expect(result.code).toBe(result.stdout.includes("✖") ? 1 : 0);
  });
});
