// SPDX-License-Identifier: MIT
#include "tests/fakes/webhook_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/crypto/crypto.hpp"

namespace multivio::fakes {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_json_content_type(std::string_view value) {
  return iequals(trim(value.substr(0, value.find(';'))), "application/json");
}

}  // namespace

bool verify_signature(std::string_view header, std::string_view body, std::string_view secret,
                      std::chrono::system_clock::time_point now, std::chrono::seconds tolerance) {
  std::string_view t;
  std::vector<std::string_view> signatures;  // Stripe allows several v1 during secret rotation
  while (!header.empty()) {
    const auto comma = header.find(',');
    const std::string_view item = trim(header.substr(0, comma));
    if (item.starts_with("t=")) {
      t = item.substr(2);
    } else if (item.starts_with("v1=")) {
      signatures.push_back(item.substr(3));
    }
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
  }
  long long seconds = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), seconds);
  if (t.empty() || ec != std::errc{} || ptr != t.data() + t.size()) {
    return false;
  }
  const auto sent = std::chrono::system_clock::time_point{std::chrono::seconds{seconds}};
  if (sent < now - tolerance || sent > now + tolerance) {
    return false;  // replayed or from a badly skewed clock
  }
  const std::string expected = crypto::hmac_sha256_hex(secret, std::string(t) + "." + std::string(body));
  return std::any_of(signatures.begin(), signatures.end(),
                     [&](std::string_view s) { return crypto::constant_time_equal(s, expected); });
}

std::optional<std::string> WebhookServer::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) {
      return v;
    }
  }
  return std::nullopt;
}

struct WebhookServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<Received> log;
  std::deque<Reply> scripted;
  Reply fallback;
  std::chrono::milliseconds latency{0};
  std::optional<std::string> secret;

  // Sleeps in short slices so stop() never waits for a long stall.
  void stall(std::chrono::milliseconds total) const {
    const auto until = std::chrono::steady_clock::now() + total;
    while (!stopping && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds{10}, until - std::chrono::steady_clock::now()));
    }
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    Received rec;
    rec.method = req.method;
    rec.path = req.path;
    rec.target = req.target;
    for (const auto& [k, v] : req.headers) {
      rec.headers.emplace_back(k, v);
    }
    rec.body = req.body;
    rec.time = std::chrono::system_clock::now();

    Reply reply;
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard lock(mutex);
      if (req.method != "POST") {
        reply = Reply{405, R"({"error":"method not allowed"})", {{"Allow", "POST"}}, {}};
        rec.reject_reason = "method " + req.method;
      } else if (!is_json_content_type(req.get_header_value("Content-Type"))) {
        reply = Reply{415, R"({"error":"expected application/json"})", {}, {}};
        rec.reject_reason = "content type '" + req.get_header_value("Content-Type") + "'";
      } else if (!nlohmann::json::accept(req.body)) {
        reply = Reply{400, R"({"error":"body is not valid JSON"})", {}, {}};
        rec.reject_reason = "invalid JSON body";
      } else if (secret && !verify_signature(req.get_header_value("X-Multivio-Signature"), req.body, *secret,
                                             rec.time, std::chrono::seconds{300})) {
        reply = Reply{401, R"({"error":"bad signature"})", {}, {}};
        rec.reject_reason = "signature";
      } else if (!scripted.empty()) {
        reply = std::move(scripted.front());
        scripted.pop_front();
      } else {
        reply = fallback;
      }
      rec.accepted = rec.reject_reason.empty();
      rec.status = reply.status;
      delay = latency + reply.delay;
      log.push_back(std::move(rec));
    }
    // Recorded before stalling, so a test sees the request while it hangs.
    changed.notify_all();

    stall(delay);
    res.status = reply.status;
    bool has_type = false;
    for (const auto& [k, v] : reply.headers) {
      has_type = has_type || iequals(k, "Content-Type");
      res.set_header(k, v);
    }
    const std::string type = has_type ? res.get_header_value("Content-Type")
                             : nlohmann::json::accept(reply.body) ? "application/json"
                                                                    : "text/plain";
    res.set_content(reply.body, type.c_str());
  }
};

WebhookServer::WebhookServer() : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  auto handler = [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); };
  impl.server.Get(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.Put(".*", handler);
  impl.server.Patch(".*", handler);
  impl.server.Delete(".*", handler);
  impl.server.Options(".*", handler);

  // Idle keep-alive connections hold stop() for this long; keep it short.
  impl.server.set_keep_alive_timeout(1);
  // httplib writes headers and body separately; with Nagle on, each reply on
  // a reused connection waits ~40 ms for the client's delayed ACK.
  impl.server.set_tcp_nodelay(true);
  // httplib's default pool is max(8, cores - 1) threads, which capped the
  // throughput benchmarks below what 16 or 24 daemon workers can send.
  // httplib owns and deletes the queue it is handed, hence the bare new.
  impl.server.new_task_queue = [] { return new httplib::ThreadPool(WebhookServer::kThreads); };
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) {
    throw std::runtime_error("webhook fake: cannot bind 127.0.0.1");
  }
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  // stop() is a no-op until the loop runs, so wait for it before returning.
  while (!impl.server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

WebhookServer::~WebhookServer() { stop(); }

void WebhookServer::stop() {
  if (!impl_->thread.joinable()) {
    return;
  }
  impl_->stopping = true;
  impl_->server.stop();
  impl_->thread.join();
}

std::string WebhookServer::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }
int WebhookServer::port() const { return impl_->port; }

void WebhookServer::script(std::vector<Reply> replies) {
  std::lock_guard lock(impl_->mutex);
  impl_->scripted.assign(std::make_move_iterator(replies.begin()), std::make_move_iterator(replies.end()));
}

void WebhookServer::set_default(Reply reply) {
  std::lock_guard lock(impl_->mutex);
  impl_->fallback = std::move(reply);
}

void WebhookServer::set_latency(std::chrono::milliseconds latency) {
  std::lock_guard lock(impl_->mutex);
  impl_->latency = latency;
}

void WebhookServer::require_signature(std::string secret) {
  std::lock_guard lock(impl_->mutex);
  impl_->secret = std::move(secret);
}

std::vector<WebhookServer::Received> WebhookServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t WebhookServer::count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log.size();
}

bool WebhookServer::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->log.size() >= n; });
}

}  // namespace multivio::fakes
