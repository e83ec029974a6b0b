// SPDX-License-Identifier: MIT
#include "tests/fakes/smtp_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "common/crypto/crypto.hpp"

namespace multivio::fakes {

namespace {

constexpr std::size_t kMaxLine = 4096;             // RFC 5321 allows 1000 for text lines; be lenient
constexpr std::size_t kMaxMessage = 10u << 20;     // advertised as SIZE

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return upper(a) == upper(b); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "FROM:<a@b> SIZE=12" after the keyword -> "a@b"; nullopt for bad syntax.
std::optional<std::string> parse_path(std::string_view arg, std::string_view keyword) {
  if (arg.size() < keyword.size() || !iequals(arg.substr(0, keyword.size()), keyword)) return std::nullopt;
  arg = trim(arg.substr(keyword.size()));
  if (arg.empty() || arg.front() != '<') return std::nullopt;
  const auto close = arg.find('>');
  if (close == std::string_view::npos) return std::nullopt;
  return std::string(arg.substr(1, close - 1));
}

// One connection's socket: line reads with a buffer, whole writes.
class Wire {
 public:
  explicit Wire(int fd) : fd_(fd) {}

  // false on EOF, error or an over-long line.
  bool read_line(std::string& line) {
    while (true) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
      if (buffer_.size() > kMaxLine) return false;
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  bool write(const std::string& text) {
    std::size_t off = 0;
    while (off < text.size()) {
      const ssize_t n = ::send(fd_, text.data() + off, text.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

 private:
  int fd_;
  std::string buffer_;
};

}  // namespace

std::string SmtpServer::Message::header(const std::string& name) const {
  const auto end = data.find("\r\n\r\n");
  const std::string head = data.substr(0, end == std::string::npos ? data.size() : end + 2);
  std::string value;
  bool in_header = false;
  std::size_t pos = 0;
  while (pos < head.size()) {
    const auto eol = head.find("\r\n", pos);
    const std::string line = head.substr(pos, (eol == std::string::npos ? head.size() : eol) - pos);
    pos = eol == std::string::npos ? head.size() : eol + 2;
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      if (in_header) value += " " + std::string(trim(line));  // folded continuation
      continue;
    }
    if (in_header) return value;
    const auto colon = line.find(':');
    if (colon != std::string::npos && iequals(line.substr(0, colon), name)) {
      in_header = true;
      value = std::string(trim(std::string_view(line).substr(colon + 1)));
    }
  }
  return value;
}

std::string SmtpServer::Message::body() const {
  const auto end = data.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : data.substr(end + 4);
}

struct SmtpServer::Impl {
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  int port = 0;
  std::thread acceptor;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<Message> log;
  std::vector<std::string> commands;
  std::vector<std::string> answers;
  std::optional<std::pair<std::string, std::string>> credentials;
  std::vector<std::string> mechanisms;
  std::set<std::string> rejected;
  int data_code = 0;
  std::size_t data_failures = 0;
  std::vector<std::thread> sessions;
  std::set<int> open_fds;

  void record_command(std::string line) {
    std::lock_guard lock(mutex);
    commands.push_back(std::move(line));
  }

  void accept_loop() {
    while (!stopping) {
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0 || stopping) break;
      if ((fds[0].revents & POLLIN) == 0) continue;
      const int fd = ::accept(listen_fd, nullptr, nullptr);
      if (fd < 0) continue;
      timeval tv{30, 0};  // a stuck client cannot hold a session forever
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::lock_guard lock(mutex);
      open_fds.insert(fd);
      sessions.emplace_back([this, fd] { session(fd); });
    }
  }

  void session(int fd) {
    Wire wire(fd);
    serve(wire);
    std::lock_guard lock(mutex);
    open_fds.erase(fd);
    ::close(fd);
  }

  bool reply(Wire& wire, const std::string& line) {
    {
      std::lock_guard lock(mutex);
      answers.push_back(line);
    }
    return wire.write(line + "\r\n");
  }

  // The client's answer to a 334 challenge, base64-decoded; nullopt (after
  // replying) when it cancels with "*" or sends garbage.
  std::optional<std::string> challenge(Wire& wire, const std::string& prompt) {
    std::string line;
    if (!reply(wire, "334 " + prompt) || !wire.read_line(line)) return std::nullopt;
    record_command("***");
    if (line == "*") {
      reply(wire, "501 5.0.0 authentication cancelled");
      return std::nullopt;
    }
    return decode(wire, line);
  }

  std::optional<std::string> decode(Wire& wire, const std::string& text) {
    try {
      return crypto::base64_decode(text);
    } catch (const std::exception&) {
      reply(wire, "501 5.5.2 cannot decode the response");
      return std::nullopt;
    }
  }

  void serve(Wire& wire) {
    bool greeted = false;
    bool authed = false;
    bool in_mail = false;
    std::string helo, auth_user, from;
    std::vector<std::string> rcpts;
    const auto reset = [&] {
      in_mail = false;
      from.clear();
      rcpts.clear();
    };

    if (!reply(wire, "220 127.0.0.1 ESMTP multivio-fake ready")) return;
    std::string line;
    while (!stopping && wire.read_line(line)) {
      const std::string_view sv(line);
      const auto space = sv.find(' ');
      const std::string verb = upper(sv.substr(0, space));
      const std::string_view arg = space == std::string_view::npos ? std::string_view() : trim(sv.substr(space + 1));
      record_command(verb == "AUTH" ? "AUTH " + upper(arg.substr(0, arg.find(' '))) + " ***" : line);

      std::optional<std::pair<std::string, std::string>> creds;
      std::vector<std::string> mechs;
      {
        std::lock_guard lock(mutex);
        creds = credentials;
        mechs = mechanisms;
      }

      if (verb == "EHLO" || verb == "HELO") {
        if (arg.empty()) {
          reply(wire, "501 5.5.4 " + verb + " requires a domain");
          continue;
        }
        greeted = true;
        helo = std::string(arg);
        reset();
        if (verb == "HELO") {
          reply(wire, "250 127.0.0.1");
          continue;
        }
        reply(wire, "250-127.0.0.1 greets " + helo);
        reply(wire, "250-8BITMIME");
        reply(wire, "250-SIZE " + std::to_string(kMaxMessage));
        if (creds) {
          std::string list;
          for (const auto& m : mechs) list += " " + m;
          reply(wire, "250-AUTH" + list);
        }
        reply(wire, "250 ENHANCEDSTATUSCODES");
      } else if (verb == "AUTH") {
        if (!greeted) {
          reply(wire, "503 5.5.1 send EHLO first");
          continue;
        }
        if (!creds) {
          reply(wire, "503 5.5.1 authentication not enabled");
          continue;
        }
        if (authed) {
          reply(wire, "503 5.5.1 already authenticated");
          continue;
        }
        if (in_mail) {
          reply(wire, "503 5.5.1 AUTH not allowed during a mail transaction");
          continue;
        }
        const auto sep = arg.find(' ');
        const std::string mech = upper(arg.substr(0, sep));
        const std::string initial =
            sep == std::string_view::npos ? std::string() : std::string(trim(arg.substr(sep + 1)));
        if (std::find(mechs.begin(), mechs.end(), mech) == mechs.end()) {
          reply(wire, "504 5.5.4 unrecognized authentication type");
          continue;
        }
        std::string user, password;
        if (mech == "PLAIN") {
          // authzid NUL authcid NUL passwd (RFC 4616); "=" is an empty initial response.
          std::optional<std::string> decoded;
          if (initial.empty()) decoded = challenge(wire, "");
          else if (initial == "=") decoded = std::string();
          else decoded = decode(wire, initial);
          if (!decoded) continue;
          const auto first = decoded->find('\0');
          const auto second = first == std::string::npos ? std::string::npos : decoded->find('\0', first + 1);
          if (second == std::string::npos) {
            reply(wire, "501 5.5.2 malformed PLAIN response");
            continue;
          }
          user = decoded->substr(first + 1, second - first - 1);
          password = decoded->substr(second + 1);
        } else {  // LOGIN
          std::optional<std::string> u = initial.empty() ? challenge(wire, "VXNlcm5hbWU6") : decode(wire, initial);
          if (!u) continue;
          std::optional<std::string> p = challenge(wire, "UGFzc3dvcmQ6");
          if (!p) continue;
          user = *u;
          password = *p;
        }
        if (user == creds->first && password == creds->second) {
          authed = true;
          auth_user = user;
          reply(wire, "235 2.7.0 Authentication successful");
        } else {
          reply(wire, "535 5.7.8 Authentication credentials invalid");
        }
      } else if (verb == "MAIL") {
        if (!greeted) {
          reply(wire, "503 5.5.1 send EHLO/HELO first");
          continue;
        }
        if (creds && !authed) {
          reply(wire, "530 5.7.0 Authentication required");
          continue;
        }
        if (in_mail) {
          reply(wire, "503 5.5.1 nested MAIL command");
          continue;
        }
        const auto path = parse_path(arg, "FROM:");
        if (!path) {
          reply(wire, "501 5.5.4 syntax: MAIL FROM:<address>");
          continue;
        }
        in_mail = true;
        from = *path;
        reply(wire, "250 2.1.0 OK");
      } else if (verb == "RCPT") {
        if (!in_mail) {
          reply(wire, "503 5.5.1 need MAIL command");
          continue;
        }
        const auto path = parse_path(arg, "TO:");
        if (!path || path->empty()) {
          reply(wire, "501 5.5.4 syntax: RCPT TO:<address>");
          continue;
        }
        bool refused = false;
        {
          std::lock_guard lock(mutex);
          refused = rejected.count(*path) != 0;
        }
        if (refused) {
          reply(wire, "550 5.1.1 <" + *path + ">: mailbox unavailable");
          continue;
        }
        rcpts.push_back(*path);
        reply(wire, "250 2.1.5 OK");
      } else if (verb == "DATA") {
        if (!arg.empty()) {
          reply(wire, "501 5.5.4 DATA takes no arguments");
          continue;
        }
        if (!in_mail) {
          reply(wire, "503 5.5.1 need MAIL command");
          continue;
        }
        if (rcpts.empty()) {
          reply(wire, "503 5.5.1 need RCPT command");
          continue;
        }
        reply(wire, "354 End data with <CR><LF>.<CR><LF>");
        std::string data;
        bool complete = false;
        std::string text;
        while (wire.read_line(text)) {
          if (text == ".") {
            complete = true;
            break;
          }
          if (!text.empty() && text.front() == '.') text.erase(0, 1);  // RFC 5321 4.5.2
          data += text + "\r\n";
        }
        if (!complete) return;  // connection lost mid-message: nothing is delivered
        int code = 250;
        {
          std::lock_guard lock(mutex);
          if (data_failures > 0) {
            --data_failures;
            code = data_code;
          } else if (data.size() > kMaxMessage) {
            code = 552;
          } else {
            log.push_back(Message{from, rcpts, data, auth_user, helo});
          }
        }
        if (code == 250) {
          changed.notify_all();
          reply(wire, "250 2.0.0 OK: queued as " + std::to_string(count_locked()));
        } else {
          reply(wire, std::to_string(code) + (code >= 500 ? " 5.0.0" : " 4.0.0") + " message not accepted");
        }
        reset();
      } else if (verb == "RSET") {
        reset();
        reply(wire, "250 2.0.0 OK");
      } else if (verb == "NOOP") {
        reply(wire, "250 2.0.0 OK");
      } else if (verb == "QUIT") {
        reply(wire, "221 2.0.0 Bye");
        return;
      } else if (verb == "STARTTLS") {
        reply(wire, "454 4.7.0 TLS not available");
      } else if (verb == "VRFY" || verb == "EXPN" || verb == "HELP") {
        reply(wire, "502 5.5.1 command not implemented");
      } else {
        reply(wire, "500 5.5.2 command not recognized");
      }
    }
  }

  std::size_t count_locked() const {
    std::lock_guard lock(mutex);
    return log.size();
  }
};

SmtpServer::SmtpServer() : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (impl.listen_fd < 0) throw std::runtime_error("smtp fake: cannot create a socket");
  const int one = 1;
  ::setsockopt(impl.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(impl.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(impl.listen_fd, 16) != 0 ||
      ::getsockname(impl.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(impl.wake, O_CLOEXEC) != 0) {
    ::close(impl.listen_fd);
    throw std::runtime_error("smtp fake: cannot bind 127.0.0.1");
  }
  impl.port = ntohs(addr.sin_port);
  impl.acceptor = std::thread([&impl] { impl.accept_loop(); });
}

SmtpServer::~SmtpServer() { stop(); }

void SmtpServer::stop() {
  Impl& impl = *impl_;
  if (!impl.acceptor.joinable()) return;
  impl.stopping = true;
  const char byte = 0;
  (void)!::write(impl.wake[1], &byte, 1);
  impl.acceptor.join();
  std::vector<std::thread> sessions;
  {
    std::lock_guard lock(impl.mutex);
    for (const int fd : impl.open_fds) ::shutdown(fd, SHUT_RDWR);
    sessions.swap(impl.sessions);
  }
  for (auto& t : sessions) t.join();
  ::close(impl.listen_fd);
  ::close(impl.wake[0]);
  ::close(impl.wake[1]);
}

int SmtpServer::port() const { return impl_->port; }
std::string SmtpServer::url() const { return "smtp://127.0.0.1:" + std::to_string(impl_->port); }

void SmtpServer::require_auth(std::string user, std::string password, std::vector<std::string> mechanisms) {
  std::lock_guard lock(impl_->mutex);
  impl_->credentials = std::make_pair(std::move(user), std::move(password));
  for (auto& m : mechanisms) m = upper(m);
  impl_->mechanisms = std::move(mechanisms);
}

void SmtpServer::reject_recipient(std::string address) {
  std::lock_guard lock(impl_->mutex);
  impl_->rejected.insert(std::move(address));
}

void SmtpServer::fail_data(int code, std::size_t count) {
  std::lock_guard lock(impl_->mutex);
  impl_->data_code = code;
  impl_->data_failures = count;
}

std::vector<SmtpServer::Message> SmtpServer::messages() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t SmtpServer::count() const { return impl_->count_locked(); }

bool SmtpServer::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->log.size() >= n; });
}

std::vector<std::string> SmtpServer::transcript() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->commands;
}

std::vector<std::string> SmtpServer::replies() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->answers;
}

}  // namespace multivio::fakes
