// SPDX-License-Identifier: MIT
#include "common/model/model.hpp"

#include <array>
#include <ctime>
#include <utility>

#include "common/error.hpp"

namespace multivio::model {
namespace {

constexpr std::array<std::pair<TargetStatus, std::string_view>, 9> kTargetNames{{
    {TargetStatus::draft, "draft"},
    {TargetStatus::scheduled, "scheduled"},
    {TargetStatus::claimed, "claimed"},
    {TargetStatus::publishing, "publishing"},
    {TargetStatus::published, "published"},
    {TargetStatus::retry_wait, "retry_wait"},
    {TargetStatus::failed, "failed"},
    {TargetStatus::unknown, "unknown"},
    {TargetStatus::cancelled, "cancelled"},
}};

constexpr std::array<std::pair<PostStatus, std::string_view>, 8> kPostNames{{
    {PostStatus::draft, "draft"},
    {PostStatus::scheduled, "scheduled"},
    {PostStatus::publishing, "publishing"},
    {PostStatus::published, "published"},
    {PostStatus::partial, "partial"},
    {PostStatus::failed, "failed"},
    {PostStatus::cancelled, "cancelled"},
    {PostStatus::unknown, "unknown"},
}};

constexpr std::array<std::pair<AttemptOutcome, std::string_view>, 5> kOutcomeNames{{
    {AttemptOutcome::pending, "pending"},
    {AttemptOutcome::ok, "ok"},
    {AttemptOutcome::transient, "transient"},
    {AttemptOutcome::permanent, "permanent"},
    {AttemptOutcome::unknown, "unknown"},
}};

template <typename Table>
std::string names_of(const Table& table) {
  std::string out;
  for (const auto& [value, name] : table) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

template <typename Table>
auto parse_name(const Table& table, std::string_view name, std::string_view what) {
  for (const auto& [value, n] : table) {
    if (n == name) return value;
  }
  throw_usage("unknown " + std::string(what) + " '" + std::string(name) + "' (expected one of: " + names_of(table) +
              ")");
}

template <typename Table, typename Value>
std::string_view name_of(const Table& table, Value v) noexcept {
  for (const auto& [value, n] : table) {
    if (value == v) return n;
  }
  return "?";
}

nlohmann::json optional_time(const std::optional<Timestamp>& t) {
  return t ? nlohmann::json(format_utc(*t)) : nlohmann::json(nullptr);
}

}  // namespace

std::string format_utc(Timestamp t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto ms = (t - secs).count();
  const std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (ms != 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
    out += frac;
  }
  out += 'Z';
  return out;
}

std::string_view to_string(TargetStatus s) noexcept { return name_of(kTargetNames, s); }
std::string_view to_string(PostStatus s) noexcept { return name_of(kPostNames, s); }
std::string_view to_string(AttemptOutcome o) noexcept { return name_of(kOutcomeNames, o); }
TargetStatus parse_target_status(std::string_view name) { return parse_name(kTargetNames, name, "target status"); }
PostStatus parse_post_status(std::string_view name) { return parse_name(kPostNames, name, "post status"); }
AttemptOutcome parse_attempt_outcome(std::string_view name) { return parse_name(kOutcomeNames, name, "outcome"); }

PostStatus Post::status() const {
  // Precedence: anything still moving makes the post "publishing"; then
  // pending work ("scheduled"); then the finished mix.
  int published = 0, failed = 0, unknown = 0, cancelled = 0, draft = 0, scheduled = 0, moving = 0;
  for (const auto& t : targets) {
    switch (t.status) {
      case TargetStatus::draft: ++draft; break;
      case TargetStatus::scheduled:
      case TargetStatus::retry_wait: ++scheduled; break;
      case TargetStatus::claimed:
      case TargetStatus::publishing: ++moving; break;
      case TargetStatus::published: ++published; break;
      case TargetStatus::failed: ++failed; break;
      case TargetStatus::unknown: ++unknown; break;
      case TargetStatus::cancelled: ++cancelled; break;
    }
  }
  const int total = static_cast<int>(targets.size());
  if (moving > 0) return PostStatus::publishing;
  if (scheduled > 0) return published > 0 ? PostStatus::publishing : PostStatus::scheduled;
  if (draft > 0 && draft + cancelled == total) return PostStatus::draft;
  if (total == 0) return scheduled_at ? PostStatus::scheduled : PostStatus::draft;
  if (published == total) return PostStatus::published;
  if (cancelled == total) return PostStatus::cancelled;
  if (published > 0) return PostStatus::partial;
  if (unknown > 0) return PostStatus::unknown;
  if (failed > 0) return PostStatus::failed;
  return PostStatus::cancelled;
}

nlohmann::json to_json(const Account& a) {
  return {
      {"id", a.id},
      {"platform", a.platform},
      {"name", a.name},
      {"ref", a.ref()},
      {"handle", a.handle},
      {"options", a.options},
      {"has_secrets", !a.secrets_sealed.empty()},
      {"healthy", a.healthy},
      {"health_note", a.health_note},
      {"created_at", format_utc(a.created_at)},
  };
}

nlohmann::json to_json(const Target& t) {
  return {
      {"id", t.id},
      {"account_id", t.account_id},
      {"account", t.account_ref},
      {"platform", t.platform},
      {"variant", t.variant ? nlohmann::json(*t.variant) : nlohmann::json(nullptr)},
      {"options", t.options},
      {"status", to_string(t.status)},
      {"attempts", t.attempts},
      {"next_attempt_at", optional_time(t.next_attempt_at)},
      {"remote_ids", t.remote_ids},
      {"remote_url", t.remote_url},
      {"error", t.error},
      {"published_at", optional_time(t.published_at)},
  };
}

nlohmann::json to_json(const Post& p) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& t : p.targets) targets.push_back(to_json(t));
  return {
      {"id", p.id},
      {"status", to_string(p.status())},
      {"text", p.text},
      {"media", p.media},
      {"tags", p.tags},
      {"scheduled_at", optional_time(p.scheduled_at)},
      {"timezone", p.timezone},
      {"key", p.key.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.key)},
      {"options", p.options},
      {"created_at", format_utc(p.created_at)},
      {"updated_at", format_utc(p.updated_at)},
      {"targets", std::move(targets)},
  };
}

nlohmann::json to_json(const Attempt& a) {
  return {
      {"id", a.id},
      {"target_id", a.target_id},
      {"number", a.number},
      {"idempotency_key", a.idempotency_key},
      {"owner", a.owner},
      {"started_at", format_utc(a.started_at)},
      {"finished_at", optional_time(a.finished_at)},
      {"outcome", to_string(a.outcome)},
      {"http_status", a.http_status},
      {"remote_id", a.remote_id},
      {"error", a.error},
  };
}

}  // namespace multivio::model
