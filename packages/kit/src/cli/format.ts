/**
 * `--print hex|utf8|json|proto:<file>:<Type>`: how the CLI shows a message. A message that does not decode
 * as asked is shown in hex with the reason, never dropped and never fatal.
 */
import { protobuf } from "@ipc/rpc";
import { UsageError } from "./fail.js";

/** Turns a message into one line of text. */
export type Printer = (message: Uint8Array) => string;

export const PRINT_HELP = "how to show messages: hex, utf8, json or proto:<file.proto>:<package.Type>";

function hex(message: Uint8Array, maxBytes: number): string {
  const shown = Buffer.from(message.subarray(0, maxBytes)).toString("hex").replace(/(..)(?!$)/g, "$1 ");
  return message.byteLength > maxBytes ? `${shown} … (+${message.byteLength - maxBytes} B)` : shown;
}

function clip(text: string, maxBytes: number): string {
  return text.length > maxBytes ? `${text.slice(0, maxBytes)} … (+${text.length - maxBytes} chars)` : text;
}

function protoPrinter(spec: string, maxBytes: number): Printer {
  const match = /^proto:(.+):([A-Za-z_][\w.]*)$/.exec(spec);
  if (match === null) throw new UsageError(`--print ${spec}: expected proto:<file.proto>:<package.Type>`);
  let type: protobuf.Type;
  try {
    type = protobuf.loadSync(match[1]!).lookupType(match[2]!);
  } catch (error) {
    throw new UsageError(`--print ${spec}: ${(error as Error).message.split("\n")[0]}`);
  }
  return (message) => {
    try {
      const object = type.toObject(type.decode(message), { longs: String, enums: String, bytes: String, defaults: true });
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
          return clip(decoder.decode(message), maxBytes);
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
