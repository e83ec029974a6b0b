// SPDX-License-Identifier: MIT
#include "tests/fakes/faulty_endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace multivio::fakes {

namespace {

constexpr std::size_t kMaxHead = 64u << 10;
constexpr std::size_t kMaxBody = 16u << 20;
constexpr std::string_view kLocalPrefix = "http://127.0.0.1:";

// Owns one descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Waits until `fd` has something to read (data, EOF or an error, which the
// next recv reports) or `wake` fires; false when woken. No timeout: stop()
// always fires `wake`, so nothing here can outlive the endpoint.
bool wait_readable(int fd, int wake) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
  for (;;) {
    const int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents != 0) return false;
    if (fds[0].revents != 0) return true;
  }
}

// Appends what arrives; > 0 bytes read, 0 at EOF, -1 on error or stop.
ssize_t read_some(int fd, int wake, std::string& out) {
  if (!wait_readable(fd, wake)) return -1;
  char chunk[16384];
  ssize_t n = 0;
  do {
    n = ::recv(fd, chunk, sizeof chunk, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) out.append(chunk, static_cast<std::size_t>(n));
  return n;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// The lines of a head without its blank line.
std::vector<std::string_view> head_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    const auto eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    if (!line.empty()) lines.push_back(line);
    if (eol == std::string_view::npos) break;
    head.remove_prefix(eol + 2);
  }
  return lines;
}

// Connection-scoped headers are not forwarded: the endpoint closes every
// connection after one exchange and says so to both sides, so that a client
// never sends a second request on a connection the endpoint would not read.
bool hop_by_hop(std::string_view line) {
  const std::string_view name = trim(line.substr(0, line.find(':')));
  return iequals(name, "Connection") || iequals(name, "Keep-Alive") || iequals(name, "Proxy-Connection");
}

// `head` with the connection headers replaced by "Connection: close".
std::string closing_head(std::string_view head) {
  std::string out;
  bool first = true;
  for (const auto line : head_lines(head)) {
    if (!first && hop_by_hop(line)) continue;
    out.append(line).append("\r\n");
    first = false;
  }
  out.append("Connection: close\r\n\r\n");
  return out;
}

struct Message {
  std::string head;  // start line and headers, through the blank line
  std::string body;
};

// One request with a Content-Length body (chunked request bodies are not
// supported: no client in this project sends them). nullopt when the client
// went away, the request is malformed or the endpoint stops.
std::optional<Message> read_request(int fd, int wake) {
  std::string buffer;
  std::size_t end = 0;
  while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (buffer.size() > kMaxHead || read_some(fd, wake, buffer) <= 0) return std::nullopt;
  }
  Message m{buffer.substr(0, end + 4), buffer.substr(end + 4)};
  std::size_t length = 0;
  for (const auto line : head_lines(m.head)) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !iequals(trim(line.substr(0, colon)), "Content-Length")) continue;
    const std::string_view value = trim(line.substr(colon + 1));
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec != std::errc{} || ptr != value.data() + value.size() || length > kMaxBody) return std::nullopt;
  }
  while (m.body.size() < length) {
    if (read_some(fd, wake, m.body) <= 0) return std::nullopt;
  }
  m.body.resize(length);
  return m;
}

FaultyEndpoint::Received parse(const Message& m) {
  FaultyEndpoint::Received r;
  const auto lines = head_lines(m.head);
  if (!lines.empty()) {
    const std::string_view start = lines.front();
    const auto sp1 = start.find(' ');
    const auto sp2 = start.find(' ', sp1 == std::string_view::npos ? sp1 : sp1 + 1);
    r.method = std::string(start.substr(0, sp1));
    if (sp1 != std::string_view::npos) r.target = std::string(start.substr(sp1 + 1, sp2 - sp1 - 1));
    r.path = r.target.substr(0, r.target.find('?'));
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(std::string(trim(lines[i].substr(0, colon))), std::string(trim(lines[i].substr(colon + 1))));
  }
  r.body = m.body;
  return r;
}

int upstream_port(std::string_view url) {
  if (!url.starts_with(kLocalPrefix)) {
    throw std::invalid_argument("faulty endpoint: upstream must be http://127.0.0.1:PORT, not '" + std::string(url) +
                                "'");
  }
  std::string_view rest = url.substr(kLocalPrefix.size());
  while (rest.ends_with('/')) rest.remove_suffix(1);
  int port = 0;
  const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
  if (ec != std::errc{} || ptr != rest.data() + rest.size() || port <= 0 || port > 65535) {
    throw std::invalid_argument("faulty endpoint: bad upstream port in '" + std::string(url) + "'");
  }
  return port;
}

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

std::optional<std::string> FaultyEndpoint::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

struct FaultyEndpoint::Impl {
  struct Plan {
    Mode mode = Mode::pass;
    bool after_upstream = false;
  };

