// SPDX-License-Identifier: MIT
#include "common/model/model.hpp"

#include <array>
#include <cstdio>
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

PostStatus derive_post_status(const TargetTally& t, bool has_schedule) {
  // Precedence: anything still moving makes the post "publishing"; then
  // pending work ("scheduled"); then the finished mix.
  const std::int64_t total = t.total();
  if (t.moving > 0) return PostStatus::publishing;
  if (t.scheduled > 0) return t.published > 0 ? PostStatus::publishing : PostStatus::scheduled;
  if (t.draft > 0 && t.draft + t.cancelled == total) return PostStatus::draft;
  if (total == 0) return has_schedule ? PostStatus::scheduled : PostStatus::draft;
  if (t.published == total) return PostStatus::published;
  if (t.cancelled == total) return PostStatus::cancelled;
  if (t.published > 0) return PostStatus::partial;
  if (t.unknown > 0) return PostStatus::unknown;
  if (t.failed > 0) return PostStatus::failed;
  return PostStatus::cancelled;
}

PostStatus Post::status() const {
  TargetTally tally;
  for (const auto& t : targets) {
    switch (t.status) {
      case TargetStatus::draft: ++tally.draft; break;
      case TargetStatus::scheduled:
      case TargetStatus::retry_wait: ++tally.scheduled; break;
      case TargetStatus::claimed:
      case TargetStatus::publishing: ++tally.moving; break;
      case TargetStatus::published: ++tally.published; break;
      case TargetStatus::failed: ++tally.failed; break;
      case TargetStatus::unknown: ++tally.unknown; break;
      case TargetStatus::cancelled: ++tally.cancelled; break;
    }
  }
  return derive_post_status(tally, scheduled_at.has_value());
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

namespace multivio::model {
namespace {

// A document from another multivio is trusted to be well formed; one that
// is not is a fault of whatever answered, not of the user's input.
const nlohmann::json& member(const nlohmann::json& doc, const char* name) {
  if (!doc.is_object() || !doc.contains(name)) {
    throw_permanent(std::string("unexpected answer: no field '") + name + "'");
  }
  return doc[name];
}

template <typename T>
T get(const nlohmann::json& doc, const char* name) {
  try {
    return member(doc, name).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw_permanent(std::string("unexpected answer: field '") + name + "' has the wrong type");
  }
}

std::optional<Timestamp> optional_utc(const nlohmann::json& doc, const char* name) {
  const auto& v = member(doc, name);
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) throw_permanent(std::string("unexpected answer: field '") + name + "' is not a time");
  return parse_utc(v.get<std::string>());
}

}  // namespace

Timestamp parse_utc(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0, n = 0;
  const std::string str(text);
  bool ok = std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) == 6 && n == 19;
  if (ok && str.size() == 24 && str[19] == '.') {
    int m = 0;
    ok = std::sscanf(str.c_str() + 20, "%3d%n", &ms, &m) == 1 && m == 3;
    n = 23;
  }
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ok || str.size() != static_cast<std::size_t>(n) + 1 || str.back() != 'Z' || !date.ok() || h > 23 || mi > 59 ||
      s > 60) {
    throw_permanent("unexpected answer: '" + str + "' is not a UTC time");
  }
  return Timestamp{sys_days{date}.time_since_epoch() + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms}};
}

Account account_from_json(const nlohmann::json& doc) {
  Account a;
  a.id = get<std::int64_t>(doc, "id");
  a.platform = get<std::string>(doc, "platform");
  a.name = get<std::string>(doc, "name");
  a.handle = get<std::string>(doc, "handle");
  a.options = member(doc, "options");
  if (get<bool>(doc, "has_secrets")) a.secrets_sealed = "(sealed elsewhere)";
  a.healthy = get<bool>(doc, "healthy");
  a.health_note = get<std::string>(doc, "health_note");
  a.created_at = parse_utc(get<std::string>(doc, "created_at"));
  return a;
}

Target target_from_json(const nlohmann::json& doc) {
  Target t;
  t.id = get<std::int64_t>(doc, "id");
  t.account_id = get<std::int64_t>(doc, "account_id");
  t.account_ref = get<std::string>(doc, "account");
  t.platform = get<std::string>(doc, "platform");
  if (const auto& v = member(doc, "variant"); !v.is_null()) t.variant = get<std::string>(doc, "variant");
  t.options = member(doc, "options");
  try {
    t.status = parse_target_status(get<std::string>(doc, "status"));
  } catch (const Error& e) {
    throw_permanent(std::string("unexpected answer: ") + e.what());
  }
  t.attempts = get<int>(doc, "attempts");
  t.next_attempt_at = optional_utc(doc, "next_attempt_at");
  t.remote_ids = get<std::vector<std::string>>(doc, "remote_ids");
  t.remote_url = get<std::string>(doc, "remote_url");
  t.error = get<std::string>(doc, "error");
  t.published_at = optional_utc(doc, "published_at");
  return t;
}

Post post_from_json(const nlohmann::json& doc) {
  Post p;
  p.id = get<std::int64_t>(doc, "id");
  p.text = get<std::string>(doc, "text");
  p.media = get<std::vector<std::string>>(doc, "media");
  p.tags = get<std::vector<std::string>>(doc, "tags");
  p.scheduled_at = optional_utc(doc, "scheduled_at");
  p.timezone = get<std::string>(doc, "timezone");
  if (const auto& v = member(doc, "key"); !v.is_null()) p.key = get<std::string>(doc, "key");
  p.options = member(doc, "options");
  p.created_at = parse_utc(get<std::string>(doc, "created_at"));
  p.updated_at = parse_utc(get<std::string>(doc, "updated_at"));
  const auto& targets = member(doc, "targets");
  if (!targets.is_array()) throw_permanent("unexpected answer: field 'targets' is not an array");
  for (const auto& t : targets) {
    p.targets.push_back(target_from_json(t));
    p.targets.back().post_id = p.id;
  }
  return p;
}

}  // namespace multivio::model
