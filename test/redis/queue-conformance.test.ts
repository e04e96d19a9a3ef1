// The shared queue API suite (test/queue/conformance.ts) on Redis: one real redis-server for the file, a fresh queue name
// per queue, each handle disconnected when its test ends.
import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { JoinableQueue, Queue } from 'procsafe';
import { queueConformance } from '../queue/conformance.js';
import { launchRedis, redisMissing, type RedisServer } from '../helpers/redis-server.js';

const missing = redisMissing();
let server: RedisServer | undefined;
before(async () => { if (missing === undefined) server = await launchRedis(); });
after(() => server?.stop());

queueConformance('redis', (t) => {
  const options = (): { redis: string; name: string; leaseMs: number } =>
    ({ redis: (server as RedisServer).url, name: `t-${randomUUID()}`, leaseMs: 500 });
  return {
    queue: <T>(more?: object) => {
      const q = new Queue<T>({ ...more, ...options() });
      t.after(() => q.disconnect());
      return q;
    },
    joinable: <T>(more?: object) => {
      const q = new JoinableQueue<T>({ ...more, ...options() });
      t.after(() => q.disconnect());
      return q;
    },
  };
}, missing);
