// SPDX-License-Identifier: MIT
// The media library: files copied into <data_dir>/media/<sha[0:2]>/<sha>.<ext>,
// content-addressed so the same bytes are stored once, and recorded in the
// store for the store's current user. Not thread-safe (one per Store).
// Throws multivio::Error: validation for unreadable or corrupt input files,
// not_found for missing ids, permanent when the data directory cannot be written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/store/store.hpp"

namespace multivio::media {

class Library {
 public:
  /// store must outlive the Library.
  Library(store::Store& store, std::filesystem::path data_dir);

  struct Added {
    store::MediaItem item;
    bool created = true;  // false: the same bytes were already in the library
  };
  /// Copies file into the library. Adding bytes that are already there returns
  /// the existing item, with its alt text replaced when alt is given.
  Added add(const std::filesystem::path& file, const std::optional<std::string>& alt, model::Timestamp now);

  store::MediaItem get(std::int64_t id);
  std::vector<store::MediaItem> list();
  /// Deletes the item, and its file once no item of any user holds those bytes.
  void remove(std::int64_t id);

  /// <data_dir>/media/<sha[0:2]>/<sha>.<ext>, without ".<ext>" for Kind::unknown.
  /// The extension is there for adapters that pick a MIME type from the name.
  std::filesystem::path path_for(const std::string& sha256, std::string_view kind) const;

 private:
  void store_file(const std::string& bytes, const std::filesystem::path& target);

  store::Store& store_;
  std::filesystem::path root_;  // <data_dir>/media
};

}  // namespace multivio::media
