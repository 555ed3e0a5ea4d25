/** The ipc command on nats:// addresses (serve, call, trace), against a real nats-server on 127.0.0.1. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { serveNats } from "@ipc/nats";
import { loadService, protobuf, type Unary } from "@ipc/rpc";
import { natsServerMissing, startNatsServer, type NatsServer } from "@ipc/testing";
import { ipc, start, stopAll, tempDir, until } from "./fixtures/cli.js";

const skip = natsServerMissing !== undefined;
const why = skip ? ` (skipped: ${natsServerMissing})` : "";

const PROTO = `syntax = "proto3";
package calc;
service Calculator { rpc Add (AddRequest) returns (Result); }
message AddRequest { int32 a = 1; int32 b = 2; }
message Result { int32 value = 1; }
`;

describe.skipIf(skip)(`ipc on nats:// addresses${why}`, () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let proto: string;
  let removeDir: () => void;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await natsConnect({ servers: server.url });
    const dir = tempDir();
    removeDir = dir.remove;
    proto = join(dir.dir, "calc.proto");
    writeFileSync(proto, PROTO);
    type Methods = { readonly add: Unary<{ a: number; b: number }, { value: number }> };
    serveNats(nc, loadService<Methods>(protobuf.parse(PROTO).root, "calc.Calculator"), { add: ({ a, b }) => ({ value: a + b }) });
    await nc.flush();
  }, 60_000);

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
    removeDir?.();
  });

  afterEach(() => stopAll());

  it("ipc call nats://… calls a method served with serveNats and prints the response as JSON", async () => {
    const result = await ipc(["call", server.url, "calc.Calculator/Add", "--proto", proto, "--data", '{"a":19,"b":23}']);
    expect(result).toMatchObject({ code: 0, stdout: '{"value":42}\n' });
  });

  it("ipc call nats://… of a service nobody serves fails with UNAVAILABLE (no responders), exit 1", async () => {
    const other = join(proto, "..", "other.proto");
    writeFileSync(other, PROTO.replace("package calc;", "package nobody;"));
    const result = await ipc(["call", server.url, "nobody.Calculator/Add", "--proto", other, "--data", "{}"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ipc call: .*UNAVAILABLE/m);
  });

  it("ipc serve nats://…/subject prints each message and --echo answers requests", async () => {
    const serving = await start(["serve", `${server.url}/greet.>`, "--echo"], /^listening on /);
    const reply = await nc.request("greet.world", new TextEncoder().encode("hello over nats"), { timeout: 20_000 });
    expect(new TextDecoder().decode(reply.data)).toBe("hello over nats");
    expect(await until(serving.stdout, (t) => t.includes("hello"))).toMatch(/ greet\.world reply=\S+ 15 B {2}hello over nats$/m);
  });

  it("ipc serve nats:// without a subject is a usage error (exit 2) saying what to add", async () => {
    const result = await ipc(["serve", server.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("say which subject to serve");
  });

  it("ipc trace nats://… shows a call's request on its subject and the reply on the caller's inbox", async () => {
    const tracing = await start(["trace", server.url, "--print", "hex"], /^tracing /);
    const result = await ipc(["call", server.url, "calc.Calculator/Add", "--proto", proto, "--data", '{"a":1,"b":2}']);
    expect(result.code).toBe(0);
    // AddRequest {a:1, b:2} is 08 01 10 02; Result {value:3} is 08 03 (docs/wire.md §9.4).
    const out = await until(tracing.stdout, (t) => t.includes("08 03"));
    expect(out).toMatch(/ ipc\.rpc\.calc\.Calculator\.Add reply=(\S+).* 4 B {2}08 01 10 02$/m);
    const inbox = / ipc\.rpc\.calc\.Calculator\.Add reply=(\S+)/.exec(out)![1]!;
    expect(out).toContain(` ${inbox} 2 B  08 03`);
  });
});
