/**
 * For the NATS examples: the NATS server at `NATS_URL`, or, without it, a `nats-server` of this machine
 * started on a free loopback port (in-memory, no persistence) and stopped when the example ends.
 */
import { spawn, spawnSync } from "node:child_process";

export interface ExampleNatsServer {
  readonly url: string;
  stop(): void;
}

/** `nats-server` on PATH (Debian: apt-get install nats-server), or undefined. */
export function natsServerInstalled(): boolean {
  return ["nats-server", "/usr/sbin/nats-server"].some((binary) => spawnSync(binary, ["--version"], { stdio: "ignore" }).status === 0);
}

export async function natsServer(): Promise<ExampleNatsServer> {
  if (process.env.NATS_URL) return { url: process.env.NATS_URL, stop: () => undefined };
  const binary = spawnSync("nats-server", ["--version"], { stdio: "ignore" }).status === 0 ? "nats-server" : "/usr/sbin/nats-server";
  const child = spawn(binary, ["-a", "127.0.0.1", "-p", "-1"], { stdio: ["ignore", "ignore", "pipe"] });
  process.once("exit", () => child.kill("SIGKILL"));
  const url = await new Promise<string>((resolve, reject) => {
    let log = "";
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`nats-server exited (${code}):\n${log}`)));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      log += chunk;
      const port = /Listening for client connections on [^\s]*:(\d+)/.exec(log)?.[1];
      if (port !== undefined && /Server is ready/.test(log)) resolve(`nats://127.0.0.1:${port}`);
    });
  });
  child.stderr.resume();
  return { url, stop: () => child.kill("SIGTERM") };
}
