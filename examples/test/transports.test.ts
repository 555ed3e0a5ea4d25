import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const dist = fileURLToPath(new URL("../dist/", import.meta.url));

async function example(name: string): Promise<string> {
  const file = `${dist}${name}.js`;
  if (!existsSync(file)) throw new Error(`${file} is missing: build the workspace first (pnpm build)`);
  const { stdout } = await run(process.execPath, [file], { timeout: 30_000 });
  return stdout;
}

describe("Unix and TCP examples run and say what they should", () => {
  it("unix-echo", async () => {
    const out = await example("unix-echo");
    expect(out).toMatch(/\[server \d+\] listening on unix:\/\//);
    expect(out).toMatch(/\[server\] client connected: pid \d+/);
    expect(out).toContain("[client] echo: Hello, Unix socket!");
    expect(out).toContain("[client] echo: second message");
  });

  it("unix-protocol", async () => {
    const out = await example("unix-protocol");
    expect(out).toContain("request 1 → response 1:Processed: hello");
    expect(out).toContain("request 2 → response 2:Processed: world");
    expect(out).toContain("binary → error 0 Invalid message type");
  });

  it("unix-secure", async () => {
    const out = await example("unix-secure");
    expect(out).toMatch(/has mode 600/);
    expect(out).toMatch(/\[server\] accepted pid \d+, uid \d+, gid \d+/);
    if (process.getuid?.() === 0) {
      expect(out).toMatch(/\[server\] refused pid \d+ \(uid 65534\): uid 65534 is not this server's uid 0 \(sameUser\)/);
      expect(out).toMatch(/\[nobody\] IPC_ERR_PEER_REJECTED: .*refused this client/);
    } else {
      expect(out).toContain("(skipping the other-user client: switching users needs root)");
    }
  });

  it("tcp-echo", async () => {
    const out = await example("tcp-echo");
    expect(out).toMatch(/\[server\] listening on tcp:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain("[client] socket: noDelay true, keepAlive true");
    expect(out).toContain("[client] echo: Hello, TCP!");
  });

  it("tcp-pool", async () => {
    const out = await example("tcp-pool");
    expect(out).toContain("8 jobs ran over 3 connections; 3 idle now");
    expect(out).toContain("a server-side close was noticed: 2 idle left");
    expect(out).toContain("after the loss: still fine");
  });

  it("tcp-sticky-packets", async () => {
    const out = await example("tcp-sticky-packets");
    expect(out).toContain("1001 messages arrived, each whole and in order");
    expect(out).toContain("the last one is 1048576 bytes");
  });
});
