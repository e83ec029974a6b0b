// SPDX-License-Identifier: MIT
#include "daemon/daemon.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/app/publisher.hpp"
#include "common/app/reconcile.hpp"
#include "common/app/token_health.hpp"
#include "common/log/log.hpp"
#include "daemon/systemd.hpp"

namespace multivio::daemon {
namespace {

using namespace std::chrono_literals;

// SIGUSR1 only wakes the signal thread so it can exit with the daemon.
constexpr int kQuitSignal = SIGUSR1;

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, kQuitSignal);
  return set;
}

}  // namespace

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)), ctx_(options_.app) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw_permanent(std::string("eventfd: ") + std::strerror(errno));
}

Daemon::~Daemon() {
  {
    std::lock_guard lock(mutex_);
    workers_quit_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (watch_fd_ >= 0) ::close(watch_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Daemon::request_stop() {
  stop_ = true;
  wake();
}

void Daemon::request_reload() {
  reload_ = true;
  wake();
}

void Daemon::wake() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void Daemon::setup_logging() {
  const auto& cfg = ctx_.config();
  log::setup("multiviod", options_.log_level.empty() ? cfg.log.level : options_.log_level,
             options_.log_format.empty() ? cfg.log.format : options_.log_format);
}

int Daemon::run() {
  setup_logging();
  const auto& cfg = ctx_.config();
  workers_ = std::max(1, cfg.daemon.workers);
  breaker_.set_policy({cfg.daemon.breaker_threshold, cfg.daemon.breaker_base, cfg.daemon.breaker_max});
  owner_ = app::make_owner_id("multiviod");
  ctx_.store();   // open and migrate before announcing readiness
  ctx_.sealer();  // a missing key should stop us now, not at the first post

  // Changes committed by other processes land in the WAL file; watching the
  // directory wakes us for a post scheduled a second from now without polling.
  if (const auto file = store::local_file(cfg.database); !file.empty()) {
    watch_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    const auto dir = std::filesystem::path(file).parent_path();
    if (watch_fd_ >= 0 &&
        ::inotify_add_watch(watch_fd_, dir.empty() ? "." : dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
      ::close(watch_fd_);
      watch_fd_ = -1;
    }
    watched_name_ = std::filesystem::path(file).filename().string();
  }

  // The HTTP client loads libcurl: only a daemon that notifies pays for it.
  if (!cfg.notify.webhook_url.empty() || !cfg.notify.email.to.empty()) {
    notify_http_ = multivio::http::make_client();
    notifier_ = std::make_unique<notify::Notifier>(cfg.notify, *notify_http_, [this](const std::string& name) {
      return options_.app.env(name).value_or("");
    });
  } else {
    notifier_ = std::make_unique<notify::Notifier>(cfg.notify, std::vector<std::unique_ptr<notify::Channel>>{});
  }
  sweep_overdue();
  // Before the workers: a listener that cannot bind stops the daemon with
  // nothing to wind down.
  start_listener();
  start_workers();
  spdlog::info("started owner={} workers={} database={} once={}", owner_, workers_, store::redact_url(cfg.database),
               options_.once ? "yes" : "no");
  systemd::ready("publishing with " + std::to_string(workers_) + " workers");

  while (!stop_) {
    http_services_.loop_beat_ms = model::to_millis(ctx_.clock().now());
    if (reload_.exchange(false)) apply_reload();
    renew_leases();
    refresh_tokens();
    const int claimed = claim_pass();
    if (options_.once && claimed == 0 && idle()) {
      const auto next = ctx_.store().next_due();
      if (!next || *next > ctx_.clock().now()) break;
    }
    if (systemd::watchdog_interval()) systemd::watchdog();
    notifier_->flush(ctx_.clock().now());
    wait_for_event(sleep_budget());
  }
  // No new requests while the workers wind down; requests in flight finish.
  if (http_server_) http_server_->stop();
  shutdown();
  // A burst that ends with the run is still reported, not lost with it.
  notifier_->flush(ctx_.clock().now(), true);

  std::lock_guard lock(mutex_);
  spdlog::info("stopped published={} retry_wait={} failed={} unknown={}", counts_.published, counts_.retry,
               counts_.failed, counts_.unknown);
  return options_.once && (counts_.failed > 0 || counts_.unknown > 0) ? 1 : 0;
}

void Daemon::start_listener() {
  const auto& cfg = ctx_.config().daemon;
  const std::string listen = options_.listen.empty() ? cfg.listen : options_.listen;
  if (listen.empty()) return;
  http::ServerOptions o;
  o.listen = listen;
  o.port_file = options_.listen_port_file;
  o.app = options_.app;
  o.max_body = cfg.http_max_body;
  o.max_upload = cfg.http_max_upload;
  o.rate_limit = cfg.http_rate_limit;
  o.cors_origins = cfg.http_cors_origins;
  o.tls_cert = cfg.tls_cert;
  o.tls_key = cfg.tls_key;
  // The loop passes at least every poll_interval; several missed passes
  // (plus slack for a slow store) mean it is stuck.
  http_services_.loop_silence_limit = 3 * cfg.poll_interval + std::chrono::seconds(30);
  http_services_.loop_beat_ms = model::to_millis(ctx_.clock().now());
  http_server_ = std::make_unique<http::Server>(std::move(o), http_services_);
  http_server_->start();
}

void Daemon::start_workers() {
  threads_.reserve(static_cast<std::size_t>(workers_));
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
}

void Daemon::worker_loop(int index) {
  // Each worker has its own database connection and HTTP handle.
  app::Context ctx(options_.app);
  int generation = config_generation_;
  app::Publisher publisher(ctx, owner_);
  for (;;) {
    store::Claim claim;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return workers_quit_ || !queue_.empty(); });
      if (queue_.empty()) return;
      claim = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
    if (generation != config_generation_) {
      generation = config_generation_;
      try {
        ctx.reload_config();
      } catch (const std::exception& e) {
        spdlog::error("worker={} keeps its previous config: {}", index, e.what());
      }
    }
    // A network paused by its breaker is not called; the target waits
    // without using an attempt, and other networks go on.
    std::optional<model::Timestamp> paused;
    {
      std::lock_guard lock(mutex_);
      paused = breaker_.paused_until(claim.account.platform, ctx.clock().now());
    }
    if (paused) {
      try {
        ctx.store().release_claim(claim.target.id, owner_, paused);
      } catch (const std::exception& e) {
        spdlog::warn("worker={} target={} could not be deferred: {}", index, claim.target.id, e.what());
      }
      std::lock_guard lock(mutex_);
      --in_flight_;
      leased_.erase(claim.target.id);
      done_cv_.notify_all();
      wake();
      continue;
    }
    model::TargetStatus status = model::TargetStatus::unknown;
    try {
      const auto started = std::chrono::steady_clock::now();
      const auto result = publisher.publish(claim);
      http_services_.metrics.observe_attempt(claim.account.platform, model::to_string(result.outcome),
                                             std::chrono::steady_clock::now() - started);
      status = result.next_status;
      if (status == model::TargetStatus::failed) {
        notify(publisher.last_failed_on_credentials() ? notify::Event::Kind::account_needs_relink
                                                      : notify::Event::Kind::target_failed,
               claim.target, result.error);
      } else if (status == model::TargetStatus::unknown) {
        notify(notify::Event::Kind::target_unknown, claim.target, result.error);
      }
      std::lock_guard lock(mutex_);
      if (result.outcome == model::AttemptOutcome::ok) {
        breaker_.record_success(claim.account.platform);
      } else if (result.outcome == model::AttemptOutcome::transient) {
        if (const auto until = breaker_.record_transient(claim.account.platform, ctx.clock().now())) {
          spdlog::warn("pausing network={} until={} after repeated transient failures", claim.account.platform,
                       model::format_utc(*until));
        }
      }
    } catch (const std::exception& e) {
      // The attempt row could not be written (lease lost, database error):
      // nothing was sent, and the lease will expire and be recovered.
      spdlog::error("worker={} post={} target={} not published: {}", index, claim.post.id, claim.target.id,
                    e.what());
      status = model::TargetStatus::retry_wait;
    }
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
      leased_.erase(claim.target.id);
      switch (status) {
        case model::TargetStatus::published: ++counts_.published; break;
        case model::TargetStatus::retry_wait: ++counts_.retry; break;
        case model::TargetStatus::failed: ++counts_.failed; break;
        default: ++counts_.unknown; break;
      }
    }
    done_cv_.notify_all();
    wake();
  }
}

bool Daemon::idle() {
  std::lock_guard lock(mutex_);
  return queue_.empty() && in_flight_ == 0;
}

int Daemon::claim_pass() {
  const auto now = ctx_.clock().now();
  reconcile(ctx_.store().recover_expired(now));
  int free = 0;
  {
    std::lock_guard lock(mutex_);
    free = workers_ - static_cast<int>(queue_.size()) - in_flight_;
  }
  if (free <= 0) return 0;
  auto claims = ctx_.store().claim_due(now, owner_, ctx_.config().daemon.lease, free);
  if (claims.empty()) return 0;
  const int n = static_cast<int>(claims.size());
  {
    std::lock_guard lock(mutex_);
    if (leased_.empty()) next_renewal_ = now + ctx_.config().daemon.lease / 3;
    for (auto& c : claims) {
      leased_.insert(c.target.id);
      queue_.push_back(std::move(c));
    }
  }
  work_cv_.notify_all();
  return n;
}

void Daemon::reconcile(const std::vector<model::Target>& unknown) {
  const auto now = ctx_.clock().now();
  for (const auto& t : unknown) {
    bool dedupes = false;
    bool resumes = false;
    try {
      const auto caps = ctx_.adapter(t.platform)->capabilities(nullptr);
      dedupes = caps.idempotency_key;
      resumes = caps.resumes_from_progress && t.progress.is_object() && !t.progress.empty();
    } catch (const std::exception& e) {
      spdlog::warn("target={} platform={}: {}", t.id, t.platform, e.what());
    }
    if (dedupes) {
      ctx_.store().requeue_unknown(
          t.id, now, "an interrupted call is repeated with the same idempotency key, which " + t.platform + " dedupes");
      spdlog::warn("reconciling post={} target={} account={}: repeating the interrupted call with the same key",
                   t.post_id, t.id, t.account_ref);
      continue;
    }
    if (resumes) {
      ctx_.store().requeue_unknown(t.id, now,
                                   "an interrupted upload resumes from its saved progress, which " + t.platform +
                                       " lets multivio check before posting again");
      spdlog::warn("reconciling post={} target={} account={}: resuming from the saved progress", t.post_id, t.id,
                   t.account_ref);
      continue;
    }
    if (app::reconcile_from_recent(ctx_, t)) continue;
    spdlog::error("unknown post={} target={} account={}: {}", t.post_id, t.id, t.account_ref, t.error);
    notify(notify::Event::Kind::target_unknown, t, t.error);
    std::lock_guard lock(mutex_);
    ++counts_.unknown;
  }
}

void Daemon::refresh_tokens() {
  const auto now = ctx_.clock().now();
  if (now < next_token_pass_) return;
  // Minutes are plenty: tokens live for hours to months, and refreshing
  // starts well before expiry (80% of the lifetime, or the margin).
  next_token_pass_ = now + std::chrono::minutes(5);
  const auto pass = app::refresh_due_tokens(ctx_, now);
  if (pass.refreshed > 0 || pass.failed > 0) {
    spdlog::info("token pass refreshed={} failed={}", pass.refreshed, pass.failed);
  }
}

void Daemon::sweep_overdue() {
  const auto& cfg = ctx_.config().daemon;
  const auto now = ctx_.clock().now();
  const auto overdue = ctx_.store().overdue(now - cfg.late_grace);
  if (overdue.empty()) return;
  const std::string& policy = cfg.late_policy;
  for (const auto& t : overdue) {
    const auto late = std::chrono::duration_cast<std::chrono::minutes>(now - *t.next_attempt_at).count();
    const std::string why = "overdue: was due " + model::format_utc(*t.next_attempt_at) + " (" + std::to_string(late) +
                            " min ago); late_policy " + policy;
    if (policy == "skip") {
      ctx_.store().skip_target(t.id, why + ": skipped", now);
    } else if (policy == "ask") {
      ctx_.store().hold_target(t.id, why + ": held as a draft; publish with 'multivio post publish " +
                                         std::to_string(t.post_id) + "' or cancel it", now);
    }
    spdlog::warn("overdue post={} target={} account={} minutes_late={} policy={}", t.post_id, t.id, t.account_ref,
                 late, policy);
    notify(notify::Event::Kind::overdue, t, why);
  }
}

void Daemon::notify(notify::Event::Kind kind, const model::Target& target, const std::string& message) {
  if (!notifier_ || !notifier_->enabled()) return;
  notify::Event e;
  e.kind = kind;
  e.post_id = target.post_id;
  e.target_id = target.id;
  e.account = target.account_ref;
  e.platform = target.platform;
  e.message = message;
  e.at = ctx_.clock().now();
  notifier_->add(std::move(e));
}

void Daemon::renew_leases() {
  std::vector<std::int64_t> ids;
  const auto now = ctx_.clock().now();
  const auto lease = ctx_.config().daemon.lease;
  {
    std::lock_guard lock(mutex_);
    if (leased_.empty() || now < next_renewal_) return;
    ids.assign(leased_.begin(), leased_.end());
    next_renewal_ = now + lease / 3;
  }
  try {
    const int renewed = ctx_.store().renew_leases(owner_, ids, now + lease);
    spdlog::debug("renewed leases count={} of={}", renewed, ids.size());
  } catch (const std::exception& e) {
    spdlog::warn("could not renew leases: {}", e.what());
  }
}

std::chrono::milliseconds Daemon::sleep_budget() {
  const auto& cfg = ctx_.config().daemon;
  std::chrono::milliseconds budget = cfg.poll_interval;
  bool workers_full = false;
  {
    std::lock_guard lock(mutex_);
    workers_full = static_cast<int>(queue_.size()) + in_flight_ >= workers_;
  }
  // With every worker busy, a finishing worker wakes us; otherwise sleep
  // until the earliest due target (the store answers from an index).
  if (!workers_full) {
    if (const auto next = ctx_.store().next_due()) {
      const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next - ctx_.clock().now());
      budget = std::clamp(until, 0ms, budget);
    }
  }
  if (const auto wd = systemd::watchdog_interval()) budget = std::min(budget, *wd);
  if (notifier_ && notifier_->pending() > 0) {
    const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(notifier_->next_flush() -
                                                                               ctx_.clock().now());
    budget = std::clamp(until, 0ms, budget);
  }
  std::lock_guard lock(mutex_);
  if (!leased_.empty()) {
    const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(next_renewal_ - ctx_.clock().now());
    budget = std::clamp(until, 0ms, budget);
  }
  return budget;
}

