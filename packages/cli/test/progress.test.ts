import { describe, expect, it } from "vitest";
import { progressReporter } from "../src/progress.js";

/** What a reporter writes to a stream that says it is (or is not) a terminal `columns` wide. */
function written(tty: boolean, columns: number | undefined): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const stream = { isTTY: tty, columns, write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

const progress = { done: 1, total: 4, round: 1, rounds: 2, label: "unix rtt 64 B" };

describe("ipc bench progress", () => {
  it("on a terminal: a bar redrawn in place, with the case's name", () => {
    const out = written(true, 120);
    progressReporter(out.stream)(progress);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequence is what is checked.
    expect(out.text()).toMatch(/^\r\x1b\[K\[█{8}░{22}\] 1\/4 round 1\/2 unix rtt 64 B$/);
  });

  it("on a terminal that does not say its width (0 columns), the case's name is still shown", () => {
    const out = written(true, 0);
    progressReporter(out.stream)(progress);
    expect(out.text()).toContain("unix rtt 64 B");
  });

  it("elsewhere: one plain line per run, and a failure on its own line", () => {
    const out = written(false, undefined);
    progressReporter(out.stream)({ ...progress, failure: "shm rtt 64 B: boom" });
    expect(out.text()).toBe("✖ shm rtt 64 B: boom\n[2/4] round 1/2: unix rtt 64 B\n");
  });
});
