// The helpers besides the fault injectors (test/faults.test.ts), on real resources.
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { memoryPair } from "@ipc/core";
import { describe, expect, it } from "vitest";
import { Resources, checkPatterned, freePort, freePorts, makeCertificates, patterned } from "../src/index.js";

describe("patterned messages", () => {
  it("say their seq, and a changed byte is seen", () => {
    for (const size of [4, 5, 255, 256, 257, 4096, 10_000, 100_000]) {
      const message = patterned(7, size);
      expect(checkPatterned(message)).toBe(7);
      for (const at of [4, size >> 1, size - 1].filter((i) => i >= 4 && i < size)) {
        const corrupt = message.slice();
        corrupt[at] = corrupt[at]! ^ 1;
        expect(checkPatterned(corrupt), `byte ${at} of ${size}`).toBe(-1);
      }
      expect(checkPatterned(patterned(8, size)), "another seq").toBe(8);
    }
    expect(checkPatterned(new Uint8Array(3))).toBe(-1);
    // A view into a larger buffer is checked where it is.
    const inside = new Uint8Array(1000);
    inside.set(patterned(3, 500), 100);
    expect(checkPatterned(inside.subarray(100, 600))).toBe(3);
  });
});

describe("Resources", () => {
  it("aborts connections, then runs the clean-ups last-first, even when a task failed", async () => {
    const resources = new Resources();
    const [a, b] = memoryPair();
    resources.connection(a);
    const order: string[] = [];
    resources.cleanup(() => order.push("first"));
    resources.cleanup(() => order.push("second"));
    void resources.task(Promise.reject(new Error("a background task failed")));
    await resources.release();
    expect(order).toEqual(["second", "first"]);
    await expect(b.receive({ timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_RESET" });
  });
});

describe("ports and certificates", () => {
  it("freePorts gives distinct ports a server can listen on", async () => {
    const ports = await freePorts(3);
    expect(new Set(ports).size).toBe(3);
    const port = await freePort();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    await new Promise((resolve) => server.close(resolve));
  });

  it("makeCertificates: a server certificate for localhost that a client trusting the CA accepts", async () => {
    const certs = makeCertificates();
    try {
      const server = tls.createServer({ ...certs.server, ca: certs.ca, requestCert: true }, (socket) => socket.end("ok"));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as net.AddressInfo;
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: certs.ca, ...certs.client }, () => undefined);
        let text = "";
        socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
      });
      server.close();
      expect(reply).toBe("ok");
    } finally {
      certs.remove();
    }
  });
});

describe("@ipc/testing itself", () => {
  it("imports no test framework (it runs under any, or none)", () => {
    const src = fileURLToPath(new URL("../src/", import.meta.url));
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(readFileSync(join(src, file), "utf8"), file).not.toMatch(/from "(vitest|mocha|jest|node:test)"/);
    const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      dependencies?: object;
      peerDependencies?: object;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    expect(Object.keys({ ...manifest.dependencies })).toEqual(["@ipc/core"]);
    // fast-check, a property-testing library (not a framework), only for @ipc/testing/property, and optional.
    expect(Object.keys({ ...manifest.peerDependencies })).toEqual(["fast-check"]);
    expect(manifest.peerDependenciesMeta?.["fast-check"]?.optional).toBe(true);
  });
});
