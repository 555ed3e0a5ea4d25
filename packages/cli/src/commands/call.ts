/** `ipc call <url> <Service/Method> --proto <file> --data '<json>'`: one RPC from the shell. */
import type { Command } from "commander";
import { connect, rpc } from "@ipc/kit";
import { UsageError, positiveInteger, report } from "../fail.js";
import { message } from "../request-json.js";
import { connectNats, isNats } from "../nats.js";
import { createNatsClient } from "@ipc/nats";

const { createClient, loadService } = rpc;
type DynamicCall = rpc.DynamicCall;
type Method = rpc.Method;
type Service = rpc.Service;
type ProtoType = rpc.protobuf.Type;
type ProtoMessage = rpc.protobuf.Message;

interface CallFlags {
  proto?: string;
  data: string;
  timeout: string;
}

const JSON_OPTIONS = { longs: String, enums: String, bytes: String, defaults: true, json: true };

/** "pkg.Service/Method", "/pkg.Service/Method" or "pkg.Service.Method" → [service, method]. */
function splitTarget(target: string): [string, string] {
  const match = /^\/?([A-Za-z_][\w.]*)[/.]([A-Za-z_]\w*)$/.exec(target);
  if (match === null) throw new UsageError(`'${target}' is not a method: write it as package.Service/Method`);
  return [match[1]!, match[2]!];
}

function findMethod(service: Service, name: string): [string, Method] {
  const entry = Object.entries(service.methods).find(([key, m]) => m.name === name || key === name);
  if (entry === undefined) {
    const known = Object.values(service.methods)
      .map((m) => m.name)
      .join(", ");
    throw new UsageError(`${service.name} has no method ${name} (it has: ${known})`);
  }
  return entry;
}

function parseData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--data is not valid JSON: ${(error as Error).message}`);
  }
}

/** One request message from JSON, checked field by field against its type first. */
function request(type: ProtoType, value: unknown, where: string): ProtoMessage {
  const checked = message(type, value, where);
  try {
    return type.fromObject(checked);
  } catch (error) {
    throw new UsageError(`${where} does not fit ${type.fullName.replace(/^\./, "")}: ${(error as Error).message}`);
  }
}

/** The request(s) of the call: one message, or an array of them for a client or bidirectional stream. */
function requests(method: Method, data: unknown): unknown {
  const type = method.requestType as unknown as ProtoType;
  const streaming = method.kind === "client-stream" || method.kind === "bidi";
  if (!streaming) return request(type, data, "--data");
  if (!Array.isArray(data)) throw new UsageError(`${method.name} takes a stream: --data must be a JSON array of ${method.requestTypeName}`);
  return data.map((item, i) => request(type, item, `--data[${i}]`));
}

async function call(url: string, target: string, flags: CallFlags): Promise<void> {
  if (flags.proto === undefined) throw new UsageError("--proto <file> is required: the .proto file that declares the service");
  const [serviceName, methodName] = splitTarget(target);
  const timeout = positiveInteger("--timeout", flags.timeout);
  let service: Service;
  try {
    service = loadService(flags.proto, serviceName);
  } catch (error) {
    throw new UsageError((error as Error).message.split("\n")[0]!);
  }
  const [key, method] = findMethod(service, methodName);
  const outgoing = requests(method, parseData(flags.data));
  const print = (response: unknown): void => {
    const type = method.responseType as unknown as ProtoType;
    process.stdout.write(`${JSON.stringify(type.toObject(response as ProtoMessage, JSON_OPTIONS))}\n`);
  };
  // Over NATS, the same methods through @ipc/nats (docs/wire.md §9.4); elsewhere a connection and @ipc/rpc.
  const nats = isNats(url) ? await connectNats(url, timeout) : undefined;
  const connection = nats === undefined ? await connect(url, { timeout }) : undefined;
  const client = nats !== undefined ? createNatsClient(service, nats) : createClient(service, connection!);
  try {
    const invoke = (client as unknown as Record<string, DynamicCall>)[key]!;
    const result = invoke(outgoing as never, { timeout });
    if (method.kind === "server-stream" || method.kind === "bidi") {
      for await (const response of result as AsyncIterable<unknown>) print(response);
    } else print(await result);
  } finally {
    await client.close({ timeout: 1000 }).catch(() => (connection === undefined ? client.abort() : connection.abort()));
    await nats?.close();
  }
}

export function callCommand(program: Command): void {
  program
    .command("call")
    .description("call a method of an @ipc/rpc server and print the response as JSON")
    .argument("<url>", "the server's address (see ipc serve --help), or nats://host:port for a service served on NATS (@ipc/nats)")
    .argument("<method>", "package.Service/Method")
    .option("--proto <file>", "the .proto file that declares the service")
    .option("-d, --data <json>", "the request as JSON (a JSON array of requests for a client stream)", "{}")
    .option("-t, --timeout <ms>", "deadline of the call (and limit on connecting)", "5000")
    .addHelpText("after", `\nExample:\n  ipc call unix:///tmp/calc.sock calc.Calculator/Add --proto calculator.proto --data '{"a":19,"b":23}'`)
    .action(async (url: string, target: string, flags: CallFlags) => {
      try {
        await call(url, target, flags);
      } catch (error) {
        report("call", error);
      }
    });
}
