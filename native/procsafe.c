/*
 * procsafe's native addon: maps files of /dev/shm into JavaScript memory, and doorbells. Every policy (which directory,
 * which names, who deletes what and when, what a lane holds) stays in TypeScript (src/shared/, src/transport/lanes/,
 * src/native/load.ts); this file only does what JavaScript cannot: mmap, an ArrayBuffer over the mapping that unmaps
 * when collected, and a FIFO watched with uv_poll on the calling thread's own loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define PATH_BYTES 4096

/* The errno's name, as Node's own errors carry it (strerrorname_np is glibc 2.32+ only: not on musl or older glibc). */
static const char *errno_name(int error) {
  switch (error) {
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EROFS: return "EROFS";
    case EFBIG: return "EFBIG";
    case EOVERFLOW: return "EOVERFLOW";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    default: return "EUNKNOWN";
  }
}

/* An Error with Node's usual shape for a failed system call: code (ENOENT…), errno, syscall, path. */
static void throw_errno(napi_env env, int error, const char *syscall, const char *path) {
  char message[PATH_BYTES + 256];
  const char *code = errno_name(error);
  snprintf(message, sizeof message, "%s %s: %s", syscall, path, strerror(error));
  napi_value text, code_value, number, call, where, object;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value) != napi_ok ||
      napi_create_error(env, code_value, text, &object) != napi_ok) {
    napi_throw_error(env, code, message);
    return;
  }
  napi_create_int32(env, -error, &number);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &call);
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &where);
  napi_set_named_property(env, object, "errno", number);
  napi_set_named_property(env, object, "syscall", call);
  napi_set_named_property(env, object, "path", where);
  napi_throw(env, object);
}

/* The path argument, NUL-terminated; false (with a TypeError thrown) if it is not a string that fits. */
static int read_path(napi_env env, napi_value value, char *path) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, path, PATH_BYTES, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "path must be a string");
    return 0;
  }
  if (length >= PATH_BYTES - 1 || strlen(path) != length) {
    napi_throw_type_error(env, NULL, "path is too long or holds a NUL");
    return 0;
  }
  return 1;
}

/* The mapping's length rides in the finalize hint: no allocation to free, nothing to leak. */
static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

/*
 * map(path, bytes, create) → ArrayBuffer. create: a new file (never an existing one), 0600, with all its memory
 * reserved now, so that a full /dev/shm fails here with ENOSPC rather than SIGBUS at the first write to a page.
 * Otherwise the file must exist and hold exactly `bytes` (a shorter file would SIGBUS past its end). The descriptor
 * is closed before returning: the mapping alone keeps the memory, even after the file is unlinked.
 */
static napi_value map(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  char path[PATH_BYTES];
  double requested;
  bool create;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "map(path, bytes, create) takes three arguments");
    return NULL;
  }
  if (!read_path(env, argv[0], path)) return NULL;
  if (napi_get_value_double(env, argv[1], &requested) != napi_ok || !(requested >= 0) ||
      requested > 9007199254740991.0 || requested != (double)(int64_t)requested) {
    napi_throw_range_error(env, NULL, "bytes must be a non-negative safe integer");
    return NULL;
  }
  if (napi_get_value_bool(env, argv[2], &create) != napi_ok) {
    napi_throw_type_error(env, NULL, "create must be a boolean");
    return NULL;
  }
  size_t bytes = (size_t)requested;
  int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT | O_EXCL : 0);
  int fd = open(path, flags, 0600);
  if (fd < 0) {
    throw_errno(env, errno, "open", path);
    return NULL;
  }
  int error = 0;
  const char *failed = NULL;
  if (create) {
    if (ftruncate(fd, (off_t)bytes) != 0) {
      error = errno;
      failed = "ftruncate";
    } else if (bytes > 0 && (error = posix_fallocate(fd, 0, (off_t)bytes)) != 0) {
      failed = "fallocate";
    }
  } else {
    struct stat st;
    if (fstat(fd, &st) != 0) {
      error = errno;
      failed = "fstat";
    } else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != (uint64_t)bytes) {
      error = EINVAL;
      failed = "fstat (not a regular file of the expected size)";
    }
  }
  void *data = NULL;
  if (failed == NULL && bytes > 0) {
    data = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) {
      error = errno;
      failed = "mmap";
    }
  }
  close(fd);
  if (failed != NULL) {
    /* A file this call created and could not map would only take room until the directory goes. */
    if (create) unlink(path);
    throw_errno(env, error, failed, path);
    return NULL;
  }
  /* mmap refuses a length of 0: an empty array needs no memory, so an ordinary empty buffer stands for it. */
  if (bytes == 0) {
    if (napi_create_arraybuffer(env, 0, NULL, &result) != napi_ok) return NULL;
    return result;
  }
  if (napi_create_external_arraybuffer(env, data, bytes, unmap, (void *)(uintptr_t)bytes, &result) != napi_ok) {
    munmap(data, bytes);
    napi_throw_error(env, NULL, "could not wrap the mapping in an ArrayBuffer");
    return NULL;
  }
  return result;
}

