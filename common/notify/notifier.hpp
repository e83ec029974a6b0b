// SPDX-License-Identifier: MIT
// Failure notifications (DESIGN §6, issue 7): events are collected and sent
// in batches, one message per channel per batch window, so a burst of
// failures makes one message rather than hundreds. Delivery never throws:
// a channel that fails keeps its events (bounded) and tries again later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/http/client.hpp"
#include "common/model/model.hpp"
#include "common/notify/channels.hpp"
#include "common/notify/message.hpp"

namespace multivio::notify {

class Notifier {
 public:
  /// Events kept per channel while it cannot deliver; beyond this the
  /// oldest are dropped and counted ("N older events were dropped").
  static constexpr std::size_t kMaxPending = 1000;
  /// Longest wait between retries of a failing channel.
  static constexpr std::chrono::milliseconds kMaxBackoff{15 * 60 * 1000};

  /// Builds the channels `cfg` turns on (see make_channels; throws
  /// Error(usage) for an incomplete email section). `env` reads the
  /// environment variables named in the config ("" when unset); `client`
  /// must outlive the Notifier and is used only from flush().
  Notifier(const config::NotifyConfig& cfg, http::Client& client, EnvFn env);
  /// For tests and custom channels.
  Notifier(const config::NotifyConfig& cfg, std::vector<std::unique_ptr<Channel>> channels);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// True when at least one channel is configured; add() is a no-op otherwise.
  bool enabled() const noexcept { return !slots_.empty(); }

  /// Queues the event on every channel. Its batch window starts at the
  /// `at` of the first event queued on an empty channel, so `at` should be
  /// when the event was noticed (not, say, an overdue post's due time).
  /// Thread-safe; never sends.
  void add(Event event);

  /// Sends, one message per channel, what is queued on each channel whose
  /// batch window has passed (and whose retry delay after a failure, if
  /// any, has passed); with force, everything queued, now (shutdown,
  /// --once). Returns the number of distinct events delivered on at least
  /// one channel. Never throws: failures are logged (without secrets), the
  /// events stay queued and the channel waits batch_window, doubling per
  /// consecutive failure up to kMaxBackoff, before it tries again. Calls
  /// are serialised (one flush at a time).
  std::size_t flush(model::Timestamp now, bool force = false) noexcept;

  /// When flush() next has something to send: the earliest due time over
  /// channels with queued events; Timestamp::max() when nothing is queued.
  model::Timestamp next_flush() const;

  /// Events queued on at least one channel.
  std::size_t pending() const;

  struct ChannelStatus {
    std::string name;        // "webhook (slack)", "email (smtp)"
    std::size_t pending = 0;
    std::size_t dropped = 0;
    int failures = 0;        // consecutive failed deliveries
    std::string last_error;  // of the latest failed delivery; secrets replaced by ***
    std::size_t delivered = 0;  // events delivered so far
  };
  std::vector<ChannelStatus> status() const;

 private:
  struct Queued {
    std::uint64_t seq = 0;
    Event event;
  };
  struct Slot {
    std::unique_ptr<Channel> channel;
    std::deque<Queued> queue;
    std::size_t dropped = 0;
    model::Timestamp opened{};    // the batch window counts from here
    model::Timestamp retry_at{};  // not before this after a failure
    int failures = 0;
    std::string last_error;
    std::size_t delivered = 0;
  };

  model::Timestamp due(const Slot& slot) const;

  std::chrono::milliseconds window_;
  std::vector<Slot> slots_;
  std::uint64_t next_seq_ = 1;
  mutable std::mutex mutex_;  // slots_' queues and counters
  std::mutex flush_mutex_;    // one flush at a time (the HTTP client is single-threaded)
};

}  // namespace multivio::notify
