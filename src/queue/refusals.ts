// The errors a queue's calls reject with when the queue says no, worded once for every backend (local-backend.ts,
// redis/queue-backend.ts): what happened and what to do.
import { QueueClosed, QueueEmpty, QueueFull } from '../errors.js';

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
