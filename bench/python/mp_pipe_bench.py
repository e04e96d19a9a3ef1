"""Python's multiprocessing.Pipe, for bench/pipe.mjs. The main process creates the pipe and starts two child
Processes, as the Node side does: A sends i on its end and waits for B to send it back.

usage: python3 mp_pipe_bench.py pingpong N WARMUP -> prints one JSON line: {"seconds": ...} for N timed round trips
Times are time.monotonic_ns().
"""
import json
import multiprocessing as mp
import sys
import time


def ping_a(conn, res, n, warmup):
    for i in range(warmup):
        conn.send(i)
        assert conn.recv() == i
    t0 = time.monotonic_ns()
    for i in range(n):
        conn.send(i)
        assert conn.recv() == i
    res.put((t0, time.monotonic_ns()))


def ping_b(conn, total):
    for _ in range(total):
        conn.send(conn.recv())


def main():
    mode = sys.argv[1]
    if mode != "pingpong":
        raise SystemExit("unknown mode %s" % mode)
    n, warmup = int(sys.argv[2]), int(sys.argv[3])
    a, b = mp.Pipe()
    res = mp.Queue()
    pa = mp.Process(target=ping_a, args=(a, res, n, warmup))
    pb = mp.Process(target=ping_b, args=(b, warmup + n))
    for p in (pb, pa):
        p.start()
    t0, t1 = res.get()
    for p in (pa, pb):
        p.join()
        if p.exitcode != 0:
            raise SystemExit("%s exited with %s" % (p.name, p.exitcode))
    print(json.dumps({"mode": mode, "start_method": mp.get_start_method(), "python": sys.version.split()[0],
                      "seconds": (t1 - t0) / 1e9}))


if __name__ == "__main__":
    main()
