import { InvalidArgumentError } from "./errors.js";
import type { ConnectionOptions, ListenOptions } from "./types.js";

/** Default `maxMessageSize`: 16 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
/**
 * The largest `maxMessageSize`: 4 GiB − 2, the largest length the 4-byte prefix can express, as 0xFFFFFFFF
 * announces an end reason instead of a frame (docs/wire.md §2.4).
 */
export const MAX_MESSAGE_SIZE_LIMIT = 0xffff_fffe;
/** Default `highWaterMark`: 256 KiB per direction. */
export const DEFAULT_HIGH_WATER_MARK = 256 * 1024;
/** Default listener `backlog`. */
export const DEFAULT_BACKLOG = 128;

/** {@link ConnectionOptions} with every default applied and every value checked. */
export interface ResolvedConnectionOptions {
  readonly maxMessageSize: number;
  readonly highWaterMark: number;
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Applies the defaults of {@link ConnectionOptions} and rejects out-of-range values. */
export function resolveConnectionOptions(options: ConnectionOptions | undefined): ResolvedConnectionOptions {
  return {
    maxMessageSize: integerOption("maxMessageSize", options?.maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE, 0, MAX_MESSAGE_SIZE_LIMIT),
    highWaterMark: integerOption("highWaterMark", options?.highWaterMark, DEFAULT_HIGH_WATER_MARK, 1, 2 ** 31 - 1),
  };
}

/** Applies the default of {@link ListenOptions.backlog} and checks it. */
export function resolveBacklog(options: ListenOptions | undefined): number {
  return integerOption("backlog", options?.backlog, DEFAULT_BACKLOG, 1, 65_535);
}

/**
 * What each message of a `Connection.sendBatch` costs against the batch bound on top of its bytes, so a
 * batch of many empty messages is bounded too (the same overhead the receiving side charges per queued message).
 */
export const BATCH_MESSAGE_OVERHEAD = 128;
