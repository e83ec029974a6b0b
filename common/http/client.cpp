// SPDX-License-Identifier: MIT
#include "common/http/client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <mutex>

#include "common/http/curl_api.hpp"

namespace multivio::http {

namespace {

constexpr std::size_t k_max_body = 64u << 20;  // a platform reply larger than this is not a reply
constexpr const char* k_user_agent = "multivio/0.1";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
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

void global_init() { curl_api(); }

struct EasyDeleter {
  void operator()(CURL* h) const noexcept { curl_api().easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_api().slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

struct Transfer {
  Response* response = nullptr;
  bool too_large = false;
  // Streaming only: where the body goes, and what the sink threw.
  CURL* easy = nullptr;
  const Client::BodySink* sink = nullptr;
  bool head_ready = false;
  std::exception_ptr failure;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->response->body.size() + len > k_max_body) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response->body.append(data, len);
  return len;
}

size_t on_stream_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (!t->head_ready) {
    // curl hands over the status line and every header before the first
    // body byte, so the head is complete here; the status is read now
    // because CURLINFO_RESPONSE_CODE is otherwise only fetched at the end.
    long status = 0;
    curl_api().easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    t->response->status = static_cast<int>(status);
    t->head_ready = true;
  }
  try {
    (*t->sink)(*t->response, std::string_view(data, len));
  } catch (...) {
    // Exceptions must not cross libcurl's C frames: park it, abort, rethrow.
    t->failure = std::current_exception();
    return len == 0 ? 1 : 0;  // any other count than len aborts with CURLE_WRITE_ERROR
  }
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  // A status line starts a new response (redirect hop or 100 Continue):
  // only the final response's headers are the answer.
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();
    return len;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return len;  // the blank line ending a header block
  }
  t->response->headers.emplace_back(std::string(trim_ws(line.substr(0, colon))),
                                    std::string(trim_ws(line.substr(colon + 1))));
  return len;
}

// Failures where curl never got as far as sending the request: safe to retry.
bool never_sent(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return true;
    default:
      return false;
  }
}

class CurlClient final : public Client {
 public:
  CurlClient() {
    global_init();
    easy_.reset(curl_api().easy_init());
    if (!easy_) {
      throw Error(ErrorKind::permanent, "cannot initialise libcurl");
    }
  }

  Response send(const Request& request) override { return perform(request, nullptr); }

  Response send_streaming(const Request& request, const BodySink& on_body) override {
    return perform(request, &on_body);
  }

