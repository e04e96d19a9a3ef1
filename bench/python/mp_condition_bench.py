"""Python's side of bench/condition.mjs: two Processes hand a turn back and forth through one multiprocessing.Condition
and one shared int (a RawValue), both made by the main process, as the Node side does with a Condition and a
SharedArray: each hop is a notify() answered by the other process waking up in wait(), re-taking the lock and seeing
its turn. A long-lived server, so that its runs interleave with the Node side's: one command per line,
`pingpong TOTAL WARMUP`, answered by one JSON line {"us_per_hop": ...}; `quit` ends it.

usage: python3 mp_condition_bench.py   (then commands on stdin)
"""
import json
import multiprocessing as mp
import sys
import time


def player(cond, turn, me, total, warmup, res):
    t0 = 0
    with cond:
        for i in range(total):
            while turn.value != me:
                cond.wait()
            if me == 0 and i == warmup:
                t0 = time.monotonic_ns()
            turn.value = 1 - me
            cond.notify()
        if me == 0:
            while turn.value != 0:
                cond.wait()
            res.put((t0, time.monotonic_ns()))


def pingpong(total, warmup):
    cond = mp.Condition()
    turn = mp.RawValue('i', 0)
    res = mp.Queue()
    players = [mp.Process(target=player, args=(cond, turn, me, total, warmup, res)) for me in (1, 0)]
    for p in players:
        p.start()
    t0, t1 = res.get()
    for p in players:
        p.join()
        if p.exitcode != 0:
            raise SystemExit("a player exited with %s" % p.exitcode)
    return (t1 - t0) / 1e3 / (2 * (total - warmup))


def main():
    print(json.dumps({"hello": True, "start_method": mp.get_start_method(), "python": sys.version.split()[0]}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ['quit']:
            break
        if len(words) != 3 or words[0] != 'pingpong':
            raise SystemExit("unknown command %r" % line)
        print(json.dumps({"us_per_hop": pingpong(int(words[1]), int(words[2]))}), flush=True)


if __name__ == '__main__':
    main()
