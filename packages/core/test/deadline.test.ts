import { describe, expect, it } from "vitest";
import { race, throwIfAborted, wait } from "../src/index.js";

describe("wait", () => {
  it("resolves with the operation's value and clears its timer", async () => {
    const value = await wait<number>("op", { timeout: 60_000 }, (resolve) => {
      setImmediate(() => resolve(7));
      return () => undefined;
    });
    expect(value).toBe(7);
  });

  it("rejects with TimeoutError after the timeout and cancels the operation", async () => {
    let cancelled = 0;
    const error = await wait("send", { timeout: 5 }, () => () => cancelled++).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "IPC_ERR_TIMEOUT", timeout: 5, message: "send timed out after 5 ms" });
    expect(cancelled).toBe(1);
  });

  it("rejects with AbortError carrying the signal's reason, and cancels", async () => {
    const controller = new AbortController();
    let cancelled = 0;
    const pending = wait("receive", { signal: controller.signal }, () => () => cancelled++);
    const reason = new Error("stop");
    controller.abort(reason);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "IPC_ERR_ABORTED", cause: reason, message: "receive was aborted" });
    expect(cancelled).toBe(1);
  });

  it("rejects at once, without starting, when the signal has already aborted", async () => {
    let started = false;
    const error = await wait("x", { signal: AbortSignal.abort("late") }, () => {
      started = true;
      return () => undefined;
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "IPC_ERR_ABORTED", cause: "late" });
    expect(started).toBe(false);
  });

  it("does not cancel an operation that already finished, nor reject after it", async () => {
    const controller = new AbortController();
    let cancelled = 0;
    const value = await wait<string>("op", { signal: controller.signal, timeout: 1 }, (resolve) => {
      resolve("done");
      return () => cancelled++;
    });
    controller.abort();
    expect(value).toBe("done");
    expect(cancelled).toBe(0);
  });

  it("disarm() ends the deadline but leaves the operation pending until it settles", async () => {
    const controller = new AbortController();
    let cancelled = 0;
    let finish!: (v: string) => void;
    const pending = wait<string>("op", { signal: controller.signal, timeout: 1 }, (resolve, _reject, disarm) => {
      disarm();
      finish = resolve;
      return () => cancelled++;
    });
    controller.abort();
    await new Promise((r) => setTimeout(r, 10));
    finish("late but fine");
    expect(await pending).toBe("late but fine");
    expect(cancelled).toBe(0);
  });

  it.each([-1, Number.NaN, "5" as unknown as number])("rejects a timeout of %s with InvalidArgumentError", (timeout) => {
    expect(() => wait("op", { timeout }, () => () => undefined)).toThrow(/timeout must be a number/);
  });

  it("treats Infinity as no limit", async () => {
    const value = await wait<number>("op", { timeout: Infinity }, (resolve) => {
      setTimeout(() => resolve(1), 5);
      return () => undefined;
    });
    expect(value).toBe(1);
  });
});

describe("race and throwIfAborted", () => {
  it("race returns the promise itself when there is no deadline", () => {
    const p = Promise.resolve(3);
    expect(race("x", p, undefined)).toBe(p);
  });

  it("race gives up with TimeoutError and calls onGiveUp", async () => {
    let gaveUp = false;
    const error = await race("close", new Promise(() => undefined), { timeout: 5 }, () => (gaveUp = true)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "IPC_ERR_TIMEOUT" });
    expect(gaveUp).toBe(true);
  });

  it("throwIfAborted throws AbortError only for an aborted signal", () => {
    expect(() => throwIfAborted(undefined, "x")).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal, "x")).not.toThrow();
    expect(() => throwIfAborted(AbortSignal.abort(), "connect")).toThrow("connect was aborted");
  });
});
