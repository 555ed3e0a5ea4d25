/**
 * Test helpers for @ipc and for anyone's tests of code that uses it, on real resources — none of it imports a
 * test framework, so it runs under vitest, node:test, mocha or a plain script alike:
 *
 * - Faults injected for real: connections that break, corrupt, delay and stall ({@link faultyConnection},
 *   {@link faultyConnect}, {@link faultyListener}); a byte-level proxy in front of a real socket server
 *   ({@link faultProxy}); a server process to kill, restart, freeze and thaw ({@link serverProcess}); all
 *   seeded ({@link randomSource}), so a failure found once can be replayed.
 * - {@link patterned} / {@link checkPatterned}: messages that say what they are, so reordering or corruption is
 *   seen on the message alone.
 * - {@link Resources}: what a test opened (connections, listeners, children, clean-ups), released pass or fail.
 * - {@link makeCertificates}: a CA, server and client certificates made at test time with openssl.
 * - {@link freePort} / {@link freePorts}: loopback ports nothing listens on.
 * - {@link startNatsServer} / {@link startNatsCluster}: real `nats-server` processes on loopback.
 *
 * @packageDocumentation
 */
export {
  faultyConnect,
  faultyConnection,
  faultyListener,
  type FaultStats,
  type FaultyConnection,
  type MessageFaults,
} from "./faults/connection.js";
export { faultProxy, type ByteFaults, type FaultProxy } from "./faults/proxy.js";
export { serverProcess, type ServerProcess, type ServerProcessOptions } from "./faults/process.js";
export { randomSource, type Amount } from "./faults/random.js";
export { checkPatterned, patterned } from "./messages.js";
export { Resources } from "./resources.js";
export { makeCertificates, type Certificates } from "./certificates.js";
export { freePort, freePorts } from "./ports.js";
export {
  META_LEADER,
  ROUTE_CREATED,
  natsServerBinary,
  natsServerMissing,
  startNatsCluster,
  startNatsServer,
  type NatsCluster,
  type NatsClusterOptions,
  type NatsServer,
  type NatsServerOptions,
} from "./nats-server.js";
export { PLAIN_PEER } from "./plain-peer.js";
