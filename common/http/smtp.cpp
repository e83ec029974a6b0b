// SPDX-License-Identifier: MIT
#include "common/http/smtp.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/http/curl_api.hpp"

namespace multivio::http {
namespace {

struct EasyDeleter {
  void operator()(CURL* h) const noexcept { curl_api().easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_api().slist_free_all(l); }
};

struct Upload {
  std::string_view data;
  std::size_t offset = 0;
};

size_t on_read(char* buffer, size_t size, size_t n, void* user) {
  auto* up = static_cast<Upload*>(user);
  const size_t len = std::min(size * n, up->data.size() - up->offset);
  std::memcpy(buffer, up->data.data() + up->offset, len);
  up->offset += len;
  return len;  // 0 ends the upload
}

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool never_sent(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_LOGIN_DENIED:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

// A header line must not smuggle a second SMTP command or recipient.
void check_address(const std::string& address, const char* what) {
  if (address.empty() || address.find_first_of("\r\n") != std::string::npos) {
    throw_permanent(std::string("SMTP: invalid ") + what + " address");
  }
}

}  // namespace

std::string mail_address(const std::string& mailbox) {
  const auto open = mailbox.rfind('<');
  const auto close = mailbox.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    return std::string(trim_ws(std::string_view(mailbox).substr(open + 1, close - open - 1)));
  }
  return std::string(trim_ws(mailbox));
}

void send_mail(const SmtpRequest& request) {
  const bool implicit_tls = request.url.starts_with("smtps://");
  if (!implicit_tls && !request.url.starts_with("smtp://")) {
    throw_permanent("SMTP: expected an smtp:// or smtps:// URL, got " + redact_url(request.url));
  }
  const std::string from = mail_address(request.from);
  check_address(from, "sender");
  if (request.recipients.empty()) throw_permanent("SMTP: no recipients");

  const CurlApi& api = curl_api();
  std::unique_ptr<CURL, EasyDeleter> easy(api.easy_init());
  if (!easy) throw_permanent("cannot initialise libcurl");
  CURL* h = easy.get();

  std::unique_ptr<curl_slist, SlistDeleter> rcpts;
  for (const auto& recipient : request.recipients) {
    const std::string address = mail_address(recipient);
    check_address(address, "recipient");
    curl_slist* next = api.slist_append(rcpts.get(), ("<" + address + ">").c_str());
    if (!next) throw_permanent("out of memory building the recipient list");
    (void)rcpts.release();
    rcpts.reset(next);
  }

  Upload upload{request.message};
  char errbuf[CURL_ERROR_SIZE] = {};
  const std::string mail_from = "<" + from + ">";

  api.easy_setopt(h, CURLOPT_URL, request.url.c_str());
  api.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  api.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  api.easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  api.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  api.easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
  api.easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts.get());
  api.easy_setopt(h, CURLOPT_UPLOAD, 1L);
  api.easy_setopt(h, CURLOPT_READFUNCTION, on_read);
  api.easy_setopt(h, CURLOPT_READDATA, &upload);
  api.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.message.size()));
  // smtps:// is TLS from the first byte; for smtp:// CURLUSESSL_ALL makes
  // STARTTLS mandatory, so a stripped STARTTLS never downgrades to clear text.
  const bool tls = implicit_tls || request.starttls;
  api.easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(tls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
  if (!request.username.empty()) {
    api.easy_setopt(h, CURLOPT_USERNAME, request.username.c_str());
    api.easy_setopt(h, CURLOPT_PASSWORD, request.password.c_str());
  }

  const CURLcode code = api.easy_perform(h);
  if (code == CURLE_OK) return;

  long reply = 0;
  api.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
  std::string what = errbuf[0] != '\0' ? std::string(trim_ws(errbuf)) : api.easy_strerror(code);
  // The last reply code, when it is a refusal (a 250 here is just the last good step).
  if (reply >= 400) what += " (server replied " + std::to_string(reply) + ")";
  const std::string message = "SMTP " + redact_url(request.url) + ": " + what;

  if (code == CURLE_LOGIN_DENIED) throw_auth(message + ": check the SMTP username and password");
  if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) throw_permanent(message);
  if (code == CURLE_USE_SSL_FAILED) {
    throw_permanent(message + ": the server does not offer STARTTLS (use smtps:// or, for a trusted local relay, "
                              "starttls: false)");
  }
  if (reply >= 500 && reply < 600) {
    Error error(ErrorKind::permanent, message);
    error.outcome_unknown = false;  // the server refused it
    throw error;
  }
  Error error(ErrorKind::transient, message);
  error.outcome_unknown = !never_sent(code) && !(reply >= 400 && reply < 500);
  throw error;
}

}  // namespace multivio::http