  Fd listener;
  Fd wake;  // an eventfd: once written it stays readable, so it wakes every poller at once
  int port = 0;
  int upstream = 0;  // 0: none
  Mode fallback = Mode::pass;
  std::thread acceptor;

  mutable std::mutex mutex;
  bool stopping = false;
  std::vector<std::thread> workers;
  std::vector<Received> log;
  std::map<std::string, std::deque<Plan>> scripted;

  void serve() {
    for (;;) {
      if (!wait_readable(listener.get(), wake.get())) return;
      Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) continue;
      std::lock_guard lock(mutex);
      if (stopping) return;
      workers.emplace_back([this, c = std::move(conn)]() mutable { handle(std::move(c)); });
    }
  }

  void handle(Fd client) {
    const auto request = read_request(client.get(), wake.get());
    if (!request) return;
    Received rec = parse(*request);
    Plan plan{fallback, false};
    {
      std::lock_guard lock(mutex);
      if (auto it = scripted.find(rec.route()); it != scripted.end() && !it->second.empty()) {
        plan = it->second.front();
        it->second.pop_front();
      }
      rec.mode = plan.mode;
      rec.forwarded = plan.mode == Mode::pass || plan.after_upstream;
      log.push_back(rec);  // before acting, so a test sees a request that hangs
    }
    if (rec.forwarded) {
      std::optional<std::string> answer = forward(*request);
      if (!answer) {
        if (is_stopping()) return;
        answer = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      }
      if (plan.mode == Mode::pass) {
        send_all(client.get(), *answer);
        return;  // closing after the one exchange, as the rewritten head announced
      }
    }
    if (plan.mode == Mode::reset) {
      // Linger on with a zero timeout: close() sends RST instead of FIN.
      const linger abort{1, 0};
      ::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      client.reset();
      return;
    }
    // Silent: hold the connection open, answering nothing, until the client
    // gives up (its timeout) or the endpoint stops.
    std::string ignored;
    while (read_some(client.get(), wake.get(), ignored) > 0) ignored.clear();
  }

  // The upstream's whole answer (it closes after one exchange, as asked), or
  // nullopt when it cannot be reached or the endpoint stops.
  std::optional<std::string> forward(const Message& request) const {
    if (upstream == 0) return std::nullopt;
    Fd conn(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sockaddr_in addr = loopback(upstream);
    if (!conn || ::connect(conn.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      return std::nullopt;
    }
    if (!send_all(conn.get(), closing_head(request.head)) || !send_all(conn.get(), request.body)) {
      return std::nullopt;
    }
    std::string answer;
    for (;;) {
      const ssize_t n = read_some(conn.get(), wake.get(), answer);
      if (n == 0) break;
      if (n < 0) return std::nullopt;
    }
    const auto end = answer.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    return closing_head(std::string_view(answer).substr(0, end + 2)) + answer.substr(end + 4);
  }

  bool is_stopping() const {
    std::lock_guard lock(mutex);
    return stopping;
  }
};

FaultyEndpoint::FaultyEndpoint(Mode mode, std::string upstream) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.fallback = mode;
  if (!upstream.empty()) impl.upstream = upstream_port(upstream);
  if (mode == Mode::pass && impl.upstream == 0) {
    throw std::invalid_argument("faulty endpoint: Mode::pass needs an upstream");
  }
  impl.wake = Fd(::eventfd(0, EFD_CLOEXEC));
  impl.listener = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!impl.wake || !impl.listener) throw std::runtime_error("faulty endpoint: cannot create a socket");
  const int on = 1;
  ::setsockopt(impl.listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(impl.listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(impl.listener.get(), 16) != 0 ||
      ::getsockname(impl.listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("faulty endpoint: cannot bind 127.0.0.1");
  }
  impl.port = ntohs(addr.sin_port);
  impl.acceptor = std::thread([&impl] { impl.serve(); });
}

FaultyEndpoint::~FaultyEndpoint() { stop(); }

void FaultyEndpoint::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(impl_->wake.get(), &one, sizeof one);
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  // The acceptor has returned, so the list no longer grows.
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(impl_->mutex);
    workers.swap(impl_->workers);
  }
  for (auto& t : workers) t.join();
}

std::string FaultyEndpoint::base_url() const { return std::string(kLocalPrefix) + std::to_string(impl_->port); }
int FaultyEndpoint::port() const { return impl_->port; }

void FaultyEndpoint::script(std::string route, Mode mode, int count, bool after_upstream) {
  std::lock_guard lock(impl_->mutex);
  auto& queue = impl_->scripted[std::move(route)];
  for (int i = 0; i < count; ++i) queue.push_back(Impl::Plan{mode, after_upstream});
}

std::vector<FaultyEndpoint::Received> FaultyEndpoint::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t FaultyEndpoint::count(std::string_view route) const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(
      std::count_if(impl_->log.begin(), impl_->log.end(), [&](const Received& r) { return r.route() == route; }));
}

}  // namespace multivio::fakes
