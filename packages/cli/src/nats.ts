/**
 * `nats://host:port[/subject]` for the ipc command: `serve` prints (and with --echo answers) the messages on
 * a subject, `call` calls an @ipc/rpc method served on NATS (@ipc/nats), `trace` watches @ipc's RPC
 * subjects and the replies (docs/wire.md §9). On NATS every subscriber sees the traffic, so tracing needs
 * no proxy: `ipc trace nats://…` takes one address.
 */
import { connect as natsConnect, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { DEFAULT_RPC_PREFIX } from "@ipc/nats";
import { UsageError } from "./fail.js";
import { timestamp, type Printer } from "./format.js";
import { onSignals } from "./signals.js";

export const isNats = (url: string): boolean => /^nats:\/\//i.test(url);

/** The server's URL and the subject in the path (`nats://127.0.0.1:4222/orders.>` → `orders.>`). */
export function parseNatsUrl(url: string): { servers: string; subject: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`'${url}' is not a NATS address: write nats://host:port[/subject]`);
  }
  if (parsed.hostname === "") throw new UsageError(`'${url}' has no host: write nats://host:port[/subject]`);
  const subject = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (/\s/.test(subject)) throw new UsageError(`'${subject}' is not a NATS subject (no white space)`);
  return { servers: `nats://${parsed.host}`, subject: subject === "" ? undefined : subject };
}

/** Connects to the server of `url`, within `timeout` ms. */
export async function connectNats(url: string, timeout: number): Promise<NatsConnection> {
  const { servers } = parseNatsUrl(url);
  return natsConnect({ servers, timeout, name: "ipc" });
}

function headerText(headers: MsgHdrs | undefined): string {
  if (headers === undefined) return "";
  const entries = [...headers.keys()].map((key) => `${key}: ${headers.get(key)}`);
  return entries.length === 0 ? "" : ` [${entries.join(", ")}]`;
}

/** One line per message: time, subject, reply subject, headers, size, content. */
export function natsLine(m: Msg, print: Printer): string {
  const reply = m.reply === undefined || m.reply === "" ? "" : ` reply=${m.reply}`;
  return `${timestamp()} ${m.subject}${reply}${headerText(m.headers)} ${m.data.byteLength} B  ${print(m.data)}\n`;
}

/** `ipc serve nats://host:port/subject [--echo]`: prints every message on the subject; answers requests. */
export async function serveNatsSubject(url: string, options: { echo: boolean; once: boolean; print: Printer }): Promise<void> {
  const { subject } = parseNatsUrl(url);
  if (subject === undefined) throw new UsageError("ipc serve nats://host:port/<subject>: say which subject to serve (wildcards * and > allowed)");
  const nc = await connectNats(url, 10_000);
  const subscription = nc.subscribe(subject, options.once ? { max: 1 } : undefined);
  onSignals(() => nc.drain());
  await nc.flush();
  process.stderr.write(`listening on ${url} (subject ${subject})\n`);
  for await (const m of subscription) {
    process.stdout.write(natsLine(m, options.print));
    if (options.echo && m.reply !== undefined && m.reply !== "") m.respond(m.data);
  }
  await nc.drain().catch(() => undefined);
}

/**
 * `ipc trace nats://host:port[/prefix]`: every @ipc RPC message — calls on `<prefix>.>` (default
 * `ipc.rpc`) and what comes back on the inboxes — one line each, until interrupted.
 */
export async function traceNats(url: string, print: Printer): Promise<void> {
  const prefix = parseNatsUrl(url).subject ?? DEFAULT_RPC_PREFIX;
  const nc = await connectNats(url, 10_000);
  onSignals(() => nc.drain());
  const watch = async (subject: string): Promise<void> => {
    for await (const m of nc.subscribe(subject)) process.stdout.write(natsLine(m, print));
  };
  const watching = Promise.all([watch(`${prefix}.>`), watch("_INBOX.>")]);
  await nc.flush();
  process.stderr.write(`tracing ${url}: ${prefix}.> and the replies (_INBOX.>)\n`);
  await watching;
}
