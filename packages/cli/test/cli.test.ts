import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { connect, listen, rpc, shm } from "@ipc/kit";
import { cli, exited, ipc, processesMentioning, start, stopAll, tempDir, until } from "./fixtures/cli.js";

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

  it("stdin (-) is sent byte for byte, binary included", async () => {
    const url = `unix://${join(temp(), "s.sock")}`;
    const server = await start(["serve", url, "--print", "hex"], /^listening on /);
    expect((await ipc(["send", url, "-"], { input: new Uint8Array([0x78, 0x00, 0xff, 0xfe, 0x80]) })).code).toBe(0);
    expect(await until(server.stdout, (t) => t.includes("#1"))).toBe("#1 5 B: 78 00 ff fe 80\n");
  });

  it("utf8 printing escapes control characters: one message, one line", async () => {
    const url = `unix://${join(temp(), "s.sock")}`;
    const server = await start(["serve", url], /^listening on /);
    expect((await ipc(["send", url, "two\nlines \x1b[2J"])).code).toBe(0);
    expect(await until(server.stdout, (t) => t.includes("#1"))).toBe("#1 14 B: two\\nlines \\x1b[2J\n");
  });

  it("a peer that closes before replying is a failure at run time: exit 1, one line", async () => {
    const listener = await listen(`unix://${join(temp(), "closing.sock")}`);
    cleanups.push(() => listener.close());
    void (async () => {
      for await (const connection of listener) {
        await connection.receive({ timeout: 10_000 });
        await connection.close({ timeout: 10_000 });
      }
    })().catch(() => undefined);
    const result = await ipc(["send", listener.address, "hello", "--replies", "2"]);
    expect(result).toMatchObject({ code: 1, stderr: "ipc send: the peer closed the connection after 0 of 2 replies\n" });
  });

  it("serve pipe: is a child's side of a pipe: connection — messages on stdout go to the channel, the log to stderr", async () => {
    const child = await connect(`pipe:${process.execPath}?arg=${encodeURIComponent(cli)}&arg=serve&arg=pipe:&arg=--echo`, { stderr: "ignore" });
    cleanups.push(() => child.kill("SIGKILL"));
    expect(child.pid).toBeGreaterThan(0);
    await child.send(new TextEncoder().encode("to the child"));
    expect(new TextDecoder().decode(await child.receive({ timeout: 10_000 }))).toBe("to the child");
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

    // protobufjs alone would send {a: 1, b: 0} for a typo and wrap 2^31 around: the CLI refuses both.
    const typo = await ipc(["call", listener.address, "calc.Calculator/Add", "--proto", proto, "--data", '{"a":1,"bb":2}']);
    expect(typo).toMatchObject({ code: 2, stderr: "ipc call: --data: AddRequest has no field 'bb' (its fields: a, b)\n" });
    const big = await ipc(["call", listener.address, "calc.Calculator/Add", "--proto", proto, "--data", '{"a":2147483648}']);
    expect(big).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ipc call: --data\.a is out of range for int32/) as unknown });
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
  // Six case runs, each in fresh processes: a few seconds alone, a minute or more at a load average of 6 on
  // 2 cores. The limit (on it(), where vitest reads it) only guards against a hang: the test waits for the
  // command to exit, never for a time.
  it("runs the harness's quick profile: a table, JSON, Markdown, SVG, and the measurements ipc choose reads", { timeout: 300_000 }, async () => {
    const out = temp();
    const args = ["bench", "--transports", "unix,memory", "--sizes", "64", "--rounds", "1", "--warmup", "20", "--duration", "20", "--out", out];
    const result = await ipc(args, { timeout: 280_000 });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Unix socket: round trip, 64 B +@ipc\/unix /m);
    expect(result.stdout).toMatch(/raw node:net \(baseline\)/);
    expect(result.stdout).toMatch(/raw node:net, frames packed into 64 KiB writes \(baseline\)/);
    expect(result.stderr).toMatch(/^\[1\/\d+\] round 1\/1: /m); // plain progress lines when stderr is not a TTY
    const json = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as {
      tool: string;
      rows: { case: string; regime: string; rounds: number }[];
      failures: string[];
    };
    expect(json.tool).toBe("@ipc/bench");
    expect(json.failures).toEqual([]);
    expect(json.rows.map((r) => r.case)).toEqual(
      expect.arrayContaining(["unix-rtt-64B", "raw-unix-rtt-64B", "unix-stream-64B", "raw-unix-stream-64B", "memory-rtt-64B"]),
    );
    expect(json.rows.every((r) => r.regime === "unpinned" && r.rounds === 1)).toBe(true);
    const svg = readFileSync(join(out, "latest.svg"), "utf8");
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).not.toMatch(/<script|href=/);
    expect(svg.match(/<rect /g)!.length).toBeGreaterThan(4);
    expect(readFileSync(join(out, "latest.md"), "utf8")).toMatch(/^# ipc bench/);

    // ipc choose decides by those numbers (measurements.json, or the same inside latest.json).
    for (const file of ["measurements.json", "latest.json"]) {
      const chosen = await ipc(["choose", "--results", join(out, file)]);
      expect(chosen.code).toBe(0);
      expect(chosen.stdout).toMatch(/^unix: {2}\(e\.g\. unix:\/\/\/.+\)$/m);
      expect(chosen.stdout).toMatch(/a round trip costs [\d.]+ µs \(p50, 64 B\) against not measured over loopback TCP/);
      expect(chosen.stdout).toMatch(/^numbers: @ipc\/bench quick profile, \d{4}-\d\d-\d\dT/m);
    }
    writeFileSync(join(out, "partial.json"), '{"tool":"ipc bench"}');
    const partial = await ipc(["choose", "--results", join(out, "partial.json")]);
    expect(partial).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^ipc choose: .*partial\.json does not hold the measurements ipc bench writes \(.+\)\n$/) as unknown,
    });
  });
});

