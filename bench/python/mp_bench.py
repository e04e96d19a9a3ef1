"""Python's multiprocessing.Pool(2) on the same trivial task, for bench/throughput.mjs and bench/roundtrip.mjs.

usage: python3 mp_bench.py map N WARMUP        -> Pool(2).map(inc, range(N), chunksize=1)
       python3 mp_bench.py roundtrip N WARMUP  -> N x pool.apply(inc, (i,)), one at a time
Prints one JSON line: {"mode", "n", "seconds", "start_method", "python"}.
"""
import json
import multiprocessing as mp
import sys
import time


def inc(x):
    return x + 1


def main():
    mode, n, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with mp.Pool(2) as pool:
        pool.map(inc, range(warmup), chunksize=1)
        if mode == "map":
            t0 = time.perf_counter()
            out = pool.map(inc, range(n), chunksize=1)
            seconds = time.perf_counter() - t0
            assert out[-1] == n
        elif mode == "roundtrip":
            t0 = time.perf_counter()
            for i in range(n):
                pool.apply(inc, (i,))
            seconds = time.perf_counter() - t0
        else:
            raise SystemExit("unknown mode " + mode)
    print(json.dumps({
        "mode": mode, "n": n, "seconds": seconds,
        "start_method": mp.get_start_method(), "python": sys.version.split()[0],
    }))


if __name__ == "__main__":
    main()
