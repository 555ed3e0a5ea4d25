import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { MessageRing, SharedMemory } from "../src/index.js";
import { cleanUp, uniqueName } from "./helpers.js";

afterEach(cleanUp);

describe("MessageRing cleanup", () => {
  it("destroy() unmaps the ring and removes its name, so the same name can be created again; it is safe to repeat", () => {
    const name = uniqueName("cleanup-destroy");
    for (let run = 0; run < 2; run++) {
      const ring = MessageRing.create({ name, capacity: 1024 });
      expect(existsSync(`/dev/shm/${name}`)).toBe(true);
      ring.destroy();
      ring.destroy();
      expect(existsSync(`/dev/shm/${name}`)).toBe(false);
      expect(() => ring.tryRead()).toThrow(expect.objectContaining({ code: "IPC_ERR_CLOSED" }));
    }
  });

  it("unlink() removes the name while both sides keep using the ring; a second unlink() is NotFoundError", () => {
    const name = uniqueName("cleanup-unlink");
    using producer = MessageRing.create({ name, capacity: 1024 });
    using consumer = MessageRing.open(name);
    consumer.unlink();
    expect(existsSync(`/dev/shm/${name}`)).toBe(false);
    expect(producer.tryWrite(new Uint8Array([5]))).toBe(true);
    expect(consumer.tryRead()).toEqual(new Uint8Array([5]));
    expect(() => producer.unlink()).toThrow(expect.objectContaining({ code: "IPC_ERR_NOT_FOUND" }));
  });

  it("using: the creator's ring is destroyed at the end of the scope, an opened one only closed", async () => {
    const name = uniqueName("cleanup-using");
    let opened: MessageRing | undefined;
    {
      using created = MessageRing.create({ name, capacity: 1024 });
      {
        await using reader = MessageRing.open(name);
        opened = reader;
      }
      expect(opened.memory?.closed).toBe(true);
      expect(existsSync(`/dev/shm/${name}`)).toBe(true); // the opener left the name to its creator
      expect(created.memory?.closed).toBe(false);
    }
    expect(existsSync(`/dev/shm/${name}`)).toBe(false);
  });

  it("a name that is taken is AlreadyExistsError whose message says what to do and whose cause is the OS error (EEXIST)", () => {
    const name = uniqueName("cleanup-taken");
    using ring = MessageRing.create({ name, capacity: 1024 });
    let error: unknown;
    try {
      MessageRing.create({ name, capacity: 1024 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({
      name: "AlreadyExistsError",
      code: "IPC_ERR_ALREADY_EXISTS",
      message: expect.stringMatching(/already exists \(EEXIST from shm_open\(\)\).*SharedMemory\.unlink/),
      cause: { code: "EEXIST", syscall: "shm_open" },
    });
    expect((error as Error).cause).not.toHaveProperty("name", "ConnectionResetError");
    expect(() => SharedMemory.open(uniqueName("cleanup-missing"))).toThrow(
      expect.objectContaining({ code: "IPC_ERR_NOT_FOUND", cause: expect.objectContaining({ code: "ENOENT" }) }),
    );
    ring.tryWrite(new Uint8Array(1));
  });
});
