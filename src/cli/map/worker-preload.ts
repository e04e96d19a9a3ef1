/**
 * Preloaded into every worker of `procsafe map`. Ctrl-C's SIGINT reaches the whole
 * foreground process group, and Node's default is to die: every running task would
 * crash instead of finishing. With a listener the CLI decides (a second Ctrl-C
 * terminates the pool); a worker still dies with the CLI, its watchdog sees the
 * parent go. Not in the pool's bootstrap: a library user's pool keeps Node's
 * default, as Python's does.
 */
process.on('SIGINT', () => {});
