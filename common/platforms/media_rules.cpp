// SPDX-License-Identifier: MIT
#include "common/platforms/media_rules.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <span>

#include "common/error.hpp"

namespace multivio::platforms {

namespace {

bool is_image_kind(media::Kind k) {
  return k == media::Kind::png || k == media::Kind::jpeg || k == media::Kind::gif || k == media::Kind::webp;
}
bool is_video_kind(media::Kind k) { return k == media::Kind::mp4 || k == media::Kind::mov; }

std::string file_label(const std::string& path) {
  return "media '" + std::filesystem::path(path).filename().string() + "'";
}

std::string formats_list(const std::vector<media::Kind>& kinds) {
  std::string out;
  for (const auto k : kinds) {
    if (!out.empty()) out += ", ";
    out += media::kind_name(k);
  }
  return out;
}

std::string seconds(std::int64_t ms) {
  char buf[32];
  if (ms % 1000 == 0) {
    std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(ms / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  }
  return buf;
}

void check_one(const MediaRules& rules, const MediaKindRule& rule, const MediaInfo& info, std::string_view what,
               std::vector<std::string>& problems) {
  const std::string label = file_label(info.path);
  const std::string& net = rules.network;
  if (std::find(rule.formats.begin(), rule.formats.end(), info.sniffed.kind) == rule.formats.end()) {
    problems.push_back(label + ": " + std::string(media::kind_name(info.sniffed.kind)) + " " + std::string(what) +
                       "s are not accepted; " + net + " takes " + formats_list(rule.formats));
    return;
  }
  if (rule.max_bytes != 0 && info.bytes > rule.max_bytes) {
    problems.push_back(label + ": " + format_bytes(info.bytes) + "; " + net + " allows at most " +
                       format_bytes(rule.max_bytes) + " per " + std::string(what));
  }
  const auto& s = info.sniffed;
  if (s.width && s.height) {
    const int w = *s.width;
    const int h = *s.height;
    const std::string dims = std::to_string(w) + "x" + std::to_string(h);
    if ((rule.min_width != 0 && w < rule.min_width) || (rule.min_height != 0 && h < rule.min_height)) {
      problems.push_back(label + ": " + dims + "; " + net + " needs at least " + std::to_string(rule.min_width) +
                         "x" + std::to_string(rule.min_height));
    }
    if ((rule.max_width != 0 && w > rule.max_width) || (rule.max_height != 0 && h > rule.max_height)) {
      problems.push_back(label + ": " + dims + "; " + net + " allows at most " + std::to_string(rule.max_width) +
                         "x" + std::to_string(rule.max_height));
    }
    if (h > 0 && (rule.min_aspect > 0 || rule.max_aspect > 0)) {
      const double aspect = static_cast<double>(w) / h;
      char buf[96];
      if (rule.min_aspect > 0 && aspect < rule.min_aspect - 1e-9) {
        std::snprintf(buf, sizeof buf, "aspect ratio %.2f:1; %s needs at least %.2f:1", aspect, net.c_str(),
                      rule.min_aspect);
        problems.push_back(label + ": " + buf);
      } else if (rule.max_aspect > 0 && aspect > rule.max_aspect + 1e-9) {
        std::snprintf(buf, sizeof buf, "aspect ratio %.2f:1; %s allows at most %.2f:1", aspect, net.c_str(),
                      rule.max_aspect);
        problems.push_back(label + ": " + buf);
      }
    }
  }
  if (s.duration_ms) {
    if (rule.min_duration_ms != 0 && *s.duration_ms < rule.min_duration_ms) {
      problems.push_back(label + ": " + seconds(*s.duration_ms) + " long; " + net + " needs at least " +
                         seconds(rule.min_duration_ms));
    }
    if (rule.max_duration_ms != 0 && *s.duration_ms > rule.max_duration_ms) {
      problems.push_back(label + ": " + seconds(*s.duration_ms) + " long; " + net + " allows at most " +
                         seconds(rule.max_duration_ms));
    }
  }
}

}  // namespace

bool MediaInfo::is_image() const { return is_image_kind(sniffed.kind); }
bool MediaInfo::is_video() const { return is_video_kind(sniffed.kind); }

std::string format_bytes(std::uint64_t bytes) {
  char buf[32];
  if (bytes < 1000) {
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1000ULL * 1000) {
    std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(bytes) / 1e3);
  } else if (bytes < 1000ULL * 1000 * 1000) {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f GB", static_cast<double>(bytes) / 1e9);
  }
  return buf;
}

MediaInfo inspect_media(const std::string& path) {
  const std::string label = file_label(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::validation, label + ": cannot read " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::validation, label + ": cannot read " + path + " (not a regular file)");
  }
  MediaInfo info;
  info.path = path;
  info.bytes = static_cast<std::uint64_t>(st.st_size);
  if (st.st_size == 0) {
    ::close(fd);
    info.sniffed = media::sniff(std::string_view());
    return info;
  }
  // Mapped, not read: an MP4's duration sits in its moov box, often after
  // gigabytes of media data, and the sniffer only touches the pages of the
  // boxes it walks.
  void* mapped = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapped == MAP_FAILED) throw Error(ErrorKind::validation, label + ": cannot read " + path);
  const struct Unmap {
    void* at;
    std::size_t size;
    ~Unmap() { ::munmap(at, size); }
  } unmap{mapped, static_cast<std::size_t>(st.st_size)};
  try {
    info.sniffed = media::sniff(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(mapped), unmap.size));
  } catch (const Error& e) {
    throw Error(ErrorKind::validation, label + ": " + e.what());
  }
  return info;
}

void check_media(const MediaRules& rules, const std::vector<std::string>& paths, std::vector<std::string>& problems) {
  const std::string& net = rules.network;
  if (paths.empty()) {
    if (rules.requires_video) {
      problems.push_back(net + " posts are videos: add one with --media");
    } else if (rules.requires_media) {
      problems.push_back(net + " posts need an image or a video: add one with --media");
    }
    return;
  }
  if (rules.max_count == 0) {
    problems.push_back(net + " takes no media here; remove --media");
    return;
  }
  if (paths.size() > rules.max_count) {
    problems.push_back(std::to_string(paths.size()) + " media files; " + net + " allows at most " +
                       std::to_string(rules.max_count) + " per post");
  }
  std::size_t images = 0;
  std::size_t videos = 0;
  for (const auto& path : paths) {
    MediaInfo info;
    try {
      info = inspect_media(path);
    } catch (const Error& e) {
      problems.push_back(e.what());
      continue;
    }
    if (info.is_image()) {
      ++images;
      check_one(rules, rules.image, info, "image", problems);
    } else if (info.is_video()) {
      ++videos;
      check_one(rules, rules.video, info, "video", problems);
    } else {
      problems.push_back(file_label(path) + ": not an image or video multivio recognises (PNG, JPEG, GIF, WebP, " +
                         "MP4, MOV)");
    }
  }
  if (rules.requires_video && videos == 0 && images > 0) {
    problems.push_back(net + " posts are videos; the media given are images");
  }
  if (videos > rules.max_videos && !rules.video.formats.empty()) {
    problems.push_back(std::to_string(videos) + " videos; " + net + " allows " + std::to_string(rules.max_videos) +
                       " per post");
  }
  if (images > 0 && videos > 0 && !rules.mix_images_and_video) {
    problems.push_back(net + " does not mix images and video in one post");
  }
}

}  // namespace multivio::platforms
