import { describe, expect, it } from "vitest";
import { REFERENCE_MEASUREMENTS, SHM_MARGIN, choose, measurementsFrom, type Measurements, type Scheme } from "../src/index.js";

describe("choose() follows the decision tree", () => {
  it("across machines: TCP, with TLS advice", () => {
    const choice = choose({ sameHost: false });
    expect(choice.scheme).toBe("tcp");
    expect(choice.reasons.join(" ")).toMatch(/TLS|tls/);
  });

  it("work shared by several workers, or messages that must survive restarts: NATS (@ipc/nats)", () => {
    const shared = choose({ sameHost: false, sharedWork: true });
    expect(shared.scheme).toBe("nats");
    expect(shared.example).toMatch(/^nats:\/\/127\.0\.0\.1:/);
    expect(shared.reasons.join(" ")).toContain("queue group");
    expect(shared.alternatives).toContainEqual({ scheme: "tcp", when: "one server process is enough" });
    const local = choose({ sharedWork: true });
    expect(local.scheme).toBe("nats");
    expect(local.reasons.join(" ")).toContain("serveLocalFirst()");
    const durable = choose({ durable: true, messageSize: 1 << 20, latencyCritical: true });
    expect(durable.scheme).toBe("nats");
    expect(durable.reasons.join(" ")).toContain("JetStream");
    expect(choose({ sameHost: false }).alternatives.map((a) => a.scheme)).toEqual(["nats"]);
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

  it("large data is decided at the measured size nearest the message's: shm only where it measured faster", () => {
    // Shared memory ahead at 64 KiB, behind at 1 MiB (as on the development machine before issue 17).
    const m: Measurements = {
      source: "test",
      schemes: {
        shm: { bySize: { "65536": { bytesPerSecond: 4e9 }, "1048576": { bytesPerSecond: 0.07e9, roundTripP50Us: 14_300 } } },
        unix: { bySize: { "65536": { bytesPerSecond: 1.5e9 }, "1048576": { bytesPerSecond: 1.9e9, roundTripP50Us: 4_600 } } },
      },
    };
    expect(choose({ messageSize: 64 * 1024 }, { measurements: m }).scheme).toBe("shm");
    const big = choose({ messageSize: 1 << 20 }, { measurements: m });
    expect(big.scheme).toBe("unix");
    expect(big.reasons.join(" ")).toContain("for messages of 1 MiB it moves the most data: unix 1900 MB/s, shm 70 MB/s");
    expect(choose({ messageSize: 8 << 20 }, { measurements: m }).scheme).toBe("unix"); // nearest measured: 1 MiB
    expect(choose({ messageSize: 100 * 1024 }, { measurements: m }).scheme).toBe("shm"); // nearest measured: 64 KiB
    // Latency-critical 1 MiB messages: by the round trip at 1 MiB (14.3 ms over shm against 4.6 ms).
    const critical = choose({ messageSize: 1 << 20, latencyCritical: true }, { measurements: m });
    expect(critical.scheme).toBe("unix");
    expect(critical.reasons.join(" ")).toContain("it has the lowest round-trip latency (p50, messages of 1 MiB): unix 4600 µs, shm 14300 µs");
  });

  it("by the shipped numbers (measurements.json), each choice is the scheme measured fastest at that size, quoted", () => {
    const bySize = (scheme: Scheme, size: number) => REFERENCE_MEASUREMENTS.schemes[scheme]?.bySize?.[String(size)];
    for (const size of [64 * 1024, 1 << 20]) {
      // Shared memory where it measured at least SHM_MARGIN (10 %) faster; else the socket.
      const shm = bySize("shm", size)?.bytesPerSecond ?? 0;
      const unix = bySize("unix", size)?.bytesPerSecond ?? 0;
      const best: Scheme = shm >= unix * SHM_MARGIN ? "shm" : "unix";
      const choice = choose({ messageSize: size });
      expect(choice.scheme).toBe(best);
      expect(choice.reasons.join(" ")).toContain(`${best} ${((bySize(best, size)?.bytesPerSecond ?? 0) / 1e6).toFixed(0)} MB/s`);
      expect(choice.source).toBe(REFERENCE_MEASUREMENTS.source);
    }
    const fastest = (["shm", "unix"] as Scheme[]).sort((a, b) => (bySize(a, 64)?.roundTripP50Us ?? Infinity) - (bySize(b, 64)?.roundTripP50Us ?? Infinity))[0];
    expect(choose({ latencyCritical: true, messageSize: 64 }).scheme).toBe(fastest);
  });

  it("shared memory only where it measured at least 10 % faster (SHM_MARGIN): a near tie goes to the socket", () => {
    const m = (shm: number, unix: number): Measurements => ({ source: "test", schemes: { shm: { bytesPerSecond: shm }, unix: { bytesPerSecond: unix } } });
    expect(SHM_MARGIN).toBe(1.1);
    expect(choose({ messageSize: 1 << 20 }, { measurements: m(2.1e9, 2e9) }).scheme).toBe("unix");
    expect(choose({ messageSize: 1 << 20 }, { measurements: m(2.1e9, 2e9) }).reasons.join(" ")).toContain("less than 10 % ahead of unix");
    expect(choose({ messageSize: 1 << 20 }, { measurements: m(2.2e9, 2e9) }).scheme).toBe("shm");
    const latency = (shm: number, unix: number): Measurements => ({
      source: "test",
      schemes: { shm: { roundTripP50Us: shm }, unix: { roundTripP50Us: unix } },
    });
    expect(choose({ latencyCritical: true }, { measurements: latency(19, 20) }).scheme).toBe("unix");
    expect(choose({ latencyCritical: true }, { measurements: latency(2, 20) }).scheme).toBe("shm");
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

  it("measurementsFrom() reads the harness's measurements.json, or the measurements in its latest.json", () => {
    const json = {
      source: "@ipc/bench quick profile, d",
      date: "d",
      regime: "unpinned",
      schemes: { shm: { roundTripP50Us: 13, bytesPerSecond: 5e9, bySize: { "64": { roundTripP50Us: 13 }, "65536": { bytesPerSecond: 5e9 } } } },
    };
    expect(measurementsFrom(json).schemes.shm?.bySize?.["65536"]?.bytesPerSecond).toBe(5e9);
    expect(measurementsFrom({ tool: "@ipc/bench", rows: [], measurements: json }).source).toBe(json.source);
  });

  it("measurementsFrom() refuses what is not measurements: InvalidArgumentError", () => {
    for (const bad of [
      null,
      7,
      {},
      { tool: "ipc bench" },
      { source: "s", schemes: {} },
      { source: "s", schemes: { unix: { roundTripP50Us: "fast" } } },
      { source: "s", schemes: { unix: { bySize: { big: {} } } } },
    ]) {
      expect(() => measurementsFrom(bad)).toThrow(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    }
  });
});
