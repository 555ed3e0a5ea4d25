/**
 * What every case shares: resources that are released after each test even when it fails, an echo
 * server, and deterministic message contents with checks.
 */
import { createHash } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import type { Connection, Listener } from "@ipc/core";
import type { ConformanceFixture } from "./fixture.js";

/** Everything a test opened, released by {@link Resources.release}. */
export class Resources {
  readonly #connections = new Set<Connection>();
  readonly #listeners = new Set<Listener>();
  readonly #children = new Set<ChildProcess>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #cleanups: (() => unknown)[] = [];

  connection<T extends Connection>(connection: T): T {
    this.#connections.add(connection);
    return connection;
  }

  listener<T extends Listener>(listener: T): T {
    this.#listeners.add(listener);
    return listener;
  }

  child(child: ChildProcess): ChildProcess {
    this.#children.add(child);
    return child;
  }

  /** A background task whose failure must not become an unhandled rejection. */
  task<T>(promise: Promise<T>): Promise<T> {
    const quiet = promise.catch(() => undefined);
    this.#tasks.add(quiet);
    return promise;
  }

  cleanup(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  async release(): Promise<void> {
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    for (const connection of this.#connections) connection.abort();
    await Promise.allSettled([...this.#listeners].map((l) => l.close()));
    await Promise.allSettled([...this.#tasks]);
    for (const fn of this.#cleanups.splice(0).reverse()) await fn();
    this.#connections.clear();
    this.#listeners.clear();
    this.#children.clear();
    this.#tasks.clear();
  }
}

/** The fixture plus the resources of the running test. */
export interface Context {
  readonly fixture: ConformanceFixture;
  readonly resources: Resources;
}

/** Echoes every message of every connection of `listener`; closes each connection when its peer does. */
export function serveEcho(ctx: Context, listener: Listener): void {
  ctx.resources.task(
    (async () => {
      for await (const connection of listener) {
        ctx.resources.connection(connection);
        ctx.resources.task(echo(connection));
      }
    })(),
  );
}

/** Echoes `connection` until its peer closes, then closes it. */
export async function echo(connection: Connection): Promise<void> {
  for await (const message of connection) await connection.send(message);
  await connection.close();
}

/** A listener at a fresh address, released after the test. */
export async function listen(ctx: Context, options?: Parameters<ConformanceFixture["listen"]>[1]): Promise<Listener> {
  return ctx.resources.listener(await ctx.fixture.listen(await ctx.fixture.address(), options));
}

/** A client of `listener`, released after the test. */
export async function connect(
  ctx: Context,
  listener: Listener,
  options?: Parameters<ConformanceFixture["connect"]>[1],
): Promise<Connection> {
  return ctx.resources.connection(await ctx.fixture.connect(listener.address, options));
}

/** A connected pair: a client and the server's end of it. */
export async function pair(ctx: Context): Promise<{ listener: Listener; client: Connection; server: Connection }> {
  const listener = await listen(ctx);
  const client = await connect(ctx, listener);
  const server = ctx.resources.connection((await listener.accept({ timeout: 10_000 }))!);
  return { listener, client, server };
}

/**
 * A message of `size` bytes whose content depends on `seq`: the first 4 bytes are `seq` big-endian, the
 * rest a pattern derived from it, so a reordered, truncated or corrupted message is detected.
 */
export function patterned(seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  // The pattern repeats every 256 bytes: one period byte by byte, then copies of what is there, doubling.
  const period = Math.min(size, 256);
  for (let i = 0; i < period; i++) bytes[i] = (seq * 31 + i * 7) & 0xff;
  for (let filled = period; filled < size; filled *= 2) bytes.copyWithin(filled, 0, Math.min(filled, size - filled));
  if (size >= 4) new DataView(bytes.buffer).setUint32(0, seq);
  return bytes;
}

/** {@link REFERENCE} bytes of the pattern of the messages whose `seq * 31` is `key` (mod 256), made once each. */
const references = new Map<number, Buffer>();
const REFERENCE = 4096;
function reference(key: number): Buffer {
  let bytes = references.get(key);
  if (bytes === undefined) {
    bytes = Buffer.alloc(REFERENCE);
    for (let i = 0; i < REFERENCE; i++) bytes[i] = (key + i * 7) & 0xff;
    references.set(key, bytes);
  }
  return bytes;
}

/** The `seq` of a {@link patterned} message, or -1 if its content does not match its size and seq. */
export function checkPatterned(bytes: Uint8Array): number {
  if (bytes.byteLength < 4) return -1;
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  // Every byte after the first 4, compared block by block with the pattern (native compares: a byte-by-byte
  // loop made the suite's large transfers spend most of their time checking).
  const expected = reference((seq * 31) & 0xff);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < view.byteLength; at += REFERENCE) {
    const from = at === 0 ? 4 : at;
    const end = Math.min(at + REFERENCE, view.byteLength);
    if (view.compare(expected, from - at, end - at, from, end) !== 0) return -1;
  }
  return seq;
}

/** SHA-256 of `bytes`, hex. */
export function digest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Settles with the error `promise` rejects with, or fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** The suffix naming why a case is skipped, for `it.skipIf(missing)(name + lacking(missing, why))`. */
export function lacking(missing: boolean, why: string): string {
  return missing ? ` (skipped: ${why})` : "";
}
