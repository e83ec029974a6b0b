// SPDX-License-Identifier: MIT
// Per-network media rules as data, checked the same way by every adapter's
// validate() (so `post check` and the publisher report the same problems),
// each problem naming the file and the rule it breaks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/media/sniff.hpp"

namespace multivio::platforms {

/// What one kind of file (image or video) may be on a network. Zero or unset
/// bounds are not checked.
struct MediaKindRule {
  std::vector<media::Kind> formats;  // empty: this kind is not accepted at all
  std::uint64_t max_bytes = 0;
  int min_width = 0;
  int min_height = 0;
  int max_width = 0;
  int max_height = 0;
  double min_aspect = 0;  // width / height
  double max_aspect = 0;
  std::int64_t min_duration_ms = 0;
  std::int64_t max_duration_ms = 0;
};

struct MediaRules {
  std::string network;        // names the network in messages
  std::size_t max_count = 0;  // files per post (0: no media at all)
  MediaKindRule image;
  MediaKindRule video;
  std::size_t max_videos = 1;       // videos per post
  bool mix_images_and_video = false;
  bool requires_video = false;      // YouTube, TikTok: a post is a video
  bool requires_media = false;      // Instagram: no text-only posts
};

/// What a file is, read from its bytes.
struct MediaInfo {
  std::string path;
  std::uint64_t bytes = 0;
  media::Sniffed sniffed;
  bool is_image() const;
  bool is_video() const;
};

/// Reads and sniffs a file. Throws Error(validation) "media 'a.png': cannot
/// read /full/path" when unreadable, and for a corrupt header.
MediaInfo inspect_media(const std::string& path);

/// Appends one problem per broken rule, e.g. "media 'clip.mp4': 190 s long;
/// tiktok allows at most 180 s". An unreadable file is a problem, not a throw.
void check_media(const MediaRules& rules, const std::vector<std::string>& paths,
                 std::vector<std::string>& problems);

/// "12.5 MB", "3 s": the units the messages use.
std::string format_bytes(std::uint64_t bytes);

}  // namespace multivio::platforms
