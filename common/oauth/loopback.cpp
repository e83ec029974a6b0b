// SPDX-License-Identifier: MIT
// The one server inside common/ (DESIGN: "the OAuth loopback receiver is the
// one small server it owns").
#include "common/oauth/loopback.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

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

// A deliberately small HTTP/1.1 server: one thread, one request per
// connection, served in turn. A full HTTP library would load (with TLS and
// compression) at every start of the CLI just for this one redirect.
struct LoopbackReceiver::Impl {
  int listener = -1;
  int wake_read = -1;  // stop(): a byte here ends the accept loop
  int wake_write = -1;
  std::thread thread;
  int port = 0;
  std::string path;
  std::string expected_state;

  std::mutex mutex;
  std::condition_variable answered;
  std::optional<AuthorizationResponse> result;
  std::exception_ptr failure;

  bool done() const { return result.has_value() || failure != nullptr; }

  ~Impl() {
    for (int fd : {listener, wake_read, wake_write}) {
      if (fd >= 0) ::close(fd);
    }
  }

  struct Answer {
    int status = 200;
    std::string body;
  };

  Answer handle(std::string_view target) {
    const auto q = target.find('?');
    const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    const auto params = parse_form(query.substr(0, query.find('#')));
    const bool has_answer =
        params && (find_param(*params, "code").has_value() || find_param(*params, "error").has_value());

    std::unique_lock lock(mutex);
    if (done()) return {200, page("multivio: this sign-in is finished", "You can close this tab.")};
    if (!has_answer) {
      // A stray visit (a reload without parameters, a prefetch) does not end the wait.
      return {400, page("multivio: nothing to do here",
                        "This address expects the redirect from the sign-in page, with a code or an error.")};
    }
    Answer answer;
    try {
      result = read_authorization_response(*params, expected_state);
      answer = {200, page("multivio: you can close this tab", "The terminal continues linking the account.")};
    } catch (const Error& e) {
      failure = std::current_exception();
      answer = {400, page("multivio: linking failed", std::string(e.what()) + ". You can close this tab.")};
    }
    lock.unlock();
    answered.notify_all();
    return answer;
  }

  // Reads the request head (bounded in size and time), answers, closes.
  void serve(int client) {
    std::string head;
    char buffer[2048];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 16384) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      pollfd pfd{client, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return;
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      head.append(buffer, static_cast<std::size_t>(n));
    }
    // "GET /callback?code=... HTTP/1.1"
    const std::string_view line = std::string_view(head).substr(0, head.find("\r\n"));
    const auto first_space = line.find(' ');
    const auto second_space = line.find(' ', first_space + 1);
    Answer answer{404, page("multivio: not found", "This address only takes the sign-in redirect.")};
    if (first_space == std::string_view::npos || second_space == std::string_view::npos) {
      answer = {400, page("multivio: bad request", "The request could not be read.")};
    } else {
      const std::string_view method = line.substr(0, first_space);
      const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
      const std::string_view target_path = target.substr(0, target.find('?'));
      if (target_path == path) {
        answer = method == "GET" || method == "HEAD"
                     ? handle(target)
                     : Answer{405, page("multivio: method not allowed", "Only GET is served here.")};
        if (method == "HEAD") answer.body.clear();
      }
    }
    const char* reason = answer.status == 200 ? "OK" : answer.status == 400 ? "Bad Request"
                         : answer.status == 404 ? "Not Found" : "Method Not Allowed";
    std::string response = "HTTP/1.1 " + std::to_string(answer.status) + " " + reason +
                           "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " +
                           std::to_string(answer.body.size()) +
                           "\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n" +
                           answer.body;
    std::string_view rest = response;
    while (!rest.empty()) {
      const ssize_t n = ::send(client, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void run() {
    for (;;) {
      pollfd fds[2] = {{listener, POLLIN, 0}, {wake_read, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      if ((fds[0].revents & POLLIN) == 0) continue;
      const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      serve(client);
      ::close(client);
    }
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
  auto cannot_listen = [port] {
    throw_usage("cannot listen on 127.0.0.1:" + std::to_string(port) +
                (port == 0 ? std::string() : " (in use?); choose another port or 0 for any free one"));
  };
  impl.listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (impl.listener < 0) cannot_listen();
  // Only SO_REUSEADDR: SO_REUSEPORT would let a second listener share the
  // port and receive the redirect instead of us.
  int yes = 1;
  ::setsockopt(impl.listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(impl.listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(impl.listener, 16) != 0) {
    cannot_listen();
  }
  socklen_t len = sizeof addr;
  if (::getsockname(impl.listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) cannot_listen();
  impl.port = ntohs(addr.sin_port);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) cannot_listen();
  impl.wake_read = pipe_fds[0];
  impl.wake_write = pipe_fds[1];
  impl.thread = std::thread([&impl] { impl.run(); });
}

LoopbackReceiver::~LoopbackReceiver() { stop(); }

void LoopbackReceiver::stop() {
  if (impl_->thread.joinable()) {
    const char byte = 1;
    while (::write(impl_->wake_write, &byte, 1) < 0 && errno == EINTR) {
    }
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
