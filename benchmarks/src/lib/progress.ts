/**
 * Progress on stderr: a bar redrawn in place on a terminal, one plain line per case run otherwise (CI logs,
 * pipes), and a failed run's reason either way.
 */
import type { Progress } from "./runner.js";

const BAR = 30;

export function progressReporter(stream: NodeJS.WriteStream = process.stderr): (p: Progress) => void {
  const tty = stream.isTTY === true;
  const started = Date.now();
  return (p) => {
    if (p.failure !== undefined) stream.write(`${tty ? "\r\x1b[K" : ""}✖ ${p.failure}\n`);
    if (!tty) {
      if (p.done < p.total) stream.write(`[${p.done + 1}/${p.total}] round ${p.round}/${p.rounds}: ${p.label}\n`);
      return;
    }
    const filled = Math.round((p.done / p.total) * BAR);
    const seconds = (Date.now() - started) / 1000;
    const left = p.done === 0 ? "" : ` ~${Math.ceil((seconds / p.done) * (p.total - p.done))} s left`;
    const line = `[${"█".repeat(filled)}${"░".repeat(BAR - filled)}] ${p.done}/${p.total} round ${p.round}/${p.rounds}${left} ${p.label}`;
    // A terminal that does not say its width (columns 0: a pty with no size) gets 100.
    stream.write(`\r\x1b[K${line.slice(0, Math.max(20, (stream.columns || 100) - 1))}`);
    if (p.done === p.total) stream.write("\r\x1b[K");
  };
}
