/**
 * What a partial writev leaves of `chunks`. Chunks written whole, and empty ones at the front, are dropped, so a loop that
 * writes until nothing is left always ends. With nothing to drop it returns `chunks` itself (no copy in the usual case).
 */
export function remainingAfter(chunks: readonly Buffer[], bytes: number): Buffer[] {
  let first = 0;
  while (first < chunks.length && bytes >= (chunks[first] as Buffer).length) {
    bytes -= (chunks[first] as Buffer).length;
    first++;
  }
  if (first === 0 && bytes === 0) return chunks as Buffer[];
  const rest = chunks.slice(first);
  if (bytes > 0) rest[0] = (rest[0] as Buffer).subarray(bytes);
  return rest;
}

/** How many bytes `chunks` hold together. */
export function totalLength(chunks: readonly Buffer[]): number {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  return length;
}
