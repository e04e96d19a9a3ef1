"""Cold starts of Python's multiprocessing (spawn context), timed one at a time on request.

bench/cold.mjs starts this once and writes one command per line on stdin, interleaving it
with its own measurements: `process` (Process(target=f).start(); join()), `pool`
(Pool(1), apply(f), close(), join()). Each answer is one JSON line: {"us": elapsed}.
`quit` (or the end of stdin) ends it.
"""
import json
import multiprocessing as mp
import sys
import time


def f(x=1):
    return x + 1


def time_process(ctx):
    t0 = time.perf_counter()
    p = ctx.Process(target=f)
    p.start()
    p.join()
    return (time.perf_counter() - t0) * 1e6


def time_pool(ctx):
    t0 = time.perf_counter()
    pool = ctx.Pool(1)
    pool.apply(f, (1,))
    pool.close()
    pool.join()
    return (time.perf_counter() - t0) * 1e6


def main():
    ctx = mp.get_context('spawn')
    commands = {'process': time_process, 'pool': time_pool}
    for line in sys.stdin:
        command = line.strip()
        if command == 'quit':
            break
        us = commands[command](ctx)
        print(json.dumps({'us': us}), flush=True)


if __name__ == '__main__':
    main()
