// SPDX-License-Identifier: MIT
#include "daemon/http/server.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "common/app/oidc.hpp"
#include "common/app/tokens.hpp"
#include "common/error.hpp"
#include "daemon/http/rate_limiter.hpp"

namespace multivio::daemon::http {
namespace {

// last_used_at is a hint for `token list`, not an audit log: writing it on
// every request would make each read a write transaction.
constexpr auto kTouchEvery = std::chrono::minutes(1);

// One Context per pool thread: a Store is one per thread, so each thread
// keeps its own database connection. A thread is only ever used by one
// server, but a test may run servers one after another in one process.
struct ThreadContext {
  const void* owner = nullptr;
  std::unique_ptr<app::Context> ctx;
};
thread_local ThreadContext t_context;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Codes for the statuses httplib answers by itself, before any route runs.
std::string_view code_for_status(int status) {
  switch (status) {
    case 400: return "usage";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 413: return "too_large";
    case 414: return "too_large";
    default: return status >= 500 ? "permanent" : "usage";
  }
}

// How long a browser may cache a preflight answer, in seconds.
constexpr const char* kPreflightMaxAge = "600";

// The oldest queued OpenSSL error as text, and the queue emptied: errors left
// behind would be blamed on the next, unrelated TLS call of this thread.
std::string openssl_error() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no detail from OpenSSL";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// With no callback OpenSSL would prompt for a key's passphrase on the
// terminal, which a daemon does not have: an encrypted key fails instead.
int refuse_passphrase(char*, int, int, void*) { return 0; }

// An HTTPS server, or Error(usage) naming the file and what is wrong with it:
// a daemon that was asked for TLS must never fall back to plain HTTP.
std::unique_ptr<httplib::Server> make_tls_server(const std::string& cert, const std::string& key) {
  if (cert.empty() || key.empty()) {
    throw_usage("daemon.tls.cert and daemon.tls.key go together: set both (PEM files) or neither");
  }
  for (const auto& [name, path] : {std::pair{"daemon.tls.cert", &cert}, std::pair{"daemon.tls.key", &key}}) {
    std::ifstream in(*path);
    if (!in) throw_usage(std::string("cannot read ") + name + " " + *path + ": " + std::strerror(errno));
  }
  std::string problem;
  auto server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
    SSL_CTX_set_default_passwd_cb(&ctx, refuse_passphrase);
    if (SSL_CTX_use_certificate_chain_file(&ctx, cert.c_str()) != 1) {
      problem = "daemon.tls.cert " + cert + " is not a PEM certificate: " + openssl_error();
      return false;
    }
    if (SSL_CTX_use_PrivateKey_file(&ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
      problem = "daemon.tls.key " + key + " is not an unencrypted PEM private key matching daemon.tls.cert: " +
                openssl_error();
      return false;
    }
    if (SSL_CTX_check_private_key(&ctx) != 1) {
      problem = "daemon.tls.key " + key + " does not belong to the certificate in " + cert + ": " + openssl_error();
      return false;
    }
    return true;
  });
  if (!server->is_valid()) throw_usage(problem.empty() ? "cannot set up TLS: " + openssl_error() : problem);
  return server;
}

void apply(const Reply& reply, httplib::Response& res) {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  if (reply.stream) {
    // Chunked: an event stream has no length and is written as it happens.
    res.set_chunked_content_provider(reply.content_type,
                                     [stream = reply.stream](std::size_t, httplib::DataSink& sink) {
                                       stream([&sink](std::string_view chunk) {
                                         return sink.is_writable() && sink.write(chunk.data(), chunk.size());
                                       });
                                       sink.done();
                                       return true;
                                     });
    return;
  }
  if (!reply.content_type.empty()) res.set_content(reply.body, reply.content_type.c_str());
}

}  // namespace

std::pair<std::string, int> parse_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  const auto bad = [&] {
    throw_usage("listen address '" + listen + "' is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080)");
  };
  if (colon == std::string::npos || colon == 0) bad();
  std::string host = listen.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') bad();
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port_text = std::string_view(listen).substr(colon + 1);
  int port = -1;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
      port > 65535) {
    bad();
  }
  return {host, port};
}