describe("Ctrl-C (SIGINT): exit 130, nothing left behind", () => {
  it("serve and trace remove their socket files", async () => {
    const dir = temp();
    const upstream = join(dir, "up.sock");
    const front = join(dir, "front.sock");
    const server = await start(["serve", `unix://${upstream}`, "--echo"], /^listening on /);
    const tracer = await start(["trace", `unix://${front}`, `unix://${upstream}`], /^tracing /);
    expect(await ipc(["send", `unix://${front}`, "live", "--replies", "1"])).toMatchObject({ code: 0, stdout: "live\n" });
    for (const { child } of [tracer, server]) {
      child.kill("SIGINT");
      expect(await exited(child)).toBe(130);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("serve closes its open connections cleanly: a shm client waiting for a reply sees a close, not a dead peer", async () => {
    const url = `shm://cli-test-sigint-${process.pid}`;
    const server = await start(["serve", url], /^listening on /);
    const waiting = ipc(["send", url, "hold", "--replies", "1", "--timeout", "30000"]);
    await until(server.stdout, (t) => t.includes("#1 4 B: hold"));
    server.child.kill("SIGINT");
    expect(await exited(server.child)).toBe(130);
    expect(await waiting).toMatchObject({ code: 1, stderr: "ipc send: the peer closed the connection after 0 of 1 replies\n" });
  });

  it("bench stops the case running: no worker, peer or temporary directory survives, and no results are written", async () => {
    const dir = temp(); // TMPDIR of the bench: its case directories, and so the command lines of its worker and peer
    const out = join(temp(), "results");
    const bench = await start(["bench", "-t", "unix", "-s", "64", "-r", "1", "-d", "60000", "--out", out], /^\[1\/\d+\]/, { ...process.env, TMPDIR: dir });
    // Wait for the worker and its peer to be running, then interrupt.
    await until(
      () => String(processesMentioning(dir).length),
      (n) => Number(n) >= 2,
    );
    bench.child.kill("SIGINT");
    expect(await exited(bench.child)).toBe(130);
    expect(bench.stderr()).toMatch(/^ipc bench: interrupted; no results written$/m);
    await until(
      () => String(processesMentioning(dir).length),
      (n) => n === "0",
    );
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });
});

describe("bad input: one line on stderr, a non-zero exit, no stack trace", () => {
  const cases: [string, string[], RegExp][] = [
    ["unknown scheme", ["send", "carrier-pigeon://x", "hi"], /^ipc send: invalid address 'carrier-pigeon:\/\/x': unknown scheme/],
    ["unreachable endpoint", ["send", "unix:///tmp/ipc-cli-test-nothing-here.sock", "hi"], /^ipc send: connect to .*nothing is listening/],
    ["missing file", ["send", "unix:///tmp/x.sock", "@/nonexistent/file"], /^ipc send: cannot read \/nonexistent\/file: ENOENT/],
    ["bad --print", ["serve", "memory://x", "--print", "base64"], /^ipc serve: --print base64: how to show messages/],
    ["bad --rounds", ["bench", "--rounds", "zero"], /^ipc bench: --rounds must be a positive integer, got 'zero'/],
    ["unknown transport", ["bench", "--transports", "carrier-pigeon"], /^ipc bench: unknown transport 'carrier-pigeon'/],
    ["bad --sizes", ["bench", "--sizes", "64,huge"], /^ipc bench: --sizes takes sizes/],
    ["negative --replies", ["send", "unix:///tmp/x.sock", "hi", "--replies", "-1"], /^ipc send: --replies must be 0 or a positive integer, got '-1'/],
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

describe("bad input found before measuring", () => {
  it("bench with an --out that cannot be created fails at once (exit 2), before measuring anything", async () => {
    const file = join(temp(), "a-file");
    writeFileSync(file, "");
    // With every transport and the default duration, the test's timeout would expire if it measured first.
    const result = await ipc(["bench", "--out", join(file, "results")]);
    expect(result).toMatchObject({ code: 2, stderr: `ipc bench: --out ${join(file, "results")}: cannot create it (ENOTDIR)\n` });
  });
});

describe("ipc shm and ipc doctor", () => {
  it("shm ls shows a live ring, inspect shows its state, rm-stale leaves it alone", async () => {
    const name = `cli-test-ring-${process.pid}`;
    const ring = shm.MessageRing.create({ name, capacity: 4096 });
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

  it("a ring whose creator died is shown as stale, with its producer gone, and rm-stale removes it", async () => {
    const name = `cli-test-stale-${process.pid}`;
    cleanups.push(() => rmSync(`/dev/shm/${name}`, { force: true }));
    // The built @ipc/kit, as a user's program loads it (under vitest, resolving "@ipc/kit" gives its sources).
    const kit = join(dirname(createRequire(import.meta.url).resolve("@ipc/kit/package.json")), "dist/index.js");
    const script = `const { shm } = await import(${JSON.stringify(kit)});
      const ring = shm.MessageRing.create({ name: ${JSON.stringify(name)}, capacity: 4096 });
      ring.tryWrite(new Uint8Array(10));
      process.kill(process.pid, "SIGKILL");`;
    const crashed = spawnSync(process.execPath, ["--input-type=module", "-e", script]);
    expect(crashed.signal).toBe("SIGKILL");
    expect((await ipc(["shm", "ls"])).stdout).toMatch(new RegExp(`^${name} +ring +\\d+ +${crashed.pid} \\(dead\\) .* nobody$`, "m"));
    const inspect = await ipc(["shm", "inspect", name]);
    expect(inspect.stdout).toContain(`producer pid ${crashed.pid} (gone)`);
    expect(inspect.stdout).toContain("stale: its creator is gone and nobody maps it");
    expect((await ipc(["shm", "rm-stale"])).stdout).toMatch(new RegExp(`^removed .*\\b${name}\\b`));
    expect(existsSync(`/dev/shm/${name}`)).toBe(false);
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
