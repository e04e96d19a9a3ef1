/**
 * What is left of `chunks` once their first `bytes` are written: what a partial
 * write (writev, pwritev) leaves to write next. Chunks written whole, and empty
 * ones at the front, are dropped, so a loop that writes until nothing is left
 * always ends. With nothing to drop it returns `chunks` itself (a whole write's
 * usual case costs no copy).
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
