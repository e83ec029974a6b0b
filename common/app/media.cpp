// SPDX-License-Identifier: MIT
#include "common/app/media.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/error.hpp"
#include "common/media/library.hpp"

namespace multivio::app {
namespace {

media::Library library(Context& ctx) { return media::Library(ctx.store(), ctx.config().data_dir); }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string_view strip_scheme(std::string_view ref) {
  constexpr std::string_view kScheme = "media:";
  return ref.substr(0, kScheme.size()) == kScheme ? ref.substr(kScheme.size()) : ref;
}

}  // namespace

bool is_media_ref(std::string_view value) {
  // A bare number is an id: a file literally named "12" can still be given as ./12.
  return all_digits(value) || (value.substr(0, 6) == "media:");
}

AddedMedia add_media(Context& ctx, const std::string& file, const std::optional<std::string>& alt) {
  auto lib = library(ctx);
  auto added = lib.add(file, alt, ctx.clock().now());
  return {std::move(added.item), added.created};
}

std::vector<store::MediaItem> list_media(Context& ctx) { return library(ctx).list(); }

store::MediaItem resolve_media(Context& ctx, std::string_view ref) {
  const std::string_view digits = strip_scheme(ref);
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (!all_digits(digits) || ec != std::errc() || end != digits.data() + digits.size() || id <= 0) {
    throw Error(ErrorKind::usage, "'" + std::string(ref) + "' is not a media id (expected ID or media:ID)");
  }
  return library(ctx).get(id);
}

store::MediaItem remove_media(Context& ctx, std::string_view ref) {
  auto item = resolve_media(ctx, ref);
  library(ctx).remove(item.id);
  return item;
}

nlohmann::json to_json(const store::MediaItem& item) {
  nlohmann::json j{{"id", item.id},     {"sha256", item.sha256}, {"path", item.path},
                   {"mime", item.mime}, {"kind", item.kind},     {"bytes", item.bytes},
                   {"alt", item.alt},   {"created_at", model::format_utc(item.created_at)}};
  j["width"] = item.width ? nlohmann::json(*item.width) : nlohmann::json(nullptr);
  j["height"] = item.height ? nlohmann::json(*item.height) : nlohmann::json(nullptr);
  j["duration_ms"] = item.duration_ms ? nlohmann::json(*item.duration_ms) : nlohmann::json(nullptr);
  return j;
}

}  // namespace multivio::app
