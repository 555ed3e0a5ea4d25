/**
 * A pipeline (docs/guide.md#pipelines): `cat data.txt | grep pattern | sort | uniq -c` without a shell. The
 * stages are connected by OS pipes (the data never passes through this process), every stage's status is
 * reported, and like `set -o pipefail` the pipeline fails when any stage does.
 *
 *   pnpm example pipe-pipeline
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcessExitError, pipeline } from "@ipc/pipe";

const dir = mkdtempSync(join(tmpdir(), "pipe-pipeline-"));
try {
  const data = join(dir, "data.txt");
  writeFileSync(data, `${["pattern b", "other", "pattern a", "pattern b", "noise", "pattern b"].join("\n")}\n`);

  const { stdout, stages } = await pipeline([["cat", data], ["grep", "pattern"], ["sort"], ["uniq", "-c"]]);
  console.log(`Result:\n${stdout}`);
  console.log(`stages: ${stages.map((s) => `${s.command} → ${String(s.code)}`).join(", ")}`);

  // grep exits 1 when nothing matches: with pipefail, the pipeline fails and says which stage did.
  try {
    await pipeline([
      ["cat", data],
      ["grep", "absent"],
      ["wc", "-l"],
    ]);
  } catch (error) {
    if (!(error instanceof ProcessExitError)) throw error;
    console.log(`failed: ${error.message}`);
    console.log(`statuses: ${error.stages?.map((s) => String(s.code)).join(" ")}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
