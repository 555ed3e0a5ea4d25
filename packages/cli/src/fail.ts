/**
 * How the CLI reports failure: one line on stderr and a non-zero exit code, never a stack trace.
 * Bad input — a `UsageError`, an invalid address or argument — exits 2; a failure at run time exits 1.
 */
import { isIpcError } from "@ipc/kit";

/** Thrown for bad command-line input: a malformed option value, a missing file, unreadable JSON. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Error codes that mean the command line itself was wrong (exit 2, like a UsageError). */
const BAD_INPUT: ReadonlySet<string> = new Set(["IPC_ERR_INVALID_ADDRESS", "IPC_ERR_INVALID_ARGUMENT"]);

/** The one line that describes `error` to a person. */
export function describe(error: unknown): string {
  if (isIpcError(error)) {
    // An RPC failure says its status (UNAVAILABLE, DEADLINE_EXCEEDED…), which says more than IPC_ERR_RPC.
    const status = (error as { status?: unknown }).status;
    return `${error.message} (${typeof status === "string" ? status : error.code})`;
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** Writes `ipc <command>: <what went wrong>` and sets the exit code. */
export function report(command: string, error: unknown): void {
  process.stderr.write(`ipc ${command}: ${describe(error).split("\n")[0]}\n`);
  process.exitCode = error instanceof UsageError || (isIpcError(error) && BAD_INPUT.has(error.code)) ? 2 : 1;
}

/** Parses a positive integer option, or throws a UsageError naming it. */
export function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${name} must be a positive integer, got '${text}'`);
  }
  return value;
}

/** Parses an integer option that may be 0, or throws a UsageError naming it. */
export function nonNegativeInteger(name: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new UsageError(`${name} must be 0 or a positive integer, got '${text}'`);
  }
  return value;
}
