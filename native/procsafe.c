/*
 * procsafe's native addon: maps files of /dev/shm into JavaScript memory, nothing else. Every policy (which directory,
 * which names, who deletes what and when) stays in TypeScript (src/shared/, src/native/load.ts); this file only does
 * what JavaScript cannot: mmap, and an ArrayBuffer over the mapping that unmaps when collected.
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

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
    { "map", NULL, map, NULL, NULL, NULL, napi_enumerable, NULL },
    { "unlink", NULL, unlink_path, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods) != napi_ok) return NULL;
  return exports;
}
