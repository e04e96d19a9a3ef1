// The shared queue API suite (conformance.ts) on the local owner: every queue lives in this process's broker.
import { JoinableQueue, Queue } from 'procsafe';
import { queueConformance } from './conformance.js';

queueConformance('local', (t) => ({
  queue: <T>(options?: object) => {
    const q = new Queue<T>(options);
    t.after(() => q.close({ immediate: true }).catch(() => {}));
    return q;
  },
  joinable: <T>(options?: object) => {
    const q = new JoinableQueue<T>(options);
    t.after(() => q.close({ immediate: true }).catch(() => {}));
    return q;
  },
}));
