/**
 * A plain text table: columns padded to their widest cell, two spaces apart.
 * A cell may hold several lines ("\n"): its row then takes as many lines, the
 * other cells padded with blanks, and rows are set apart by a blank line.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const split = rows.map((row) => header.map((_, i) => (row[i] ?? '').split('\n')));
  const tall = split.some((row) => row.some((cell) => cell.length > 1));
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...split.map((row) => Math.max(...(row[i] as string[]).map((l) => l.length)))));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const body = split.map((row) => {
    const height = Math.max(...row.map((cell) => cell.length));
    return Array.from({ length: height }, (_, k) => line(row.map((cell) => cell[k] ?? ''))).join('\n');
  });
  return [line(header), rule, ...(body.length === 0 ? [] : [body.join(tall ? '\n\n' : '\n')])].join('\n') + '\n';
}

/** Breaks `text` into lines of at most `width` characters, at spaces (a longer word stands alone). */
export function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else {
      current = current === '' ? word : `${current} ${word}`;
    }
  }
  if (current !== '') lines.push(current);
  return lines.join('\n');
}
