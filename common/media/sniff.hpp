// SPDX-License-Identifier: MIT
// Media type detection from the bytes (never the file name) and the size or
// duration read from the format's own header. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace multivio::media {

enum class Kind { unknown, png, jpeg, gif, webp, mp4, mov };

struct Sniffed {
  Kind kind = Kind::unknown;
  std::string mime = "application/octet-stream";
  std::optional<int> width;   // images
  std::optional<int> height;  // images
  std::optional<std::int64_t> duration_ms;  // mp4/mov, when the header states one
};

/// "png", "jpeg", ..., "unknown".
std::string_view kind_name(Kind kind);

/// Detects the format of a whole file's bytes. Bytes of no known format are
/// Kind::unknown. Throws Error(validation) when the bytes start like a known
/// format but its header is truncated or corrupt. Never reads outside bytes.
Sniffed sniff(std::span<const std::uint8_t> bytes);
inline Sniffed sniff(std::string_view bytes) {
  return sniff(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace multivio::media