struct Server::Impl {
  ServerOptions options;
  Services& services;
  RateLimiter limiter;
  std::unique_ptr<app::OidcVerifier> oidc;  // set when auth.oidc.issuer is
  std::unique_ptr<httplib::Server> server;  // an SSLServer with TLS; made by start()
  std::thread thread;
  int port = 0;
  bool started = false;

  Impl(ServerOptions o, Services& s) : options(std::move(o)), services(s), limiter(options.rate_limit) {}

  app::Context& context() {
    if (t_context.owner != this || !t_context.ctx) {
      t_context.ctx = std::make_unique<app::Context>(options.app);
      t_context.owner = this;
    }
    return *t_context.ctx;
  }

  // The one wrapper every route runs in.
  void handle(const httplib::Request& req, httplib::Response& res) {
    const auto started_at = std::chrono::steady_clock::now();
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    bool path_known = false;
    std::string allow;
    for (const auto& r : routes()) {
      std::map<std::string, std::string> p;
      if (!match(r.path, req.path, p)) continue;
      path_known = true;
      allow += (allow.empty() ? "" : ", ") + std::string(r.method);
      if (req.method == r.method && route == nullptr) {
        route = &r;
        params = std::move(p);
      }
    }
    Reply reply;
    if (route == nullptr) {
      reply = path_known ? Reply::error(405, "method_not_allowed", "use " + allow + " on " + req.path)
                         : Reply::error(404, "not_found", "no route " + req.path);
      if (path_known) reply.headers.emplace_back("Allow", allow);
    } else {
      reply = run(*route, req, std::move(params));
    }
    apply(reply, res);
    add_cors(req, res);
    const std::string label = route ? route->path : "unmatched";
    services.metrics.count_request(req.method, label, reply.status);
    // The path pattern, never the query or headers: those may carry secrets.
    spdlog::debug("http method={} route={} status={} ms={}", req.method, label, reply.status,
                  std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_at)
                      .count());
  }

  // The request's Origin when it is one of daemon.http.cors_origins, else
  // empty. Exact comparison: origins are what the browser sends, byte for byte.
  std::string allowed_origin(const httplib::Request& req) const {
    const std::string origin = req.get_header_value("Origin");
    if (origin.empty()) return {};
    const auto& list = options.cors_origins;
    return std::find(list.begin(), list.end(), origin) != list.end() ? origin : std::string();
  }

  // A browser lets the page read an answer only with these headers; a page
  // from any other origin gets none and is refused by its own browser.
  void add_cors(const httplib::Request& req, httplib::Response& res) const {
    const std::string origin = allowed_origin(req);
    if (origin.empty()) return;
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate");
    res.set_header("Vary", "Origin");
  }

  // A CORS preflight: no token (browsers never send one here), no rate
  // limit, and an answer only for paths the table serves.
  void preflight(const httplib::Request& req, httplib::Response& res) {
    std::string methods;
    for (const auto& r : routes()) {
      std::map<std::string, std::string> p;
      if (match(r.path, req.path, p)) methods += (methods.empty() ? "" : ", ") + std::string(r.method);
    }
    if (methods.empty()) {
      apply(Reply::error(404, "not_found", "no route " + req.path), res);
    } else {
      res.status = 204;
      res.set_header("Allow", methods + ", OPTIONS");
      if (const std::string origin = allowed_origin(req); !origin.empty()) {
        res.set_header("Access-Control-Allow-Origin", origin);
        res.set_header("Access-Control-Allow-Methods", methods);
        res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        res.set_header("Access-Control-Max-Age", kPreflightMaxAge);
        res.set_header("Vary", "Origin");
      }
    }
    services.metrics.count_request(req.method, methods.empty() ? "unmatched" : "preflight", res.status);
  }

  Reply run(const Route& route, const httplib::Request& req, std::map<std::string, std::string> params) {
    if (!route.upload && req.body.size() > static_cast<std::size_t>(options.max_body)) {
      return Reply::error(413, "too_large",
                          "the request body is larger than " + std::to_string(options.max_body) + " bytes");
    }
    try {
      app::Context& ctx = context();
      std::optional<store::ApiToken> token;
      if (*route.scope != '\0') {
        const std::string header = req.get_header_value("Authorization");
        const std::string_view value = trim(header);
        if (value.empty()) return unauthorized("this request needs an API token (Authorization: Bearer ...)", false);
        const auto space = value.find(' ');
        if (space == std::string_view::npos || !iequals(value.substr(0, space), "Bearer")) {
          return unauthorized("the Authorization header must be 'Bearer TOKEN'", true);
        }
        const auto now = ctx.clock().now();
        const std::string_view secret = trim(value.substr(space + 1));
        try {
          token = oidc && !secret.starts_with("mvt_") ? oidc_token(ctx, secret)
                                                      : app::verify_token(ctx.store(), secret, now);
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::auth) throw;
          return unauthorized(e.what(), true);
        }
        // A JWT identity is limited per user; negative keys keep its bucket
        // apart from those of stored tokens, whose ids are positive.
        const std::int64_t bucket = token->id != 0 ? token->id : -token->user_id;
        if (const auto wait = limiter.take(bucket, std::chrono::steady_clock::now()); wait.count() > 0) {
          Reply r = Reply::error(429, "rate_limited",
                                 "more than " + std::to_string(options.rate_limit) + " requests per second");
          r.headers.emplace_back("Retry-After", std::to_string(wait.count()));
          return r;
        }
        if (!app::has_scope(*token, route.scope)) {
          return Reply::error(403, "forbidden", std::string("this token lacks the scope ") + route.scope);
        }
        if (token->id != 0 && (!token->last_used_at || now - *token->last_used_at >= kTouchEvery)) {
          ctx.store().touch_token(token->id, now);
        }
      }
      ctx.store().set_user(token ? token->user_id : store::kLocalUser);
      Call call{ctx, services, token ? &*token : nullptr, std::move(params), {}, req.body,
                req.get_header_value("Accept"), req.get_header_value("Last-Event-ID"), {}};
      if (route.upload) {
        for (const auto& [field, part] : req.files) {
          call.files.push_back({field, part.filename, part.content_type, part.content});
        }
      }
      for (const auto& [name, value] : req.params) call.query[name] = value;
      return route.handler(call);
    } catch (const Error& e) {
      Reply r = Reply::error(http_status_for(e.kind()), kind_name(e.kind()), e.what());
      if (e.retry_after) r.headers.emplace_back("Retry-After", std::to_string(e.retry_after->count()));
      if (e.kind() == ErrorKind::auth) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"multivio\"");
      return r;
    } catch (const std::exception& e) {
      spdlog::error("http route={} internal error: {}", route.path, e.what());
      return Reply::error(500, "permanent", "internal error");
    }
  }

  // A verified JWT as the token the routes see: never stored (id 0), with
  // the user and scopes its claims map to.
  store::ApiToken oidc_token(app::Context& ctx, std::string_view jwt) {
    const auto claims = oidc->verify(jwt, ctx.clock().now());
    const app::OidcIdentity identity = app::oidc_identity(ctx, claims, oidc->auto_create());
    store::ApiToken token;
    token.user_id = identity.user.id;
    token.name = "oidc";
    token.scopes = identity.scopes;
    return token;
  }

  static Reply unauthorized(const std::string& message, bool invalid) {
    Reply r = Reply::error(401, "auth", message);
    r.headers.emplace_back("WWW-Authenticate",
                           invalid ? "Bearer realm=\"multivio\", error=\"invalid_token\"" : "Bearer realm=\"multivio\"");
    return r;
  }
};

