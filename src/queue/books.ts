/** The owner's record of each accepted item and of what each client owes. */
import type { ClientId } from '../internal/owner-state.js';
import type { Payload } from './state-types.js';

export interface Held {
  readonly seq: number;
  readonly id: string;
  readonly item: Payload;
  /** The client that leased or acked it; undefined while queued. */
  owner: ClientId | undefined;
  acked: boolean;
  deliveries: number;
  /** Readers that died while it was the item they were reading or processing (see blame). */
  deaths: number;
}

/** A client's debts, each Set in the order they arose (so "oldest" is the first). */
export interface Books {
  readonly leased: Set<Held>;
  readonly acked: Set<Held>;
}

export function booksOf(all: Map<ClientId, Books>, client: ClientId): Books {
  let books = all.get(client);
  if (books === undefined) {
    books = { leased: new Set(), acked: new Set() };
    all.set(client, books);
  }
  return books;
}

/** Drops a client's empty books, so many short-lived readers do not grow the map. */
export function forgetIfClear(all: Map<ClientId, Books>, client: ClientId, books: Books): void {
  if (books.leased.size === 0 && books.acked.size === 0) all.delete(client);
}
