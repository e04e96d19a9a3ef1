// Loaded by a child once a handle arrives (handle-gate.ts): queues, locks, events, barriers and shared arrays in
// arguments arrive working even when the worker module never imports procsafe.
import '../queue/queue.js';
import '../queue/simple-queue.js';
import '../sync/lock.js';
import '../sync/event.js';
import '../sync/barrier.js';
import '../sync/condition.js';
import '../shared/shared-array.js';
import '../shared/shared-map.js';
import '../pipe/pipe.js';
