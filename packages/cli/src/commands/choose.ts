/** `ipc choose`: the recommendation of `choose()` from the shell, optionally by this machine's numbers. */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { choose, measurementsFrom, type Measurements } from "@ipc/kit";
import { UsageError, positiveInteger, report } from "../fail.js";

interface ChooseFlags {
  remote: boolean;
  parentChild: boolean;
  size: string;
  latency: boolean;
  crossLanguage: boolean;
  sharedWork: boolean;
  durable: boolean;
  results?: string;
}

/** The measurements in `file`: the measurements.json (or latest.json) that ipc bench writes. */
function load(file: string): Measurements {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return measurementsFrom(json);
  } catch (error) {
    throw new UsageError(`${file} does not hold the measurements ipc bench writes (${(error as Error).message})`);
  }
}

export function chooseCommand(program: Command): void {
  program
    .command("choose")
    .description("recommend a transport for your needs, with the reasons and the numbers behind them")
    .option("--remote", "the processes are on different machines", false)
    .option("--parent-child", "one process starts the other", false)
    .option("--size <bytes>", "a typical message's size", "1024")
    .option("--latency", "round-trip latency is critical", false)
    .option("--cross-language", "the other side is written in another language", false)
    .option("--shared-work", "several worker processes (possibly on several machines) share the calls", false)
    .option("--durable", "messages must survive a restart of either process", false)
    .option("--results <file>", "decide by this machine's numbers: the measurements.json (or latest.json) of ipc bench")
    .action((flags: ChooseFlags) => {
      try {
        const choice = choose(
          {
            sameHost: !flags.remote,
            parentChild: flags.parentChild,
            messageSize: positiveInteger("--size", flags.size),
            latencyCritical: flags.latency,
            crossLanguage: flags.crossLanguage,
            sharedWork: flags.sharedWork,
            durable: flags.durable,
          },
          { measurements: flags.results === undefined ? undefined : load(flags.results) },
        );
        const lines = [`${choice.scheme}:  (e.g. ${choice.example})`, ...choice.reasons.map((r) => `  - ${r}`)];
        for (const a of choice.alternatives) lines.push(`  or ${a.scheme}: when ${a.when}`);
        lines.push(`numbers: ${choice.source}`);
        process.stdout.write(`${lines.join("\n")}\n`);
      } catch (error) {
        report("choose", error);
      }
    });
}
