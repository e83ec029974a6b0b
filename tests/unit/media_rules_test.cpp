// SPDX-License-Identifier: MIT
// Per-network media rules: each broken rule is one problem naming the file
// and the rule, read from the file's bytes (its name says nothing).
#include "common/platforms/media_rules.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "common/error.hpp"
#include "tests/fakes/media_samples.hpp"

namespace multivio::platforms {
namespace {

namespace fs = std::filesystem;
using media::Kind;
using testing::ElementsAre;
using testing::HasSubstr;

class MediaRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "multivio-rules-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    rules_.network = "example";
    rules_.max_count = 4;
    rules_.image = {{Kind::jpeg, Kind::png}, 2000, 100, 100, 4000, 4000, 0.8, 1.91, 0, 0};
    rules_.video = {{Kind::mp4}, 0, 0, 0, 0, 0, 0, 0, 3000, 60'000};
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    fakes::write_sample(path, bytes);
    return path;
  }
  std::vector<std::string> problems(const std::vector<std::string>& paths) {
    std::vector<std::string> out;
    check_media(rules_, paths, out);
    return out;
  }

  fs::path dir_;
  MediaRules rules_;
};

TEST_F(MediaRulesTest, FilesWithinEveryRulePass) {
  EXPECT_TRUE(problems({file("a.png", fakes::sample_png(1080, 1080)), file("b.jpg", fakes::sample_jpeg(1080, 900))})
                  .empty());
  EXPECT_TRUE(problems({file("c.mp4", fakes::sample_mp4(10'000))}).empty());
  EXPECT_TRUE(problems({}).empty());
}

TEST_F(MediaRulesTest, EachBrokenRuleNamesTheFileAndTheRule) {
  EXPECT_THAT(problems({file("wide.png", fakes::sample_png(4000, 1000))}),
              ElementsAre("media 'wide.png': aspect ratio 4.00:1; example allows at most 1.91:1"));
  EXPECT_THAT(problems({file("tiny.png", fakes::sample_png(50, 50))}),
              ElementsAre("media 'tiny.png': 50x50; example needs at least 100x100"));
  EXPECT_THAT(problems({file("long.mp4", fakes::sample_mp4(61'500))}),
              ElementsAre("media 'long.mp4': 61.5 s long; example allows at most 60 s"));
  EXPECT_THAT(problems({file("short.mp4", fakes::sample_mp4(1'000))}),
              ElementsAre("media 'short.mp4': 1 s long; example needs at least 3 s"));
  rules_.image.max_bytes = 50;
  EXPECT_THAT(problems({file("big.png", fakes::sample_png(500, 500))}),
              ElementsAre("media 'big.png': 97 bytes; example allows at most 50 bytes per image"));
}

TEST_F(MediaRulesTest, TheBytesDecideTheTypeNotTheName) {
  // A GIF named .png is a GIF, which this network does not take.
  const std::string gif = std::string("GIF89a\x10\x00\x10\x00\x00\x00\x00;", 14);
  EXPECT_THAT(problems({file("fake.png", gif)}),
              ElementsAre("media 'fake.png': gif images are not accepted; example takes jpeg, png"));
  EXPECT_THAT(problems({file("notes.mp4", "just text")}),
              ElementsAre(HasSubstr("media 'notes.mp4': not an image or video multivio recognises")));
  EXPECT_THAT(problems({(dir_ / "missing.png").string()}), ElementsAre(HasSubstr("media 'missing.png': cannot read")));
}

TEST_F(MediaRulesTest, CountsMixingAndRequiredMedia) {
  const std::string png = file("p.png", fakes::sample_png(1000, 1000));
  const std::string mp4 = file("v.mp4", fakes::sample_mp4(5000));
  EXPECT_THAT(problems({png, png, png, png, png}), ElementsAre("5 media files; example allows at most 4 per post"));
  EXPECT_THAT(problems({png, mp4}), ElementsAre("example does not mix images and video in one post"));
  EXPECT_THAT(problems({mp4, mp4}), ElementsAre("2 videos; example allows 1 per post"));
  rules_.requires_video = true;
  EXPECT_THAT(problems({}), ElementsAre("example posts are videos: add one with --media"));
  EXPECT_THAT(problems({png}), ElementsAre("example posts are videos; the media given are images"));
  rules_.requires_video = false;
  rules_.requires_media = true;
  EXPECT_THAT(problems({}), ElementsAre("example posts need an image or a video: add one with --media"));
  rules_.max_count = 0;
  EXPECT_THAT(problems({png}), ElementsAre("example takes no media here; remove --media"));
}

TEST_F(MediaRulesTest, InspectReadsSizeTypeAndDurationFromTheBytes) {
  const auto info = inspect_media(file("clip.bin", fakes::sample_mp4(42'000, 1 << 20)));
  EXPECT_EQ(info.bytes, 1u << 20);
  EXPECT_TRUE(info.is_video());
  EXPECT_EQ(info.sniffed.duration_ms, 42'000);
  EXPECT_THROW(inspect_media((dir_ / "nope").string()), Error);
  EXPECT_THROW(inspect_media(dir_.string()), Error);  // a directory
  EXPECT_EQ(format_bytes(999), "999 bytes");
  EXPECT_EQ(format_bytes(8'500'000), "8.5 MB");
}

}  // namespace
}  // namespace multivio::platforms
