/**
 * What every case shares: resources that are released after each test even when it fails, an echo
 * server, and deterministic message contents with checks.
 */
import { createHash } from "node:crypto";
import type { Connection, ConnectionOptions, Listener } from "@ipc/core";
import type { Resources } from "@ipc/testing";
import type { ConformanceFixture } from "./fixture.js";

export { Resources, checkPatterned, patterned } from "@ipc/testing";

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
export async function connect(ctx: Context, listener: Listener, options?: Parameters<ConformanceFixture["connect"]>[1]): Promise<Connection> {
  return ctx.resources.connection(await ctx.fixture.connect(listener.address, options));
}

/** A connected pair: a client and the server's end of it (`options` for both ends). */
export async function pair(ctx: Context, options?: ConnectionOptions): Promise<{ listener: Listener; client: Connection; server: Connection }> {
  const listener = await listen(ctx, options);
  const client = await connect(ctx, listener, options);
  const server = ctx.resources.connection((await listener.accept({ timeout: 10_000 }))!);
  return { listener, client, server };
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