void Daemon::wait_for_event(std::chrono::milliseconds timeout) {
  // A server database tells us about changes (LISTEN/NOTIFY); a SQLite file
  // is watched with inotify instead.
  const int change_fd = ctx_.store().change_fd();
  pollfd fds[3] = {{wake_fd_, POLLIN, 0}, {watch_fd_, POLLIN, 0}, {change_fd, POLLIN, 0}};
  const int rc = ::poll(fds, 3, static_cast<int>(timeout.count()));
  if (rc <= 0) return;
  if (fds[0].revents & POLLIN) {
    std::uint64_t value = 0;
    [[maybe_unused]] auto n = ::read(wake_fd_, &value, sizeof value);
  }
  if (fds[2].revents & POLLIN) ctx_.store().drain_changes();
  if (watch_fd_ >= 0 && (fds[1].revents & POLLIN)) {
    // Drain; any event in the directory just means "look again". Events for
    // unrelated files only cost one cheap query.
    alignas(inotify_event) char buf[4096];
    while (::read(watch_fd_, buf, sizeof buf) > 0) {
    }
  }
}

void Daemon::apply_reload() {
  systemd::reloading();
  try {
    ctx_.reload_config();
    setup_logging();
    {
      const auto& d = ctx_.config().daemon;
      std::lock_guard lock(mutex_);
      breaker_.set_policy({d.breaker_threshold, d.breaker_base, d.breaker_max});
    }
    ++config_generation_;
    spdlog::info("reloaded config file={}", ctx_.config().file.empty() ? "(none)" : ctx_.config().file);
  } catch (const std::exception& e) {
    spdlog::error("config reload failed, keeping the previous one: {}", e.what());
  }
  systemd::ready("reloaded");
}

