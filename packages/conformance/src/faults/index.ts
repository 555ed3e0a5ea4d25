/**
 * Faults, injected for real, for anyone's tests: connections that break, corrupt, delay and stall
 * ({@link faultyConnection}, {@link faultyConnect}, {@link faultyListener}), a byte-level proxy in front
 * of a real socket server ({@link faultProxy}), and a server process to kill, restart, freeze and thaw
 * ({@link serverProcess}). None of it needs vitest.
 */
export { faultyConnect, faultyConnection, faultyListener, type FaultStats, type FaultyConnection, type MessageFaults } from "./connection.js";
export { faultProxy, type ByteFaults, type FaultProxy } from "./proxy.js";
export { serverProcess, type ServerProcess, type ServerProcessOptions } from "./process.js";
export { randomSource, type Amount } from "./random.js";
