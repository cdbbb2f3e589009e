/**
 * The table layout of Go's `tabwriter.NewWriter(out, 25, 4, 2, ' ', 0)` for rows whose every cell ends with a tab,
 * which is how aws-vault prints `list`: each column is as wide as its widest cell plus 2, and at least 25.
 * @module
 */

/** Lays out rows of cells; every cell, the last included, is padded (so lines carry trailing spaces like aws-vault's).
 */
export function formatTable(
  rows: readonly (readonly string[])[],
  options?: { minWidth?: number; padding?: number },
): string {
  const minWidth = options?.minWidth ?? 25;
  const padding = options?.padding ?? 2;
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? minWidth, [...cell].length + padding));
  }
  return rows.map((row) => row.map((cell, i) => cell + " ".repeat(widths[i] - [...cell].length)).join("") + "\n")
    .join("");
}
