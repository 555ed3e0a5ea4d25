/**
 * The worker program of the RPC cases: `node worker.js <module> [serve options as JSON]`. It imports the
 * fixture's module, serves the test service on the connection its `workerEndpoint()` returns (its link to
 * the parent), and exits with 0 once that connection is closed. Kept free of vitest: it is a plain program.
 */
import { pathToFileURL } from "node:url";
import type { Connection } from "@ipc/core";
import { serve, type ServeOptions, type Server } from "@ipc/rpc";
import { createTestService, testService } from "./service.js";

interface WorkerModule {
  workerEndpoint(): Promise<Connection>;
}

const [modulePath, optionsJson] = process.argv.slice(2);
const module = (await import(modulePath!.startsWith("/") ? pathToFileURL(modulePath!).href : modulePath!)) as WorkerModule;
const connection = await module.workerEndpoint();
let server: Server | undefined;
const service = createTestService(() => server);
server = serve(connection, testService, service.implementation, JSON.parse(optionsJson ?? "{}") as ServeOptions);
await server.closed;
process.exit(0);
