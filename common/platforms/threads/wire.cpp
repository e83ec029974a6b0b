// SPDX-License-Identifier: MIT
#include "common/platforms/threads/wire.hpp"

namespace multivio::platforms::threads {

namespace {

void add_post(oauth::Params& p, const PostParams& post) {
  if (!post.text.empty()) p.emplace_back("text", post.text);
  if (!post.reply_to_id.empty()) p.emplace_back("reply_to_id", post.reply_to_id);
  if (!post.reply_control.empty()) p.emplace_back("reply_control", post.reply_control);
}

}  // namespace

MediaRules media_rules() {
  MediaRules r;
  r.network = "threads";
  r.max_count = k_max_carousel;
  r.image.formats = {media::Kind::jpeg, media::Kind::png};
  r.image.max_bytes = 8ull * 1024 * 1024;
  r.video.formats = {media::Kind::mp4, media::Kind::mov};
  r.video.max_bytes = 1024ull * 1024 * 1024;
  r.video.max_duration_ms = 300'000;
  r.max_videos = k_max_carousel;
  r.mix_images_and_video = true;
  return r;
}

oauth::Params text_container(const PostParams& post) {
  oauth::Params p{{"media_type", "TEXT"}};
  add_post(p, post);
  return p;
}

oauth::Params item_container(ItemKind kind, const std::string& url, const std::string& alt, const PostParams* post) {
  oauth::Params p;
  if (kind == ItemKind::image) {
    p = {{"media_type", "IMAGE"}, {"image_url", url}};
  } else {
    p = {{"media_type", "VIDEO"}, {"video_url", url}};
  }
  if (!alt.empty()) p.emplace_back("alt_text", alt);
  if (post != nullptr) {
    add_post(p, *post);
  } else {
    p.emplace_back("is_carousel_item", "true");
  }
  return p;
}

oauth::Params carousel_container(const std::vector<std::string>& children, const PostParams& post) {
  std::string ids;
  for (const auto& id : children) ids += (ids.empty() ? "" : ",") + id;
  oauth::Params p{{"media_type", "CAROUSEL"}, {"children", ids}};
  add_post(p, post);
  return p;
}

}  // namespace multivio::platforms::threads
