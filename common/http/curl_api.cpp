// SPDX-License-Identifier: MIT
#include "common/http/curl_api.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "common/error.hpp"

namespace multivio::http {
namespace {

template <typename Fn>
void bind(void* lib, Fn& fn, const char* name) {
  void* sym = ::dlsym(lib, name);
  if (!sym) throw_permanent(std::string("libcurl.so.4 lacks ") + name + ": install the libcurl4 package");
  fn = reinterpret_cast<Fn>(sym);
}

CurlApi load() {
  // The handle is never closed: libcurl keeps global state until exit.
  void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!lib) throw_permanent(std::string("cannot load libcurl (install the libcurl4 package): ") + ::dlerror());
  CurlApi api{};
  bind(lib, api.global_init, "curl_global_init");
  bind(lib, api.easy_init, "curl_easy_init");
  bind(lib, api.easy_setopt, "curl_easy_setopt");
  bind(lib, api.easy_perform, "curl_easy_perform");
  bind(lib, api.easy_getinfo, "curl_easy_getinfo");
  bind(lib, api.easy_reset, "curl_easy_reset");
  bind(lib, api.easy_cleanup, "curl_easy_cleanup");
  bind(lib, api.easy_strerror, "curl_easy_strerror");
  bind(lib, api.slist_append, "curl_slist_append");
  bind(lib, api.slist_free_all, "curl_slist_free_all");
  // Not thread-safe, hence inside the once-only loader.
  if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw_permanent("curl_global_init failed");
  return api;
}

}  // namespace

const CurlApi& curl_api() {
  static std::once_flag once;
  static CurlApi api;
  std::call_once(once, [] { api = load(); });
  return api;
}

}  // namespace multivio::http
