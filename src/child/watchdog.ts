/**
 * Runs on a thread of every child process: when the parent dies (even by
 * SIGKILL) the child is re-parented, and this thread ends the child within
 * 100 ms, even while its main thread is stuck in CPU-bound user code that
 * would never notice the closed pipe. Linux's PR_SET_PDEATHSIG would do this,
 * but Node exposes no prctl.
 */
import { workerData } from 'node:worker_threads';

const { ppid } = workerData as { ppid: number };
setInterval(() => {
  if (process.ppid !== ppid) process.kill(process.pid, 'SIGKILL');
}, 100);
