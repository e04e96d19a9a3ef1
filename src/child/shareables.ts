// Loaded by a child once a handle arrives (handle-gate.ts): queues, locks, events and barriers in arguments arrive
// working even when the worker module never imports procsafe.
import '../queue/queue.js';
import '../sync/lock.js';
import '../sync/event.js';
import '../sync/barrier.js';
