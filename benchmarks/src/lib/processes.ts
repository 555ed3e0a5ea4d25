/** Starting the processes of a case: pinned with taskset when the regime says so, ready when they say so. */
import { execFileSync, spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import type net from "node:net";
import type { Readable } from "node:stream";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";

/** `command` run on `cpu` with taskset, or as it is when `cpu` is undefined (unpinned). */
export function pinned(cpu: string | undefined, command: readonly string[]): string[] {
  return cpu === undefined ? [...command] : ["taskset", "-c", cpu, ...command];
}

/** A process started by {@link startReady}: what it said after "ready ", and how to stop it. */
export interface Ready {
  readonly child: ChildProcess;
  /** The text after "ready " on its first line of stdout (an address, a port), or "". */
  readonly ready: string;
  /** Writes one line to its stdin (e.g. where to connect). */
  tell(line: string): void;
  /**
   * Closes its stdin, on which it exits (so that it can write what it writes on exit, a `--cpu-prof` profile
   * say), and kills it if it has not exited within half a second.
   */
  stop(): Promise<void>;
  kill(): void;
}

/**
 * Starts `command` with its stdin a pipe from this process (it exits when that closes: see
 * {@link exitWithParent}), and resolves once its first line of stdout is `ready [text]`.
 */
export async function startReady(command: readonly string[], env?: NodeJS.ProcessEnv): Promise<Ready> {
  const child = spawn(command[0]!, command.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: env ?? process.env });
  // Its stderr goes to ours; the last of it also into the error if it fails to start.
  let said = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk);
    said = (said + chunk.toString()).slice(-2000);
  });
  const why = (): string =>
    said
      .trim()
      .split("\n")
      .filter((l) => /\S/.test(l))
      .pop() ?? "";
  const name = basename(command.find((part) => part.endsWith(".js")) ?? command[0]!);
  const exited = once(child, "exit").then(([code, signal]) => {
    throw new Error(`its ${name} process exited (${String(code ?? signal)}) before it was ready: ${why()}`);
  });
  const first = await Promise.race([lines(child).next(), exited]);
  const line = typeof first.value === "string" ? first.value : "";
  if (!/^ready( |$)/.test(line)) {
    child.kill("SIGKILL");
    await once(child, "exit").catch(() => undefined);
    throw new Error(`its ${name} process said '${line}' instead of ready: ${why()}`);
  }
  exited.catch(() => undefined);
  child.stdin!.on("error", () => undefined);
  const gone = once(child, "exit").then(() => undefined);
  return {
    child,
    ready: line.slice("ready ".length),
    tell: (text) => child.stdin!.write(`${text}\n`),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 500);
      await gone;
      clearTimeout(timer);
    },
    kill: () => child.kill("SIGKILL"),
  };
}

function lines(child: ChildProcess): AsyncIterator<string> {
  return createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
}

/** In a peer: exit as soon as stdin (a pipe from the process that started it) closes, however that one ended. */
export function exitWithParent(): void {
  process.stdin
    .on("end", () => process.exit(0))
    .on("error", () => process.exit(0))
    .resume();
}

/** In a peer: the first line the process that started it writes to stdin (see {@link Ready.tell}). */
export async function firstLine(): Promise<string> {
  const lines = createInterface({ input: process.stdin });
  const [line] = (await once(lines, "line")) as [string];
  lines.close();
  return line;
}

/**
 * Waits for a child's first line on `stream` (its stdout, which then carries data): the child is up. What
 * came after the line is put back for the next reader.
 */
export function readyLine(stream: Readable): Promise<void> {
  let text = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\n");
      if (end < 0) return;
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.pause();
      if (end + 1 < text.length) stream.unshift(Buffer.from(text.slice(end + 1), "latin1"));
      resolve();
    };
    const onEnd = (): void => reject(new Error("the child ended before it was up"));
    stream.on("data", onData);
    stream.once("end", onEnd);
  });
}

/** A child started with stdio pipes (its stdin and stdout are the channel; stderr goes to ours). */
export function spawnPiped(command: readonly string[], stdio: StdioOptions = ["pipe", "pipe", "inherit"]): ChildProcess {
  return spawn(command[0]!, command.slice(1), { stdio });
}

/** Connects with `connect()` until it works: the listener may not be up yet (up to 10 s). */
export async function connectWhenUp(connect: () => net.Socket): Promise<net.Socket> {
  const giveUp = Date.now() + 10_000;
  for (;;) {
    const socket = connect();
    try {
      await once(socket, "connect");
      return socket;
    } catch (error) {
      socket.destroy();
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ECONNREFUSED") || Date.now() > giveUp) throw error;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}

/** A self-signed certificate for 127.0.0.1 in `dir`, made with openssl on first use. */
export function certificate(dir: string): { key: string; cert: string } {
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  try {
    return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
  } catch {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    return certificate(dir);
  }
}
