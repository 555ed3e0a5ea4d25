import { describe, expect, it } from "vitest";
import { REFERENCE_MEASUREMENTS, choose, measurementsFrom, type BenchResults } from "../src/index.js";

describe("choose() follows the seed's decision tree", () => {
  it("across machines: TCP, with TLS advice", () => {
    const choice = choose({ sameHost: false });
    expect(choice.scheme).toBe("tcp");
    expect(choice.reasons.join(" ")).toMatch(/TLS|tls/);
  });

  it("parent and child with ordinary messages: a pipe", () => {
    expect(choose({ parentChild: true }).scheme).toBe("pipe");
  });

  it("unrelated local processes: a Unix socket, with the measured latencies in the reasons", () => {
    const choice = choose({});
    expect(choice.scheme).toBe("unix");
    expect(choice.reasons.join(" ")).toMatch(/\d+(\.\d)? µs/);
    expect(choice.source).toBe(REFERENCE_MEASUREMENTS.source);
  });

  it("another language: stdio or a socket, with shm only as an alternative", () => {
    expect(choose({ crossLanguage: true }).scheme).toBe("unix");
    expect(choose({ crossLanguage: true, parentChild: true }).scheme).toBe("pipe");
    expect(choose({ crossLanguage: true, latencyCritical: true }).alternatives.map((a) => a.scheme)).toContain("shm");
  });

  it("large data goes to whichever local mechanism measured the most bytes per second", () => {
    const fastShm = { source: "test", schemes: { shm: { bytesPerSecond: 9e9 }, unix: { bytesPerSecond: 1e9 } } };
    const fastUnix = { source: "test", schemes: { shm: { bytesPerSecond: 1e9 }, unix: { bytesPerSecond: 2e9 } } };
    expect(choose({ messageSize: 1 << 20 }, { measurements: fastShm }).scheme).toBe("shm");
    expect(choose({ messageSize: 1 << 20 }, { measurements: fastUnix }).scheme).toBe("unix");
    expect(choose({ messageSize: 1 << 20 }, { measurements: fastShm }).reasons.join(" ")).toContain("9000 MB/s");
  });

  it("by the reference numbers, large data and critical latency go to shared memory (the seed's high-performance branch)", () => {
    expect(choose({ messageSize: 1 << 20 }).scheme).toBe("shm");
    expect(choose({ latencyCritical: true }).scheme).toBe("shm");
    expect(choose({ latencyCritical: true, parentChild: true }).scheme).toBe("shm");
  });

  it("critical latency goes to the lowest measured round trip", () => {
    const m = { source: "test", schemes: { shm: { roundTripP50Us: 30 }, unix: { roundTripP50Us: 20 }, pipe: { roundTripP50Us: 10 } } };
    expect(choose({ latencyCritical: true }, { measurements: m }).scheme).toBe("unix");
    expect(choose({ latencyCritical: true, parentChild: true }, { measurements: m }).scheme).toBe("pipe");
  });

  it("a messageSize that is not a number of bytes ≥ 0 is an InvalidArgumentError", () => {
    for (const messageSize of [-1, Number.NaN, Number.POSITIVE_INFINITY, "64" as unknown as number]) {
      expect(() => choose({ messageSize })).toThrow(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    }
    expect(choose({ messageSize: 0 }).scheme).toBe("unix");
  });

  it("measurementsFrom() reads ipc bench's JSON", () => {
    const results = {
      tool: "ipc bench",
      version: 1,
      environment: { date: "d", node: "v20", cpus: 2, cpuModel: "cpu", pinning: "none", loadBefore: [], loadAfter: [], seconds: 1 },
      options: { rounds: 1, duration: 10, sizes: [64, 65536], subjects: ["shm"] },
      cases: [
        { subject: "shm", label: "shm", family: "ours", kind: "rtt", size: 64, rounds: [{ p50Us: 12 }, { p50Us: 14 }, { p50Us: 13 }], errors: [] },
        { subject: "shm", label: "shm", family: "ours", kind: "stream", size: 65536, rounds: [{ bytesPerSecond: 5e9 }], errors: [] },
      ],
    } satisfies BenchResults;
    const m = measurementsFrom(results);
    expect(m.schemes.shm).toEqual({ roundTripP50Us: 13, bytesPerSecond: 5e9 });
    expect(m.source).toContain("ipc bench");
  });
});
