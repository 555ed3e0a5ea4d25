/**
 * The numbers `choose()` decides by: per scheme and message size, the round trip and the one-way throughput,
 * as the benchmark harness (@ipc/bench) measured them. {@link REFERENCE_MEASUREMENTS} is this package's
 * `measurements.json`, written by a full `pnpm bench --measurements packages/kit/measurements.json` run (the
 * README's "Which mechanism?" tables come from the same run); {@link measurementsFrom} reads a machine's own,
 * from the `measurements.json` (or `latest.json`) that `ipc bench` writes. This module reads JSON only: it
 * never loads the harness.
 */
import { createRequire } from "node:module";
import { InvalidArgumentError, type Scheme } from "@ipc/core";

/** One scheme's figures at one message size. */
export interface SizeNumbers {
  /** Round trip, median, microseconds. */
  readonly roundTripP50Us?: number | undefined;
  /** One-way stream of messages of this size: payload bytes per second. */
  readonly bytesPerSecond?: number | undefined;
  /** One-way stream of messages of this size: messages per second. */
  readonly messagesPerSecond?: number | undefined;
}

/** One scheme's numbers. */
export interface SchemeNumbers {
  /** Round trip of a 64-byte message, median, microseconds. */
  readonly roundTripP50Us?: number | undefined;
  /** One-way throughput of 64 KiB messages, bytes per second. */
  readonly bytesPerSecond?: number | undefined;
  /** The figures at each size measured, keyed by the size in bytes ("64", "65536", "1048576"). */
  readonly bySize?: Readonly<Record<string, SizeNumbers>> | undefined;
}

/** Numbers per scheme, and where they come from. */
export interface Measurements {
  /** How, where and when they were measured. */
  readonly source: string;
  /** The numbers of each scheme measured (a scheme left out counts as not measured). */
  readonly schemes: Readonly<Partial<Record<Scheme, SchemeNumbers>>>;
}

const isNumber = (value: unknown): boolean => value === undefined || (typeof value === "number" && Number.isFinite(value) && value >= 0);

function checkSizes(scheme: string, numbers: Record<string, unknown>): void {
  for (const key of ["roundTripP50Us", "bytesPerSecond", "messagesPerSecond"]) {
    if (!isNumber(numbers[key])) throw new InvalidArgumentError(`measurements: ${scheme}.${key} must be a number ≥ 0, got ${JSON.stringify(numbers[key])}`);
  }
}

/**
 * The measurements in a `measurements.json` written by the harness, or in the `measurements` field of its
 * `latest.json`. Throws `InvalidArgumentError` for anything else (a value of the wrong type, no schemes).
 */
export function measurementsFrom(json: unknown): Measurements {
  const object = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const candidate = (typeof object.measurements === "object" && object.measurements !== null ? object.measurements : object) as Record<string, unknown>;
  const { source, schemes } = candidate;
  if (typeof source !== "string" || typeof schemes !== "object" || schemes === null || Object.keys(schemes).length === 0) {
    throw new InvalidArgumentError("measurements: expected { source, schemes } as the benchmark harness writes them (measurements.json)");
  }
  for (const [scheme, numbers] of Object.entries(schemes as Record<string, unknown>)) {
    if (typeof numbers !== "object" || numbers === null) throw new InvalidArgumentError(`measurements: ${scheme} must be an object`);
    checkSizes(scheme, numbers as Record<string, unknown>);
    const bySize = (numbers as { bySize?: unknown }).bySize;
    if (bySize !== undefined && (typeof bySize !== "object" || bySize === null))
      throw new InvalidArgumentError(`measurements: ${scheme}.bySize must be an object`);
    for (const [size, at] of Object.entries((bySize ?? {}) as Record<string, unknown>)) {
      if (!/^\d+$/.test(size) || typeof at !== "object" || at === null)
        throw new InvalidArgumentError(`measurements: ${scheme}.bySize.${size} is not a size's figures`);
      checkSizes(`${scheme}.bySize.${size}`, at as Record<string, unknown>);
    }
  }
  return { source, schemes: schemes as Measurements["schemes"] };
}

/**
 * Measured by the harness (a full `pnpm bench`: 3 rounds, medians, the unpinned regime) on the toolkit's
 * development machine, a 2-vCPU VM shared with other work: absolute values are pessimistic; the order is what
 * `choose()` uses. `source` says when and how. On another machine, run `ipc bench` and pass its
 * `measurements.json` through {@link measurementsFrom}.
 */
export const REFERENCE_MEASUREMENTS: Measurements = measurementsFrom(createRequire(import.meta.url)("../measurements.json"));
