// SPDX-License-Identifier: MIT
// The one server inside common/ (DESIGN: "the OAuth loopback receiver is the
// one small server it owns"); httplib.h stays in this file.
#include "common/oauth/loopback.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "common/error.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/oauth/pkce.hpp"

namespace multivio::oauth {

namespace {

std::string html_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string page(std::string_view heading, std::string_view detail) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>multivio</title></head>\n"
         "<body style=\"font-family: sans-serif; margin: 3em\">\n<h1>" +
         html_escape(heading) + "</h1>\n<p>" + html_escape(detail) + "</p>\n</body></html>\n";
}

std::string format_duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) {
    return std::to_string(d.count() / 1000) + " s";
  }
  if (d.count() > 1000) {
    return std::to_string((d.count() + 999) / 1000) + " s";
  }
  return std::to_string(d.count()) + " ms";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

AuthorizationResponse read_authorization_response(const Params& query, std::string_view expected_state) {
  const std::string state = find_param(query, "state").value_or("");
  // The state is checked before the error too: an error redirect that does not
  // belong to our request must not be reported as the user's decision.
  const auto check_state = [&] {
    if (!expected_state.empty() && !state_matches(expected_state, state)) {
      throw AuthError("the redirect's state does not match this sign-in (" +
                          std::string(state.empty() ? "no state" : "a different state") +
                          "): it may come from an older attempt or a forged link; run the command again",
                      "state_mismatch", false);
    }
  };
  if (const auto error = find_param(query, "error"); error && !error->empty()) {
    check_state();
    std::string message = "the authorization server refused: " + *error;
    if (const auto description = find_param(query, "error_description"); description && !description->empty()) {
      message += ": " + *description;
    }
    if (*error == "access_denied") {
      message += " (access was not granted in the browser)";
    }
    throw AuthError(std::move(message), *error, false);
  }
  const auto code = find_param(query, "code");
  if (!code || code->empty()) {
    throw_usage("the redirect has neither a code nor an error parameter");
  }
  check_state();
  return AuthorizationResponse{*code, state};
}

AuthorizationResponse parse_pasted_redirect(std::string_view input, std::string_view expected_state) {
  const std::string_view text = trim(input);
  if (text.empty()) {
    throw_usage("nothing was pasted: paste the address the browser was sent to, or the code");
  }
  if (std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) || std::iscntrl(c); })) {
    throw_usage("the pasted text contains spaces or control characters: paste only the redirect URL or the code");
  }
  const std::string_view no_fragment = text.substr(0, text.find('#'));
  std::string_view query;
  if (const auto q = no_fragment.find('?'); q != std::string_view::npos) {
    query = no_fragment.substr(q + 1);
  } else if (no_fragment.find("://") != std::string_view::npos) {
    throw_usage("the pasted URL has no query string: copy the whole address, including ?code=...");
  } else if (no_fragment.find('=') != std::string_view::npos) {
    query = no_fragment;  // "code=...&state=..." pasted without the address
  } else {
    if (no_fragment.empty() || no_fragment.find('&') != std::string_view::npos) {
      throw_usage("the pasted text is neither a redirect URL nor a code");
    }
    return AuthorizationResponse{std::string(no_fragment), {}};
  }
  const auto params = parse_form(query);
  if (!params) {
    throw_usage("the pasted URL has a malformed %-escape: copy it again from the address bar");
  }
  return read_authorization_response(*params, expected_state);
}

struct LoopbackReceiver::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::string path;
  std::string expected_state;
  std::atomic<bool> exited{false};

  std::mutex mutex;
  std::condition_variable answered;
  std::optional<AuthorizationResponse> result;
  std::exception_ptr failure;

  bool done() const { return result.has_value() || failure != nullptr; }

  void handle(const httplib::Request& req, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_header("Referrer-Policy", "no-referrer");
    const auto q = req.target.find('?');
    const std::string_view query =
        q == std::string::npos ? std::string_view{} : std::string_view(req.target).substr(q + 1);
    const auto params = parse_form(query.substr(0, query.find('#')));
    const bool has_answer =
        params && (find_param(*params, "code").has_value() || find_param(*params, "error").has_value());

    std::unique_lock lock(mutex);
    if (done()) {
      res.set_content(page("multivio: this sign-in is finished", "You can close this tab."),
                      "text/html; charset=utf-8");
      return;
    }
    if (!has_answer) {
      // A stray visit (a reload without parameters, a prefetch) does not end the wait.
      res.status = 400;
      res.set_content(page("multivio: nothing to do here",
                           "This address expects the redirect from the sign-in page, with a code or an error."),
                      "text/html; charset=utf-8");
      return;
    }
    try {
      result = read_authorization_response(*params, expected_state);
      res.set_content(page("multivio: you can close this tab", "The terminal continues linking the account."),
                      "text/html; charset=utf-8");
    } catch (const Error& e) {
      failure = std::current_exception();
      res.status = 400;
      res.set_content(page("multivio: linking failed", std::string(e.what()) + ". You can close this tab."),
                      "text/html; charset=utf-8");
    }
    lock.unlock();
    answered.notify_all();
  }
};

LoopbackReceiver::LoopbackReceiver(std::string expected_state, int port, std::string path)
    : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.expected_state = std::move(expected_state);
  impl.path = path.starts_with('/') ? std::move(path) : "/" + path;
  if (port < 0 || port > 65535) {
    throw_usage("loopback port must be 0-65535, not " + std::to_string(port));
  }

  // Only SO_REUSEADDR: httplib's default adds SO_REUSEPORT, which would let a
  // second listener share the port and receive the redirect instead of us.
  impl.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  impl.server.set_keep_alive_max_count(1);  // one request per connection: stop() never waits on idle keep-alive
  impl.server.set_tcp_nodelay(true);
  impl.server.Get(impl.path, [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); });

  if (port == 0) {
    impl.port = impl.server.bind_to_any_port("127.0.0.1");
  } else if (impl.server.bind_to_port("127.0.0.1", port)) {
    impl.port = port;
  }
  if (impl.port <= 0) {
    throw_usage("cannot listen on 127.0.0.1:" + std::to_string(port) +
                (port == 0 ? std::string() : " (in use?); choose another port or 0 for any free one"));
  }
  impl.thread = std::thread([&impl] {
    impl.server.listen_after_bind();
    impl.exited = true;
  });
  // stop() only takes effect once the loop runs.
  while (!impl.server.is_running() && !impl.exited) {
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  if (impl.exited) {
    impl.thread.join();
    throw_usage("cannot serve on 127.0.0.1:" + std::to_string(impl.port));
  }
}

LoopbackReceiver::~LoopbackReceiver() { stop(); }

void LoopbackReceiver::stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

int LoopbackReceiver::port() const { return impl_->port; }

std::string LoopbackReceiver::redirect_uri() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + impl_->path;
}

AuthorizationResponse LoopbackReceiver::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  if (!impl_->answered.wait_for(lock, timeout, [this] { return impl_->done(); })) {
    throw_usage("no answer from the browser within " + format_duration(timeout) +
                "; rerun with --no-browser to paste the redirect URL");
  }
  if (impl_->failure) {
    std::rethrow_exception(impl_->failure);
  }
  return *impl_->result;
}

}  // namespace multivio::oauth
