// A thread of every child process: when the parent dies (even by SIGKILL) the child is re-parented, and this ends it
// within 100 ms, even while its main thread spins in user code that would never notice the closed pipe (no
// PR_SET_PDEATHSIG in Node).
// Node: https://github.com/nodejs/node/issues/3286
import { workerData } from 'node:worker_threads';

const { ppid } = workerData as { ppid: number };
setInterval(() => {
  if (process.ppid !== ppid) process.kill(process.pid, 'SIGKILL');
}, 100);
