/**
 * What the RPC cases share: a served test service over the fixture's transport (in this process or in a
 * worker child), released after each test even when it fails.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ConnectOptions, Connection, Listener } from "@ipc/core";
import { createClient, serve, type Client, type ClientOptions, type ServeOptions, type Server } from "@ipc/rpc";
import type { Resources } from "@ipc/testing";
import { it } from "vitest";
import type { RpcConformanceFixture, WorkerProcess } from "./fixture.js";
import { createTestService, testService, type TestMethods, type TestService } from "./service.js";

/** The fixture plus the resources of the running test. */
export interface RpcContext {
  readonly fixture: RpcConformanceFixture;
  readonly resources: Resources;
}

/** The suffix naming why a case is skipped, for `it.skipIf(missing)(name + lacking(missing, why))`. */
function lacking(missing: boolean, why: string): string {
  return missing ? ` (skipped: ${why})` : "";
}

/**
 * The `test(name, fn)` of a group of cases: skipped, with the reason in the title, when the fixture lacks
 * what the group needs (`missing`, `why`) or lists the case in `knownFailures`.
 */
export function caseDefiner(fixture: RpcConformanceFixture, missing: boolean, why: string, timeout: number): (name: string, fn: () => Promise<void>) => void {
  return (name, fn) => {
    const known = fixture.knownFailures?.[name];
    const skip = missing || known !== undefined;
    it.skipIf(skip)(`${name}${lacking(skip, missing ? why : `known failure of this transport: ${known}`)}`, { timeout }, fn);
  };
}

/** Settles with the error `promise` rejects with, or fails if it resolves. */
export async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; status?: string; cause?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string; status?: string };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Waits until `check()` holds, polling; fails after `tries` polls (a hang guard, not a timing assertion). */
export async function until(what: string, check: () => boolean | Promise<boolean>, tries = 2000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`gave up waiting until ${what}`);
}

/** A listener of the fixture, and a function connecting to it; all released after the test. */
export async function listen(c: RpcContext): Promise<{ listener: Listener; connect(options?: ConnectOptions): Promise<Connection> }> {
  const { fixture } = c;
  const listener = c.resources.listener(await fixture.listen!(await fixture.address!()));
  return {
    listener,
    connect: async (options) => c.resources.connection(await fixture.connect!(listener.address, { timeout: 10_000, ...options })),
  };
}

/** Two connected ends in this process: the client's and the server's. */
export async function connectionPair(c: RpcContext, options?: ConnectOptions): Promise<{ client: Connection; server: Connection }> {
  const { listener, connect } = await listen(c);
  const client = await connect(options);
  const server = c.resources.connection((await listener.accept({ timeout: 10_000 }))!);
  return { client, server };
}

/** The test service served on one connection in this process, and a client of it. */
export interface Served {
  readonly client: Client<TestMethods>;
  readonly server: Server;
  readonly service: TestService;
  readonly clientConnection: Connection;
  readonly serverConnection: Connection;
}

export async function served(c: RpcContext, options: { serve?: ServeOptions; client?: ClientOptions; connection?: ConnectOptions } = {}): Promise<Served> {
  const ends = await connectionPair(c, options.connection);
  let server: Server | undefined;
  const service = createTestService(() => server);
  server = serve(ends.server, testService, service.implementation, options.serve);
  const client = createClient(testService, ends.client, options.client);
  c.resources.cleanup(() => {
    client.abort();
    server!.abort();
  });
  return { client, server, service, clientConnection: ends.client, serverConnection: ends.server };
}

/** The test service served on a listener in this process, and a way to make clients of it. */
export async function servedListener(
  c: RpcContext,
  options: ServeOptions = {},
): Promise<{ server: Server; service: TestService; listener: Listener; client(options?: ClientOptions): Promise<Client<TestMethods>> }> {
  const { listener, connect } = await listen(c);
  let server: Server | undefined;
  const service = createTestService(() => server);
  server = serve(listener, testService, service.implementation, options);
  c.resources.cleanup(() => server!.abort());
  return {
    server,
    service,
    listener,
    client: async (clientOptions) => {
      const client = createClient(testService, await connect(), clientOptions);
      c.resources.cleanup(() => client.abort());
      return client;
    },
  };
}

/**
 * The worker program, compiled by this package's build (worker.ts and service.ts, to test/gen/conformance/): a
 * child process runs JavaScript, and it imports @ipc/rpc from the built dist/.
 */
function workerProgram(): string {
  const program = fileURLToPath(new URL("../gen/conformance/worker.js", import.meta.url));
  if (!existsSync(program)) throw new Error(`${program} is missing: build the workspace first (pnpm build)`);
  return program;
}

/** How `child` ended: `exited` of a `ChildChannel`, or the `exit` event of a `ChildProcess`. */
function exitOf(child: WorkerProcess): Promise<{ code: number | null; signal: string | null }> {
  if ("exited" in child) return child.exited.then(({ code, signal }) => ({ code, signal }));
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

/** The test service served by a child process (the fixture's worker), and a client of it. */
export async function worker(
  c: RpcContext,
  options: { serve?: ServeOptions; client?: ClientOptions } = {},
): Promise<{ client: Client<TestMethods>; child: WorkerProcess; exit: Promise<{ code: number | null; signal: string | null }> }> {
  const capability = c.fixture.worker!;
  const command = [process.execPath, workerProgram(), capability.module, JSON.stringify(options.serve ?? {})];
  const { connection, child } = await capability.spawn(command);
  let ended = false;
  const exit = exitOf(child).finally(() => (ended = true));
  // Registered first, so it runs last (cleanups run in reverse): after the client and connection are gone.
  c.resources.cleanup(async () => {
    if (!ended) child.kill("SIGKILL");
    await exit;
  });
  c.resources.connection(connection);
  const client = createClient(testService, connection, options.client);
  c.resources.cleanup(() => client.abort());
  return { client, child, exit };
}
