// SPDX-License-Identifier: MIT
#include "common/notify/notifier.hpp"

#include <algorithm>
#include <exception>
#include <set>

#include <spdlog/spdlog.h>

#include "common/error.hpp"

namespace multivio::notify {
namespace {

using std::chrono::milliseconds;

// batch_window, doubled per further consecutive failure, at least a second.
milliseconds backoff(milliseconds window, int failures) {
  milliseconds delay = std::max(window, milliseconds{1'000});
  for (int i = 1; i < failures && delay < Notifier::kMaxBackoff; ++i) delay *= 2;
  return std::min(delay, Notifier::kMaxBackoff);
}

}  // namespace

Notifier::Notifier(const config::NotifyConfig& cfg, http::Client& client, EnvFn env)
    : Notifier(cfg, make_channels(cfg, client, std::move(env))) {}

Notifier::Notifier(const config::NotifyConfig& cfg, std::vector<std::unique_ptr<Channel>> channels)
    : window_(cfg.batch_window) {
  for (auto& channel : channels) {
    if (!channel) continue;
    Slot slot;
    slot.channel = std::move(channel);
    slots_.push_back(std::move(slot));
  }
}

Notifier::~Notifier() = default;

void Notifier::add(Event event) {
  if (slots_.empty()) return;
  std::lock_guard lock(mutex_);
  const std::uint64_t seq = next_seq_++;
  for (auto& slot : slots_) {
    if (slot.queue.empty()) slot.opened = event.at;
    slot.queue.push_back(Queued{seq, event});
    if (slot.queue.size() > kMaxPending) {
      slot.queue.pop_front();
      ++slot.dropped;
    }
  }
}

model::Timestamp Notifier::due(const Slot& slot) const {
  if (slot.queue.empty()) return model::Timestamp::max();
  return std::max(slot.opened + window_, slot.retry_at);
}

std::size_t Notifier::flush(model::Timestamp now, bool force) noexcept {
  std::set<std::uint64_t> sent;
  try {
    std::lock_guard flushing(flush_mutex_);
    for (auto& slot : slots_) {
      Batch batch;
      std::uint64_t last_seq = 0;
      {
        std::lock_guard lock(mutex_);
        if (slot.queue.empty() || (!force && now < due(slot))) continue;
        batch.events.reserve(slot.queue.size());
        for (const auto& queued : slot.queue) batch.events.push_back(queued.event);
        last_seq = slot.queue.back().seq;
        batch.dropped = slot.dropped;
        batch.now = now;
      }
      const std::string& name = slot.channel->name();
      try {
        slot.channel->send(batch);
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex_);
        ++slot.failures;
        slot.last_error = e.what();
        slot.retry_at = now + backoff(window_, slot.failures);
        spdlog::error("notify: delivery failed, keeping {} events for the next try in {}s: {}", slot.queue.size(),
                      std::chrono::duration_cast<std::chrono::seconds>(slot.retry_at - now).count(), slot.last_error);
        continue;
      } catch (...) {
        std::lock_guard lock(mutex_);
        ++slot.failures;
        slot.last_error = "unknown failure";
        slot.retry_at = now + backoff(window_, slot.failures);
        spdlog::error("notify: {} failed with an unknown exception, keeping {} events", name, slot.queue.size());
        continue;
      }
      std::size_t delivered = 0;
      {
        std::lock_guard lock(mutex_);
        // Events added while sending stay; ones dropped meanwhile are gone.
        while (!slot.queue.empty() && slot.queue.front().seq <= last_seq) {
          sent.insert(slot.queue.front().seq);
          slot.queue.pop_front();
          ++delivered;
        }
        slot.dropped -= std::min(slot.dropped, batch.dropped);
        slot.failures = 0;
        slot.retry_at = {};
        slot.delivered += delivered;
        if (!slot.queue.empty()) slot.opened = slot.queue.front().event.at;
      }
      spdlog::info("notify: sent {} events via {}", delivered, name);
    }
  } catch (const std::exception& e) {
    // Only allocation failures get here; notifications must not take the daemon down.
    spdlog::error("notify: flush failed: {}", e.what());
  } catch (...) {
    spdlog::error("notify: flush failed");
  }
  return sent.size();
}

model::Timestamp Notifier::next_flush() const {
  std::lock_guard lock(mutex_);
  model::Timestamp next = model::Timestamp::max();
  for (const auto& slot : slots_) next = std::min(next, due(slot));
  return next;
}

std::size_t Notifier::pending() const {
  std::lock_guard lock(mutex_);
  std::set<std::uint64_t> seqs;
  for (const auto& slot : slots_) {
    for (const auto& queued : slot.queue) seqs.insert(queued.seq);
  }
  return seqs.size();
}

std::vector<Notifier::ChannelStatus> Notifier::status() const {
  std::lock_guard lock(mutex_);
  std::vector<ChannelStatus> out;
  for (const auto& slot : slots_) {
    out.push_back(ChannelStatus{slot.channel->name(), slot.queue.size(), slot.dropped, slot.failures,
                                slot.last_error, slot.delivered});
  }
  return out;
}

}  // namespace multivio::notify
