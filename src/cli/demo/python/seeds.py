"""The seeds' failures of Python's multiprocessing, reproduced for `procsafe demo`.

Run as `python3 seeds.py NAME`. Each scenario mirrors one row of the demo:
the same fault, injected at the same moment, with Python's own primitives
(multiprocessing.Pool, concurrent.futures.ProcessPoolExecutor, Queue, Lock)
and Python's default start method (fork for the fork-lock row, as in the seeds).
It prints JSON lines on stdout:

  {"note": "..."}     something that happened on the way
  {"waiting": "..."}  it is about to call something that may never return;
                      the demo stops the whole process group a fixed time later
  {"result": "..."}   how it ended, when it did end by itself

Nothing is canned: every note is printed after the call it describes returned
or raised. Waits for "the child is at the fault now" poll the primitive the
child holds (a Lock cannot be read, so the parent tries it without blocking).
"""

import concurrent.futures
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time

BIG_ITEM = 10 * 1024 * 1024
GIVE_UP_S = 20  # bounds every wait that should not block at all


def emit(**line):
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def note(text):
    emit(note=text)


def waiting(what):
    emit(waiting=what)


def result(text):
    emit(result=text)


def describe(error):
    text = str(error)
    return type(error).__name__ + (": " + text if text else "")


# ---- tasks run in the workers ------------------------------------------------

def bystander(x):
    time.sleep(0.3)
    return x * x


def kill_self():
    os.kill(os.getpid(), signal.SIGKILL)


def exit_3():
    sys.exit(3)


def abort():
    os.abort()


def never_returns():
    while True:
        time.sleep(0.05)


def eat_memory():
    hog = []
    while True:
        hog.append(bytearray(16 * 1024 * 1024))


def cap_memory(mb):
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (mb * 1024 * 1024, mb * 1024 * 1024))


def hold_rlock_in_get(q):
    q.get(timeout=60)


def read_for(q, seconds, counts):
    # counts[0]: items read, counts[1]: Empty raised
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            q.get(timeout=0.25)
            counts[0] += 1
        except Exception:
            counts[1] += 1


def put_big(q):
    q.put(b"x" * BIG_ITEM)
    time.sleep(60)


def hold_lock(lock):
    lock.acquire()
    time.sleep(60)


module_lock = threading.Lock()


def take_module_lock():
    with module_lock:
        return "took it"


def hold_module_lock(held):
    with module_lock:
        held.set()
        time.sleep(60)


# ---- helpers ---------------------------------------------------------------

def kill_while_holding(target, args, lock, what):
    """Starts `target` in a Process, waits until it holds `lock`, then SIGKILLs it.

    The lock is tried without blocking (and released at once when it was free): a
    multiprocessing lock cannot be read otherwise.
    """
    p = mp.Process(target=target, args=args)
    p.start()
    deadline = time.monotonic() + GIVE_UP_S
    while lock.acquire(False):
        lock.release()
        if time.monotonic() > deadline:
            raise RuntimeError("the child never took " + what)
        time.sleep(0.005)
    os.kill(p.pid, signal.SIGKILL)
    p.join()


def executor_part(fn):
    """What concurrent.futures.ProcessPoolExecutor does with the same fault."""
    with concurrent.futures.ProcessPoolExecutor(2) as ex:
        b = ex.submit(bystander, 9)
        v = ex.submit(fn)
        outcomes = []
        for name, f in (("task", v), ("bystander", b)):
            try:
                outcomes.append(name + " " + repr(f.result(timeout=GIVE_UP_S)))
            except BaseException as e:  # a worker's SystemExit comes back as SystemExit
                outcomes.append(name + " " + type(e).__name__)
        note("ProcessPoolExecutor: " + ", ".join(outcomes))


def pool_part(fn, initializer=None, initargs=()):
    """What multiprocessing.Pool does with it: the task's result, then close() and join()."""
    pool = mp.Pool(2, initializer=initializer, initargs=initargs)
    b = pool.apply_async(bystander, (9,))
    v = pool.apply_async(fn)
    b.get(timeout=GIVE_UP_S)
    waiting("Pool: the task's get()")
    try:
        value = v.get()
        note("Pool: the task returned %r" % (value,))
    except BaseException as e:
        note("Pool: the task raised " + describe(e))
    pool.close()
    waiting("Pool.join()")
    pool.join()
    result("join() returned")


