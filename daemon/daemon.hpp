// SPDX-License-Identifier: MIT
// multiviod's lifecycle: claim due targets under a lease, publish them with a
// bounded pool of workers, sleep until the next due time or a change, stop
// gracefully. Signals are taken by a dedicated thread (sigwait) and reach
// the loop through an eventfd, so handlers never do work.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/app/context.hpp"
#include "common/notify/notifier.hpp"
#include "common/schedule/breaker.hpp"
#include "common/store/store.hpp"
#include "daemon/http/server.hpp"

namespace multivio::daemon {

struct DaemonOptions {
  app::Options app;
  bool once = false;
  std::string log_level;   // overrides config log.level when set
  std::string log_format;  // overrides config log.format when set
  std::string listen;            // --listen HOST:PORT, overrides daemon.listen
  std::string listen_port_file;  // --listen-port-file: the bound port is written here
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Runs until stopped (or, with --once, until nothing is due). Returns the
  /// exit status: 0, or 1 when --once saw a target fail.
  int run();

  /// Thread-safe; called from the signal thread.
  void request_stop();
  void request_reload();

 private:
  struct Counts {
    int published = 0, retry = 0, failed = 0, unknown = 0;
  };

  void setup_logging();
  void start_workers();
  void worker_loop(int index);
  /// One pass: recover expired leases, claim what fits in the free workers.
  /// Returns how many targets were claimed.
  int claim_pass();
  std::chrono::milliseconds sleep_budget();
  void wait_for_event(std::chrono::milliseconds timeout);
  void wake() noexcept;
  void renew_leases();
  /// Queues a notification when a channel is configured (thread-safe).
  void notify(notify::Event::Kind kind, const model::Target& target, const std::string& message);
  /// At start-up: targets due longer ago than daemon.late_grace are reported
  /// and handled by daemon.late_policy instead of silently going out late.
  void sweep_overdue();
  // Refreshes tokens due for it, at start and every few minutes.
  void refresh_tokens();
  /// Recovered `unknown` targets on a network that dedupes by idempotency
  /// key are simply tried again with the same key; others stay unknown.
  void reconcile(const std::vector<model::Target>& unknown);
  void apply_reload();
  /// Starts the REST listener when --listen or daemon.listen asks for one.
  void start_listener();
  void shutdown();
  bool idle();

  DaemonOptions options_;
  app::Context ctx_;
  std::string owner_;
  int workers_ = 1;

  int wake_fd_ = -1;
  int watch_fd_ = -1;
  std::string watched_name_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> reload_{false};
  std::atomic<int> config_generation_{0};

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<store::Claim> queue_;
  std::set<std::int64_t> leased_;  // targets queued or in flight, whose leases we renew
  model::Timestamp next_renewal_{};
  model::Timestamp next_token_pass_{};
  int in_flight_ = 0;
  bool workers_quit_ = false;
  Counts counts_;
  schedule::CircuitBreaker breaker_;  // guarded by mutex_
  std::unique_ptr<multivio::http::Client> notify_http_;  // not daemon::http, the listener
  std::unique_ptr<notify::Notifier> notifier_;  // add() from any thread, flush() from the loop
  std::vector<std::thread> threads_;
  http::Services http_services_;         // outlives http_server_
  std::unique_ptr<http::Server> http_server_;
};

/// Parses argv, installs signal handling and runs the daemon.
int run(int argc, char** argv);

}  // namespace multivio::daemon
