// SPDX-License-Identifier: MIT
// Media library services (`multivio media ...`, `post new --media ID`): the
// current user's items through media::Library under config data_dir.
// Throws multivio::Error (validation, not_found, usage, permanent).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/app/context.hpp"
#include "common/store/store.hpp"

namespace multivio::app {

struct AddedMedia {
  store::MediaItem item;
  bool created = true;  // false: the same bytes were already in the library
};
/// Copies file into the library; the same bytes again return the existing
/// item (alt text replaced when alt is given).
AddedMedia add_media(Context& ctx, const std::string& file, const std::optional<std::string>& alt);
std::vector<store::MediaItem> list_media(Context& ctx);
/// REF is "ID" or "media:ID". Throws not_found, or usage for a malformed ref.
store::MediaItem resolve_media(Context& ctx, std::string_view ref);
/// Returns the removed item.
store::MediaItem remove_media(Context& ctx, std::string_view ref);
/// True when value names a library item ("ID" or "media:ID") rather than a path.
bool is_media_ref(std::string_view value);

nlohmann::json to_json(const store::MediaItem& item);

}  // namespace multivio::app
