// SPDX-License-Identifier: MIT
#include "common/platforms/feed/feed.hpp"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/platforms/platform.hpp"

namespace multivio::platforms {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

// A small well-formedness check: balanced tags, quoted attributes, and every
// '&' in text or attributes starting a predefined or numeric entity.
::testing::AssertionResult well_formed(const std::string& xml) {
  std::vector<std::string> stack;
  auto entity_ok = [&](std::size_t i) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"}) {
      if (xml.compare(i, std::strlen(e), e) == 0) {
        return true;
      }
    }
    return false;
  };
  std::size_t i = 0;
  while (i < xml.size()) {
    if (xml[i] == '&' && !entity_ok(i)) {
      return ::testing::AssertionFailure() << "bare & at " << i;
    }
    if (xml[i] == '>') {
      return ::testing::AssertionFailure() << "unescaped > in text at " << i;
    }
    if (xml[i] != '<') {
      ++i;
      continue;
    }
    const std::size_t end = xml.find('>', i);
    if (end == std::string::npos) {
      return ::testing::AssertionFailure() << "unterminated tag at " << i;
    }
    std::string tag = xml.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.starts_with("?")) {
      continue;
    }
    if (tag.find('<') != std::string::npos || std::count(tag.begin(), tag.end(), '"') % 2 != 0) {
      return ::testing::AssertionFailure() << "bad tag <" << tag << ">";
    }
    const bool closing = tag.starts_with("/");
    const bool empty = tag.ends_with("/");
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" /"));
    if (closing) {
      if (stack.empty() || stack.back() != name) {
        return ::testing::AssertionFailure() << "mismatched </" << name << ">";
      }
      stack.pop_back();
    } else if (!empty) {
      stack.push_back(name);
    }
  }
  if (!stack.empty()) {
    return ::testing::AssertionFailure() << "unclosed <" << stack.back() << ">";
  }
  return ::testing::AssertionSuccess();
}

// Entry ids in document order.
std::vector<std::string> entry_ids(const std::string& atom) {
  std::vector<std::string> ids;
  const std::string open = "<id>urn:multivio:post:";
  for (auto pos = atom.find(open); pos != std::string::npos; pos = atom.find(open, pos + 1)) {
    const auto start = pos + 4;
    ids.push_back(atom.substr(start, atom.find("</id>", start) - start));
  }
  return ids;
}

class FeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "multivio-feed-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    config_.feed.max_entries = 100;
    http_ = http::make_client();
    adapter_ = make_adapter("feed", Context{*http_, config_});
    account_.platform = "feed";
    account_.name = "blog";
    account_.options = {{"path", (root_ / "out").string()}};
    adapter_->configure_account(account_.options);
  }
  void TearDown() override { fs::remove_all(root_); }

  PublishResult publish(std::int64_t post_id, const std::string& text, Adapter* adapter = nullptr) {
    model::Post post;
    post.id = post_id;
    post.text = text;
    model::Target target;
    target.id = post_id * 10;
    target.post_id = post_id;
    const nlohmann::json secrets = nlohmann::json::object();
    return (adapter ? adapter : adapter_.get())
        ->publish(PublishRequest{post, target, account_, secrets, text, "key-" + std::to_string(post_id)});
  }

  fs::path dir() const { return account_.options["path"].get<std::string>(); }

  fs::path root_;
  config::Config config_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<Adapter> adapter_;
  model::Account account_;
};

TEST_F(FeedTest, ConfigureFillsDefaultsAndCreatesTheDirectory) {
  EXPECT_EQ(account_.options["title"], "multivio");
  EXPECT_TRUE(fs::is_directory(dir()));
  EXPECT_TRUE(dir().is_absolute());

  // A relative path is made absolute against the working directory.
  const fs::path cwd = fs::current_path();
  fs::current_path(root_);
  nlohmann::json rel = {{"path", "rel/feed"}, {"title", "Releases"}};
  adapter_->configure_account(rel);
  fs::current_path(cwd);
  EXPECT_EQ(rel["path"], (root_ / "rel" / "feed").string());
  EXPECT_EQ(rel["title"], "Releases");
  EXPECT_TRUE(fs::is_directory(root_ / "rel" / "feed"));
}

TEST_F(FeedTest, ConfigureRejectsBadOptions) {
  nlohmann::json none = nlohmann::json::object();
  try {
    adapter_->configure_account(none);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("'path'"), std::string::npos);
  }
  nlohmann::json unknown = {{"path", root_.string()}, {"url", "x"}};
  EXPECT_THROW(adapter_->configure_account(unknown), Error);
  std::ofstream(root_ / "file") << "x";
  nlohmann::json not_dir = {{"path", (root_ / "file").string()}};
  EXPECT_THROW(adapter_->configure_account(not_dir), Error);
}

