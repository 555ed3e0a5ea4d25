/**
 * Progress of `ipc bench` on stderr: a bar redrawn in place on a terminal, one plain line per run
 * otherwise (CI logs, pipes), and a failed run's reason either way.
 */
import type { Progress } from "@ipc/bench";

const BAR = 30;

export function progressReporter(stream: NodeJS.WriteStream = process.stderr): (p: Progress) => void {
  const tty = stream.isTTY === true;
  return (p) => {
    if (p.failure !== undefined) stream.write(`${tty ? "\r\x1b[K" : ""}✖ ${p.failure}\n`);
    if (!tty) {
      if (p.done < p.total) stream.write(`[${p.done + 1}/${p.total}] round ${p.round}/${p.rounds}: ${p.label}\n`);
      return;
    }
    const filled = Math.round((p.done / p.total) * BAR);
    const line = `[${"█".repeat(filled)}${"░".repeat(BAR - filled)}] ${p.done}/${p.total} round ${p.round}/${p.rounds} ${p.label}`;
    // A terminal that does not say its width (columns 0: a pty with no size) gets 100.
    stream.write(`\r\x1b[K${line.slice(0, Math.max(20, (stream.columns || 100) - 1))}`);
    if (p.done === p.total) stream.write("\r\x1b[K");
  };
}
