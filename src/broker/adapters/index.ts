/** One adapter per object, by the kind of its handle. */
import type { HandleKind } from '../../codec/handles.js';
import type { Host, ObjectAdapter, ObjectSpec } from './adapter.js';
import { BarrierAdapter } from './barrier.js';
import { ConditionAdapter } from './condition.js';
import { EventAdapter } from './event.js';
import { LockAdapter } from './lock.js';
import { MapAdapter } from './map.js';
import { PipeAdapter } from './pipe.js';
import { QueueAdapter } from './queue.js';
import { ProtocolViolation } from '../../transport/frame.js';

export { type Client, type Host, type ObjectAdapter, type ObjectSpec, type Origin, value } from './adapter.js';

export function newAdapter(spec: ObjectSpec, host: Host): ObjectAdapter {
  const kind: HandleKind = spec.kind;
  switch (kind) {
    case 'queue': case 'joinable-queue': case 'simple-queue': return new QueueAdapter(spec, host);
    case 'semaphore': case 'lock': case 'bounded-semaphore': return new LockAdapter(spec, host);
    case 'event': return new EventAdapter(spec, host);
    case 'barrier': return new BarrierAdapter(spec, host);
    case 'condition': return new ConditionAdapter(spec, host);
    case 'shared-map': return new MapAdapter(spec, host);
    case 'pipe': return new PipeAdapter(spec, host);
    // A SharedArray is memory, not state at an owner: its handle never creates an object here.
    case 'shared-array': throw new ProtocolViolation('a SharedArray has no state at its owner');
  }
}
