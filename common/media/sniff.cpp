// SPDX-License-Identifier: MIT
#include "common/media/sniff.hpp"

#include <array>
#include <cstring>

#include "common/error.hpp"

namespace multivio::media {
namespace {

using Bytes = std::span<const std::uint8_t>;

[[noreturn]] void corrupt(std::string_view format, std::string_view what) {
  throw Error(ErrorKind::validation, std::string(format) + " file: " + std::string(what));
}

// Every read goes through these: they check the bounds first, so a short or
// lying header can only end in corrupt(), never in a read past the end.
void need(Bytes b, std::size_t pos, std::size_t n, std::string_view format) {
  if (pos > b.size() || b.size() - pos < n) corrupt(format, "truncated header");
}
std::uint32_t be16(Bytes b, std::size_t pos) { return static_cast<std::uint32_t>(b[pos] << 8 | b[pos + 1]); }
std::uint32_t be32(Bytes b, std::size_t pos) {
  return static_cast<std::uint32_t>(b[pos]) << 24 | static_cast<std::uint32_t>(b[pos + 1]) << 16 |
         static_cast<std::uint32_t>(b[pos + 2]) << 8 | b[pos + 3];
}
std::uint64_t be64(Bytes b, std::size_t pos) { return std::uint64_t{be32(b, pos)} << 32 | be32(b, pos + 4); }
std::uint32_t le16(Bytes b, std::size_t pos) { return static_cast<std::uint32_t>(b[pos] | b[pos + 1] << 8); }
std::uint32_t le24(Bytes b, std::size_t pos) { return le16(b, pos) | static_cast<std::uint32_t>(b[pos + 2]) << 16; }
std::uint32_t le32(Bytes b, std::size_t pos) { return le24(b, pos) | static_cast<std::uint32_t>(b[pos + 3]) << 24; }

bool starts_with(Bytes b, std::size_t pos, std::string_view s) {
  return pos <= b.size() && b.size() - pos >= s.size() && std::memcmp(b.data() + pos, s.data(), s.size()) == 0;
}

void set_size(Sniffed& out, std::uint64_t w, std::uint64_t h, std::string_view format) {
  // A zero or absurd size is a broken header, not an image we can describe.
  constexpr std::uint64_t kMax = 1u << 30;
  if (w == 0 || h == 0 || w > kMax || h > kMax) corrupt(format, "invalid dimensions");
  out.width = static_cast<int>(w);
  out.height = static_cast<int>(h);
}

void png(Bytes b, Sniffed& out) {
  // Signature (8), then the first chunk must be IHDR: length, type, width, height.
  need(b, 8, 16, "PNG");
  if (!starts_with(b, 12, "IHDR")) corrupt("PNG", "first chunk is not IHDR");
  set_size(out, be32(b, 16), be32(b, 20), "PNG");
}

void gif(Bytes b, Sniffed& out) {
  need(b, 6, 4, "GIF");  // logical screen width and height, little-endian
  set_size(out, le16(b, 6), le16(b, 8), "GIF");
}

void jpeg(Bytes b, Sniffed& out) {
  std::size_t pos = 2;  // after SOI
  for (;;) {
    need(b, pos, 1, "JPEG");
    if (b[pos] != 0xFF) corrupt("JPEG", "expected a marker");
    // Any number of 0xFF fill bytes may precede a marker (B.1.1.2).
    while (pos < b.size() && b[pos] == 0xFF) ++pos;
    need(b, pos, 1, "JPEG");
    const std::uint8_t marker = b[pos++];
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // TEM, RSTn: no length
    if (marker == 0xD9 || marker == 0xDA) corrupt("JPEG", "no frame header before the image data");
    need(b, pos, 2, "JPEG");
    const std::uint32_t length = be16(b, pos);  // includes its own two bytes
    if (length < 2) corrupt("JPEG", "invalid segment length");
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      need(b, pos, 7, "JPEG");
      set_size(out, be16(b, pos + 5), be16(b, pos + 3), "JPEG");
      return;
    }
    pos += length;
  }
}

void webp(Bytes b, Sniffed& out) {
  need(b, 12, 8, "WebP");  // first chunk: fourcc and size
  const std::size_t data = 20;
  if (starts_with(b, 12, "VP8 ")) {
    need(b, data, 10, "WebP");
    if (b[data + 3] != 0x9D || b[data + 4] != 0x01 || b[data + 5] != 0x2A) corrupt("WebP", "bad VP8 start code");
    set_size(out, le16(b, data + 6) & 0x3FFF, le16(b, data + 8) & 0x3FFF, "WebP");
  } else if (starts_with(b, 12, "VP8L")) {
    need(b, data, 5, "WebP");
    if (b[data] != 0x2F) corrupt("WebP", "bad VP8L signature");
    const std::uint32_t bits = le32(b, data + 1);  // 14 bits width-1, 14 bits height-1
    set_size(out, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, "WebP");
  } else if (starts_with(b, 12, "VP8X")) {
    need(b, data, 10, "WebP");  // flags (4), canvas width-1 (3), canvas height-1 (3)
    set_size(out, std::uint64_t{le24(b, data + 4)} + 1, std::uint64_t{le24(b, data + 7)} + 1, "WebP");
  } else {
    corrupt("WebP", "unknown first chunk");
  }
}

// One ISO BMFF box: [begin, end) is the whole box, body starts after the header.
struct Box {
  std::string type;
  std::size_t body = 0;
  std::size_t end = 0;
};

Box read_box(Bytes b, std::size_t pos, std::size_t limit) {
  need(b, pos, 8, "MP4");
  std::uint64_t size = be32(b, pos);
  Box box{std::string(reinterpret_cast<const char*>(b.data() + pos + 4), 4), pos + 8, 0};
  if (size == 1) {  // 64-bit largesize follows the type
    need(b, pos, 16, "MP4");
    size = be64(b, pos + 8);
    box.body = pos + 16;
  } else if (size == 0) {  // extends to the end of the enclosing space
    size = limit - pos;
  }
  if (size < box.body - pos) corrupt("MP4", "invalid box size");
  if (size > limit - pos) corrupt("MP4", "box '" + box.type + "' runs past the end of the file");
  box.end = pos + static_cast<std::size_t>(size);
  return box;
}

// Finds the first box of this type among the boxes in [pos, limit). Bounded
// by the input: every box is at least 8 bytes, so the loop ends.
std::optional<Box> find_box(Bytes b, std::size_t pos, std::size_t limit, std::string_view type) {
  while (pos < limit) {
    const Box box = read_box(b, pos, limit);
    if (box.type == type) return box;
    pos = box.end;
  }
  return std::nullopt;
}

void mp4(Bytes b, Sniffed& out) {
  const auto moov = find_box(b, 0, b.size(), "moov");
  if (!moov) corrupt("MP4", "no moov box");
  const auto mvhd = find_box(b, moov->body, moov->end, "mvhd");
  if (!mvhd) corrupt("MP4", "no mvhd box");
  // FullBox: version (1), flags (3); then times, timescale and duration,
  // 32-bit in version 0 and 64-bit in version 1.
  const std::size_t p = mvhd->body;
  if (mvhd->end - p < 4) corrupt("MP4", "truncated mvhd box");
  const std::uint8_t version = b[p];
  std::uint64_t timescale = 0;
  std::uint64_t duration = 0;
  bool unknown = false;
  if (version == 0) {
    if (mvhd->end - p < 20) corrupt("MP4", "truncated mvhd box");
    timescale = be32(b, p + 12);
    duration = be32(b, p + 16);
    unknown = duration == 0xFFFFFFFFu;
  } else if (version == 1) {
    if (mvhd->end - p < 32) corrupt("MP4", "truncated mvhd box");
    timescale = be32(b, p + 20);
    duration = be64(b, p + 24);
    unknown = duration == ~std::uint64_t{0};
  } else {
    corrupt("MP4", "unknown mvhd version");
  }
  if (timescale == 0) corrupt("MP4", "mvhd timescale is 0");
  if (unknown) return;  // all ones: duration not known (e.g. fragmented files)
  // Split so that duration * 1000 cannot overflow.
  const std::uint64_t ms = duration / timescale * 1000 + duration % timescale * 1000 / timescale;
  if (ms > static_cast<std::uint64_t>(INT64_MAX)) corrupt("MP4", "duration out of range");
  out.duration_ms = static_cast<std::int64_t>(ms);
}

}  // namespace

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::png: return "png";
    case Kind::jpeg: return "jpeg";
    case Kind::gif: return "gif";
    case Kind::webp: return "webp";
    case Kind::mp4: return "mp4";
    case Kind::mov: return "mov";
    case Kind::unknown: break;
  }
  return "unknown";
}

Sniffed sniff(std::span<const std::uint8_t> b) {
  Sniffed out;
  if (starts_with(b, 0, "\x89PNG\r\n\x1a\n")) {
    out.kind = Kind::png;
    out.mime = "image/png";
    png(b, out);
  } else if (starts_with(b, 0, "\xFF\xD8\xFF")) {
    out.kind = Kind::jpeg;
    out.mime = "image/jpeg";
    jpeg(b, out);
  } else if (starts_with(b, 0, "GIF87a") || starts_with(b, 0, "GIF89a")) {
    out.kind = Kind::gif;
    out.mime = "image/gif";
    gif(b, out);
  } else if (starts_with(b, 0, "RIFF") && starts_with(b, 8, "WEBP")) {
    out.kind = Kind::webp;
    out.mime = "image/webp";
    webp(b, out);
  } else if (starts_with(b, 4, "ftyp")) {
    // The major brand tells QuickTime from the ISO family (mp4, m4v, isom...).
    const bool qt = starts_with(b, 8, "qt  ");
    out.kind = qt ? Kind::mov : Kind::mp4;
    out.mime = qt ? "video/quicktime" : "video/mp4";
    mp4(b, out);
  }
  return out;
}

}  // namespace multivio::media
