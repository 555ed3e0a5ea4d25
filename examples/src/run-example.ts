/** `pnpm example <name>`: runs examples/dist/<name>.js; without a name, lists the examples. */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here)
  .filter((f) => f.endsWith(".js") && f !== "run-example.js")
  .map((f) => f.slice(0, -3))
  .sort();
const name = process.argv[2];
if (name === undefined || !names.includes(name)) {
  if (name !== undefined) console.error(`no example named '${name}'`);
  console.error(`usage: pnpm example <name>\nexamples: ${names.join(", ")}`);
  process.exit(name === undefined ? 0 : 1);
}
const result = spawnSync(process.execPath, [join(here, `${name}.js`), ...process.argv.slice(3)], { stdio: "inherit" });
process.exit(result.status ?? 1);
