// The errors a queue's calls reject with when the queue says no, worded once for every backend (local-backend.ts,
// redis/queue-backend.ts): what happened and what to do.
import { ItemQuarantined, QueueClosed, QueueEmpty, QueueFull } from '../errors.js';

/** A put that found no room: at once (putNowait) or after its timeout. */
export function queueFull(timeoutMs: number | undefined): QueueFull {
  return new QueueFull(timeoutMs === 0 || timeoutMs === undefined
    ? 'the queue is full (putNowait does not wait for space); use put() to wait, or read from the queue'
    : `the queue stayed full for ${timeoutMs} ms; nothing was enqueued`);
}

/** A get that found no item: at once (getNowait) or after its timeout. */
export function queueEmpty(timeoutMs: number | undefined): QueueEmpty {
  return new QueueEmpty(timeoutMs === 0 || timeoutMs === undefined
    ? 'the queue is empty (getNowait does not wait for an item); use get() to wait'
    : `no item arrived within ${timeoutMs} ms`);
}

/** A put on a closed queue, or a get once nothing more will come. */
export function queueClosed(what: 'put' | 'get'): QueueClosed {
  return new QueueClosed(what === 'put'
    ? 'the queue is closed: no more puts are accepted'
    : 'the queue is closed and drained (or was closed with { immediate: true }, or this process disconnected from it): ' +
      'there is nothing more to get');
}

/** Any call of a process that let go of the queue (`disconnect()`). */
export function queueLeft(): QueueClosed {
  return new QueueClosed('this process disconnected from the queue (disconnect()); the queue lives on for the other processes, ' +
    'but this process cannot use it again');
}

/** The get told of an item taken out of the queue because every reader that took it died (`deaths` of them). */
export function itemQuarantined(itemId: string, deaths: number): ItemQuarantined {
  return new ItemQuarantined(
    `item ${itemId} was taken out of the queue: ${deaths} readers died holding it, each before finishing it, ` +
    'so it would have killed every reader in turn; it will not be delivered again. Find out why it kills its reader ' +
    '(a native crash, running out of memory) and put it again once that is fixed; the next get() goes on with the next item',
    { itemId, deaths });
}
