/**
 * Real `nats-server` processes for tests: one server, or a cluster of three on loopback, each on ports the
 * server picks itself (`-1` in its configuration, read back from its log), with a temp store directory for
 * JetStream. Ready means the server logged "Server is ready" (an event, not a sleep); `stop()` kills it and
 * removes its directory, and every server still running when this process exits is killed too.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "./ports.js";

/** The `nats-server` binary, or undefined when it is not installed. */
export const natsServerBinary: string | undefined = findBinary();

/**
 * Why the NATS tests cannot run here, or undefined when they can. Used as the skip reason, word for word.
 */
export const natsServerMissing: string | undefined =
  natsServerBinary !== undefined
    ? undefined
    : process.env.NATS_SERVER_BIN
      ? `NATS_SERVER_BIN (${process.env.NATS_SERVER_BIN}) is not a nats-server`
      : "nats-server is not installed (Debian: apt-get install nats-server)";

/** `NATS_SERVER_BIN` names another binary (a newer build); otherwise the one on PATH or Debian's. */
function findBinary(): string | undefined {
  const chosen = process.env.NATS_SERVER_BIN;
  for (const candidate of chosen ? [chosen] : ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"]) {
    const probe = spawnSync(candidate, ["--version"], { encoding: "utf8" });
    if (probe.status === 0 && /nats-server/.test(probe.stdout)) return candidate;
  }
  return undefined;
}

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Enables JetStream with file storage in the server's temp directory. Default: false. */
  readonly jetstream?: boolean | undefined;
  /** The server's `max_payload`, in bytes. Default: the server's own (1 MiB). */
  readonly maxPayload?: number | undefined;
  /** The server's name (JetStream clusters need one per node). Default: chosen by the server. */
  readonly name?: string | undefined;
  /**
   * Joins a cluster: its name, the port to listen on for routes (default: one the server picks), and the
   * route URLs of the nodes to connect to (a route to itself is ignored by the server). Default: no cluster.
   */
  readonly cluster?: { readonly name: string; readonly port?: number | undefined; readonly routes: readonly string[] } | undefined;
  /** Milliseconds to wait for "Server is ready". Generous: a loaded machine starts servers slowly. Default: 30 000. */
  readonly readyTimeout?: number | undefined;
}

/** A running `nats-server`. */
export interface NatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>`, for clients. */
  readonly url: string;
  readonly port: number;
  /** `nats-route://127.0.0.1:<port>` when clustered, else undefined. */
  readonly routeUrl: string | undefined;
  /** The JetStream store directory (kept across {@link NatsServer.restart}). */
  readonly storeDir: string;
  readonly name: string | undefined;
  /** The process id of the current server process. */
  readonly pid: number;
  /** Every line the server logged, across restarts. */
  readonly log: readonly string[];
  /** The index in {@link NatsServer.log} of the current process's first line. */
  readonly started: number;
  /**
   * Resolves once `count` lines logged since `since` (default: the current process's start) match
   * `pattern`; rejects after the ready timeout (generous, for a loaded machine).
   */
  waitForLog(pattern: RegExp, count?: number, since?: number): Promise<void>;
  /** Kills the server at once (SIGKILL): a crash. Its store directory stays, for {@link NatsServer.restart}. */
  kill(): Promise<void>;
  /** Starts the server again on the same ports with the same store (after {@link NatsServer.kill}). */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. Safe to call more than once. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

interface Ports {
  client: number;
  cluster: number | undefined;
}

function configText(dir: string, options: NatsServerOptions, ports: Ports | undefined, routes: readonly string[]): string {
  const lines = [`listen: "127.0.0.1:${ports?.client ?? -1}"`];
  if (options.name !== undefined) lines.push(`server_name: "${options.name}"`);
  if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`);
  if (options.jetstream) lines.push(`jetstream { store_dir: "${join(dir, "store")}" }`);
  if (options.cluster !== undefined) {
    lines.push(
      `cluster {`,
      `  name: "${options.cluster.name}"`,
      `  listen: "127.0.0.1:${ports?.cluster ?? options.cluster.port ?? -1}"`,
      `  routes: [${routes.map((r) => `"${r}"`).join(", ")}]`,
      `}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Starts `nats-server` with `config` and resolves with its ports once it logged that it is ready. */
/** Every line a server logged, and who waits for the next ones. */
class ServerLog {
  readonly lines: string[] = [];
  readonly #waiters = new Set<() => void>();

  push(line: string): void {
    this.lines.push(line);
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves once `count` lines since `from` match `pattern`. */
  wait(pattern: RegExp, count: number, from: number, timeout: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.lines.slice(from).filter((l) => pattern.test(l)).length < count) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`nats-server did not log ${count} × ${pattern} within ${timeout} ms:\n${this.lines.slice(-20).join("\n")}`));
      }, timeout);
      this.#waiters.add(check);
      check();
    });
  }
}

