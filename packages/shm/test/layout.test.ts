import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { HEADER_SIZE, SharedMemory, array, struct } from "../src/index.js";
import { cleanUp, uniqueName } from "./helpers.js";

const run = promisify(execFile);
afterEach(cleanUp);
const hasGcc = spawnSync("gcc", ["--version"]).status === 0;

// A SharedData { counter: u64, values: [i32; 10], flag: bool } (docs/guide.md#struct-layouts), plus nesting.
const Point = struct({ x: "f64", y: "f32", tag: "u8" }, "point");
const SharedData = struct({ counter: "u64", values: array("i32", 10), flag: "bool", where: Point, trail: array(Point, 3), small: "i16" });

describe("struct layouts", () => {
  it("places fields with C alignment and padding", () => {
    expect(Point.size).toBe(16);
    expect(Point.align).toBe(8);
    expect([
      SharedData.offsetOf("counter"),
      SharedData.offsetOf("values"),
      SharedData.offsetOf("flag"),
      SharedData.offsetOf("where"),
      SharedData.offsetOf("trail"),
      SharedData.offsetOf("small"),
    ]).toEqual([0, 8, 48, 56, 72, 120]);
    expect(SharedData.size).toBe(128);
    expect(struct({ a: "u8", b: "u32", c: "u8" }).size).toBe(12);
    expect(struct({ a: "u8", b: "u16" }).offsetOf("b")).toBe(2);
  });

  it("reads and writes fields, arrays and nested structs, and snapshots them", () => {
    const name = uniqueName("layout");
    using shm = SharedMemory.create({ name, size: SharedData.size });
    const data = SharedData.view(shm.buffer);
    data.counter = 2n ** 63n;
    data.values.set([1, -2, 3]);
    data.flag = true;
    data.where.x = 1.5;
    data.trail[2]!.tag = 255;
    expect(data.snapshot()).toMatchObject({ counter: 2n ** 63n, values: [1, -2, 3, 0, 0, 0, 0, 0, 0, 0], flag: true, where: { x: 1.5, y: 0, tag: 0 } });
    expect(data.trail[2]!.tag).toBe(255);
  });

  it("atomic operations on integer fields", () => {
    const name = uniqueName("atomic");
    using shm = SharedMemory.create({ name, size: SharedData.size });
    const data = SharedData.view(shm.buffer);
    const counter = data.atomic("counter");
    expect(counter.add(5n)).toBe(0n);
    expect(counter.compareExchange(5n, 7n)).toBe(5n);
    expect(counter.load()).toBe(7n);
    expect(data.atomic("small").sub(3)).toBe(0);
    expect(data.small).toBe(-3);
    expect(() => (data as unknown as { atomic(n: string): unknown }).atomic("flag")).toThrow(/not an integer field/);
  });

  it("rejects bad declarations and misplaced views", () => {
    expect(() => struct({ atomic: "u8" })).toThrow(/reserved/);
    expect(() => struct({ a: "u128" as "u8" })).toThrow(/unknown type 'u128'/);
    expect(() => struct({ a: array("u8", 0) })).toThrow(/expected a scalar name/);
    const buffer = new ArrayBuffer(200);
    expect(() => SharedData.view(buffer, 4)).toThrow(/8-byte alignment/);
    expect(() => SharedData.view(buffer, 80)).toThrow(/needs 128 bytes at offset 80/);
  });

  it.skipIf(!hasGcc)("a C program built from toC() reads and writes the same memory (skipped without gcc)", async () => {
    const name = uniqueName("c-interop");
    using shm = SharedMemory.create({ name, size: SharedData.size });
    const data = SharedData.view(shm.buffer);
    data.counter = 1234567890123n;
    data.values.set([7, 8, 9]);
    data.flag = true;
    data.where.x = 2.5;
    data.where.tag = 42;
    data.trail[1]!.y = -1.25;
    const dir = mkdtempSync(join(tmpdir(), "ipc-c-"));
    try {
      writeFileSync(join(dir, "shared.h"), SharedData.toC("shared_data"));
      writeFileSync(
        join(dir, "reader.c"),
        `#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "shared.h"
int main(int argc, char **argv) {
  int fd = shm_open(argv[1], O_RDWR, 0);
  if (fd < 0) { perror("shm_open"); return 1; }
  char *base = mmap(NULL, ${HEADER_SIZE} + sizeof(struct shared_data), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  struct shared_data *d = (struct shared_data *)(base + ${HEADER_SIZE});
  printf("%" PRIu64 " %d %d %d %d %.2f %u %.2f\\n", d->counter, d->values[0], d->values[1], d->values[2], d->flag, d->where.x, d->where.tag, d->trail[1].y);
  d->counter += 1; d->values[9] = -99; d->small = 300;
  return 0;
}
`,
      );
      await run("gcc", ["-std=c11", "-Wall", "-Werror", "-o", join(dir, "reader"), join(dir, "reader.c"), "-lrt"]);
      const { stdout } = await run(join(dir, "reader"), [`/${name}`]);
      expect(stdout.trim()).toBe("1234567890123 7 8 9 1 2.50 42 -1.25");
      expect(data.counter).toBe(1234567890124n);
      expect(data.values[9]).toBe(-99);
      expect(data.small).toBe(300);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
