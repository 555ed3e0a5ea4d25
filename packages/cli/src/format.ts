/**
 * `--print hex|utf8|json|proto:<file>:<Type>`: how the CLI shows a message (and when, for `ipc trace`). A
 * message that does not decode as asked is shown in hex with the reason, never dropped and never fatal.
 */
import { rpc } from "@ipc/kit";
import { UsageError } from "./fail.js";

/** Local time to the microsecond: `HH:MM:SS.mmmuuu`, from one clock (so the lines of a trace stay in order). */
export function timestamp(ms = performance.timeOrigin + performance.now()): string {
  const now = new Date(Math.floor(ms));
  const micros = String(Math.floor((ms % 1) * 1000)).padStart(3, "0");
  return `${now.toTimeString().slice(0, 8)}.${String(now.getMilliseconds()).padStart(3, "0")}${micros}`;
}

/** Turns a message into one line of text. */
export type Printer = (message: Uint8Array) => string;

export const PRINT_HELP = "how to show messages: hex, utf8, json or proto:<file.proto>:<package.Type>";

function hex(message: Uint8Array, maxBytes: number): string {
  const shown = Buffer.from(message.subarray(0, maxBytes))
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1 ");
  return message.byteLength > maxBytes ? `${shown} … (+${message.byteLength - maxBytes} B)` : shown;
}

const ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * `text` with its control characters escaped (`\n`, `\x1b`): one message stays on one line, and a peer
 * cannot move the cursor or recolour the terminal of whoever watches `ipc serve` or `ipc trace`.
 */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding the control characters is this function's job.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

function clip(text: string, maxBytes: number): string {
  return text.length > maxBytes ? `${text.slice(0, maxBytes)} … (+${text.length - maxBytes} chars)` : text;
}

function protoPrinter(spec: string, maxBytes: number): Printer {
  const match = /^proto:(.+):([A-Za-z_][\w.]*)$/.exec(spec);
  if (match === null) throw new UsageError(`--print ${spec}: expected proto:<file.proto>:<package.Type>`);
  let type: rpc.protobuf.Type;
  try {
    type = rpc.protobuf.loadSync(match[1]!).lookupType(match[2]!);
  } catch (error) {
    throw new UsageError(`--print ${spec}: ${(error as Error).message.split("\n")[0]}`);
  }
  return (message) => {
    try {
      const object = type.toObject(type.decode(message), { longs: String, enums: String, bytes: String, defaults: true, json: true });
      return clip(`${type.name} ${JSON.stringify(object)}`, maxBytes);
    } catch (error) {
      return `not a ${type.name} (${(error as Error).message}): ${hex(message, maxBytes)}`;
    }
  };
}

/** The printer for a `--print` value; `maxBytes` bounds what one message shows. */
export function printer(spec: string, maxBytes = Number.POSITIVE_INFINITY): Printer {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  switch (spec) {
    case "hex":
      return (message) => hex(message, maxBytes);
    case "utf8":
      return (message) => {
        try {
          return clip(printable(decoder.decode(message)), maxBytes);
        } catch {
          return `not UTF-8: ${hex(message, maxBytes)}`;
        }
      };
    case "json":
      return (message) => {
        try {
          return clip(JSON.stringify(JSON.parse(decoder.decode(message))), maxBytes);
        } catch {
          return `not JSON: ${hex(message, maxBytes)}`;
        }
      };
    default:
      if (spec.startsWith("proto:")) return protoPrinter(spec, maxBytes);
      throw new UsageError(`--print ${spec}: ${PRINT_HELP}`);
  }
}
