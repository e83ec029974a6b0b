// SPDX-License-Identifier: MIT
#include "common/platforms/instagram/wire.hpp"

#include <cctype>


namespace multivio::platforms::instagram {

MediaRules media_rules() {
  MediaRules r;
  r.network = "instagram";
  r.max_count = k_max_carousel;
  r.image.formats = {media::Kind::jpeg};
  r.image.max_bytes = 8ull * 1024 * 1024;
  r.image.min_aspect = 0.8;
  r.image.max_aspect = 1.91;
  r.video.formats = {media::Kind::mp4, media::Kind::mov};
  r.video.max_bytes = 300ull * 1024 * 1024;
  r.video.min_duration_ms = 3'000;
  r.video.max_duration_ms = 15 * 60'000;
  r.max_videos = k_max_carousel;
  r.mix_images_and_video = true;
  r.requires_media = true;
  return r;
}

std::size_t count_mentions(std::string_view caption) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < caption.size(); ++i) {
    if (caption[i] != '@') continue;
    // An "@" inside a word is an e-mail address, not a mention.
    const bool starts = i == 0 || !(std::isalnum(static_cast<unsigned char>(caption[i - 1])) || caption[i - 1] == '_');
    const bool named = i + 1 < caption.size() &&
                       (std::isalnum(static_cast<unsigned char>(caption[i + 1])) || caption[i + 1] == '_');
    if (starts && named) ++n;
  }
  return n;
}

oauth::Params item_container(ItemKind kind, const std::string& url, const std::string& caption,
                             const std::string& alt, bool carousel_item) {
  oauth::Params p;
  if (kind == ItemKind::image) {
    p.emplace_back("image_url", url);
    if (!alt.empty()) p.emplace_back("alt_text", alt);
  } else {
    // Since 2023 every single video is a reel; inside a carousel it stays VIDEO.
    p.emplace_back("media_type", carousel_item ? "VIDEO" : "REELS");
    p.emplace_back("video_url", url);
  }
  if (carousel_item) {
    p.emplace_back("is_carousel_item", "true");
  } else if (!caption.empty()) {
    p.emplace_back("caption", caption);
  }
  return p;
}

oauth::Params carousel_container(const std::vector<std::string>& children, const std::string& caption) {
  std::string ids;
  for (const auto& id : children) ids += (ids.empty() ? "" : ",") + id;
  oauth::Params p{{"media_type", "CAROUSEL"}, {"children", ids}};
  if (!caption.empty()) p.emplace_back("caption", caption);
  return p;
}

}  // namespace multivio::platforms::instagram
