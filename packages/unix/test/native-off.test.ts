/**
 * @ipc/unix with the native layer switched off (IPC_NATIVE=off), as on a platform without its system calls.
 * Runs in the "native-off" test project only (see the root vitest.config.ts): socket files work through
 * node:net, still 0600 without a window, and without peer credentials; abstract names and credential rules
 * fail with UnsupportedError.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connection, Listener } from "@ipc/core";
import { isSwitchedOff } from "@ipc/native";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, listen } from "../src/index.js";
import { checkPlantedLock, checkTakeoverRace } from "./takeover.js";

let dir: string;
const open: (Listener | Connection)[] = [];
const keep = <T extends Listener | Connection>(thing: T): T => (open.push(thing), thing);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ipc-unix-off-"));
});
afterEach(async () => {
  for (const thing of open.splice(0)) {
    if ("abort" in thing) thing.abort();
    else await thing.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(isSwitchedOff())("@ipc/unix without native calls", () => {
  it("listens and connects on a socket file, both ways, with large messages, and no peer credentials", async () => {
    const listener = keep(await listen(join(dir, "a.sock")));
    const client = keep(await connect(join(dir, "a.sock"), { timeout: 10_000 }));
    const server = keep((await listener.accept({ timeout: 10_000 }))!);
    expect(client.peer).toBeUndefined();
    expect(server.peer).toBeUndefined();
    const large = Buffer.alloc(1 << 20, "0123456789abcdef");
    await client.send(large);
    const received = await server.receive({ timeout: 10_000 });
    expect(large.equals(received!)).toBe(true); // not toEqual: a deep compare of 1 MiB takes seconds
    await server.send(new TextEncoder().encode("back"));
    expect(new TextDecoder().decode(await client.receive({ timeout: 10_000 }))).toBe("back");
  });

  it("creates the socket file with exactly its mode even under umask 0, and leaves nothing else beside it", async () => {
    const previous = process.umask(0);
    try {
      keep(await listen(join(dir, "private.sock")));
      keep(await listen(join(dir, "shared.sock"), { mode: 0o660 }));
    } finally {
      process.umask(previous);
    }
    expect(statSync(join(dir, "private.sock")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "shared.sock")).mode & 0o777).toBe(0o660);
    expect(readdirSync(dir).sort()).toEqual(["private.sock", "shared.sock"]);
  });

  it("refuses a path where a live server answers, and removes its file on close", async () => {
    const path = join(dir, "live.sock");
    const listener = await listen(path);
    await expect(listen(path)).rejects.toMatchObject({ code: "IPC_ERR_ADDRESS_IN_USE", message: expect.stringMatching(/live server/) });
    await listener.close();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("of 12 listen() calls on one stale path, 8 here and 4 in child processes, exactly one listens and the others get AddressInUseError, twice; no lock file is left", async () => {
    await checkTakeoverRace(dir);
  });

  it("never follows a symbolic link planted at the lock file's name: AddressInUseError naming it, nothing created", async () => {
    await checkPlantedLock(dir);
  });

  it("a path without room for the private directory beside it is an InvalidAddressError that says why", async () => {
    const path = join(dir, "x".repeat(100 - dir.length));
    await expect(listen(path)).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ADDRESS", message: expect.stringMatching(/private directory/) });
  });

  it("abstract names are an UnsupportedError naming the feature, on both sides", async () => {
    const name = `unix-abstract:ipc-off-${process.pid}`;
    await expect(listen(name)).rejects.toMatchObject({ code: "IPC_ERR_UNSUPPORTED", feature: "unix.abstract" });
    await expect(connect(name, { timeout: 1000 })).rejects.toMatchObject({ code: "IPC_ERR_UNSUPPORTED", feature: "unix.abstract" });
  });

  it.each([{ sameUser: true }, { allowUids: [0] }, { allowGids: [0] }, { authorize: () => true }])(
    "credential rules (%o) are an UnsupportedError, before anything is bound",
    async (rules) => {
      await expect(listen(join(dir, "rules.sock"), rules)).rejects.toMatchObject({
        code: "IPC_ERR_UNSUPPORTED",
        feature: "unix.peerCredentials",
        message: expect.stringMatching(/^peer credentials .*IPC_NATIVE=off/),
      });
      expect(readdirSync(dir)).toEqual([]);
    },
  );
});
