/**
 * Every fenced code block of every README and of every document in docs/ is what a user copies, so each one
 * must run as it is.
 *
 * - ```js / ```javascript / ```mjs blocks are written to a .mjs file inside examples/ (gitignored
 *   `.readme-snippets/`, where examples/node_modules links every @ipc package, run from its built dist/) and
 *   run with this Node in a child process, from an empty temporary directory: each must exit with 0 on
 *   its own and print something.
 * - ```ts / ```typescript blocks are not run; each must be preceded (in the paragraph right before it) by a
 *   sentence containing {@link TYPESCRIPT_MARKER}, so that a snippet cannot silently stop running by being
 *   relabelled.
 * - Shell, protobuf, JSON and text blocks are not run; a block with no language or another language fails, so
 *   every block is deliberately one of the above.
 * - Every package README says the package is ESM only (with {@link ESM_NOTE}), and what it says about
 *   `require()` holds: this Node (≥ 20.19, as `engines` says) loads every package with `require()`.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** The words a README says right before a ```ts block (in the paragraph that introduces it). */
const TYPESCRIPT_MARKER = "needs TypeScript";

/** The words every package README starts its ESM note with. */
const ESM_NOTE = "ESM only";

const RUN = new Set(["js", "javascript", "mjs"]);
const TYPESCRIPT = new Set(["ts", "typescript"]);
const NOT_CODE = new Set(["sh", "bash", "shell", "console", "proto", "json", "jsonc", "text"]);

/**
 * Milliseconds a snippet may take before it counts as hanging. Snippets take well under 2 s each; this
 * is generous because the suite must pass on a 2-core machine at load average ≥ 4, where a child Node
 * process can take seconds just to start.
 */
const SNIPPET_TIMEOUT = 120_000;

const root = fileURLToPath(new URL("../../", import.meta.url));
const workDir = fileURLToPath(new URL("../.readme-snippets/", import.meta.url));

interface Block {
  /** The README or document, relative to the repository root. */
  readonly readme: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  /** The paragraph right before the fence (blank lines skipped). */
  readonly intro: string;
}

/** The files git tracks (work in progress that is not committed yet is not held to these rules). */
const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" }).split("\0");

/** Every README.md git tracks, outside node_modules, and every Markdown document in docs/. */
function documents(): string[] {
  return tracked.filter((file) => (/(^|\/)readme\.md$/i.test(file) && !file.split("/").includes("node_modules")) || /^docs\/[^/]+\.md$/.test(file)).sort();
}

/** The fenced blocks of a Markdown file (``` or ~~~ fences, CommonMark's closing rule). */
function blocks(readme: string): Block[] {
  const lines = readFileSync(join(root, readme), "utf8").split("\n");
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[1]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length; i++) {
      const close = new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).exec(lines[i]!);
      if (close !== null) break;
      body.push(lines[i]!);
    }
    let j = start - 1;
    while (j >= 0 && lines[j]!.trim() === "") j--;
    const intro: string[] = [];
    while (j >= 0 && lines[j]!.trim() !== "") intro.unshift(lines[j--]!);
    found.push({ readme, line: start + 1, lang: open[2]!.toLowerCase(), code: `${body.join("\n")}\n`, intro: intro.join(" ") });
  }
  return found;
}

interface Outcome {
  /** How it ended, in words: "exit code 0", "did not exit within 120000 ms", … */
  readonly ending: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file` (or `-e` and code) with this Node from `cwd`; resolves with how it ended (never rejects). */
function runNode(file: string, cwd: string, args: string[] = []): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd, timeout: SNIPPET_TIMEOUT, killSignal: "SIGKILL", maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals | null; killed?: boolean }) | null;
      const code = failure === null ? 0 : typeof failure.code === "number" ? failure.code : null;
      const ending =
        failure?.killed === true
          ? `did not exit within ${SNIPPET_TIMEOUT} ms (killed)`
          : code !== null
            ? `exit code ${code}`
            : failure?.signal != null
              ? `signal ${failure.signal}`
              : `could not run: ${failure?.message}`;
      resolve({ ending, code, stdout, stderr });
    });
  });
}

const all = documents().flatMap(blocks);
const name = (block: Block): string => `${block.readme}:${block.line}`;

describe("README and docs/ snippets", () => {
  it("there are READMEs with runnable snippets", () => {
    expect(all.filter((block) => RUN.has(block.lang) && !block.readme.startsWith("docs/")).length).toBeGreaterThan(10);
  });

  it("there are documents in docs/ with runnable snippets", () => {
    expect(all.filter((block) => RUN.has(block.lang) && block.readme.startsWith("docs/")).length).toBeGreaterThan(5);
  });

  for (const block of all.filter((b) => RUN.has(b.lang))) {
    it(`${name(block)} runs as a plain .mjs file`, { timeout: SNIPPET_TIMEOUT + 30_000 }, async () => {
      if (!existsSync(join(root, "packages/core/dist/index.js"))) throw new Error("the packages are not built: run `pnpm run build` first");
      mkdirSync(workDir, { recursive: true });
      // Named per process too: two runs in one checkout must not run (or delete) each other's files.
      const file = join(workDir, `${block.readme.replace(/[^A-Za-z0-9]+/g, "-")}-${block.line}-${process.pid}.mjs`);
      writeFileSync(file, block.code);
      const cwd = mkdtempSync(join(tmpdir(), "ipc-readme-snippet-"));
      try {
        const result = await runNode(file, cwd);
        const report = `${name(block)}, written to ${file}, ended with ${result.ending}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
        expect(result.code, report).toBe(0);
        expect(result.stdout.trim(), `${report}\n(a snippet should print what it shows)`).not.toBe("");
        rmSync(file); // kept when it fails, to run it by hand
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    });
  }

  for (const block of all.filter((b) => TYPESCRIPT.has(b.lang))) {
    it(`${name(block)} (\`\`\`${block.lang}) is introduced as one that ${TYPESCRIPT_MARKER}`, () => {
      expect(
        block.intro,
        `${name(block)} is a \`\`\`${block.lang} block, which is not run: make it plain JavaScript (\`\`\`js), or say in the paragraph before it that it ${TYPESCRIPT_MARKER}`,
      ).toContain(TYPESCRIPT_MARKER);
    });
  }

  it("every other block is a shell, protobuf or text block", () => {
    const unknown = all.filter((b) => !RUN.has(b.lang) && !TYPESCRIPT.has(b.lang) && !NOT_CODE.has(b.lang));
    expect(
      unknown.map((b) => `${name(b)}: \`\`\`${b.lang || "(no language)"}`),
      "label each block: js (run), ts (with the marker sentence), or sh/proto/text (not run)",
    ).toEqual([]);
  });
});

describe("the packages are ESM only, and their READMEs say so", () => {
  const packages = tracked.filter((file) => /^packages\/[^/]+\/package\.json$/.test(file)).map((file) => join(root, file, ".."));

  for (const dir of packages) {
    const packageName = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string }).name;
    it(`${packageName}: require() loads it on this Node, as its README says`, { timeout: SNIPPET_TIMEOUT + 30_000 }, async () => {
      const readme = join(dir, "README.md");
      if (tracked.includes(relative(root, readme))) expect(readFileSync(readme, "utf8"), `${readme} should say "${ESM_NOTE}: …"`).toContain(ESM_NOTE);
      // The package loads itself by name (its "exports"), from its built dist/, as a CommonJS caller would.
      const result = await runNode("-e", dir, [`require(${JSON.stringify(packageName)})`]);
      expect(result.code, `require("${packageName}") ended with ${result.ending}\n${result.stderr}`).toBe(0);
    });
  }
});
