/**
 * The chart of a run: a self-contained SVG (no script, no external font or style) with one bar panel per
 * group (its first metric, in the run's first regime), coloured by role: @ipc, raw Node, reference loop,
 * other libraries.
 */
import type { Role } from "./case.js";
import type { Reportable } from "./report.js";
import { summaryLine } from "./report.js";

const COLORS: Readonly<Record<Role, string>> = { ours: "#2f6fdf", baseline: "#8a8f98", reference: "#c2c6cc", other: "#e07b24" };
const NAMES: Readonly<Record<Role, string>> = {
  ours: "@ipc",
  baseline: "raw Node (baseline)",
  reference: "plain reference loop",
  other: "other libraries / ways",
};
const WIDTH = 900;
const LABEL = 330;
const BAR_AREA = 430;
const ROW = 20;

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function format(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
}

interface Panel {
  readonly title: string;
  readonly bars: readonly { readonly label: string; readonly value: number; readonly unit: string; readonly role: Role }[];
}

function panels(run: Reportable): Panel[] {
  const regime = run.options.regimes.find((r) => run.rows.some((row) => row.regime === r));
  const byGroup = new Map<string, Panel["bars"][number][]>();
  const metricOf = new Map<string, string>();
  for (const row of run.rows) {
    if (row.regime !== regime) continue;
    if (!metricOf.has(row.group)) metricOf.set(row.group, row.metric);
    if (metricOf.get(row.group) !== row.metric) continue;
    byGroup.set(row.group, [...(byGroup.get(row.group) ?? []), { label: row.label, value: row.median, unit: row.unit, role: row.role }]);
  }
  return [...byGroup].map(([group, bars]) => ({ title: `${group} (${regime})`, bars }));
}

function drawPanel(p: Panel, top: number): { svg: string; height: number } {
  const max = Math.max(...p.bars.map((b) => b.value), Number.MIN_VALUE);
  const parts = [`<text x="10" y="${top + 16}" class="title">${escapeXml(p.title)}</text>`];
  p.bars.forEach((bar, i) => {
    const y = top + 26 + i * ROW;
    const width = Math.max(1, (bar.value / max) * BAR_AREA);
    parts.push(
      `<text x="${LABEL - 8}" y="${y + 13}" text-anchor="end">${escapeXml(bar.label.length > 52 ? `${bar.label.slice(0, 50)}…` : bar.label)}</text>`,
      `<rect x="${LABEL}" y="${y + 2}" width="${width.toFixed(1)}" height="${ROW - 6}" fill="${COLORS[bar.role]}"/>`,
      `<text x="${(LABEL + width + 6).toFixed(1)}" y="${y + 13}">${escapeXml(`${format(bar.value)} ${bar.unit}`)}</text>`,
    );
  });
  return { svg: parts.join("\n"), height: 36 + p.bars.length * ROW };
}

/** The chart as an SVG document. */
export function chart(run: Reportable, title = "@ipc benchmarks"): string {
  const body: string[] = [];
  let y = 40;
  for (const p of panels(run)) {
    const drawn = drawPanel(p, y);
    body.push(drawn.svg);
    y += drawn.height;
  }
  const legend = (Object.keys(COLORS) as Role[])
    .map(
      (role, i) =>
        `<rect x="${10 + i * 210}" y="${y + 8}" width="12" height="12" fill="${COLORS[role]}"/><text x="${28 + i * 210}" y="${y + 19}">${NAMES[role]}</text>`,
    )
    .join("");
  const height = y + 50;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<style>text{font:12px sans-serif;fill:#222}.title{font-weight:bold;font-size:13px}.head{font-size:16px;font-weight:bold}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="24" class="head">${escapeXml(title)}</text>`,
    body.join("\n"),
    legend,
    `<text x="10" y="${y + 40}" font-size="10">${escapeXml(summaryLine(run))}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