function launch(config: string, log: ServerLog, timeout: number, clustered: boolean): Promise<{ child: ChildProcess; ports: Ports }> {
  const binary = natsServerBinary;
  if (binary === undefined) return Promise.reject(new Error(natsServerMissing));
  installExitHook();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["-c", config], { stdio: ["ignore", "ignore", "pipe"] });
    running.add(child);
    child.once("exit", () => running.delete(child));
    let client: number | undefined;
    let cluster: number | undefined;
    let pending = "";
    let settled = false;
    let ready = false;
    const timer = setTimeout(() => fail(new Error(`nats-server was not ready within ${timeout} ms:\n${log.lines.slice(-20).join("\n")}`)), timeout);
    function fail(error: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    }
    child.once("error", fail);
    child.once("exit", (code, signal) => fail(new Error(`nats-server exited (${signal ?? code}) before it was ready:\n${log.lines.slice(-20).join("\n")}`)));
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        log.push(line);
        const clientMatch = /Listening for client connections on [^\s]*:(\d+)/.exec(line);
        if (clientMatch) client = Number(clientMatch[1]);
        const routeMatch = /Listening for route connections on [^\s]*:(\d+)/.exec(line);
        if (routeMatch) cluster = Number(routeMatch[1]);
        if (/Server is ready/.test(line)) ready = true;
        // A clustered server says it is ready before it listens for routes: wait for both.
        if (ready && (!clustered || cluster !== undefined) && !settled) {
          settled = true;
          clearTimeout(timer);
          if (client === undefined) return fail(new Error(`nats-server did not log its client port:\n${log.lines.join("\n")}`));
          resolve({ child, ports: { client, cluster } });
        }
      }
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts a `nats-server` on 127.0.0.1 at ports it picks, with a temp directory; resolves once it is ready. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), "ipc-nats-"));
  const log = new ServerLog();
  const timeout = options.readyTimeout ?? 30_000;
  const config = join(dir, "server.conf");
  writeFileSync(config, configText(dir, options, undefined, options.cluster?.routes ?? []));
  let current: { child: ChildProcess; ports: Ports };
  try {
    current = await launch(config, log, timeout, options.cluster !== undefined);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const ports = current.ports;
  let stopped = false;
  let started = 0;
  const server: NatsServer = {
    url: `nats://127.0.0.1:${ports.client}`,
    port: ports.client,
    routeUrl: ports.cluster === undefined ? undefined : `nats-route://127.0.0.1:${ports.cluster}`,
    storeDir: join(dir, "store"),
    name: options.name,
    get pid() {
      return current.child.pid ?? -1;
    },
    get log() {
      return log.lines;
    },
    get started() {
      return started;
    },
    waitForLog(pattern, count = 1, since = started) {
      return log.wait(pattern, count, since, timeout);
    },
    async kill() {
      current.child.kill("SIGKILL");
      await exited(current.child);
    },
    async restart() {
      if (stopped) throw new Error("the server was stopped");
      writeFileSync(config, configText(dir, options, ports, options.cluster?.routes ?? []));
      started = log.lines.length;
      current = await launch(config, log, timeout, options.cluster !== undefined);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      current.child.kill("SIGKILL");
      await exited(current.child);
      rmSync(dir, { recursive: true, force: true });
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
    },
  };
  return server;
}

/** What a server logs for each route to another node. */
export const ROUTE_CREATED = /Route connection created/;
/** What a JetStream cluster node logs once it knows the metadata leader. */
export const META_LEADER = /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/;

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Enables JetStream (clustered, file storage) on every node. Default: false. */
  readonly jetstream?: boolean | undefined;
  /** Nodes. Default: 3. */
  readonly size?: number | undefined;
  readonly maxPayload?: number | undefined;
}

/** A cluster of `nats-server`s on loopback, joined by routes. */
export interface NatsCluster extends AsyncDisposable {
  readonly nodes: readonly NatsServer[];
  /** Every node's client URL. */
  readonly urls: readonly string[];
  /** Stops every node and removes their directories. */
  stop(): Promise<void>;
}

/**
 * Starts `size` servers that form one cluster, each with routes to all (itself included, which the server
 * skips), so that any node can be killed and restarted.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const name = `ipc-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  // A JetStream cluster needs its routes configured up front (nats-server 2.9 refuses to start its
  // JetStream otherwise), so the route ports are chosen here; client ports are still the server's choice.
  const routePorts = await freePorts(size);
  const routes = routePorts.map((port) => `nats-route://127.0.0.1:${port}`);
  const started = await Promise.allSettled(
    routePorts.map((port, i) =>
      startNatsServer({
        jetstream: options.jetstream,
        maxPayload: options.maxPayload,
        name: `${name}-n${i + 1}`,
        cluster: { name, port, routes },
      }),
    ),
  );
  const nodes = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    // Ready means meshed: every node has a route to every other one.
    await Promise.all(nodes.map((n) => n.waitForLog(ROUTE_CREATED, size - 1)));
    // With JetStream, ready also means every node knows the metadata leader (streams can be created).
    if (options.jetstream) await Promise.all(nodes.map((n) => n.waitForLog(META_LEADER)));
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
    async [Symbol.asyncDispose]() {
      await cluster.stop();
    },
  };
  return cluster;
}