/* unlink(path): true if removed, false if it was already gone. */
static napi_value unlink_path(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  char path[PATH_BYTES];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "unlink(path) takes one argument");
    return NULL;
  }
  if (!read_path(env, argv[0], path)) return NULL;
  bool removed = unlink(path) == 0;
  if (!removed && errno != ENOENT) {
    throw_errno(env, errno, "unlink", path);
    return NULL;
  }
  napi_get_boolean(env, removed, &result);
  return result;
}

/*
 * Doorbells. A lane's reader that found nothing to read announces sleep in a shared word and waits on its bell: a FIFO
 * in the owner's 0700 directory. The writer rings it (one byte, one write) only when it sees that announcement, so a
 * busy stream makes no system call. V8's Atomics.wait/notify do not wake across processes, and a futex helper thread
 * handing over to the loop through uv_async doubled a round trip; an fd in the loop's own poll costs one wake-up.
 * Both ends open the FIFO O_RDWR: opening never blocks or fails with ENXIO for want of a peer, and a ring never raises
 * SIGPIPE or EPIPE, whoever died.
 */

/* mkfifo(path): a new FIFO, 0600 (EEXIST if the name is taken). */
static napi_value make_fifo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[PATH_BYTES];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || !read_path(env, argv[0], path)) return NULL;
  if (mkfifo(path, 0600) != 0) throw_errno(env, errno, "mkfifo", path);
  return NULL;
}

/* openBell(path) → fd: the FIFO, for ringing (or watching); never a regular file or a link. */
static napi_value open_bell(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  char path[PATH_BYTES];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || !read_path(env, argv[0], path)) return NULL;
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    throw_errno(env, errno, "open", path);
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
    close(fd);
    throw_errno(env, EINVAL, "open (not a FIFO)", path);
    return NULL;
  }
  napi_create_int32(env, fd, &result);
  return result;
}

static int read_fd(napi_env env, napi_value value, int *fd) {
  if (napi_get_value_int32(env, value, fd) != napi_ok || *fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a non-negative integer");
    return 0;
  }
  return 1;
}

/* ring(fd): one byte. A full FIFO (EAGAIN) was rung already and not yet heard: nothing more to say. */
static napi_value ring(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || !read_fd(env, argv[0], &fd)) return NULL;
  static const char byte = 1;
  while (write(fd, &byte, 1) < 0 && errno == EINTR) {}
  return NULL;
}

/* closeBell(fd). */
static napi_value close_bell(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || !read_fd(env, argv[0], &fd)) return NULL;
  close(fd);
  return NULL;
}

/* A watched bell: its poll handle, the callback, and its place in the thread's list (closed with the thread). */
typedef struct watch {
  uv_poll_t poll;
  int fd;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  struct watch *next, *prev;
  struct watches *owner;
} watch_t;

/* The bells watched by one thread (one napi_env): a worker thread that ends closes its own. */
typedef struct watches {
  watch_t *first;
} watches_t;

static void freed(uv_handle_t *handle) { free(handle->data); }

static void unwatch(watch_t *w) {
  if (w->fd < 0) return;
  if (w->prev != NULL) w->prev->next = w->next; else w->owner->first = w->next;
  if (w->next != NULL) w->next->prev = w->prev;
  uv_poll_stop(&w->poll);
  close(w->fd);
  w->fd = -1;
  napi_delete_reference(w->env, w->callback);
  napi_async_destroy(w->env, w->context);
  uv_close((uv_handle_t *)&w->poll, freed);
}

