/** Which items a dead reader is blamed for, and how many deaths quarantine one. */
import type { Books, Held } from './books.js';

/** Deaths are rare, a poison item kills at once: 5 spares an unlucky item and drops a poison one within 5 readers. SPEC fixes it. */
export const kQuarantineAfterDeaths = 5;

export interface Untold {
  readonly id: string;
  readonly deaths: number;
}

/**
 * The items a dead reader may have died of. A reader decodes its items in lease order and acks each before its code sees
 * it, so it was in the code of its acked, unfinished items (JoinableQueue) or, holding none, decoding its oldest leased
 * one. Read-ahead behind that was never touched.
 */
export function blame(books: Books): Iterable<Held> {
  if (books.acked.size > 0) return books.acked;
  const oldest = books.leased.values().next().value;
  return oldest === undefined ? [] : [oldest];
}
