// SPDX-License-Identifier: MIT
#include "common/platforms/tiktok/wire.hpp"

#include <algorithm>

#include "common/oauth/form.hpp"

namespace multivio::platforms::tiktok {

namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

std::string string_of(const Json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();  // ids may arrive as numbers
  return {};
}

bool bool_of(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

ChunkPlan single(std::uint64_t size) {
  return {size, size, 1, {{0, size - 1}}};
}

}  // namespace

ChunkPlan plan_chunks(std::uint64_t video_size, std::uint64_t preferred) {
  if (video_size == 0) throw_validation("the video is empty");
  std::uint64_t chunk = std::clamp(preferred, k_min_chunk, k_max_chunk);
  if (video_size < k_min_chunk || video_size <= chunk) return single(video_size);
  if (video_size / chunk > k_max_chunks) chunk = (video_size + k_max_chunks - 1) / k_max_chunks;
  if (chunk > k_max_chunk) {
    throw_validation("the video is " + std::to_string(video_size) + " bytes; tiktok takes at most 1000 chunks of 64 MB");
  }
  std::uint64_t count = video_size / chunk;
  if (count == 1) {
    if (video_size <= k_max_chunk) return single(video_size);
    // Over 64 MB must go in pieces; halves are 32-64 MB here.
    chunk = video_size / 2;
    count = video_size / chunk;
  }
  ChunkPlan plan{video_size, chunk, count, {}};
  plan.ranges.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t first = i * chunk;
    const std::uint64_t last = i + 1 == count ? video_size - 1 : first + chunk - 1;
    plan.ranges.push_back({first, last});
  }
  return plan;
}

std::string content_range(const ByteRange& range, std::uint64_t total) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" + std::to_string(total);
}

std::optional<Envelope> parse_envelope(std::string_view body) {
  const Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const auto error = j.find("error");
  if (error == j.end() || !error->is_object()) return std::nullopt;
  Envelope e;
  if (const auto data = j.find("data"); data != j.end() && data->is_object()) e.data = *data;
  e.code = string_of(*error, "code");
  e.message = string_of(*error, "message");
  e.log_id = string_of(*error, "log_id");
  return e;
}

Error to_error(const http::Response& response, std::string_view context) {
  const auto envelope = parse_envelope(response.body);
  if (!envelope || envelope->code.empty() || (envelope->code == "ok" && !response.ok())) {
    return http::classify(response, context);
  }
  const std::string& code = envelope->code;
  std::string message = std::string(context) + ": HTTP " + std::to_string(response.status) + ": " + code;
  if (!envelope->message.empty()) message += ": " + envelope->message;

  ErrorKind kind = ErrorKind::permanent;
  std::optional<std::chrono::seconds> retry_after;
  if (code == "access_token_invalid" || code == "scope_not_authorized" || code == "scope_permission_missed" ||
      response.status == 401) {
    kind = ErrorKind::auth;
    message += "; re-link the account with 'multivio account add tiktok --oauth'";
  } else if (code == "rate_limit_exceeded" || code == "spam_risk_too_many_posts" || response.status == 429) {
    kind = ErrorKind::transient;
    const auto header = response.header("Retry-After");
    retry_after = header ? http::parse_retry_after(*header, std::chrono::system_clock::now()) : std::nullopt;
    if (!retry_after) retry_after = 60s;
  } else if (code == "internal_error" || response.status >= 500) {
    kind = ErrorKind::transient;
  } else if (code == "invalid_params" || code == "privacy_level_option_mismatch" ||
             code == "unaudited_client_can_only_post_to_private_accounts" || code.ends_with("_check_failed")) {
    kind = ErrorKind::validation;
  }
  Error error(kind, message);
  error.retry_after = retry_after;
  error.http_status = response.status;
  return error;
}

Json expect_data(const http::Response& response, std::string_view context) {
  const auto envelope = parse_envelope(response.body);
  if (!response.ok() || !envelope || envelope->code != "ok") throw to_error(response, context);
  return envelope->data;
}

CreatorInfo parse_creator_info(const Json& data) {
  CreatorInfo info;
  const auto options = data.find("privacy_level_options");
  if (options == data.end() || !options->is_array()) {
    throw_permanent("creator_info has no privacy_level_options");
  }
  for (const auto& o : *options) {
    if (o.is_string()) info.privacy_level_options.push_back(o.get<std::string>());
  }
  info.username = string_of(data, "creator_username");
  info.nickname = string_of(data, "creator_nickname");
  info.comment_disabled = bool_of(data, "comment_disabled");
  info.duet_disabled = bool_of(data, "duet_disabled");
  info.stitch_disabled = bool_of(data, "stitch_disabled");
  if (const auto max = data.find("max_video_post_duration_sec"); max != data.end() && max->is_number_integer()) {
    info.max_video_post_duration_sec = max->get<std::int64_t>();
  }
  return info;
}

std::string init_body(const PostInfo& post, const ChunkPlan& plan) {
  Json post_info = {{"title", post.title},
                    {"privacy_level", post.privacy_level},
                    {"disable_comment", post.disable_comment},
                    {"disable_duet", post.disable_duet},
                    {"disable_stitch", post.disable_stitch},
                    {"brand_content_toggle", false},
                    {"brand_organic_toggle", false}};
  Json source_info = {{"source", "FILE_UPLOAD"},
                      {"video_size", plan.video_size},
                      {"chunk_size", plan.chunk_size},
                      {"total_chunk_count", plan.total_chunk_count}};
  return Json{{"post_info", std::move(post_info)}, {"source_info", std::move(source_info)}}.dump();
}

InitResult parse_init(const Json& data) {
  InitResult r{string_of(data, "publish_id"), string_of(data, "upload_url")};
  if (r.publish_id.empty() || r.upload_url.empty()) throw_permanent("video init answered without publish_id or upload_url");
  return r;
}

std::string status_body(std::string_view publish_id) { return Json{{"publish_id", publish_id}}.dump(); }

PublishStatus parse_status(const Json& data) {
  PublishStatus s;
  s.status = string_of(data, "status");
  if (s.status.empty()) throw_permanent("status fetch answered without a status");
  s.fail_reason = string_of(data, "fail_reason");
  if (const auto ids = data.find("publicaly_available_post_id"); ids != data.end() && ids->is_array()) {
    for (const auto& id : *ids) {
      if (id.is_string()) s.post_ids.push_back(id.get<std::string>());
      if (id.is_number()) s.post_ids.push_back(id.dump());  // 19-digit ids: dump keeps every digit
    }
  }
  if (const auto n = data.find("uploaded_bytes"); n != data.end() && n->is_number_unsigned()) {
    s.uploaded_bytes = n->get<std::uint64_t>();
  }
  return s;
}

User parse_user(const Json& data) {
  const auto user = data.find("user");
  if (user == data.end() || !user->is_object()) throw_permanent("user info answered without data.user");
  User u{string_of(*user, "open_id"), string_of(*user, "username"), string_of(*user, "display_name")};
  if (u.open_id.empty()) throw_permanent("user info answered without open_id");
  return u;
}

std::string post_url(std::string_view username, std::string_view post_id) {
  if (username.empty() || post_id.empty()) return {};
  return "https://www.tiktok.com/@" + oauth::percent_encode(username) + "/video/" + oauth::percent_encode(post_id);
}

}  // namespace multivio::platforms::tiktok