Server::Server(ServerOptions options, Services& services)
    : impl_(std::make_unique<Impl>(std::move(options), services)) {}

Server::~Server() { stop(); }

int Server::port() const { return impl_->port; }

void Server::start() {
  auto& impl = *impl_;
  const auto [host, port] = parse_listen(impl.options.listen);
  const bool tls = !impl.options.tls_cert.empty() || !impl.options.tls_key.empty();
  impl.server = tls ? make_tls_server(impl.options.tls_cert, impl.options.tls_key) : std::make_unique<httplib::Server>();
  auto& svr = *impl.server;
  const int threads = std::max(1, impl.options.threads);
  // Event streams hold a thread each for as long as they are open: at most
  // half the pool, so ordinary requests always find one.
  impl.services.max_event_streams = std::max(1, threads / 2);
  impl.services.stopping = false;
  // httplib takes ownership of the queue it gets from this factory (its API
  // wants a raw pointer); the pool bounds how many requests run at once.
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // httplib's own limit is the larger one; run() holds every route that is
  // not an upload to max_body.
  svr.set_payload_max_length(static_cast<size_t>(std::max(impl.options.max_body, impl.options.max_upload)));
  // httplib writes headers and body separately; with Nagle on, the second
  // write waits for the client's delayed ACK (~40 ms per request).
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_max_count(1000);
  // Bounds how long an idle keep-alive connection delays stop().
  svr.set_keep_alive_timeout(2);
  svr.set_read_timeout(10, 0);
  svr.set_write_timeout(10, 0);
  const auto handler = [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); };
  svr.Get(".*", handler);
  svr.Post(".*", handler);
  svr.Delete(".*", handler);
  svr.Put(".*", handler);
  svr.Patch(".*", handler);
  svr.Options(".*", [&impl](const httplib::Request& req, httplib::Response& res) { impl.preflight(req, res); });
  // Statuses httplib answers itself (413 for a body over the limit, 400 for
  // a malformed request) get the same JSON error body as ours.
  svr.set_error_handler(httplib::Server::HandlerWithResponse([&impl](const httplib::Request& req,
                                                                      httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message = "HTTP " + std::to_string(res.status);
    if (res.status == 413) {
      message = "the request body is larger than " +
                std::to_string(std::max(impl.options.max_body, impl.options.max_upload)) + " bytes";
    }
    apply(Reply::error(res.status, code_for_status(res.status), message), res);
    impl.add_cors(req, res);
    impl.services.metrics.count_request(req.method, "unmatched", res.status);
    return httplib::Server::HandlerResponse::Handled;
  }));

  {
    // Checked before binding: a daemon with an incomplete auth.oidc must not
    // start and then turn every JWT away.
    app::Context probe(impl.options.app);
    if (const auto& oidc = probe.config().oidc; !oidc.issuer.empty()) {
      impl.oidc = std::make_unique<app::OidcVerifier>(oidc);
    }
  }
  const int bound = port == 0 ? svr.bind_to_any_port(host) : (svr.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) throw_permanent("cannot listen on " + impl.options.listen + ": the address is unavailable or in use");
  impl.port = bound;
  impl.thread = std::thread([&svr] { svr.listen_after_bind(); });
  impl.started = true;
  if (!impl.options.port_file.empty()) {
    // Written whole under a temporary name, then renamed: a test polling
    // for the file never reads half a number.
    const std::string tmp = impl.options.port_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << bound << "\n";
      if (!out) throw_permanent("cannot write the port file " + tmp);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, impl.options.port_file, ec);
    if (ec) throw_permanent("cannot write the port file " + impl.options.port_file + ": " + ec.message());
  }
  spdlog::info("listening on {}://{}:{} max_body={} rate_limit={}/s cors_origins={}", tls ? "https" : "http", host,
               bound, impl.options.max_body, impl.options.rate_limit, impl.options.cors_origins.size());
}

void Server::stop() {
  auto& impl = *impl_;
  if (!impl.started) return;
  impl.started = false;
  impl.services.stopping = true;  // before stop(), which waits for the streams' threads
  impl.server->stop();
  if (impl.thread.joinable()) impl.thread.join();
}

}  // namespace multivio::daemon::http
