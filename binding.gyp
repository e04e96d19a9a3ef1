{
  "targets": [
    {
      "target_name": "procsafe",
      "sources": ["native/procsafe.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
