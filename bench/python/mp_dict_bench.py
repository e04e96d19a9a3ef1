"""Python's Manager().dict(), for bench/shared-map.mjs: a child Process does N get + set pairs on one key of a dict
served by the manager the main process started, as the Node side does with a SharedMap owned by the main process.

usage: python3 mp_dict_bench.py N WARMUP  -> prints one JSON line: {"us_per_op", "n", "start_method"}
"""
import json
import multiprocessing as mp
import sys
import time


def loop(d, n, warmup, res):
    for _ in range(warmup):
        d["k"] = d["k"] + 1
    t0 = time.monotonic_ns()
    for _ in range(n):
        d["k"] = d["k"] + 1
    res.put((time.monotonic_ns() - t0) / 1e3 / (2 * n))


def main():
    n, warmup = int(sys.argv[1]), int(sys.argv[2])
    with mp.Manager() as manager:
        d = manager.dict()
        d["k"] = 0
        res = mp.Queue()
        p = mp.Process(target=loop, args=(d, n, warmup, res))
        p.start()
        us = res.get()
        p.join()
        if d["k"] != n + warmup:
            raise SystemExit("the dict counted %d, expected %d" % (d["k"], n + warmup))
    print(json.dumps({"us_per_op": us, "n": n, "start_method": mp.get_start_method()}))


if __name__ == "__main__":
    main()