/* The FIFO is drained first: a ring that comes while JavaScript runs wakes the loop again, so none is lost. */
static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  watch_t *w = poll->data;
  char bytes[256];
  if (status == 0) {
    while (read(w->fd, bytes, sizeof bytes) > 0) {}
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  napi_value callback, global, result;
  if (napi_get_reference_value(w->env, w->callback, &callback) == napi_ok && callback != NULL &&
      napi_get_global(w->env, &global) == napi_ok) {
    /* make_callback, not call_function: promises settled in the callback run their reactions before the loop sleeps. */
    napi_make_callback(w->env, w->context, global, callback, 0, NULL, &result);
  }
  napi_close_handle_scope(w->env, scope);
}

static void close_watches(void *arg) {
  watches_t *list = arg;
  while (list->first != NULL) unwatch(list->first);
  free(list);
}

static watches_t *watches_of(napi_env env) {
  watches_t *list = NULL;
  if (napi_get_instance_data(env, (void **)&list) == napi_ok && list != NULL) return list;
  list = calloc(1, sizeof *list);
  if (list == NULL) return NULL;
  if (napi_set_instance_data(env, list, NULL, NULL) != napi_ok) {
    free(list);
    return NULL;
  }
  napi_add_env_cleanup_hook(env, close_watches, list);
  return list;
}

/*
 * watch(path, callback) → a token for unwatch(): calls `callback` on this thread each time the bell at `path` was rung. The poll
 * is unreferenced: a bell never keeps a process or thread alive (the owner's socket does, while an answer is awaited).
 */
static napi_value watch_bell(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, name;
  char path[PATH_BYTES];
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || !read_path(env, argv[0], path)) return NULL;
  if (napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "callback must be a function");
    return NULL;
  }
  watches_t *list = watches_of(env);
  uv_loop_t *loop = NULL;
  if (list == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, NULL, "cannot watch a doorbell on this thread");
    return NULL;
  }
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    throw_errno(env, errno, "open", path);
    return NULL;
  }
  watch_t *w = calloc(1, sizeof *w);
  if (w == NULL) {
    close(fd);
    throw_errno(env, ENOMEM, "watch", path);
    return NULL;
  }
  w->fd = fd;
  w->env = env;
  w->owner = list;
  w->poll.data = w;
  int error = uv_poll_init(loop, &w->poll, fd);
  if (error != 0) {
    close(fd);
    free(w);
    throw_errno(env, -error, "uv_poll_init", path);
    return NULL;
  }
  napi_create_reference(env, argv[1], 1, &w->callback);
  napi_create_string_utf8(env, "procsafe:doorbell", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &w->context);
  uv_poll_start(&w->poll, UV_READABLE, on_readable);
  uv_unref((uv_handle_t *)&w->poll);
  w->next = list->first;
  if (list->first != NULL) list->first->prev = w;
  list->first = w;
  /* The token finds its watch again in unwatch(): wrapped here, unwrapped there (once). */
  napi_create_object(env, &result);
  napi_wrap(env, result, w, NULL, NULL, NULL);
  return result;
}

/* unwatch(token): stops and closes the bell's fd; a second call does nothing. */
static napi_value unwatch_bell(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_remove_wrap(env, argv[0], &data) != napi_ok || data == NULL) return NULL;
  unwatch(data);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
    { "map", NULL, map, NULL, NULL, NULL, napi_enumerable, NULL },
    { "unlink", NULL, unlink_path, NULL, NULL, NULL, napi_enumerable, NULL },
    { "mkfifo", NULL, make_fifo, NULL, NULL, NULL, napi_enumerable, NULL },
    { "openBell", NULL, open_bell, NULL, NULL, NULL, napi_enumerable, NULL },
    { "ring", NULL, ring, NULL, NULL, NULL, napi_enumerable, NULL },
    { "closeBell", NULL, close_bell, NULL, NULL, NULL, napi_enumerable, NULL },
    { "watch", NULL, watch_bell, NULL, NULL, NULL, napi_enumerable, NULL },
    { "unwatch", NULL, unwatch_bell, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods) != napi_ok) return NULL;
  return exports;
}
