// SPDX-License-Identifier: MIT
// Post services: create (with validation, idempotency keys and dry runs),
// check, list, edit, schedule, cancel, delete, retry and foreground publish.
// Every function validates all input before changing anything.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/app/context.hpp"

namespace multivio::app {

/// One target's validation outcome; `target` is the ref or network name given.
struct CheckResult {
  std::string target;
  std::string platform;
  platforms::ValidationReport report;
};
nlohmann::json to_json(const CheckResult& c);

struct NewPostRequest {
  std::string text;
  std::vector<std::string> to;  // account refs
  std::optional<std::string> at;  // WHEN
  bool now = false;
  bool draft = false;
  std::vector<std::string> media;  // paths (readable files) or library ids: ID or media:ID
  std::vector<std::pair<std::string, std::string>> variants;  // ref -> text
  std::vector<std::string> tags;
  std::string key;  // idempotency key
  bool dry_run = false;
  // Publishing options kept on the post (platforms::publish_options): they
  // override the same account option for this post only.
  std::string thread;               // "auto": an over-long text becomes a thread; "never"
  std::vector<std::string> alt;     // alt text per media file, in order
  std::string cw;                   // content warning / spoiler text (mastodon)
  std::string language;             // ISO 639 code, e.g. "en"
  // AI help (DESIGN §4, common/app/ai.hpp). A post written by the model is a
  // draft unless --at or --now says otherwise, so a person reviews it.
  std::optional<std::string> ai_prompt;  // generate the text from this prompt
  bool adapt = false;                    // fill a variant per target now
  bool adapt_at_publish = false;         // the daemon adapts just before publishing
  std::string tone;
};

/// What one target would send (dry run).
struct TargetPreview {
  std::string account;
  std::string platform;
  platforms::Preview request;
};
nlohmann::json to_json(const TargetPreview& p);

struct NewPostResult {
  model::Post post;       // for a dry run: the post as it would be stored (id 0)
  bool created = false;   // false for dry runs and for an existing key
  std::vector<TargetPreview> previews;  // dry run only
};
/// Without --at/--now/--draft the post is scheduled now (published by the next daemon pass).
/// Throws Error(validation) listing every target's problems when a text is
/// empty or over a limit.
NewPostResult new_post(Context& ctx, const NewPostRequest& request);

/// `options` are post options as new_post() stores them ({"thread": "auto"}).
std::vector<CheckResult> check(Context& ctx, const std::string& text, const std::vector<std::string>& to,
                               const std::vector<std::string>& media,
                               const nlohmann::json& options = nlohmann::json::object());

/// The post options a NewPostRequest asks for; Error(usage) for a bad value
/// (thread not auto/never, more alt texts than media files).
nlohmann::json post_options(const NewPostRequest& request);

struct ListRequest {
  std::optional<std::string> status;  // post status or target status (unknown, retry_wait, ...)
  std::optional<std::string> to;      // account ref
  std::optional<std::string> since;   // WHEN
  std::optional<std::string> until;   // WHEN
  int limit = 100;
  std::int64_t before_id = 0;  // cursor: only posts with a smaller id (0: from the newest)
};
std::vector<model::Post> list_posts(Context& ctx, const ListRequest& request);
model::Post get_post(Context& ctx, std::int64_t id);
/// Attempts of every target of the post, keyed by target id.
std::vector<model::Attempt> post_attempts(Context& ctx, const model::Post& post);

struct EditRequest {
  std::int64_t id = 0;
  std::optional<std::string> text;
  std::vector<std::pair<std::string, std::string>> variants;  // ref -> text ("" removes)
  std::optional<std::vector<std::string>> tags;
};
model::Post edit_post(Context& ctx, const EditRequest& request);
model::Post schedule_post(Context& ctx, std::int64_t id, const std::string& when);
model::Post cancel_post(Context& ctx, std::int64_t id);
void delete_post(Context& ctx, std::int64_t id);
model::Post retry_post(Context& ctx, std::int64_t id);

struct PublishOutcome {
  model::Post post;
  std::vector<TargetPreview> previews;  // dry run only
  bool all_published = false;
};
/// Publishes the post's unfinished targets now, in the foreground.
PublishOutcome publish_post(Context& ctx, std::int64_t id, bool dry_run);

}  // namespace multivio::app
