// SPDX-License-Identifier: MIT
// Written from the S3 wire format (Authenticating Requests: AWS Signature
// Version 4, header-based and query-string auth), deliberately sharing no
// code with common/media/sigv4 so a mistake there cannot hide here.
#include "tests/fakes/s3_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace multivio::fakes {

namespace {

using Clock = std::chrono::system_clock;

// S3 refuses header-signed requests more than 15 minutes off its clock.
constexpr std::chrono::minutes kMaxSkew{15};

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

std::string digest_hex(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out, &size, md, nullptr) != 1) {
    throw std::runtime_error("s3 fake: digest failed");
  }
  return to_hex(out, size);
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), out, &size) == nullptr) {
    throw std::runtime_error("s3 fake: HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The spec's UriEncode(): unreserved characters stay, the rest is %XX.
std::string spec_encode(std::string_view s, bool keep_slash) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += ch;
    } else {
      static constexpr char kDigits[] = "0123456789ABCDEF";
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    if (!item.empty()) {
      const auto eq = item.find('=');
      out.emplace_back(percent_decode(item.substr(0, eq)),
                       eq == std::string_view::npos ? std::string{} : percent_decode(item.substr(eq + 1)));
    }
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return out;
}

std::optional<Clock::time_point> parse_amz_date(std::string_view s) {
  // YYYYMMDDTHHMMSSZ
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') {
    return std::nullopt;
  }
  auto num = [&](std::size_t pos, std::size_t len) -> int {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, v);
    return ec == std::errc{} && p == s.data() + pos + len ? v : -1;
  };
  const int y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2), se = num(13, 2);
  if (y < 0 || mo < 1 || d < 1 || h < 0 || mi < 0 || se < 0) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{se};
}

struct S3Error {
  int status;
  std::string code;
  std::string message;
};

std::string xml_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

namespace s3sig {

std::string sha256_hex(std::string_view data) { return digest_hex(EVP_sha256(), data); }

std::string sign(std::string_view secret, std::string_view date, std::string_view region, std::string_view service,
                 std::string_view string_to_sign) {
  std::string key = hmac("AWS4" + std::string(secret), date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, "aws4_request");
  const std::string mac = hmac(key, string_to_sign);
  return to_hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

}  // namespace s3sig

struct S3Server::Impl {
  std::string bucket;
  std::string access_key;
  std::string secret;
  std::string region;

  httplib::Server server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mutex;
  std::chrono::seconds offset{0};
  std::map<std::string, Object> store;
  std::vector<Received> log;
  int failures_left = 0;
  S3Error scripted{500, "InternalError", "We encountered an internal error. Please try again."};
  long long request_ids = 0;

  Clock::time_point now() const { return Clock::now() + offset; }

  // The canonical request as the spec builds it from what arrived.
  std::string canonical(const httplib::Request& req, std::string_view raw_path,
                        const std::vector<std::pair<std::string, std::string>>& query,
                        const std::vector<std::string>& signed_names, std::string_view payload) const {
    std::vector<std::pair<std::string, std::string>> q;
    for (const auto& [k, v] : query) {
      if (k != "X-Amz-Signature") {
        q.emplace_back(spec_encode(k, false), spec_encode(v, false));
      }
    }
    std::sort(q.begin(), q.end());
    std::string query_text;
    for (const auto& [k, v] : q) {
      query_text += (query_text.empty() ? "" : "&") + k + "=" + v;
    }
    std::string headers;
    for (const auto& name : signed_names) {
      std::string joined;
      const std::size_t n = req.get_header_value_count(name.c_str());
      for (std::size_t i = 0; i < n; ++i) {
        std::string value = req.get_header_value(name.c_str(), i);
        // Trim, and squeeze runs of spaces to one.
        std::string squeezed;
        for (const char c : value) {
          if (c == ' ' && (squeezed.empty() || squeezed.back() == ' ')) {
            continue;
          }
          squeezed += c;
        }
        while (!squeezed.empty() && squeezed.back() == ' ') {
          squeezed.pop_back();
        }
        joined += (i == 0 ? "" : ",") + squeezed;
      }
      headers += name + ":" + joined + "\n";
    }
    std::string signed_list;
    for (const auto& name : signed_names) {
      signed_list += (signed_list.empty() ? "" : ";") + name;
    }
    return req.method + "\n" + spec_encode(percent_decode(raw_path), true) + "\n" + query_text + "\n" + headers +
           "\n" + signed_list + "\n" + std::string(payload);
  }

