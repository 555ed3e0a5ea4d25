/**
 * The chart of `ipc bench`: a self-contained SVG (no script, no external font or style) with one bar
 * panel per measurement and size — round-trip p50, throughput, RPC calls/s — coloured by who made it:
 * @ipc, raw Node, or another library.
 */
import { summary, type BenchResults, type MetricName } from "./results.js";
import { sizeText } from "./runner.js";
import type { Family, Kind } from "./spec.js";

interface Bar {
  readonly label: string;
  readonly value: number;
  readonly family: Family;
}

interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly Bar[];
}

const COLORS: Readonly<Record<Family, string>> = { ours: "#2f6fdf", baseline: "#8a8f98", peer: "#e07b24" };
const WIDTH = 820;
const LABEL = 250;
const BAR_AREA = 430;
const ROW = 20;

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function format(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e7 ? 0 : 1)} M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(0)} k`;
  return value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
}

function panel(results: BenchResults, kind: Kind, metric: MetricName, size: number, title: string, unit: string, scale = 1): Panel {
  const bars = results.cases
    .filter((c) => c.kind === kind && c.size === size)
    .flatMap((c) => {
      const s = summary(c, metric);
      return s === undefined ? [] : [{ label: c.label, value: s.median / scale, family: c.family }];
    });
  return { title: `${title}, ${sizeText(size)}`, unit, bars };
}

function panels(results: BenchResults): Panel[] {
  return results.options.sizes
    .flatMap((size) => [
      panel(results, "rtt", "p50Us", size, "Round trip p50 (lower is better)", "µs"),
      panel(results, "stream", "bytesPerSecond", size, "Throughput (higher is better)", "MB/s", 1e6),
      panel(results, "stream", "perSecond", size, "Message rate (higher is better)", "msgs/s"),
      panel(results, "rpc", "perSecond", size, "RPC calls/s, 32 in flight (higher is better)", "calls/s"),
    ])
    .filter((p) => p.bars.length > 0);
}

function drawPanel(p: Panel, top: number): { svg: string; height: number } {
  const max = Math.max(...p.bars.map((b) => b.value), Number.MIN_VALUE);
  const parts = [`<text x="10" y="${top + 16}" class="title">${escape(p.title)}</text>`];
  p.bars.forEach((bar, i) => {
    const y = top + 26 + i * ROW;
    const width = Math.max(1, (bar.value / max) * BAR_AREA);
    parts.push(
      `<text x="${LABEL - 8}" y="${y + 13}" text-anchor="end">${escape(bar.label)}</text>`,
      `<rect x="${LABEL}" y="${y + 2}" width="${width.toFixed(1)}" height="${ROW - 6}" fill="${COLORS[bar.family]}"/>`,
      `<text x="${(LABEL + width + 6).toFixed(1)}" y="${y + 13}">${escape(`${format(bar.value)} ${p.unit}`)}</text>`,
    );
  });
  return { svg: parts.join("\n"), height: 36 + p.bars.length * ROW };
}

/** The chart as an SVG document. */
export function chart(results: BenchResults): string {
  const body: string[] = [];
  let y = 40;
  for (const p of panels(results)) {
    const drawn = drawPanel(p, y);
    body.push(drawn.svg);
    y += drawn.height;
  }
  const legend = (Object.keys(COLORS) as Family[])
    .map((family, i) => {
      const x = 10 + i * 150;
      const name = family === "ours" ? "@ipc" : family === "baseline" ? "raw Node" : "other libraries";
      return `<rect x="${x}" y="${y + 8}" width="12" height="12" fill="${COLORS[family]}"/><text x="${x + 18}" y="${y + 19}">${name}</text>`;
    })
    .join("");
  const e = results.environment;
  const footer = `${results.options.rounds} rounds, medians · node ${e.node} · ${e.cpus}× ${e.cpuModel} · ${e.date}`;
  const height = y + 50;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<style>text{font:12px sans-serif;fill:#222}.title{font-weight:bold;font-size:13px}.head{font-size:16px;font-weight:bold}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="24" class="head">ipc bench</text>`,
    body.join("\n"),
    legend,
    `<text x="10" y="${y + 40}">${escape(footer)}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