 private:
  Response perform(const Request& request, const BodySink* sink) {
    CURL* h = easy_.get();
    // Reset options but keep the handle's connection and DNS caches.
    curl_api().easy_reset(h);

    Response response;
    Transfer transfer;
    transfer.response = &response;
    transfer.easy = h;
    transfer.sink = sink;
    char errbuf[CURL_ERROR_SIZE] = {};

    SlistPtr headers;
    auto add_header = [&](const std::string& line) {
      curl_slist* next = curl_api().slist_append(headers.get(), line.c_str());
      if (!next) {
        throw Error(ErrorKind::permanent, "out of memory building request headers");
      }
      (void)headers.release();
      headers.reset(next);
    };
    for (const auto& [name, value] : request.headers) {
      // "Name;" is curl's spelling of a header with an empty value.
      add_header(value.empty() ? name + ";" : name + ": " + value);
    }
    // Without this curl waits up to a second for "100 Continue" on larger bodies.
    add_header("Expect:");

    curl_api().easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_api().easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_api().easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_api().easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts must not use SIGALRM in a threaded daemon
    curl_api().easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
    curl_api().easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
    curl_api().easy_setopt(h, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
    curl_api().easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_api().easy_setopt(h, CURLOPT_USERAGENT, k_user_agent);
    curl_api().easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_api().easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_api().easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    if (sink != nullptr) {
      curl_api().easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream_body);
    } else {
      curl_api().easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    }
    curl_api().easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_api().easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_api().easy_setopt(h, CURLOPT_HEADERDATA, &transfer);

    const std::string& method = request.method;
    if (method == "HEAD") {
      curl_api().easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (method == "GET" && request.body.empty()) {
      curl_api().easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      if (method != "POST" || request.body.empty()) {
        // POST with a body is curl's default; everything else is spelled out.
        curl_api().easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
      }
      if (!request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        curl_api().easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
        curl_api().easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      }
      // Keep POST on 301/302 (as 307/308 do); a 303 still means "now GET".
      curl_api().easy_setopt(h, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_301 | CURL_REDIR_POST_302));
    }

    const CURLcode code = curl_api().easy_perform(h);

    curl_off_t total_us = 0;
    curl_api().easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
    response.elapsed = std::chrono::milliseconds(total_us / 1000);

    if (transfer.failure) {
      std::rethrow_exception(transfer.failure);  // the sink's own exception, unchanged
    }
    if (code != CURLE_OK) {
      std::string what = errbuf[0] != '\0' ? std::string(trim_ws(errbuf)) : curl_api().easy_strerror(code);
      if (transfer.too_large) {
        what = "response body larger than " + std::to_string(k_max_body >> 20) + " MiB";
      }
      const std::string message = method + " " + redact_url(request.url) + ": " + what;
      if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
        throw Error(ErrorKind::permanent, message);  // retrying cannot fix the URL
      }
      Error error(ErrorKind::transient, message);
      if (never_sent(code)) {
        error.outcome_unknown = false;
      } else if (code == CURLE_OPERATION_TIMEDOUT) {
        // Pre-transfer time stays 0 until the connection (and TLS) is up and
        // the request is about to go out: a timeout before that sent nothing.
        curl_off_t pretransfer_us = 0;
        curl_api().easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
        error.outcome_unknown = pretransfer_us > 0;
      } else {
        error.outcome_unknown = true;
      }
      throw error;
    }

    long status = 0;
    curl_api().easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

  std::unique_ptr<CURL, EasyDeleter> easy_;
};

// "Wed, 21 Oct 2015 07:28:00 GMT" (IMF-fixdate, RFC 9110 §5.6.7).
std::optional<std::chrono::sys_seconds> parse_imf_fixdate(std::string_view s) {
  static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    const char* first = s.data() + pos;
    auto [ptr, ec] = std::from_chars(first, first + len, out);
    return ec == std::errc{} && ptr == first + len;
  };
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  if (!num(5, 2, day) || !num(12, 4, year) || !num(17, 2, hh) || !num(20, 2, mm) || !num(23, 2, ss)) {
    return std::nullopt;
  }
  const auto month_it = std::find(std::begin(months), std::end(months), s.substr(8, 3));
  if (month_it == std::end(months) || hh > 23 || mm > 59 || ss > 60) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{std::chrono::year{year},
                           std::chrono::month{static_cast<unsigned>(month_it - std::begin(months) + 1)},
                           std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return sys_days{ymd} + hours{hh} + minutes{mm} + seconds{ss};
}

std::optional<long long> parse_digits(std::string_view s) {
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || v < 0) {
    return std::nullopt;
  }
  return v;
}

// The body as one short line for an error message: control characters become
// spaces and the cut never splits a UTF-8 sequence.
std::string excerpt(std::string_view body, std::size_t max) {
  std::string out;
  std::size_t end = std::min(body.size(), max);
  while (end < body.size() && end > 0 && (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80) {
    --end;
  }
  for (char c : body.substr(0, end)) {
    const bool space = static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    if (space && (out.empty() || out.back() == ' ')) {
      continue;
    }
    out.push_back(space ? ' ' : c);
  }
  return std::string(trim_ws(out));
}

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (iequals(it->first, name)) {
      return it->second;
    }
  }
  return std::nullopt;
}