  std::optional<S3Error> check_signature(const httplib::Request& req, std::string_view raw_path,
                                         const std::vector<std::pair<std::string, std::string>>& query,
                                         std::string_view credential, std::string_view amz_date,
                                         std::string_view signed_headers, std::string_view signature,
                                         std::string_view payload) const {
    // Credential = <key>/<yyyymmdd>/<region>/<service>/aws4_request
    std::vector<std::string> parts;
    std::string_view rest = credential;
    while (true) {
      const auto slash = rest.find('/');
      parts.emplace_back(rest.substr(0, slash));
      if (slash == std::string_view::npos) {
        break;
      }
      rest = rest.substr(slash + 1);
    }
    if (parts.size() != 5 || parts[4] != "aws4_request" || parts[3] != "s3") {
      return S3Error{400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the Credential is "
                                                          "mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/"
                                                          "aws4_request\"."};
    }
    if (parts[0] != access_key) {
      return S3Error{403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."};
    }
    if (parts[2] != region) {
      return S3Error{400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the region '" +
                                                              parts[2] + "' is wrong; expecting '" + region + "'"};
    }
    if (amz_date.substr(0, 8) != parts[1]) {
      return S3Error{400, "AuthorizationHeaderMalformed",
                     "The authorization header is malformed; Invalid credential date. Date is not the same as "
                     "X-Amz-Date."};
    }
    std::vector<std::string> names;
    std::string_view list = signed_headers;
    while (!list.empty()) {
      const auto semi = list.find(';');
      names.push_back(lower(list.substr(0, semi)));
      list = semi == std::string_view::npos ? std::string_view{} : list.substr(semi + 1);
    }
    if (std::find(names.begin(), names.end(), "host") == names.end()) {
      return S3Error{403, "AccessDenied", "Host must be a signed header"};
    }
    if (!std::is_sorted(names.begin(), names.end())) {
      return S3Error{403, "SignatureDoesNotMatch", "SignedHeaders must be sorted"};
    }
    for (const auto& [name, value] : req.headers) {
      const std::string l = lower(name);
      if (l.starts_with("x-amz-") && std::find(names.begin(), names.end(), l) == names.end()) {
        return S3Error{403, "AccessDenied", "There were headers present in the request which were not signed"};
      }
    }
    const std::string scope = parts[1] + "/" + region + "/s3/aws4_request";
    const std::string to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" +
                                s3sig::sha256_hex(canonical(req, raw_path, query, names, payload));
    if (s3sig::sign(secret, parts[1], region, "s3", to_sign) != signature) {
      return S3Error{403, "SignatureDoesNotMatch",
                     "The request signature we calculated does not match the signature you provided. Check your key "
                     "and signing method."};
    }
    return std::nullopt;
  }

  std::optional<S3Error> authenticate(const httplib::Request& req, std::string_view raw_path,
                                      const std::vector<std::pair<std::string, std::string>>& query,
                                      bool& presigned) const {
    auto param = [&](std::string_view name) -> std::optional<std::string> {
      for (const auto& [k, v] : query) {
        if (k == name) {
          return v;
        }
      }
      return std::nullopt;
    };
    if (const auto algorithm = param("X-Amz-Algorithm")) {
      presigned = true;
      const auto credential = param("X-Amz-Credential");
      const auto date = param("X-Amz-Date");
      const auto expires = param("X-Amz-Expires");
      const auto signed_headers = param("X-Amz-SignedHeaders");
      const auto signature = param("X-Amz-Signature");
      if (*algorithm != "AWS4-HMAC-SHA256" || !credential || !date || !expires || !signed_headers || !signature) {
        return S3Error{400, "AuthorizationQueryParametersError",
                       "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                       "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."};
      }
      long long lifetime = -1;
      auto [p, ec] = std::from_chars(expires->data(), expires->data() + expires->size(), lifetime);
      if (ec != std::errc{} || p != expires->data() + expires->size() || lifetime < 1 || lifetime > 604'800) {
        return S3Error{400, "AuthorizationQueryParametersError",
                       "X-Amz-Expires must be less than a week (in seconds) that is 604800"};
      }
      const auto signed_at = parse_amz_date(*date);
      if (!signed_at) {
        return S3Error{400, "AuthorizationQueryParametersError",
                       "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""};
      }
      if (now() > *signed_at + std::chrono::seconds{lifetime}) {
        return S3Error{403, "AccessDenied", "Request has expired"};
      }
      return check_signature(req, raw_path, query, *credential, *date, *signed_headers, *signature,
                             "UNSIGNED-PAYLOAD");
    }

    const std::string auth = req.get_header_value("Authorization");
    if (auth.empty()) {
      return S3Error{403, "AccessDenied", "Access Denied"};
    }
    constexpr std::string_view kPrefix = "AWS4-HMAC-SHA256 ";
    if (!std::string_view(auth).starts_with(kPrefix)) {
      return S3Error{400, "InvalidArgument", "Unsupported Authorization Type"};
    }
    std::string credential, signed_headers, signature;
    std::string_view fields = std::string_view(auth).substr(kPrefix.size());
    while (!fields.empty()) {
      const auto comma = fields.find(',');
      std::string_view item = fields.substr(0, comma);
      while (!item.empty() && item.front() == ' ') {
        item.remove_prefix(1);
      }
      if (item.starts_with("Credential=")) {
        credential = item.substr(11);
      } else if (item.starts_with("SignedHeaders=")) {
        signed_headers = item.substr(14);
      } else if (item.starts_with("Signature=")) {
        signature = item.substr(10);
      }
      fields = comma == std::string_view::npos ? std::string_view{} : fields.substr(comma + 1);
    }
    if (credential.empty() || signed_headers.empty() || signature.empty()) {
      return S3Error{400, "AuthorizationHeaderMalformed",
                     "The authorization header is malformed; it must have Credential, SignedHeaders and Signature."};
    }
    if (!req.has_header("x-amz-content-sha256")) {
      return S3Error{400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"};
    }
    const std::string date = req.get_header_value("x-amz-date");
    const auto signed_at = parse_amz_date(date);
    if (!signed_at) {
      return S3Error{403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"};
    }
    const auto skew = now() - *signed_at;
    if (skew > kMaxSkew || skew < -kMaxSkew) {
      return S3Error{403, "RequestTimeTooSkewed",
                     "The difference between the request time and the current time is too large."};
    }
    const std::string payload = req.get_header_value("x-amz-content-sha256");
    if (auto refused = check_signature(req, raw_path, query, credential, date, signed_headers, signature, payload)) {
      return refused;
    }
    if (payload != "UNSIGNED-PAYLOAD" && payload != s3sig::sha256_hex(req.body)) {
      return S3Error{400, "XAmzContentSHA256Mismatch",
                     "The provided 'x-amz-content-sha256' header does not match what was computed."};
    }
    return std::nullopt;
  }

  void answer_error(httplib::Response& res, const S3Error& error, const std::string& resource, bool head) {
    res.status = error.status;
    if (head) {
      return;  // S3 answers HEAD errors with the status alone
    }
    const std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + error.code +
                             "</Code><Message>" + xml_escape(error.message) + "</Message><Resource>" +
                             xml_escape(resource) + "</Resource><RequestId>" + std::to_string(++request_ids) +
                             "</RequestId></Error>";
    res.set_content(body, "application/xml");
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    const std::string_view target = req.target;
    const auto qmark = target.find('?');
    const std::string_view raw_path = target.substr(0, qmark);
    const auto query = parse_query(qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1));

    // Virtual-hosted style names the bucket in Host; path style in the path.
    std::string host = req.get_header_value("Host");
    std::string key_path = percent_decode(raw_path);
    std::string addressed_bucket;
    if (host.starts_with(bucket + ".")) {
      addressed_bucket = bucket;
      key_path = key_path.empty() ? std::string{} : key_path.substr(1);
    } else {
      const std::string path = key_path.empty() ? std::string{} : key_path.substr(1);
      const auto slash = path.find('/');
      addressed_bucket = path.substr(0, slash);
      key_path = slash == std::string::npos ? std::string{} : path.substr(slash + 1);
    }

    std::lock_guard lock(mutex);
    Received rec;
    rec.method = req.method;
    rec.target = req.target;
    const bool head = req.method == "HEAD";
    auto finish = [&](int status, std::string code) {
      rec.status = status;
      rec.error_code = std::move(code);
      log.push_back(rec);
    };

    bool presigned = false;
    if (auto refused = authenticate(req, raw_path, query, presigned)) {
      rec.presigned = presigned;
      answer_error(res, *refused, std::string(raw_path), head);
      finish(refused->status, refused->code);
      return;
    }
    rec.presigned = presigned;
    if (addressed_bucket != bucket) {
      const S3Error e{404, "NoSuchBucket", "The specified bucket does not exist"};
      answer_error(res, e, std::string(raw_path), head);
      finish(e.status, e.code);
      return;
    }
    rec.key = key_path;
    if (key_path.empty()) {
      const S3Error e{501, "NotImplemented", "This fake serves objects only."};
      answer_error(res, e, std::string(raw_path), head);
      finish(e.status, e.code);
      return;
    }
    if (failures_left > 0) {
      --failures_left;
      answer_error(res, scripted, std::string(raw_path), head);
      finish(scripted.status, scripted.code);
      return;
    }

    if (req.method == "PUT") {
      store[key_path] = Object{req.body, req.get_header_value("Content-Type")};
      res.status = 200;
      res.set_header("ETag", "\"" + digest_hex(EVP_md5(), req.body) + "\"");
      finish(200, "");
    } else if (req.method == "GET" || head) {
      const auto it = store.find(key_path);
      if (it == store.end()) {
        const S3Error e{404, "NoSuchKey", "The specified key does not exist."};
        answer_error(res, e, std::string(raw_path), head);
        finish(e.status, e.code);
        return;
      }
      res.status = 200;
      res.set_header("ETag", "\"" + digest_hex(EVP_md5(), it->second.body) + "\"");
      const std::string type = it->second.content_type.empty() ? "binary/octet-stream" : it->second.content_type;
      if (head) {
        res.set_header("Content-Type", type);
        res.set_header("Content-Length", std::to_string(it->second.body.size()));
      } else {
        res.set_content(it->second.body, type.c_str());
      }
      finish(200, "");
    } else if (req.method == "DELETE") {
      store.erase(key_path);  // S3 answers 204 whether or not the key existed
      res.status = 204;
      finish(204, "");
    } else {
      const S3Error e{405, "MethodNotAllowed", "The specified method is not allowed against this resource."};
      answer_error(res, e, std::string(raw_path), head);
      finish(e.status, e.code);
    }
  }
};

S3Server::S3Server(std::string bucket, std::string access_key_id, std::string secret_access_key, std::string region)
    : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.bucket = std::move(bucket);
  impl.access_key = std::move(access_key_id);
  impl.secret = std::move(secret_access_key);
  impl.region = std::move(region);
  auto handler = [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); };
  impl.server.Get(".*", handler);
  impl.server.Put(".*", handler);
  impl.server.Delete(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.Options(".*", handler);
  impl.server.set_keep_alive_timeout(1);
  impl.server.set_tcp_nodelay(true);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) {
    throw std::runtime_error("s3 fake: cannot bind 127.0.0.1");
  }
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

S3Server::~S3Server() {
  impl_->server.stop();
  if (impl_->thread.joinable()) {
    impl_->thread.join();
  }
}

std::string S3Server::endpoint() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

int S3Server::port() const { return impl_->port; }

void S3Server::advance_clock(std::chrono::seconds delta) {
  std::lock_guard lock(impl_->mutex);
  impl_->offset += delta;
}

void S3Server::fail_next(int n, int status, std::string code, std::string message) {
  std::lock_guard lock(impl_->mutex);
  impl_->failures_left = n;
  impl_->scripted = S3Error{status, std::move(code), std::move(message)};
}

std::optional<S3Server::Object> S3Server::object(const std::string& key) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->store.find(key);
  return it == impl_->store.end() ? std::nullopt : std::optional<Object>(it->second);
}

std::map<std::string, S3Server::Object> S3Server::objects() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->store;
}

void S3Server::put_object(const std::string& key, Object object) {
  std::lock_guard lock(impl_->mutex);
  impl_->store[key] = std::move(object);
}

std::vector<S3Server::Received> S3Server::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

}  // namespace multivio::fakes
