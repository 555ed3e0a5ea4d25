import { describe, expect, it } from "vitest";
import { pipeTransport } from "../../src/index.js";
import { fixture, rejection } from "../helpers.js";

const decoder = new TextDecoder();

describe("pipeTransport (pipe:)", () => {
  it("connect('pipe:/cmd?arg=…') starts the command with those arguments; listen('pipe:') in it yields the parent once", async () => {
    const address = `pipe:${process.execPath}?arg=${encodeURIComponent(fixture("channel-child.mjs"))}&arg=listen`;
    const connection = await pipeTransport.connect(address, { stderr: "inherit" });
    expect(connection.remoteAddress).toBe(address);
    const report = JSON.parse(decoder.decode(await connection.receive({ timeout: 10_000 }))) as object;
    // After the one connection, accept() gives nothing more; stdio cannot carry a second channel.
    expect(report).toEqual({ address: "pipe:", next: "undefined", again: "IPC_ERR_ADDRESS_IN_USE" });
    await connection.send(new TextEncoder().encode("echo me"));
    expect(decoder.decode(await connection.receive({ timeout: 10_000 }))).toBe("echo me");
    await connection.close({ timeout: 10_000 });
  });

  it("looks a command without a slash up in PATH", async () => {
    const connection = await pipeTransport.connect("pipe:cat");
    await connection.send(new Uint8Array([1, 2, 3]));
    expect([...(await connection.receive({ timeout: 10_000 }))!]).toEqual([1, 2, 3]);
    await connection.close({ timeout: 10_000 });
  });

  it("refuses a command that does not exist with ConnectionRefusedError", async () => {
    const error = await rejection(pipeTransport.connect("pipe:/no/such/command"));
    expect(error.code).toBe("IPC_ERR_CONNECTION_REFUSED");
    expect((error.cause as { code?: string }).code).toBe("IPC_ERR_SPAWN");
  });

  it("rejects 'pipe:' without a command for connect, and with one for listen, with InvalidAddressError", async () => {
    expect((await rejection(pipeTransport.connect("pipe:"))).code).toBe("IPC_ERR_INVALID_ADDRESS");
    expect((await rejection(pipeTransport.listen("pipe:/bin/cat"))).code).toBe("IPC_ERR_INVALID_ADDRESS");
    expect((await rejection(pipeTransport.connect("unix:///tmp/x.sock"))).code).toBe("IPC_ERR_INVALID_ADDRESS");
  });
});