Response Client::send_streaming(const Request& request, const BodySink& on_body) {
  Response response = send(request);
  std::string body = std::move(response.body);
  response.body.clear();
  if (!body.empty()) {
    on_body(response, body);
  }
  return response;
}

std::unique_ptr<Client> make_client() { return std::make_unique<CurlClient>(); }

Error classify(const Response& response, std::string_view context) {
  const int status = response.status;
  std::string message = std::string(context) + ": HTTP " + std::to_string(status);
  if (const std::string text = excerpt(response.body, 200); !text.empty()) {
    message += ": " + text;
  }

  ErrorKind kind = ErrorKind::permanent;
  // 408: the server gave up waiting for the request, so it was not processed.
  if (status == 429 || status == 408 || status >= 500) {
    kind = ErrorKind::transient;
  } else if (status == 401 || status == 403) {
    kind = ErrorKind::auth;
  }
  Error error(kind, std::move(message));
  error.http_status = status;

  if (kind == ErrorKind::transient) {
    const auto now = std::chrono::system_clock::now();
    std::optional<std::chrono::seconds> wait;
    if (auto v = response.header("Retry-After")) {
      wait = parse_retry_after(*v, now);
    }
    // X's rate-limit reset: the unix second the window reopens. X sends it
    // on every answer, so it only means "wait" on a 429 (a 5xx backs off
    // normally). Wait for whichever of the two hints is later.
    if (auto v = response.header("x-rate-limit-reset"); v && status == 429) {
      if (auto reset = parse_digits(trim_ws(*v))) {
        const auto at = std::chrono::sys_seconds{std::chrono::seconds{*reset}};
        const auto delta = std::max(std::chrono::seconds{0},
                                    std::chrono::ceil<std::chrono::seconds>(at - now));
        wait = wait ? std::max(*wait, delta) : delta;
      }
    }
    error.retry_after = wait;
  }
  return error;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  value = trim_ws(value);
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    auto v = parse_digits(value);
    if (!v) {
      return std::nullopt;
    }
    return std::chrono::seconds{*v};
  }
  auto at = parse_imf_fixdate(value);
  if (!at) {
    return std::nullopt;
  }
  return std::max(std::chrono::seconds{0}, std::chrono::ceil<std::chrono::seconds>(*at - now));
}

std::string redact_url(std::string_view url) {
  std::string out;
  out.reserve(url.size());

  // Split off the fragment first; it never reaches the server anyway.
  std::string_view fragment;
  if (auto hash = url.find('#'); hash != std::string_view::npos) {
    fragment = url.substr(hash);
    url = url.substr(0, hash);
  }
  std::string_view query;
  bool has_query = false;
  if (auto q = url.find('?'); q != std::string_view::npos) {
    query = url.substr(q + 1);
    url = url.substr(0, q);
    has_query = true;
  }

  // scheme://[userinfo@]host/path
  if (auto scheme_end = url.find("://"); scheme_end != std::string_view::npos) {
    const std::size_t auth_start = scheme_end + 3;
    const std::size_t auth_end = std::min(url.find('/', auth_start), url.size());
    const std::string_view authority = url.substr(auth_start, auth_end - auth_start);
    out.append(url.substr(0, auth_start));
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      out.append("***@");
      out.append(authority.substr(at + 1));
    } else {
      out.append(authority);
    }
    out.append(url.substr(auth_end));
  } else {
    out.append(url);
  }

  if (has_query) {
    out.push_back('?');
    bool first = true;
    while (true) {
      const auto amp = query.find('&');
      const std::string_view item = query.substr(0, amp);
      if (!first) {
        out.push_back('&');
      }
      first = false;
      if (auto eq = item.find('='); eq != std::string_view::npos) {
        out.append(item.substr(0, eq + 1));
        out.append("***");
      } else {
        out.append(item);
      }
      if (amp == std::string_view::npos) {
        break;
      }
      query.remove_prefix(amp + 1);
    }
  }
  out.append(fragment);
  return out;
}

}  // namespace multivio::http
