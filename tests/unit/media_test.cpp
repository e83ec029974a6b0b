// SPDX-License-Identifier: MIT
// common/media/: format sniffing over hand-built headers (every prefix of
// each sample too, so a short file can only end in a validation error), and
// the library against a temporary data directory and a SQLite store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/media/library.hpp"
#include "common/media/sniff.hpp"
#include "common/store/store.hpp"

namespace multivio::media {
namespace {
namespace fs = std::filesystem;
using Buf = std::vector<std::uint8_t>;

// ---- sample builders ----------------------------------------------------------

void put(Buf& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
void be16(Buf& b, std::uint32_t v) { b.insert(b.end(), {std::uint8_t(v >> 8), std::uint8_t(v)}); }
void be32(Buf& b, std::uint32_t v) {
  b.insert(b.end(), {std::uint8_t(v >> 24), std::uint8_t(v >> 16), std::uint8_t(v >> 8), std::uint8_t(v)});
}
void be64(Buf& b, std::uint64_t v) {
  be32(b, std::uint32_t(v >> 32));
  be32(b, std::uint32_t(v));
}
void le16(Buf& b, std::uint32_t v) { b.insert(b.end(), {std::uint8_t(v), std::uint8_t(v >> 8)}); }
void le24(Buf& b, std::uint32_t v) {
  b.insert(b.end(), {std::uint8_t(v), std::uint8_t(v >> 8), std::uint8_t(v >> 16)});
}
void zeros(Buf& b, std::size_t n) { b.insert(b.end(), n, 0); }

Buf png(std::uint32_t w, std::uint32_t h) {
  Buf b;
  put(b, "\x89PNG\r\n\x1a\n");
  be32(b, 13);
  put(b, "IHDR");
  be32(b, w);
  be32(b, h);
  b.insert(b.end(), {8, 6, 0, 0, 0});
  zeros(b, 4);  // CRC: not checked by sniffing
  return b;
}

Buf jpeg(std::uint32_t w, std::uint32_t h, std::uint8_t sof = 0xC0) {
  Buf b{0xFF, 0xD8};
  b.insert(b.end(), {0xFF, 0xE0});  // APP0 JFIF, 16 bytes with the length
  be16(b, 16);
  put(b, std::string_view("JFIF\0", 5));
  zeros(b, 9);
  b.insert(b.end(), {0xFF, 0xC4});  // DHT: in the SOF range but not a frame header
  be16(b, 5);
  zeros(b, 3);
  b.insert(b.end(), {0xFF, 0xFF, 0xFF, sof});  // fill bytes before the marker
  be16(b, 17);
  b.push_back(8);
  be16(b, h);
  be16(b, w);
  b.push_back(3);
  zeros(b, 9);
  b.insert(b.end(), {0xFF, 0xD9});
  return b;
}

Buf gif(std::uint32_t w, std::uint32_t h) {
  Buf b;
  put(b, "GIF89a");
  le16(b, w);
  le16(b, h);
  zeros(b, 3);
  put(b, ";");
  return b;
}

Buf riff(std::string_view fourcc, const Buf& chunk) {
  Buf b;
  put(b, "RIFF");
  zeros(b, 4);  // RIFF size: not checked
  put(b, "WEBP");
  put(b, fourcc);
  le16(b, static_cast<std::uint32_t>(chunk.size()));
  le16(b, 0);
  b.insert(b.end(), chunk.begin(), chunk.end());
  return b;
}

Buf webp_vp8(std::uint32_t w, std::uint32_t h) {
  Buf c{0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A};
  le16(c, w);
  le16(c, h);
  zeros(c, 4);
  return riff("VP8 ", c);
}

Buf webp_vp8l(std::uint32_t w, std::uint32_t h) {
  Buf c{0x2F};
  const std::uint32_t bits = (w - 1) | (h - 1) << 14;
  le16(c, bits & 0xFFFF);
  le16(c, bits >> 16);
  zeros(c, 3);
  return riff("VP8L", c);
}

Buf webp_vp8x(std::uint32_t w, std::uint32_t h) {
  Buf c;
  zeros(c, 4);
  le24(c, w - 1);
  le24(c, h - 1);
  return riff("VP8X", c);
}

void box(Buf& b, std::string_view type, const Buf& body) {
  be32(b, static_cast<std::uint32_t>(8 + body.size()));
  put(b, type);
  b.insert(b.end(), body.begin(), body.end());
}

Buf mvhd(int version, std::uint32_t timescale, std::uint64_t duration) {
  Buf m{std::uint8_t(version), 0, 0, 0};
  if (version == 0) {
    zeros(m, 8);
    be32(m, timescale);
    be32(m, std::uint32_t(duration));
  } else {
    zeros(m, 16);
    be32(m, timescale);
    be64(m, duration);
  }
  zeros(m, 80);  // rate, volume, matrix...: not read
  return m;
}

Buf mp4(std::string_view brand, int version, std::uint32_t timescale, std::uint64_t duration, bool large_mdat) {
  Buf b;
  Buf ftyp;
  put(ftyp, brand);
  zeros(ftyp, 4);
  put(ftyp, brand);
  box(b, "ftyp", ftyp);
  if (large_mdat) {  // size 1: the 64-bit size follows the type
    be32(b, 1);
    put(b, "mdat");
    be64(b, 16 + 5);
    zeros(b, 5);
  } else {
    box(b, "free", Buf(3, 0));
  }
  Buf moov;
  box(moov, "trak", Buf(12, 0));
  box(moov, "mvhd", mvhd(version, timescale, duration));
  box(b, "moov", moov);
  return b;
}

std::string str(const Buf& b) { return std::string(b.begin(), b.end()); }

std::string error_kind(const Buf& b) {
  try {
    sniff(std::span<const std::uint8_t>(b));
  } catch (const Error& e) {
    return std::string(kind_name(e.kind()));
  }
  return "no error";
}

// ---- sniff --------------------------------------------------------------------

TEST(Sniff, ImagesReportKindMimeAndSize) {
  struct Case {
    Buf bytes;
    Kind kind;
    const char* mime;
    int w, h;
  };
  const std::vector<Case> cases{
      {png(640, 480), Kind::png, "image/png", 640, 480},
      {jpeg(1920, 1080), Kind::jpeg, "image/jpeg", 1920, 1080},
      {jpeg(300, 200, 0xC2), Kind::jpeg, "image/jpeg", 300, 200},  // progressive
      {gif(320, 240), Kind::gif, "image/gif", 320, 240},
      {webp_vp8(400, 300), Kind::webp, "image/webp", 400, 300},
      {webp_vp8l(16383, 1), Kind::webp, "image/webp", 16383, 1},
      {webp_vp8x(5000, 20000), Kind::webp, "image/webp", 5000, 20000},
  };
  for (const auto& c : cases) {
    const Sniffed s = sniff(std::span<const std::uint8_t>(c.bytes));
    EXPECT_EQ(s.kind, c.kind) << c.mime;
    EXPECT_EQ(s.mime, c.mime);
    EXPECT_EQ(s.width, c.w) << c.mime;
    EXPECT_EQ(s.height, c.h) << c.mime;
    EXPECT_FALSE(s.duration_ms.has_value());
  }
}

TEST(Sniff, Mp4AndMovDurationsFromMvhd) {
  const Sniffed v0 = sniff(str(mp4("isom", 0, 1000, 12'345, false)));
  EXPECT_EQ(v0.kind, Kind::mp4);
  EXPECT_EQ(v0.mime, "video/mp4");
  EXPECT_EQ(v0.duration_ms, 12'345);
  EXPECT_FALSE(v0.width.has_value());

  const Sniffed v1 = sniff(str(mp4("qt  ", 1, 600, 600ull * 90 + 300, true)));
  EXPECT_EQ(v1.kind, Kind::mov);
  EXPECT_EQ(v1.mime, "video/quicktime");
  EXPECT_EQ(v1.duration_ms, 90'500);

  // A 64-bit duration whose product with 1000 overflows still divides right.
  const Sniffed big = sniff(str(mp4("mp42", 1, 90'000, 90'000ull * 100'000'000'000ull, false)));
  EXPECT_EQ(big.duration_ms, 100'000'000'000'000);
  // All ones: the duration is not known.
  EXPECT_FALSE(sniff(str(mp4("isom", 0, 1000, 0xFFFFFFFFu, false))).duration_ms.has_value());
}

TEST(Sniff, UnknownBytesAreUnknownWhateverTheirLength) {
  for (const std::string& bytes : {std::string(), std::string("h"), std::string("hello world, not media"),
                                  std::string("RIFF\0\0\0\0WAVE", 12), std::string("\x89PNG", 4)}) {
    const Sniffed s = sniff(bytes);
    EXPECT_EQ(s.kind, Kind::unknown) << bytes;
    EXPECT_EQ(s.mime, "application/octet-stream");
    EXPECT_EQ(kind_name(s.kind), "unknown");
  }
}

TEST(Sniff, EveryTruncationIsAValidationErrorOrTheSameAnswer) {
  const std::vector<Buf> samples{png(640, 480),      jpeg(1920, 1080),    gif(320, 240),
                                 webp_vp8(400, 300), webp_vp8l(100, 50), webp_vp8x(5000, 20000),
                                 mp4("isom", 0, 1000, 12'345, false), mp4("qt  ", 1, 600, 6000, true)};
  for (const auto& full : samples) {
    const Sniffed whole = sniff(std::span<const std::uint8_t>(full));
    for (std::size_t n = 0; n < full.size(); ++n) {
      // An exact-size copy, so that a read past n is a read past the buffer
      // (which the sanitizer build reports).
      const Buf prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      try {
        const Sniffed s = sniff(std::span<const std::uint8_t>(prefix));
        if (s.kind == Kind::unknown) continue;  // too short to recognise
        EXPECT_EQ(s.kind, whole.kind) << n;
        EXPECT_EQ(s.width, whole.width) << kind_name(whole.kind) << " cut at " << n;
        EXPECT_EQ(s.height, whole.height) << kind_name(whole.kind) << " cut at " << n;
        EXPECT_EQ(s.duration_ms, whole.duration_ms) << kind_name(whole.kind) << " cut at " << n;
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::validation) << e.what();
      }
    }
  }
  // Cut inside the header, recognised formats say so.
  Buf cut = png(1, 1);
  cut.resize(20);
  EXPECT_EQ(error_kind(cut), "validation");
  cut = mp4("isom", 0, 1000, 1, false);
  cut.resize(cut.size() - 30);
  EXPECT_EQ(error_kind(cut), "validation");
}

TEST(Sniff, CorruptHeadersAreValidationErrors) {
  Buf b = png(640, 480);
  b[12] = 'X';  // first chunk not IHDR
  EXPECT_EQ(error_kind(b), "validation");
  EXPECT_EQ(error_kind(png(0, 480)), "validation");

  // Image data (SOS) before any frame header.
  EXPECT_EQ(error_kind(Buf{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08, 0, 0, 0, 0, 0, 0}), "validation");
  // A segment length below 2 would loop forever if trusted.
  EXPECT_EQ(error_kind(Buf{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 0, 0}), "validation");
  // Garbage where a marker belongs.
  EXPECT_EQ(error_kind(Buf{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0x12, 0x34}), "validation");

  b = webp_vp8(400, 300);
  b[23] = 0;  // VP8 start code
  EXPECT_EQ(error_kind(b), "validation");
  EXPECT_EQ(error_kind(riff("ABCD", Buf(10, 0))), "validation");

  // A box smaller than its own header, and 64-bit sizes past the end.
  Buf m;
  box(m, "ftyp", Buf(8, 0));
  be32(m, 4);
  put(m, "free");
  EXPECT_EQ(error_kind(m), "validation");
  m.clear();
  box(m, "ftyp", Buf(8, 0));
  be32(m, 1);
  put(m, "mdat");
  be64(m, ~std::uint64_t{0});
  EXPECT_EQ(error_kind(m), "validation");
  EXPECT_EQ(error_kind(mp4("isom", 0, 0, 100, false)), "validation") << "timescale 0";
  EXPECT_EQ(error_kind(mp4("isom", 7, 1000, 100, false)), "validation") << "mvhd version 7";
  m.clear();
  box(m, "ftyp", Buf(8, 0));
  box(m, "mdat", Buf(4, 0));
  EXPECT_EQ(error_kind(m), "validation") << "no moov";
}

// ---- library ------------------------------------------------------------------

class LibraryTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "multivio-media-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    store_ = store::open((dir_ / "multivio.db").string());
    library_ = std::make_unique<Library>(*store_, dir_ / "data");
  }
  void TearDown() override {
    library_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path write(const std::string& name, const Buf& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << str(bytes);
    return p;
  }
  int files_under_media() {
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "data" / "media")) n += e.is_regular_file();
    return n;
  }
  static unsigned mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  static std::string kind_of_error(const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(kind_name(e.kind()));
    }
    return "no error";
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Library> library_;
  const model::Timestamp now_ = model::from_millis(1'800'000'000'000);
};

TEST_F(LibraryTest, SameBytesTwiceAreOneItemAndOneFile) {
  const Buf bytes = png(640, 480);
  const std::string sha = crypto::sha256_hex(str(bytes));
  const auto first = library_->add(write("cat.png", bytes), std::string("a cat"), now_);
  EXPECT_TRUE(first.created);
  EXPECT_EQ(first.item.kind, "png");
  EXPECT_EQ(first.item.mime, "image/png");
  EXPECT_EQ(first.item.width, 640);
  EXPECT_EQ(first.item.height, 480);
  EXPECT_EQ(first.item.bytes, static_cast<std::int64_t>(bytes.size()));
  EXPECT_EQ(first.item.sha256, sha);
  const fs::path stored = dir_ / "data" / "media" / sha.substr(0, 2) / (sha + ".png");
  EXPECT_EQ(first.item.path, stored.string());
  std::ifstream in(stored, std::ios::binary);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), str(bytes));
  EXPECT_EQ(mode(stored), 0600u);
  EXPECT_EQ(mode(stored.parent_path()), 0700u);
  EXPECT_EQ(mode(dir_ / "data" / "media"), 0700u);

  // Another name, no alt: the same item, alt kept.
  const auto again = library_->add(write("copy.bin", bytes), std::nullopt, now_);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.item.id, first.item.id);
  EXPECT_EQ(again.item.alt, "a cat");
  // With an alt: replaced.
  EXPECT_EQ(library_->add(write("copy2.bin", bytes), std::string("a black cat"), now_).item.alt, "a black cat");
  EXPECT_EQ(library_->get(first.item.id).alt, "a black cat");
  EXPECT_EQ(library_->list().size(), 1u);
  EXPECT_EQ(files_under_media(), 1);
}

TEST_F(LibraryTest, TypeComesFromTheBytesNotTheName) {
  const auto item = library_->add(write("photo.png", jpeg(800, 600)), std::nullopt, now_).item;
  EXPECT_EQ(item.kind, "jpeg");
  EXPECT_EQ(item.width, 800);
  const auto video = library_->add(write("clip.gif", mp4("isom", 0, 1000, 4'000, false)), std::nullopt, now_).item;
  EXPECT_EQ(video.kind, "mp4");
  EXPECT_EQ(video.duration_ms, 4'000);
  EXPECT_FALSE(video.width.has_value());
  const auto other = library_->add(write("notes.jpg", Buf{'h', 'i'}), std::nullopt, now_).item;
  EXPECT_EQ(other.kind, "unknown");
  EXPECT_EQ(other.mime, "application/octet-stream");
  // The stored name carries the detected type, never the given one.
  EXPECT_EQ(fs::path(item.path).extension(), ".jpg");
  EXPECT_EQ(fs::path(video.path).extension(), ".mp4");
  EXPECT_EQ(fs::path(other.path).filename(), other.sha256);
}

TEST_F(LibraryTest, BadInputsAreValidationErrorsAndStoreNothing) {
  Buf broken = png(1, 1);
  broken.resize(18);
  EXPECT_EQ(kind_of_error([&] { library_->add(write("broken.png", broken), std::nullopt, now_); }), "validation");
  EXPECT_EQ(kind_of_error([&] { library_->add(dir_ / "missing.png", std::nullopt, now_); }), "validation");
  EXPECT_EQ(kind_of_error([&] { library_->add(dir_, std::nullopt, now_); }), "validation");
  EXPECT_TRUE(library_->list().empty());
  EXPECT_FALSE(fs::exists(dir_ / "data" / "media"));
  EXPECT_EQ(kind_of_error([&] { library_->get(42); }), "not_found");
  EXPECT_EQ(kind_of_error([&] { library_->remove(42); }), "not_found");
}

TEST_F(LibraryTest, RemovingDeletesTheFileOnlyWhenNoUserHoldsTheBytes) {
  const Buf bytes = gif(10, 20);
  const auto mine = library_->add(write("a.gif", bytes), std::nullopt, now_).item;
  const auto bob = store_->add_user("bob", now_);
  store_->set_user(bob.id);
  const auto bobs = library_->add(write("b.gif", bytes), std::nullopt, now_);
  EXPECT_TRUE(bobs.created) << "a row of bob's own";
  EXPECT_EQ(bobs.item.path, mine.path);
  EXPECT_EQ(kind_of_error([&] { library_->get(mine.id); }), "not_found");

  library_->remove(bobs.item.id);
  EXPECT_TRUE(fs::exists(mine.path)) << "still the local user's";
  store_->set_user(store::kLocalUser);
  library_->remove(mine.id);
  EXPECT_FALSE(fs::exists(mine.path));
  EXPECT_TRUE(library_->list().empty());
}

}  // namespace
}  // namespace multivio::media