# ---- scenarios: one per row of the demo -----------------------------------

def sigkill():
    executor_part(kill_self)
    pool_part(kill_self)


def exit_row():
    executor_part(exit_3)
    pool_part(exit_3)


def abort_row():
    executor_part(abort)
    pool_part(abort)


def timeout():
    pool = mp.Pool(2)
    b = pool.apply_async(bystander, (9,))
    v = pool.apply_async(never_returns)
    b.get(timeout=GIVE_UP_S)
    try:
        v.get(timeout=0.3)
        note("Pool: get(timeout=0.3) returned")
    except mp.TimeoutError:
        note("Pool: get(timeout=0.3) raised TimeoutError, the task kept running (a Pool cannot stop one task)")
    pool.close()
    waiting("Pool.join()")
    pool.join()
    result("join() returned")


def memory():
    # Pool has no memory limit: without one the task would take the machine's memory.
    # A hand-set RLIMIT_AS of 512 MiB in the initializer stands in for maxMemoryMb.
    note("no memory option; RLIMIT_AS 512 MiB set by hand")
    pool_part(eat_memory, cap_memory, (512,))


def queue_reader():
    # Seed 000: a reader killed inside get(timeout) keeps the queue's _rlock for ever.
    q = mp.Queue(2)
    kill_while_holding(hold_rlock_in_get, (q,), q._rlock, "the queue's read lock")
    q.put("a")
    q.put("b")
    try:
        q.put_nowait("c")
        full = "a third put_nowait() succeeded"
    except Exception as e:
        full = "writers get " + describe(e)
    counts = mp.Array("i", 2)
    r2 = mp.Process(target=read_for, args=(q, 1.5, counts))
    r2.start()
    r2.join(GIVE_UP_S)
    result(
        "the next reader got %d of 2 queued items in 1.5 s, Empty %d times (the dead reader holds _rlock); %s"
        % (counts[0], counts[1], full)
    )


def queue_writer():
    # Seed 001: a writer killed while its 10 MiB item is half-written into the pipe
    # (its feeder thread holds the queue's write lock until the pipe drains).
    q = mp.Queue(4)
    kill_while_holding(put_big, (q,), q._wlock, "the queue's write lock")
    waiting("get(timeout=1) of the half-written item")
    try:
        item = q.get(timeout=1)
        result("get() returned %d bytes" % len(item))
    except Exception as e:
        result("get() raised " + describe(e))


def lock_holder():
    lock = mp.Lock()
    kill_while_holding(hold_lock, (lock,), lock, "the lock")
    waiting("the next Lock.acquire()")
    lock.acquire()
    result("the next acquire() returned")


def fork_lock():
    # Seeds 002 and 003: a thread holds a lock (logging's, in 002) while the Pool forks its
    # workers; each worker inherits the lock held, with no thread left to release it.
    held = threading.Event()
    threading.Thread(target=hold_module_lock, args=(held,), daemon=True).start()
    held.wait(GIVE_UP_S)
    # fork, as in the seeds: Python 3.14 starts workers with forkserver by default on Linux.
    pool = mp.get_context("fork").Pool(2)
    waiting("a task taking the lock in a forked worker")
    value = pool.apply(take_module_lock)
    result("the task returned %r" % (value,))


SCENARIOS = {
    "sigkill": sigkill,
    "exit": exit_row,
    "abort": abort_row,
    "timeout": timeout,
    "memory": memory,
    "queue-reader": queue_reader,
    "queue-writer": queue_writer,
    "lock-holder": lock_holder,
    "fork-lock": fork_lock,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        sys.stderr.write("usage: seeds.py {%s}\n" % "|".join(SCENARIOS))
        sys.exit(2)
    try:
        SCENARIOS[sys.argv[1]]()
    except Exception as e:
        result("the reproduction itself failed: " + describe(e))