TEST_F(FeedTest, PublishWritesAtomNewestFirstAndEscapesText) {
  publish(1, "first post");
  publish(2, "second\nwith a body line");
  const std::string nasty = "a <b> & \"c\" 'd' \x01 bell \xEF\xBF\xBE end";
  const PublishResult r = publish(3, nasty);

  EXPECT_EQ(r.remote_ids, std::vector<std::string>{"urn:multivio:post:3:target:30"});
  EXPECT_EQ(r.remote_url, "file://" + (dir() / "feed.atom").string() + "#urn:multivio:post:3:target:30");

  const std::string atom = slurp(dir() / "feed.atom");
  EXPECT_TRUE(well_formed(atom)) << atom;
  EXPECT_NE(atom.find("<feed xmlns=\"http://www.w3.org/2005/Atom\">"), std::string::npos);
  EXPECT_NE(atom.find("<id>urn:multivio:feed:blog</id>"), std::string::npos);
  EXPECT_NE(atom.find("<title>multivio</title>"), std::string::npos);
  EXPECT_NE(atom.find("<author><name>blog</name></author>"), std::string::npos);
  EXPECT_EQ(entry_ids(atom), (std::vector<std::string>{"urn:multivio:post:3:target:30", "urn:multivio:post:2:target:20",
                                                        "urn:multivio:post:1:target:10"}));
  EXPECT_NE(atom.find("<content type=\"text\">a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;  bell  end</content>"),
            std::string::npos)
      << atom;
  EXPECT_EQ(atom.find('\x01'), std::string::npos);
  EXPECT_NE(atom.find("<title>second</title>"), std::string::npos);  // first line only
  EXPECT_NE(atom.find("<content type=\"text\">second\nwith a body line</content>"), std::string::npos);

  const auto lines = lines_of(dir() / "feed.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& line : lines) {
    ASSERT_TRUE(nlohmann::json::accept(line)) << line;
  }
  const auto last = nlohmann::json::parse(lines[2]);
  EXPECT_EQ(last["id"], "urn:multivio:post:3:target:30");
  EXPECT_EQ(last["post_id"], 3);
  EXPECT_EQ(last["target_id"], 30);
  EXPECT_EQ(last["account"], "feed:blog");
  EXPECT_EQ(last["text"], nasty);
  EXPECT_TRUE(last["media"].is_array());
  EXPECT_TRUE(last["published_at"].get<std::string>().ends_with("Z"));
  for (const auto& e : fs::directory_iterator(dir())) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".feed.atom.")) << "temporary file left: " << e.path();
  }
}

TEST_F(FeedTest, AtomKeepsOnlyMaxEntriesWhileTheLogKeepsAll) {
  config_.feed.max_entries = 2;
  for (int i = 1; i <= 3; ++i) {
    publish(i, "post " + std::to_string(i));
  }
  const std::string atom = slurp(dir() / "feed.atom");
  EXPECT_TRUE(well_formed(atom));
  EXPECT_EQ(entry_ids(atom),
            (std::vector<std::string>{"urn:multivio:post:3:target:30", "urn:multivio:post:2:target:20"}));
  EXPECT_EQ(lines_of(dir() / "feed.jsonl").size(), 3u);
}

TEST_F(FeedTest, RepublishingATargetIsIdempotent) {
  const PublishResult a = publish(5, "once");
  const PublishResult b = publish(5, "once");
  EXPECT_EQ(a.remote_ids, b.remote_ids);
  EXPECT_EQ(lines_of(dir() / "feed.jsonl").size(), 1u);
  EXPECT_EQ(entry_ids(slurp(dir() / "feed.atom")).size(), 1u);
}

TEST_F(FeedTest, TornLastLineIsSkippedAndNotGluedOnto) {
  publish(1, "one");
  std::ofstream(dir() / "feed.jsonl", std::ios::app) << R"({"id":"urn:multivio:post:9)";  // crash mid-write
  publish(2, "two");
  const auto lines = lines_of(dir() / "feed.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines[2])["post_id"], 2);
  EXPECT_EQ(entry_ids(slurp(dir() / "feed.atom")).size(), 2u);
}

TEST_F(FeedTest, TitleIsTheFirstLineCutTo80CodePoints) {
  std::string line;
  for (int i = 0; i < 100; ++i) {
    line += "\xC3\xA9";  // é, two bytes
  }
  publish(1, line + "\nrest");
  const std::string atom = slurp(dir() / "feed.atom");
  const auto start = atom.find("<title>", atom.find("<entry>")) + 7;
  EXPECT_EQ(atom.substr(start, atom.find("</title>", start) - start), line.substr(0, 160));
}

