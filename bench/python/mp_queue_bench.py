"""Python's multiprocessing.Queue and Lock, for bench/queue.mjs. The main process creates the queues
(and the lock) and starts the child Processes, as the Node side does.

usage: python3 mp_queue_bench.py stream SIZE N WARMUP       -> producer Process puts N bytes items, consumer Process gets them
       python3 mp_queue_bench.py latency N WARMUP INTERVAL_MS -> one 8-byte item at a time (send time inside), put-to-get latency
       python3 mp_queue_bench.py pingpong N WARMUP           -> A puts to q1, B gets it and puts it to q2, A gets it
       python3 mp_queue_bench.py lock N WARMUP               -> a child Process: lock.acquire(); lock.release() in a loop
       python3 mp_queue_bench.py lockcontend N WARMUP        -> two child Processes doing that at once on one lock
Prints one JSON line. Times are time.monotonic_ns() (CLOCK_MONOTONIC, shared by every process, as
process.hrtime.bigint() in Node), so the consumer's clock reading minus the producer's is meaningful.
"""
import json
import multiprocessing as mp
import struct
import sys
import time


def stream_producer(q, ready, res, size, n, warmup):
    item = b"a" * size
    for _ in range(warmup):
        q.put(item)
    ready.wait()
    t0 = time.monotonic_ns()
    for _ in range(n):
        q.put(item)
    res.put(("producer", t0))


def stream_consumer(q, ready, res, size, n, warmup):
    for i in range(warmup + n):
        item = q.get()
        if len(item) != size:
            raise SystemExit("item %d has %d bytes; expected %d" % (i, len(item), size))
        if i + 1 == warmup:
            ready.set()
    res.put(("consumer", time.monotonic_ns()))


def latency_producer(q, n, warmup, interval):
    for _ in range(warmup + n):
        q.put(struct.pack("<q", time.monotonic_ns()))
        time.sleep(interval)


def latency_consumer(q, res, n, warmup):
    ns = []
    for i in range(warmup + n):
        item = q.get()
        latency = time.monotonic_ns() - struct.unpack("<q", item)[0]
        if i >= warmup:
            ns.append(latency)
    res.put(ns)


def ping_a(q1, q2, res, n, warmup):
    for i in range(warmup):
        q1.put(i)
        assert q2.get() == i
    t0 = time.monotonic_ns()
    for i in range(n):
        q1.put(i)
        assert q2.get() == i
    res.put((t0, time.monotonic_ns()))


def ping_b(q1, q2, total):
    for _ in range(total):
        q2.put(q1.get())


def lock_loop(lock, res, n, warmup):
    for _ in range(warmup):
        lock.acquire()
        lock.release()
    t0 = time.monotonic_ns()
    for _ in range(n):
        lock.acquire()
        lock.release()
    res.put((t0, time.monotonic_ns()))


def lock_contend(lock, ready, go, res, n, warmup):
    for _ in range(warmup):
        lock.acquire()
        lock.release()
    ready.put(1)
    go.wait()
    t0 = time.monotonic_ns()
    for _ in range(n):
        lock.acquire()
        lock.release()
    res.put((t0, time.monotonic_ns()))


def run(*processes):
    for p in processes:
        p.start()


def join(*processes):
    for p in processes:
        p.join()
        if p.exitcode != 0:
            raise SystemExit("%s exited with %s" % (p.name, p.exitcode))


def main():
    mode = sys.argv[1]
    out = {"mode": mode, "start_method": mp.get_start_method(), "python": sys.version.split()[0]}
    res = mp.Queue()
    if mode == "stream":
        size, n, warmup = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        q, ready = mp.Queue(), mp.Event()
        consumer = mp.Process(target=stream_consumer, args=(q, ready, res, size, n, warmup))
        producer = mp.Process(target=stream_producer, args=(q, ready, res, size, n, warmup))
        run(consumer, producer)
        got = dict(res.get() for _ in range(2))
        join(producer, consumer)
        out.update(size=size, n=n, seconds=(got["consumer"] - got["producer"]) / 1e9)
    elif mode == "latency":
        n, warmup, interval_ms = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        q = mp.Queue()
        consumer = mp.Process(target=latency_consumer, args=(q, res, n, warmup))
        producer = mp.Process(target=latency_producer, args=(q, n, warmup, interval_ms / 1000))
        run(consumer, producer)
        ns = res.get()
        join(producer, consumer)
        out.update(n=n, ns=ns)
    elif mode == "pingpong":
        n, warmup = int(sys.argv[2]), int(sys.argv[3])
        q1, q2 = mp.Queue(), mp.Queue()
        a = mp.Process(target=ping_a, args=(q1, q2, res, n, warmup))
        b = mp.Process(target=ping_b, args=(q1, q2, warmup + n))
        run(b, a)
        t0, t1 = res.get()
        join(a, b)
        out.update(n=n, seconds=(t1 - t0) / 1e9)
    elif mode == "lock":
        n, warmup = int(sys.argv[2]), int(sys.argv[3])
        lock = mp.Lock()
        child = mp.Process(target=lock_loop, args=(lock, res, n, warmup))
        run(child)
        t0, t1 = res.get()
        join(child)
        out.update(n=n, seconds=(t1 - t0) / 1e9)
    elif mode == "lockcontend":
        n, warmup = int(sys.argv[2]), int(sys.argv[3])
        lock, ready, go = mp.Lock(), mp.Queue(), mp.Event()
        children = [mp.Process(target=lock_contend, args=(lock, ready, go, res, n, warmup)) for _ in range(2)]
        run(*children)
        ready.get()
        ready.get()
        go.set()
        spans = [res.get(), res.get()]
        join(*children)
        out.update(n=n, seconds=(max(t1 for _, t1 in spans) - min(t0 for t0, _ in spans)) / 1e9)
    else:
        raise SystemExit("unknown mode " + mode)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
