/**
 * Preloaded (`--import`) into every worker of `procsafe map`. A terminal sends
 * Ctrl-C's SIGINT to the whole foreground process group, workers included, and
 * Node's default for SIGINT is to die: the first Ctrl-C would then crash every
 * running task instead of letting it finish. With a listener the signal is
 * merely noted; the CLI decides (a second Ctrl-C terminates the pool, which
 * SIGKILLs them). A worker still dies with the CLI however the CLI dies: its
 * watchdog sees the parent go.
 *
 * Done here rather than in the pool's bootstrap: a library user's pool keeps
 * Node's default, as Python's does, and the CLI needs no change to the pool.
 */
process.on('SIGINT', () => {});