TEST_F(FeedTest, ConcurrentWritersLoseNothing) {
  config_.feed.max_entries = 10;
  std::vector<std::thread> workers;
  std::vector<std::string> failures(4);
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      // Each daemon worker has its own adapter (and HTTP client).
      auto client = http::make_client();
      auto adapter = make_adapter("feed", Context{*client, config_});
      try {
        for (int i = 0; i < 25; ++i) {
          publish(w * 100 + i + 1, "worker " + std::to_string(w) + " post " + std::to_string(i), adapter.get());
        }
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(w)] = e.what();
      }
    });
  }
  for (auto& t : workers) {
    t.join();
  }
  for (const auto& f : failures) {
    EXPECT_EQ(f, "");
  }
  const auto lines = lines_of(dir() / "feed.jsonl");
  ASSERT_EQ(lines.size(), 100u);
  std::set<std::string> ids;
  for (const auto& line : lines) {
    ASSERT_TRUE(nlohmann::json::accept(line)) << line;
    ids.insert(nlohmann::json::parse(line)["id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 100u);
  const std::string atom = slurp(dir() / "feed.atom");
  EXPECT_TRUE(well_formed(atom));
  const auto atom_ids = entry_ids(atom);
  ASSERT_EQ(atom_ids.size(), 10u);
  // Newest first: the Atom file lists the log's last ten lines in reverse.
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(atom_ids[i], nlohmann::json::parse(lines[99 - i])["id"]);
  }
}

TEST_F(FeedTest, ValidateReportsEmptyAndInvalidText) {
  const auto ok = adapter_->validate("héllo", {}, &account_);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.length, 5u);
  EXPECT_EQ(ok.limit, 0u);
  EXPECT_EQ(adapter_->validate("  \n", {}, &account_).problems, std::vector<std::string>{"text is empty"});
  EXPECT_EQ(adapter_->validate("bad \xC3", {}, &account_).problems,
            std::vector<std::string>{"text is not valid UTF-8"});
  EXPECT_FALSE(adapter_->capabilities(nullptr).needs_credentials);
}

TEST_F(FeedTest, PreviewShowsTheLineWithoutWriting) {
  model::Post post;
  post.id = 4;
  post.media = {"/some/where/pic.png"};
  model::Target target;
  target.id = 40;
  const nlohmann::json secrets = nlohmann::json::object();
  const Preview p = adapter_->preview(PublishRequest{post, target, account_, secrets, "hi", "k"});
  EXPECT_EQ(p.method, "APPEND");
  EXPECT_EQ(p.url, "file://" + (dir() / "feed.atom").string());
  const nlohmann::json j = p.to_json();
  EXPECT_EQ(j["body"]["id"], "urn:multivio:post:4:target:40");
  EXPECT_EQ(j["body"]["media"], nlohmann::json::array({"pic.png"}));
  EXPECT_FALSE(fs::exists(dir() / "feed.jsonl"));
}

TEST(FeedXml, EscapeDropsWhatXmlForbids) {
  EXPECT_EQ(feed::xml_escape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
  EXPECT_EQ(feed::xml_escape(std::string("a\0b\x1F\tc\n", 7)), "ab\tc\n");
  EXPECT_EQ(feed::xml_escape("\xF0\x9F\x98\x80 ok"), "\xF0\x9F\x98\x80 ok");  // astral kept
  EXPECT_EQ(feed::xml_escape("x\xFFy\xED\xA0\x80z"), "xyz");                 // invalid bytes, surrogate
}

TEST(Registry, NamesAndDidYouMean) {
  // Networks are added over time; the offline two always come first.
  const auto names = platform_names();
  ASSERT_GE(names.size(), 2u);
  EXPECT_EQ(names[0], "feed");
  EXPECT_EQ(names[1], "webhook");
  std::string known;
  for (const auto n : names) known += (known.empty() ? "" : ", ") + std::string(n);
  EXPECT_TRUE(is_platform("webhook"));
  EXPECT_FALSE(is_platform("myspace"));
  config::Config config;
  auto client = http::make_client();
  const Context ctx{*client, config};
  EXPECT_EQ(make_adapter("webhook", ctx)->name(), "webhook");
  try {
    make_adapter("webhok", ctx);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_EQ(std::string(e.what()), "unknown platform 'webhok' (did you mean 'webhook'?; known: " + known + ")");
  }
  try {
    make_adapter("myspace", ctx);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown platform 'myspace' (known: " + known + ")");
  }
}

}  // namespace
}  // namespace multivio::platforms
