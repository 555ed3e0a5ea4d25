/** Message sizes as the report and the case ids write them. */

/** "64 B", "64 KiB", "1 MiB". */
export function sizeText(size: number): string {
  if (size >= 1 << 20 && size % (1 << 20) === 0) return `${size >> 20} MiB`;
  if (size >= 1024 && size % 1024 === 0) return `${size >> 10} KiB`;
  return `${size} B`;
}

/** "64B", "64KiB", "1MiB": the size in a case id. */
export function sizeId(size: number): string {
  return sizeText(size).replace(" ", "");
}

/** Below this, a stream is about messages per second (and small messages are packed); above, about bytes. */
export const SMALL_MESSAGE = 4096;

/** Parses "64", "4k", "64KiB", "1m": 1024-based suffixes. NaN when it is not a size. */
export function parseSize(text: string): number {
  const match = /^\s*(\d+)\s*(k|ki|kib|m|mi|mib|b)?\s*$/i.exec(text);
  if (match === null) return Number.NaN;
  const unit = match[2]?.toLowerCase()[0];
  return Number(match[1]) * (unit === "k" ? 1024 : unit === "m" ? 1 << 20 : 1);
}
