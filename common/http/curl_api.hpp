// SPDX-License-Identifier: MIT
// libcurl, loaded on first use with dlopen. libcurl pulls in some thirty
// shared libraries (GnuTLS, Kerberos, LDAP, ...); mapping them costs every
// `multivio --help` about 10 MB of RSS and milliseconds of start-up, although
// most commands never make a network call.
#pragma once

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

namespace multivio::http {

struct CurlApi {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  void (*easy_reset)(CURL*);
  void (*easy_cleanup)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

/// Loads libcurl.so.4 and runs curl_global_init once (thread-safe). Throws
/// Error(permanent) naming the package when the library is missing.
const CurlApi& curl_api();

}  // namespace multivio::http
