"""Python's side of bench/shared-array.mjs: two pool workers sum the two halves of one array of N float64, either
attached by name to a multiprocessing.shared_memory.SharedMemory (no copy) or sent whole to each as a task argument
(pickled). A long-lived server: bench/shared-array.mjs writes one command per line and interleaves them with its own
measurements. Commands: `shared`, `argument` (each makes a new array, untimed, then times the two tasks), `quit`.
Each answer is one JSON line: {"us": elapsed, "sum": total, "pids": distinct worker pids}.

usage: python3 mp_shared_array_bench.py N
"""
import json
import multiprocessing as mp
import os
import sys
import time
from multiprocessing import resource_tracker, shared_memory

try:
    import numpy as np
except ImportError:  # then a pure-Python loop sums, and the hello line says "numpy": false
    np = None


def part_sum(values, lo, hi):
    if np is not None:
        return float(values[lo:hi].sum())
    return float(sum(values[lo:hi]))


def sum_shared(name, n, lo, hi):
    # As a Python user does: attach by name, view it as float64, sum the half, let go.
    shm = shared_memory.SharedMemory(name=name)
    try:
        if np is not None:
            values = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
            total = part_sum(values, lo, hi)
            del values
        else:
            view = shm.buf.cast('d')
            total = float(sum(view[lo:hi]))
            view.release()
    finally:
        shm.close()
    return total, os.getpid()


def sum_argument(values, lo, hi):
    return part_sum(values, lo, hi), os.getpid()


def fill(buf_values, n):
    if np is not None:
        buf_values[:] = np.arange(n, dtype=np.int64) % 1024
    else:
        for i in range(n):
            buf_values[i] = float(i % 1024)


def timed(pool, fn, args):
    t0 = time.perf_counter()
    results = pool.starmap(fn, args, chunksize=1)
    us = (time.perf_counter() - t0) * 1e6
    return us, sum(r[0] for r in results), len({r[1] for r in results})


def main():
    n = int(sys.argv[1])
    half = n // 2
    # One resource tracker for all, started before the workers fork: a worker's attach then registers the name with the
    # tracker that the creator's unlink() unregisters it from (a tracker of each worker's own would call it leaked).
    resource_tracker.ensure_running()
    with mp.Pool(2) as pool:
        pool.map(abs, range(4))
        print(json.dumps({"hello": True, "numpy": np is not None, "start_method": mp.get_start_method(),
                          "python": sys.version.split()[0]}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == 'quit':
                break
            if command == 'shared':
                shm = shared_memory.SharedMemory(create=True, size=8 * n)
                try:
                    if np is not None:
                        values = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
                        fill(values, n)
                        del values
                    else:
                        view = shm.buf.cast('d')
                        fill(view, n)
                        view.release()
                    us, total, pids = timed(pool, sum_shared, [(shm.name, n, 0, half), (shm.name, n, half, n)])
                finally:
                    shm.close()
                    shm.unlink()
            elif command == 'argument':
                if np is not None:
                    values = np.empty(n, dtype=np.float64)
                else:
                    import array
                    values = array.array('d', bytes(8 * n))
                fill(values, n)
                us, total, pids = timed(pool, sum_argument, [(values, 0, half), (values, half, n)])
                del values
            else:
                raise SystemExit("unknown command %r" % command)
            print(json.dumps({"us": us, "sum": total, "pids": pids}), flush=True)


if __name__ == '__main__':
    main()