void Daemon::shutdown() {
  systemd::stopping();
  std::deque<store::Claim> unstarted;
  {
    std::lock_guard lock(mutex_);
    unstarted.swap(queue_);
  }
  for (const auto& c : unstarted) {
    {
      std::lock_guard lock(mutex_);
      leased_.erase(c.target.id);
    }
    try {
      ctx_.store().release_claim(c.target.id, owner_);
    } catch (const std::exception& e) {
      spdlog::warn("could not release target={}: {}", c.target.id, e.what());
    }
  }
  const auto grace = ctx_.config().daemon.shutdown_grace;
  std::unique_lock lock(mutex_);
  if (in_flight_ > 0) spdlog::info("stopping: waiting up to {} ms for {} in-flight call(s)", grace.count(), in_flight_);
  if (!done_cv_.wait_for(lock, grace, [&] { return in_flight_ == 0; })) {
    // Calls still running become `unknown` through lease expiry; exiting is
    // better than hanging past what systemd allows.
    spdlog::warn("stopping: {} call(s) still in flight after the grace period", in_flight_);
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
}

int run(int argc, char** argv) {
  CLI::App cli{"multiviod: publishes scheduled multivio posts when they are due.", "multiviod"};
  DaemonOptions options;
  std::string config_path, db, tz;
  bool dump_config = false;
  cli.add_option("--config", config_path, "Config file (default $XDG_CONFIG_HOME/multivio/config.yaml)");
  cli.add_option("--db", db, "Database URL, overriding the config (sqlite:///path)");
  cli.add_option("--tz", tz, "Time zone for log messages about schedules");
  cli.add_flag("--once", options.once, "Publish everything due now, wait for it, and exit (for cron and timers)");
  cli.add_option("--log-level", options.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  cli.add_option("--log-format", options.log_format, "auto (text on a terminal, JSON otherwise), text or json")
      ->check(CLI::IsMember({"auto", "text", "json"}));
  cli.add_option("--listen", options.listen,
                 "Serve the REST API on HOST:PORT (port 0: a free one), overriding daemon.listen")
      ->type_name("HOST:PORT");
  cli.add_option("--listen-port-file", options.listen_port_file, "Write the REST listener's bound port to FILE")
      ->type_name("FILE");
  bool dump_openapi = false;
  cli.add_flag("--dump-openapi", dump_openapi, "Print the REST API's OpenAPI 3.1 document and exit");
  cli.add_flag("--dump-config", dump_config, "Print the effective configuration as JSON and exit");
  cli.set_version_flag("--version", std::string("multiviod ") + MULTIVIO_VERSION);
  cli.footer(
      "Examples:\n"
      "  multiviod                      run in the foreground until SIGTERM\n"
      "  multiviod --once               publish what is due, then exit (cron, systemd timer)\n"
      "  multiviod --log-format json    JSON lines on stderr, e.g. for journald\n"
      "  multiviod --listen 127.0.0.1:8080   also serve the REST API (tokens: multivio token create)\n"
      "Signals: SIGTERM/SIGINT stop gracefully (a second SIGINT forces), SIGHUP reloads the config.\n"
      "See multiviod(8).");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return cli.exit(e);  // --help, --version
    // One line and the usage exit status of DESIGN §4, like multivio.
    std::cerr << "multiviod: error: " << e.what() << "; run 'multiviod --help' for usage\n";
    return exit_code(ErrorKind::usage);
  }
  // The publishing loop works for every user; the REST listener scopes each
  // request to its token's user.
  options.app.user = store::kAnyUser;
  if (!config_path.empty()) options.app.config_path = config_path;
  if (!db.empty()) options.app.database = db;
  options.app.timezone = tz;

  try {
    if (dump_openapi) {
      std::cout << http::openapi().dump(2) << "\n";
      return 0;
    }
    if (dump_config) {
      app::Context ctx(options.app);
      std::cout << ctx.config().to_json().dump(2) << "\n";
      return 0;
    }
    // Block the handled signals in every thread; one thread takes them.
    const sigset_t set = handled_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    Daemon daemon(options);
    std::atomic<bool> finished{false};
    std::thread signals([&] {
      int interrupts = 0;
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == kQuitSignal && finished) return;
        if (sig == SIGHUP) {
          daemon.request_reload();
        } else if (sig == SIGTERM || sig == SIGINT) {
          if (sig == SIGINT && ++interrupts > 1) {
            spdlog::warn("second interrupt: exiting now");
            spdlog::default_logger()->flush();
            std::_Exit(130);
          }
          spdlog::info("received {}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
          daemon.request_stop();
        }
      }
    });
    int code = 0;
    try {
      code = daemon.run();
    } catch (...) {
      finished = true;
      pthread_kill(signals.native_handle(), kQuitSignal);
      signals.join();
      throw;
    }
    finished = true;
    pthread_kill(signals.native_handle(), kQuitSignal);
    signals.join();
    return code;
  } catch (const Error& e) {
    std::cerr << "multiviod: error: " << e.what() << "\n";
    return exit_code(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "multiviod: error: internal: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace multivio::daemon
