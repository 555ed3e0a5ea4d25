/**
 * The titles of the transport groups, shared by the modules that add rows to them (groups merge by title):
 * cases/transports.ts makes them, cases/shm.ts adds the ring's rows to the shared-memory ones.
 */
import type { Regime } from "./case.js";
import { SMALL_MESSAGE, sizeText } from "./sizes.js";

/** The transports of `ipc bench --transports`, with what the report calls them. */
export const TRANSPORT_TITLES = {
  unix: "Unix socket",
  tcp: "TCP loopback",
  tls: "TLS loopback",
  shm: "Shared memory",
  pipe: "Child process stdio",
  fifo: "FIFO pair",
  memory: "In-process memory",
} as const;

export type Transport = keyof typeof TRANSPORT_TITLES;

/** "Unix socket: round trip, 64 B", "Unix socket: message rate, 64 B", "Unix socket: throughput, 64 KiB messages". */
export function groupTitle(transport: Transport, kind: "rtt" | "stream", size: number): string {
  const title = TRANSPORT_TITLES[transport];
  if (kind === "rtt") return `${title}: round trip, ${sizeText(size)}`;
  return size < SMALL_MESSAGE ? `${title}: message rate, ${sizeText(size)}` : `${title}: throughput, ${sizeText(size)} messages`;
}

/** The regimes of the Unix socket round trip of 64 B, which is also measured with both processes on one core. */
export const ALL_REGIMES: readonly Regime[] = ["unpinned", "split", "one core"];
