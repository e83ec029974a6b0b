// SPDX-License-Identifier: MIT
// The storage layer's contract (common/store/store.hpp, DESIGN §3), written
// once against the Store interface and run on every backend: add a backend
// with one more INSTANTIATE_TEST_SUITE_P line at the bottom. Every time is a
// fixed Timestamp; nothing here sleeps or reads the clock.
#include "common/store/store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/model/model.hpp"
#include "common/store/migrations.hpp"
#include "tests/fakes/postgres_server.hpp"

namespace multivio::model {
// Readable gtest failure messages for the state enums.
inline void PrintTo(TargetStatus s, std::ostream* os) { *os << to_string(s); }
inline void PrintTo(PostStatus s, std::ostream* os) { *os << to_string(s); }
inline void PrintTo(AttemptOutcome o, std::ostream* os) { *os << to_string(o); }
}  // namespace multivio::model

namespace multivio::store {
namespace {

namespace fs = std::filesystem;
using model::Account;
using model::Attempt;
using model::AttemptOutcome;
using model::Post;
using model::PostStatus;
using model::Target;
using model::TargetStatus;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ElementsAre;
using testing::ElementsAreArray;
using testing::IsEmpty;
using testing::UnorderedElementsAre;

// ---- fixed clock ------------------------------------------------------------

constexpr std::int64_t kT0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
Timestamp at(std::int64_t secs) { return model::from_millis(kT0 + secs * 1000); }
std::int64_t ms(Timestamp t) { return model::to_millis(t); }
std::optional<std::int64_t> ms(const std::optional<Timestamp>& t) {
  return t ? std::optional<std::int64_t>(model::to_millis(*t)) : std::nullopt;
}
constexpr milliseconds kLease = seconds(60);

int latest_schema_version() { return migrations().back().version; }

// Runs fn and names the ErrorKind it threw ("no error" when it returned), so
// a failure prints what happened instead of "exception of unexpected type".
template <typename Fn>
std::string kind_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return std::string(kind_name(e.kind()));
  } catch (const std::exception& e) {
    return std::string("non-Error exception: ") + e.what();
  }
  return "no error";
}

// ---- backends ---------------------------------------------------------------

struct Backend {
  std::string name;
  // Opens (creating when new) the backend's database that belongs to `dir`;
  // calling it twice with the same dir must reach the same data when
  // `persistent`.
  std::function<std::unique_ptr<Store>(const std::string& dir)> open;
  bool persistent = true;
};

std::ostream& operator<<(std::ostream& os, const Backend& b) { return os << b.name; }


class StoreTest : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "multivio-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << "mkdtemp failed";
    dir_ = tmpl;
    store_ = reopen();
    ASSERT_NE(store_, nullptr);
  }

  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> reopen() { return GetParam().open(dir_); }

  Account add(const std::string& platform, const std::string& name) {
    Account a;
    a.platform = platform;
    a.name = name;
    a.handle = "@" + name;
    a.options = {{"path", "/tmp/" + name}};
    a.secrets_sealed = "sealed-" + name;
    a.created_at = at(0);
    return store_->add_account(a);
  }

  static NewPost new_post(const std::vector<std::int64_t>& accounts, std::optional<Timestamp> when,
                          std::string text = "hello world", std::string key = "") {
    NewPost p;
    p.text = std::move(text);
    p.scheduled_at = when;
    p.timezone = when ? "Europe/Berlin" : "";
    p.key = std::move(key);
    for (auto id : accounts) p.targets.push_back(NewTarget{id, std::nullopt, nlohmann::json::object()});
    return p;
  }

  Post create(const std::vector<std::int64_t>& accounts, std::optional<Timestamp> when,
              const std::string& text = "hello world", Timestamp now = at(0)) {
    return store_->create_post(new_post(accounts, when, text), now).post;
  }

  Post post(std::int64_t id) {
    auto p = store_->find_post(id);
    EXPECT_TRUE(p.has_value()) << "post " << id;
    return p ? *p : Post{};
  }
  Target target(std::int64_t post_id, std::size_t index = 0) {
    Post p = post(post_id);
    EXPECT_LT(index, p.targets.size());
    return index < p.targets.size() ? p.targets[index] : Target{};
  }
  TargetStatus status_of(std::int64_t post_id, std::size_t index = 0) { return target(post_id, index).status; }

  // claim_post + begin_attempt of the post's only (or first) target.
  Attempt start(std::int64_t post_id, const std::string& owner, Timestamp now, milliseconds lease = kLease) {
    auto claims = store_->claim_post(post_id, now, owner, lease);
    EXPECT_FALSE(claims.empty()) << "nothing to claim in post " << post_id;
    if (claims.empty()) return {};
    return store_->begin_attempt(claims.front().target.id, owner, now);
  }

  static AttemptResult published(std::vector<std::string> ids, std::string url) {
    AttemptResult r;
    r.outcome = AttemptOutcome::ok;
    r.next_status = TargetStatus::published;
    r.http_status = 200;
    r.remote_ids = std::move(ids);
    r.remote_url = std::move(url);
    return r;
  }
  static AttemptResult retry_at(Timestamp when, std::string error = "503 Service Unavailable") {
    AttemptResult r;
    r.outcome = AttemptOutcome::transient;
    r.next_status = TargetStatus::retry_wait;
    r.next_attempt_at = when;
    r.http_status = 503;
    r.error = std::move(error);
    return r;
  }
  static AttemptResult failed(std::string error = "422 text too long") {
    AttemptResult r;
    r.outcome = AttemptOutcome::permanent;
    r.next_status = TargetStatus::failed;
    r.http_status = 422;
    r.error = std::move(error);
    return r;
  }

  std::vector<std::int64_t> listed_ids(const PostFilter& f) {
    std::vector<std::int64_t> ids;
    for (const auto& p : store_->list_posts(f)) ids.push_back(p.id);
    return ids;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

/// Tests that reopen the same database.
class PersistentStoreTest : public StoreTest {};

// ---- migrations ---------------------------------------------------------------

TEST_P(StoreTest, MigrationsBringSchemaToLatestVersion) {
  EXPECT_EQ(store_->schema_version(), latest_schema_version());
}

TEST_P(PersistentStoreTest, ReopeningKeepsSchemaAndDataWithoutRerunningMigrations) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(100));
  store_.reset();

  // A migration that ran again would fail (tables exist) or wipe the data.
  store_ = reopen();
  EXPECT_EQ(store_->schema_version(), latest_schema_version());
  ASSERT_TRUE(store_->find_account(a.id).has_value());
  auto again = store_->find_post(p.id);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->text, "hello world");
  ASSERT_EQ(again->targets.size(), 1u);

  store_.reset();
  store_ = reopen();
  EXPECT_EQ(store_->schema_version(), latest_schema_version());
  EXPECT_EQ(store_->list_accounts().size(), 1u);
}

TEST_P(PersistentStoreTest, SecondStoreOnSameDatabaseSeesTheSameData) {
  auto other = reopen();
  EXPECT_EQ(other->schema_version(), latest_schema_version());

  const Account a = add("feed", "main");
  auto seen = other->find_account("feed", "main");
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->id, a.id);

  const Post p = other->create_post(new_post({a.id}, at(10)), at(0)).post;
  auto mine = store_->find_post(p.id);
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(mine->targets.size(), 1u);

  // A lease taken through one connection is honoured by the other.
  EXPECT_EQ(store_->claim_due(at(10), "daemon-a", kLease, 10).size(), 1u);
  EXPECT_THAT(other->claim_due(at(10), "daemon-b", kLease, 10), IsEmpty());
  EXPECT_EQ(other->find_post(p.id)->targets[0].lease_owner, "daemon-a");
}

TEST_P(PersistentStoreTest, RepeatedQueriesSeeTheOtherConnectionsLatestWrites) {
  // List and token queries are kept prepared per connection; each use must
  // still read the latest committed data, not the snapshot of the last one.
  auto other = reopen();
  const Account a = add("feed", "main");
  for (int i = 1; i <= 3; ++i) {
    other->create_post(new_post({a.id}, std::nullopt, "post " + std::to_string(i)), at(i));
    ASSERT_EQ(store_->list_posts(PostFilter{}).size(), static_cast<std::size_t>(i));
    ApiToken t;
    t.user_id = kLocalUser;
    t.hash = std::string(64, static_cast<char>('a' + i));
    t.scopes = {"posts:read"};
    t.created_at = at(i);
    other->add_token(t);
    auto found = store_->find_token_by_hash(t.hash);
    ASSERT_TRUE(found.has_value());
    EXPECT_FALSE(found->revoked_at.has_value());
    other->revoke_token(found->id, at(i + 1));
    EXPECT_TRUE(store_->find_token_by_hash(t.hash)->revoked_at.has_value());
  }
}

// ---- accounts -----------------------------------------------------------------

TEST_P(StoreTest, AddAccountRoundTripsEveryField) {
  Account in;
  in.platform = "webhook";
  in.name = "ci";
  in.handle = "@ci";
  in.options = {{"url", "http://127.0.0.1:9/hook"}, {"format", "slack"}};
  in.secrets_sealed = "c2VhbGVk";
  in.created_at = at(5);
  const Account out = store_->add_account(in);
  EXPECT_GT(out.id, 0);

  for (const auto& found : {store_->find_account(out.id), store_->find_account("webhook", "ci")}) {
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, out.id);
    EXPECT_EQ(found->platform, "webhook");
    EXPECT_EQ(found->name, "ci");
    EXPECT_EQ(found->ref(), "webhook:ci");
    EXPECT_EQ(found->handle, "@ci");
    EXPECT_EQ(found->options, in.options);
    EXPECT_EQ(found->secrets_sealed, "c2VhbGVk");
    EXPECT_TRUE(found->healthy);
    EXPECT_EQ(found->health_note, "");
    EXPECT_EQ(ms(found->created_at), ms(at(5)));
  }
}

TEST_P(StoreTest, FindAccountMissingIsNullopt) {
  const Account a = add("feed", "main");
  EXPECT_FALSE(store_->find_account(a.id + 100).has_value());
  EXPECT_FALSE(store_->find_account("feed", "other").has_value());
  EXPECT_FALSE(store_->find_account("webhook", "main").has_value());
}

TEST_P(StoreTest, ListAccountsInCreationOrder) {
  EXPECT_THAT(store_->list_accounts(), IsEmpty());
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  const Account c = add("x", "main");
  std::vector<std::int64_t> ids;
  std::vector<std::string> refs;
  for (const auto& acc : store_->list_accounts()) {
    ids.push_back(acc.id);
    refs.push_back(acc.ref());
  }
  EXPECT_THAT(ids, ElementsAre(a.id, b.id, c.id));
  EXPECT_THAT(refs, ElementsAre("feed:main", "webhook:ci", "x:main"));
}

TEST_P(StoreTest, DuplicatePlatformAndNameIsUsage) {
  add("feed", "main");
  EXPECT_EQ(kind_of([&] { add("feed", "main"); }), "usage");
  EXPECT_EQ(store_->list_accounts().size(), 1u);
  // The same name on another network is a different account.
  EXPECT_EQ(kind_of([&] { add("x", "main"); }), "no error");
}

TEST_P(StoreTest, AccountSecretsAndHealthUpdates) {
  const Account a = add("x", "main");
  store_->update_account_secrets(a.id, "new-sealed");
  EXPECT_EQ(store_->find_account(a.id)->secrets_sealed, "new-sealed");
  store_->set_account_health(a.id, false, "refresh failed: 401");
  auto found = store_->find_account(a.id);
  EXPECT_FALSE(found->healthy);
  EXPECT_EQ(found->health_note, "refresh failed: 401");
  EXPECT_EQ(kind_of([&] { store_->update_account_secrets(a.id + 100, "x"); }), "not_found");
  EXPECT_EQ(kind_of([&] { store_->set_account_health(a.id + 100, true, ""); }), "not_found");
}

TEST_P(StoreTest, RemoveAccountIsSoftAndFreesTheName) {
  const Account a = add("feed", "main");
  store_->remove_account(a.id);
  EXPECT_FALSE(store_->find_account(a.id).has_value());
  EXPECT_FALSE(store_->find_account("feed", "main").has_value());
  EXPECT_THAT(store_->list_accounts(), IsEmpty());

  const Account again = add("feed", "main");
  EXPECT_NE(again.id, a.id);
  EXPECT_EQ(store_->find_account("feed", "main")->id, again.id);

  EXPECT_EQ(kind_of([&] { store_->remove_account(a.id); }), "not_found");
  EXPECT_EQ(kind_of([&] { store_->remove_account(again.id + 100); }), "not_found");
}

TEST_P(StoreTest, RemoveAccountRefusedWhileTargetsAreUnfinished) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(100));
  EXPECT_EQ(kind_of([&] { store_->remove_account(a.id); }), "usage");
  EXPECT_TRUE(store_->find_account(a.id).has_value());

  const Post draft = create({a.id}, std::nullopt);
  store_->cancel_post(p.id, at(1));
  EXPECT_EQ(kind_of([&] { store_->remove_account(a.id); }), "usage") << "a draft is unfinished";
  store_->cancel_post(draft.id, at(1));
  EXPECT_EQ(kind_of([&] { store_->remove_account(a.id); }), "no error");
  EXPECT_FALSE(store_->find_account(a.id).has_value());
}

TEST_P(StoreTest, RemoveAccountKeepsFinishedHistoryReadable) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(100));
  const Attempt att = start(p.id, "cli", at(100));
  store_->finish_attempt(att.id, published({"r1"}, "file:///feed.atom"), at(101));

  store_->remove_account(a.id);
  auto kept = store_->find_post(p.id);
  ASSERT_TRUE(kept.has_value());
  ASSERT_EQ(kept->targets.size(), 1u);
  EXPECT_EQ(kept->targets[0].account_id, a.id);
  EXPECT_EQ(kept->targets[0].status, TargetStatus::published);
  EXPECT_THAT(kept->targets[0].remote_ids, ElementsAre("r1"));
  EXPECT_EQ(store_->attempts(kept->targets[0].id).size(), 1u);
}

// ---- creating and finding posts -------------------------------------------------

TEST_P(StoreTest, CreateScheduledPostWithTargets) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  NewPost in = new_post({a.id, b.id}, at(3600), "release 1.0");
  in.media = {"/tmp/shot.png"};
  in.tags = {"release", "cpp"};
  in.targets[1].variant = "release 1.0 (webhook)";
  in.targets[1].options = {{"format", "discord"}};
  const auto created = store_->create_post(in, at(10));
  EXPECT_TRUE(created.created);

  for (const Post& p : {created.post, post(created.post.id)}) {
    EXPECT_GT(p.id, 0);
    EXPECT_EQ(p.text, "release 1.0");
    EXPECT_THAT(p.media, ElementsAre("/tmp/shot.png"));
    EXPECT_THAT(p.tags, ElementsAre("release", "cpp"));
    EXPECT_EQ(ms(p.scheduled_at), ms(at(3600)));
    EXPECT_EQ(p.timezone, "Europe/Berlin");
    EXPECT_EQ(p.key, "");
    EXPECT_EQ(ms(p.created_at), ms(at(10)));
    EXPECT_EQ(ms(p.updated_at), ms(at(10)));
    EXPECT_EQ(p.status(), PostStatus::scheduled);
    ASSERT_EQ(p.targets.size(), 2u);
    for (const auto& t : p.targets) {
      EXPECT_GT(t.id, 0);
      EXPECT_EQ(t.post_id, p.id);
      EXPECT_EQ(t.status, TargetStatus::scheduled);
      EXPECT_EQ(ms(t.next_attempt_at), ms(at(3600)));
      EXPECT_EQ(t.attempts, 0);
      EXPECT_EQ(t.lease_owner, "");
      EXPECT_FALSE(t.lease_expires_at.has_value());
      EXPECT_THAT(t.remote_ids, IsEmpty());
      EXPECT_FALSE(t.published_at.has_value());
    }
    EXPECT_NE(p.targets[0].id, p.targets[1].id);
    EXPECT_EQ(p.targets[0].account_id, a.id);
    EXPECT_EQ(p.targets[0].account_ref, "feed:main");
    EXPECT_EQ(p.targets[0].platform, "feed");
    EXPECT_FALSE(p.targets[0].variant.has_value());
    EXPECT_EQ(p.text_for(p.targets[0]), "release 1.0");
    EXPECT_EQ(p.targets[1].account_ref, "webhook:ci");
    EXPECT_EQ(p.targets[1].platform, "webhook");
    EXPECT_EQ(p.targets[1].variant, "release 1.0 (webhook)");
    EXPECT_EQ(p.text_for(p.targets[1]), "release 1.0 (webhook)");
    EXPECT_EQ(p.targets[1].options, nlohmann::json({{"format", "discord"}}));
  }
}

TEST_P(StoreTest, CreateWithoutTimeIsDraft) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, std::nullopt);
  EXPECT_FALSE(p.scheduled_at.has_value());
  EXPECT_EQ(p.status(), PostStatus::draft);
  ASSERT_EQ(p.targets.size(), 1u);
  EXPECT_EQ(p.targets[0].status, TargetStatus::draft);
  EXPECT_FALSE(p.targets[0].next_attempt_at.has_value());
  EXPECT_FALSE(store_->next_due().has_value());
}

TEST_P(StoreTest, EachTargetHasItsOwnStableIdempotencyKey) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  const Post p1 = create({a.id, b.id}, at(0));
  const Post p2 = create({a.id}, at(0));
  auto claims = store_->claim_due(at(0), "d", kLease, 10);
  ASSERT_EQ(claims.size(), 3u);
  std::set<std::string> keys;
  std::map<std::int64_t, std::string> key_of;
  for (const auto& c : claims) {
    const Attempt att = store_->begin_attempt(c.target.id, "d", at(1));
    EXPECT_FALSE(att.idempotency_key.empty());
    keys.insert(att.idempotency_key);
    key_of[c.target.id] = att.idempotency_key;
    store_->finish_attempt(att.id, retry_at(at(30)), at(2));
  }
  EXPECT_EQ(keys.size(), 3u) << "per-target idempotency keys must be distinct";

  // The retry of a target reuses its key (Mastodon Idempotency-Key).
  const std::int64_t tid = p1.targets[0].id;
  ASSERT_EQ(store_->claim_post(p1.id, at(30), "d", kLease).size(), 2u);
  const Attempt second = store_->begin_attempt(tid, "d", at(30));
  EXPECT_EQ(second.number, 2);
  EXPECT_EQ(second.idempotency_key, key_of[tid]);
  (void)p2;
}

TEST_P(StoreTest, CreateWithUsedKeyReturnsTheExistingPost) {
  const Account a = add("feed", "main");
  const Account b = add("x", "main");
  const auto first = store_->create_post(new_post({a.id, b.id}, at(100), "first", "ci-run-42"), at(0));
  ASSERT_TRUE(first.created);
  EXPECT_EQ(first.post.key, "ci-run-42");

  const auto second = store_->create_post(new_post({a.id}, at(999), "second", "ci-run-42"), at(5));
  EXPECT_FALSE(second.created);
  EXPECT_EQ(second.post.id, first.post.id);
  EXPECT_EQ(second.post.text, "first");
  ASSERT_EQ(second.post.targets.size(), 2u);
  EXPECT_EQ(second.post.targets[0].id, first.post.targets[0].id);
  EXPECT_EQ(second.post.targets[1].id, first.post.targets[1].id);

  EXPECT_THAT(listed_ids(PostFilter{}), ElementsAre(first.post.id));
  EXPECT_EQ(post(first.post.id).targets.size(), 2u);
  auto by_key = store_->find_post_by_key("ci-run-42");
  ASSERT_TRUE(by_key.has_value());
  EXPECT_EQ(by_key->id, first.post.id);
  EXPECT_FALSE(store_->find_post_by_key("ci-run-43").has_value());

  // An empty key is no key: both posts are created.
  EXPECT_TRUE(store_->create_post(new_post({a.id}, at(1)), at(0)).created);
  EXPECT_TRUE(store_->create_post(new_post({a.id}, at(1)), at(0)).created);
  EXPECT_EQ(store_->list_posts(PostFilter{}).size(), 3u);
}

// Which kind is not pinned down: the SQLite backend reports the foreign-key
// failure as permanent, where store.hpp would suggest usage or not_found.
TEST_P(StoreTest, CreateWithUnknownAccountFailsAndStoresNothing) {
  const Account a = add("feed", "main");
  EXPECT_NE(kind_of([&] { store_->create_post(new_post({a.id, a.id + 100}, at(1)), at(0)); }), "no error");
  EXPECT_THAT(store_->list_posts(PostFilter{}), IsEmpty());
  EXPECT_FALSE(store_->next_due().has_value());
}

TEST_P(StoreTest, FindPostMissingIsNullopt) {
  EXPECT_FALSE(store_->find_post(1).has_value());
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(1));
  EXPECT_FALSE(store_->find_post(p.id + 1).has_value());
  EXPECT_FALSE(store_->find_post_by_key("nope").has_value());
}

// ---- listing -----------------------------------------------------------------

TEST_P(StoreTest, ListPostsNewestFirstWithTargetsAndLimit) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(create({a.id, b.id}, at(100 + i), "p" + std::to_string(i)).id);
  std::vector<std::int64_t> newest_first(ids.rbegin(), ids.rend());

  const auto all = store_->list_posts(PostFilter{});
  ASSERT_EQ(all.size(), 5u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].id, newest_first[i]);
    ASSERT_EQ(all[i].targets.size(), 2u);
    EXPECT_EQ(all[i].targets[0].account_ref, "feed:main");
    EXPECT_EQ(all[i].targets[1].account_ref, "webhook:ci");
  }
  PostFilter f;
  f.limit = 2;
  EXPECT_THAT(listed_ids(f), ElementsAre(ids[4], ids[3]));
}

TEST_P(StoreTest, CursorPagingVisitsEveryPostExactlyOnce) {
  const Account a = add("feed", "main");
  std::set<std::int64_t> created;
  for (int i = 0; i < 23; ++i) created.insert(create({a.id}, i % 3 ? std::optional(at(i)) : std::nullopt).id);

  std::vector<std::int64_t> seen;
  PostFilter f;
  f.limit = 5;
  int pages = 0;
  for (;;) {
    const auto page = store_->list_posts(f);
    if (page.empty()) break;
    ASSERT_LE(page.size(), 5u);
    for (const auto& p : page) seen.push_back(p.id);
    f.before_id = page.back().id;
    ASSERT_LT(++pages, 10) << "paging does not terminate";
  }
  EXPECT_EQ(pages, 5);
  EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend())) << "newest first";
  EXPECT_EQ(std::set<std::int64_t>(seen.begin(), seen.end()).size(), seen.size()) << "no duplicates";
  EXPECT_EQ(std::set<std::int64_t>(seen.begin(), seen.end()), created);
}

TEST_P(StoreTest, SinceAndUntilUseScheduleOrCreationTime) {
  const Account a = add("feed", "main");
  const std::int64_t p100 = create({a.id}, at(100)).id;
  const std::int64_t p200 = create({a.id}, at(200)).id;
  const std::int64_t p300 = create({a.id}, at(300)).id;
  const std::int64_t draft150 = create({a.id}, std::nullopt, "draft", at(150)).id;

  PostFilter f;
  f.since = at(200);  // inclusive
  EXPECT_THAT(listed_ids(f), ElementsAre(p300, p200));
  f = {};
  f.until = at(200);  // exclusive
  EXPECT_THAT(listed_ids(f), ElementsAre(draft150, p100));
  f = {};
  f.since = at(150);
  f.until = at(300);
  EXPECT_THAT(listed_ids(f), ElementsAre(draft150, p200));
  f.limit = 1;
  EXPECT_THAT(listed_ids(f), ElementsAre(draft150));
}

TEST_P(StoreTest, AccountFilterMatchesAnyTarget) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  const Account c = add("x", "main");
  const std::int64_t only_a = create({a.id}, at(1)).id;
  const std::int64_t only_b = create({b.id}, at(1)).id;
  const std::int64_t both = create({a.id, b.id}, at(1)).id;

  PostFilter f;
  f.account_id = a.id;
  EXPECT_THAT(listed_ids(f), ElementsAre(both, only_a));
  const auto posts = store_->list_posts(f);
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].targets.size(), 2u) << "the filter selects posts, not targets";
  f.account_id = b.id;
  EXPECT_THAT(listed_ids(f), ElementsAre(both, only_b));
  f.account_id = c.id;
  EXPECT_THAT(listed_ids(f), IsEmpty());
}

TEST_P(StoreTest, TargetStatusFilterMatchesAnyTarget) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  const std::int64_t draft = create({a.id}, std::nullopt).id;
  const std::int64_t scheduled = create({a.id}, at(1000)).id;
  const std::int64_t mixed = create({a.id, b.id}, at(10)).id;
  const std::int64_t cancelled = create({a.id}, at(1000)).id;
  store_->cancel_post(cancelled, at(1));
  // mixed: first target fails, second stays scheduled.
  auto claims = store_->claim_due(at(10), "d", kLease, 1);
  ASSERT_EQ(claims.size(), 1u);
  const Attempt att = store_->begin_attempt(claims[0].target.id, "d", at(10));
  store_->finish_attempt(att.id, failed(), at(11));

  PostFilter f;
  f.target_status = TargetStatus::draft;
  EXPECT_THAT(listed_ids(f), ElementsAre(draft));
  f.target_status = TargetStatus::scheduled;
  EXPECT_THAT(listed_ids(f), ElementsAre(mixed, scheduled));
  f.target_status = TargetStatus::failed;
  EXPECT_THAT(listed_ids(f), ElementsAre(mixed));
  f.target_status = TargetStatus::cancelled;
  EXPECT_THAT(listed_ids(f), ElementsAre(cancelled));
  f.target_status = TargetStatus::unknown;
  EXPECT_THAT(listed_ids(f), IsEmpty());
}

TEST_P(StoreTest, DerivedPostStatusFilterPagesPastNonMatchingPosts) {
  const Account a = add("feed", "main");
  std::vector<std::int64_t> drafts;
  std::int64_t newest = 0;
  // Three old drafts behind far more scheduled posts than one internal page.
  store_->transaction([&] {
    for (int i = 0; i < 3; ++i) drafts.push_back(create({a.id}, std::nullopt).id);
    for (int i = 0; i < 520; ++i) newest = create({a.id}, at(1000 + i)).id;
  });

  PostFilter f;
  f.status = PostStatus::draft;
  f.limit = 2;
  EXPECT_THAT(listed_ids(f), ElementsAre(drafts[2], drafts[1]));
  f.limit = 10;
  EXPECT_THAT(listed_ids(f), ElementsAre(drafts[2], drafts[1], drafts[0]));
  f.before_id = drafts[2];
  EXPECT_THAT(listed_ids(f), ElementsAre(drafts[1], drafts[0]));

  f = {};
  f.status = PostStatus::scheduled;
  f.limit = 3;
  EXPECT_THAT(listed_ids(f), ElementsAre(newest, newest - 1, newest - 2));
  f.status = PostStatus::published;
  EXPECT_THAT(listed_ids(f), IsEmpty());
}

TEST_P(StoreTest, DerivedPostStatusFilterFindsPartialPosts) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  create({a.id}, at(1));
  const std::int64_t partial = create({a.id, b.id}, at(1)).id;
  create({b.id}, std::nullopt);
  auto claims = store_->claim_post(partial, at(1), "d", kLease);
  ASSERT_EQ(claims.size(), 2u);
  const Attempt ok = store_->begin_attempt(claims[0].target.id, "d", at(1));
  const Attempt bad = store_->begin_attempt(claims[1].target.id, "d", at(1));
  store_->finish_attempt(ok.id, published({"1"}, "u"), at(2));
  store_->finish_attempt(bad.id, failed(), at(2));

  PostFilter f;
  f.status = PostStatus::partial;
  EXPECT_THAT(listed_ids(f), ElementsAre(partial));
  f.status = PostStatus::failed;
  EXPECT_THAT(listed_ids(f), IsEmpty());
}

// ---- editing -----------------------------------------------------------------

TEST_P(StoreTest, UpdatePostReplacesTextTagsMediaAndVariants) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  NewPost in = new_post({a.id, b.id}, at(100), "old text");
  in.targets[1].variant = "old variant";
  const Post original = store_->create_post(in, at(0)).post;

  Post edit = original;
  edit.text = "new text";
  edit.tags = {"t1"};
  edit.media = {"/tmp/a.png", "/tmp/b.png"};
  edit.targets[0].variant = "feed variant";
  edit.targets[1].variant.reset();
  store_->update_post(edit, at(50));

  const Post p = post(original.id);
  EXPECT_EQ(p.text, "new text");
  EXPECT_THAT(p.tags, ElementsAre("t1"));
  EXPECT_THAT(p.media, ElementsAre("/tmp/a.png", "/tmp/b.png"));
  EXPECT_EQ(p.targets[0].variant, "feed variant");
  EXPECT_FALSE(p.targets[1].variant.has_value());
  EXPECT_EQ(p.text_for(p.targets[1]), "new text");
  EXPECT_EQ(ms(p.created_at), ms(at(0)));
  EXPECT_EQ(ms(p.updated_at), ms(at(50)));
  EXPECT_EQ(ms(p.scheduled_at), ms(at(100)));
  EXPECT_EQ(p.targets[0].status, TargetStatus::scheduled);
  EXPECT_EQ(ms(p.targets[0].next_attempt_at), ms(at(100)));

  // Drafts are editable too.
  const Post draft = create({a.id}, std::nullopt);
  Post d = draft;
  d.text = "edited draft";
  store_->update_post(d, at(60));
  EXPECT_EQ(post(draft.id).text, "edited draft");
}

TEST_P(StoreTest, UpdatePostRefusedWhileClaimedOrPublishing) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  Post edit = p;
  edit.text = "changed";

  auto claims = store_->claim_post(p.id, at(10), "d", kLease);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(kind_of([&] { store_->update_post(edit, at(11)); }), "usage") << "claimed";
  store_->begin_attempt(claims[0].target.id, "d", at(11));
  EXPECT_EQ(kind_of([&] { store_->update_post(edit, at(12)); }), "usage") << "publishing";
  EXPECT_EQ(post(p.id).text, "hello world");

  Post missing = p;
  missing.id = p.id + 100;
  EXPECT_EQ(kind_of([&] { store_->update_post(missing, at(12)); }), "not_found");
}

// Once a target is published, the stored text must keep matching what went out.
TEST_P(StoreTest, UpdatePostRefusedOncePublished) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  const Attempt att = start(p.id, "d", at(10));
  store_->finish_attempt(att.id, published({"r1"}, "u"), at(11));

  Post edit = post(p.id);
  edit.text = "rewritten history";
  EXPECT_EQ(kind_of([&] { store_->update_post(edit, at(12)); }), "usage");
  EXPECT_EQ(post(p.id).text, "hello world");
}

// ---- schedule / cancel / delete / retry -------------------------------------------

TEST_P(StoreTest, ScheduleDraftAndReschedule) {
  const Account a = add("feed", "main");
  const Post d = create({a.id, a.id}, std::nullopt);
  store_->schedule_post(d.id, at(500), "America/New_York", at(20));
  Post p = post(d.id);
  EXPECT_EQ(ms(p.scheduled_at), ms(at(500)));
  EXPECT_EQ(p.timezone, "America/New_York");
  EXPECT_EQ(ms(p.updated_at), ms(at(20)));
  EXPECT_EQ(p.status(), PostStatus::scheduled);
  for (const auto& t : p.targets) {
    EXPECT_EQ(t.status, TargetStatus::scheduled);
    EXPECT_EQ(ms(t.next_attempt_at), ms(at(500)));
  }
  EXPECT_EQ(ms(store_->next_due()), ms(at(500)));

  store_->schedule_post(d.id, at(400), "UTC", at(21));
  p = post(d.id);
  EXPECT_EQ(ms(p.scheduled_at), ms(at(400)));
  EXPECT_EQ(p.timezone, "UTC");
  EXPECT_EQ(ms(p.targets[0].next_attempt_at), ms(at(400)));
  EXPECT_EQ(ms(store_->next_due()), ms(at(400)));
}

TEST_P(StoreTest, ScheduleRetryWaitTargetAndLeavePublishedAlone) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  const Post p = create({a.id, b.id}, at(10));
  auto claims = store_->claim_post(p.id, at(10), "d", kLease);
  ASSERT_EQ(claims.size(), 2u);
  const Attempt ok = store_->begin_attempt(claims[0].target.id, "d", at(10));
  const Attempt flaky = store_->begin_attempt(claims[1].target.id, "d", at(10));
  store_->finish_attempt(ok.id, published({"1"}, "u"), at(11));
  store_->finish_attempt(flaky.id, retry_at(at(100), "timeout"), at(11));
  EXPECT_EQ(status_of(p.id, 1), TargetStatus::retry_wait);

  store_->schedule_post(p.id, at(50), "UTC", at(12));
  const Post after = post(p.id);
  EXPECT_EQ(after.targets[0].status, TargetStatus::published);
  EXPECT_EQ(after.targets[1].status, TargetStatus::scheduled);
  EXPECT_EQ(ms(after.targets[1].next_attempt_at), ms(at(50)));
  EXPECT_EQ(after.targets[1].error, "");
  EXPECT_EQ(after.targets[1].attempts, 1);
}

TEST_P(StoreTest, ScheduleErrors) {
  const Account a = add("feed", "main");
  EXPECT_EQ(kind_of([&] { store_->schedule_post(42, at(1), "UTC", at(0)); }), "not_found");
  const Post p = create({a.id}, at(10));
  const Attempt att = start(p.id, "d", at(10));
  store_->finish_attempt(att.id, published({"1"}, "u"), at(11));
  EXPECT_EQ(kind_of([&] { store_->schedule_post(p.id, at(100), "UTC", at(12)); }), "usage");
  const Post c = create({a.id}, at(10));
  store_->cancel_post(c.id, at(1));
  EXPECT_EQ(kind_of([&] { store_->schedule_post(c.id, at(100), "UTC", at(12)); }), "usage");
  EXPECT_EQ(status_of(c.id), TargetStatus::cancelled);
}

TEST_P(StoreTest, CancelUnfinishedTargets) {
  const Account a = add("feed", "main");
  const Post p = create({a.id, a.id}, at(100));
  store_->cancel_post(p.id, at(5));
  Post after = post(p.id);
  EXPECT_EQ(after.status(), PostStatus::cancelled);
  EXPECT_EQ(ms(after.updated_at), ms(at(5)));
  for (const auto& t : after.targets) {
    EXPECT_EQ(t.status, TargetStatus::cancelled);
    EXPECT_FALSE(t.next_attempt_at.has_value());
  }
  EXPECT_FALSE(store_->next_due().has_value());
  EXPECT_THAT(store_->claim_due(at(1000), "d", kLease, 10), IsEmpty());
  EXPECT_EQ(kind_of([&] { store_->cancel_post(p.id, at(6)); }), "usage") << "nothing left to cancel";
  EXPECT_EQ(kind_of([&] { store_->cancel_post(p.id + 100, at(6)); }), "not_found");

  const Post d = create({a.id}, std::nullopt);
  store_->cancel_post(d.id, at(7));
  EXPECT_EQ(status_of(d.id), TargetStatus::cancelled);
}

TEST_P(StoreTest, CancelTakesBackClaimsButNotPublishedOrPublishing) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  const Account c = add("x", "main");
  const Post p = create({a.id, b.id, c.id}, at(10));
  auto claims = store_->claim_post(p.id, at(10), "d", kLease);
  ASSERT_EQ(claims.size(), 3u);
  const Attempt done = store_->begin_attempt(claims[0].target.id, "d", at(10));
  store_->finish_attempt(done.id, published({"1"}, "u"), at(11));
  store_->begin_attempt(claims[1].target.id, "d", at(11));  // stays publishing
  // claims[2] stays claimed

  store_->cancel_post(p.id, at(12));
  const Post after = post(p.id);
  EXPECT_EQ(after.targets[0].status, TargetStatus::published);
  EXPECT_EQ(after.targets[1].status, TargetStatus::publishing);
  EXPECT_EQ(after.targets[2].status, TargetStatus::cancelled);
  EXPECT_EQ(after.targets[2].lease_owner, "");
  EXPECT_FALSE(after.targets[2].lease_expires_at.has_value());
  // The daemon that held the claim can no longer start it.
  EXPECT_EQ(kind_of([&] { store_->begin_attempt(claims[2].target.id, "d", at(13)); }), "usage");
}

TEST_P(StoreTest, DeletePostRemovesPostTargetsAndAttempts) {
  const Account a = add("feed", "main");
  const Post keep = create({a.id}, at(10));
  const Post p = create({a.id}, at(10));
  const Attempt att = start(p.id, "d", at(10));
  store_->finish_attempt(att.id, failed(), at(11));
  const std::int64_t tid = p.targets[0].id;
  ASSERT_EQ(store_->attempts(tid).size(), 1u);

  store_->delete_post(p.id);
  EXPECT_FALSE(store_->find_post(p.id).has_value());
  EXPECT_THAT(listed_ids(PostFilter{}), ElementsAre(keep.id));
  EXPECT_THAT(store_->attempts(tid), IsEmpty());
  EXPECT_EQ(kind_of([&] { store_->delete_post(p.id); }), "not_found");

  // The account has nothing unfinished left from the deleted post.
  store_->cancel_post(keep.id, at(12));
  EXPECT_EQ(kind_of([&] { store_->remove_account(a.id); }), "no error");
}

TEST_P(StoreTest, DeletePostRefusedWhileClaimedOrPublishing) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  auto claims = store_->claim_post(p.id, at(10), "d", kLease);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(kind_of([&] { store_->delete_post(p.id); }), "usage") << "claimed";
  const Attempt att = store_->begin_attempt(claims[0].target.id, "d", at(10));
  EXPECT_EQ(kind_of([&] { store_->delete_post(p.id); }), "usage") << "publishing";
  EXPECT_TRUE(store_->find_post(p.id).has_value());
  store_->finish_attempt(att.id, published({"1"}, "u"), at(11));
  EXPECT_EQ(kind_of([&] { store_->delete_post(p.id); }), "no error");
  EXPECT_FALSE(store_->find_post(p.id).has_value());
}

TEST_P(StoreTest, RetryReschedulesFailedUnknownAndCancelledTargets) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  const Account c = add("x", "main");
  const Account d = add("x", "alt");
  const Post p = create({a.id, b.id, c.id, d.id}, at(10));
  auto claims = store_->claim_post(p.id, at(10), "w", kLease);
  ASSERT_EQ(claims.size(), 4u);
  const Attempt ok = store_->begin_attempt(claims[0].target.id, "w", at(10));
  const Attempt bad = store_->begin_attempt(claims[1].target.id, "w", at(10));
  store_->begin_attempt(claims[2].target.id, "w", at(10));  // will become unknown
  store_->finish_attempt(ok.id, published({"1"}, "u"), at(11));
  store_->finish_attempt(bad.id, failed("rejected"), at(11));
  store_->release_claim(claims[3].target.id, "w");
  ASSERT_EQ(store_->recover_expired(at(10) + kLease + seconds(1)).size(), 1u);
  store_->cancel_post(p.id, at(80));  // the released target
  Post before = post(p.id);
  ASSERT_EQ(before.targets[1].status, TargetStatus::failed);
  ASSERT_EQ(before.targets[2].status, TargetStatus::unknown);
  ASSERT_EQ(before.targets[3].status, TargetStatus::cancelled);

  EXPECT_EQ(store_->retry_post(p.id, at(90)), 3);
  const Post after = post(p.id);
  EXPECT_EQ(after.targets[0].status, TargetStatus::published);
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(after.targets[i].status, TargetStatus::scheduled) << i;
    EXPECT_EQ(ms(after.targets[i].next_attempt_at), ms(at(90))) << i;
    EXPECT_EQ(after.targets[i].error, "") << i;
  }
  EXPECT_EQ(after.status(), PostStatus::publishing) << "published + scheduled";
  EXPECT_EQ(ms(store_->next_due()), ms(at(90)));

  EXPECT_EQ(store_->retry_post(p.id, at(91)), 0) << "nothing left to retry";
  EXPECT_EQ(kind_of([&] { store_->retry_post(p.id + 100, at(91)); }), "not_found");

  // The unknown target's next attempt reuses its idempotency key.
  const std::int64_t tid = claims[2].target.id;
  const std::string first_key = store_->attempts(tid).at(0).idempotency_key;
  ASSERT_EQ(store_->claim_post(p.id, at(91), "w", kLease).size(), 3u);
  const Attempt again = store_->begin_attempt(tid, "w", at(91));
  EXPECT_EQ(again.number, 2);
  EXPECT_EQ(again.idempotency_key, first_key);
}

TEST_P(StoreTest, RetryKeepsAFutureScheduleAndGivesAFreshBudget) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(1000));
  store_->cancel_post(p.id, at(20));
  ASSERT_EQ(store_->retry_post(p.id, at(30)), 1);
  EXPECT_EQ(ms(target(p.id).next_attempt_at), ms(at(1000))) << "a cancelled future post keeps its time";
  EXPECT_EQ(target(p.id).retry_from, 0);

  const Attempt first = start(p.id, "w", at(1000));
  store_->finish_attempt(first.id, failed(), at(1001));
  ASSERT_EQ(target(p.id).attempts, 1);
  ASSERT_EQ(store_->retry_post(p.id, at(1100)), 1);
  EXPECT_EQ(ms(target(p.id).next_attempt_at), ms(at(1100))) << "a past schedule retries now";
  EXPECT_EQ(target(p.id).retry_from, 1) << "attempts before the retry are outside the new budget";
}

// ---- due work and claims ------------------------------------------------------------

TEST_P(StoreTest, NextDueIsEarliestScheduledOrRetryWait) {
  EXPECT_FALSE(store_->next_due().has_value());
  const Account a = add("feed", "main");
  create({a.id}, std::nullopt);
  EXPECT_FALSE(store_->next_due().has_value()) << "drafts are not due";
  const Post late = create({a.id}, at(300));
  const Post early = create({a.id}, at(100));
  EXPECT_EQ(ms(store_->next_due()), ms(at(100)));

  // Claimed and publishing targets are not waiting.
  const Attempt att = start(early.id, "d", at(0));
  EXPECT_EQ(ms(store_->next_due()), ms(at(300)));
  // retry_wait counts.
  store_->finish_attempt(att.id, retry_at(at(50)), at(1));
  EXPECT_EQ(ms(store_->next_due()), ms(at(50)));
  // failed does not.
  auto claims = store_->claim_due(at(50), "d", kLease, 10);
  ASSERT_EQ(claims.size(), 1u);
  const Attempt second = store_->begin_attempt(claims[0].target.id, "d", at(50));
  store_->finish_attempt(second.id, failed(), at(51));
  EXPECT_EQ(ms(store_->next_due()), ms(at(300)));
  store_->cancel_post(late.id, at(52));
  EXPECT_FALSE(store_->next_due().has_value());
}

TEST_P(StoreTest, ClaimDueRespectsDueTimeAndLeases) {
  const Account a = add("feed", "main");
  const Post first = create({a.id}, at(100), "first");
  const Post second = create({a.id}, at(200), "second");
  create({a.id}, std::nullopt, "draft");

  EXPECT_THAT(store_->claim_due(at(99), "d", kLease, 10), IsEmpty());
  auto claims = store_->claim_due(at(100), "d", kLease, 10);  // due time is inclusive
  ASSERT_EQ(claims.size(), 1u);
  const Claim& c = claims[0];
  EXPECT_EQ(c.target.id, first.targets[0].id);
  EXPECT_EQ(c.target.status, TargetStatus::claimed);
  EXPECT_EQ(c.target.lease_owner, "d");
  EXPECT_EQ(ms(c.target.lease_expires_at), ms(at(100) + kLease));
  EXPECT_EQ(c.target.account_ref, "feed:main");
  EXPECT_EQ(c.post.id, first.id);
  EXPECT_EQ(c.post.text, "first");
  EXPECT_THAT(c.post.targets, IsEmpty());
  EXPECT_EQ(c.account.id, a.id);
  EXPECT_EQ(c.account.secrets_sealed, "sealed-main") << "the publisher needs the sealed secrets";
  EXPECT_EQ(c.account.options, a.options);

  const Target stored = target(first.id);
  EXPECT_EQ(stored.status, TargetStatus::claimed);
  EXPECT_EQ(stored.lease_owner, "d");
  EXPECT_EQ(ms(stored.lease_expires_at), ms(at(160)));
  EXPECT_EQ(post(first.id).status(), PostStatus::publishing);

  claims = store_->claim_due(at(1000), "d", kLease, 10);
  ASSERT_EQ(claims.size(), 1u) << "drafts are never due";
  EXPECT_EQ(claims[0].target.id, second.targets[0].id);
}

TEST_P(StoreTest, ClaimDueTakesTheEarliestUpToLimit) {
  const Account a = add("feed", "main");
  // Ids ascend while due times descend, so id order and due order disagree.
  std::vector<std::int64_t> tids;
  for (int i = 0; i < 5; ++i) tids.push_back(create({a.id}, at(500 - 100 * i)).targets[0].id);
  // due: tids[4]=100, tids[3]=200, tids[2]=300, tids[1]=400, tids[0]=500

  std::vector<std::int64_t> got;
  for (const auto& c : store_->claim_due(at(1000), "d", kLease, 2)) got.push_back(c.target.id);
  EXPECT_THAT(got, UnorderedElementsAre(tids[4], tids[3])) << "the earliest due are taken first";

  got.clear();
  for (const auto& c : store_->claim_due(at(250), "d", kLease, 10)) got.push_back(c.target.id);
  EXPECT_THAT(got, IsEmpty()) << "only at(300) and later are left";

  got.clear();
  for (const auto& c : store_->claim_due(at(1000), "d", kLease, 10)) got.push_back(c.target.id);
  EXPECT_THAT(got, UnorderedElementsAre(tids[2], tids[1], tids[0]));
}

// The daemon queues claims in the order claim_due returns them, so the most
// overdue target should come first.
TEST_P(StoreTest, ClaimDueReturnsClaimsEarliestDueFirst) {
  const Account a = add("feed", "main");
  for (int i = 0; i < 5; ++i) create({a.id}, at(500 - 100 * i));
  std::vector<std::int64_t> due;
  for (const auto& c : store_->claim_due(at(1000), "d", kLease, 10)) due.push_back(ms(*c.target.next_attempt_at));
  EXPECT_THAT(due, ElementsAre(ms(at(100)), ms(at(200)), ms(at(300)), ms(at(400)), ms(at(500))));
}

TEST_P(StoreTest, ClaimedTargetsAreNotClaimedAgain) {
  const Account a = add("feed", "main");
  create({a.id, a.id}, at(10));
  EXPECT_EQ(store_->claim_due(at(10), "daemon-a", kLease, 10).size(), 2u);
  EXPECT_THAT(store_->claim_due(at(20), "daemon-b", kLease, 10), IsEmpty());
  EXPECT_THAT(store_->claim_due(at(20), "daemon-a", kLease, 10), IsEmpty());
  // Still leased to a, even after the lease ends, until recovery runs.
  EXPECT_THAT(store_->claim_due(at(10) + kLease + seconds(5), "daemon-b", kLease, 10), IsEmpty());
}

TEST_P(StoreTest, ClaimPostIgnoresDueTimeAndFinishedTargets) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  const Post future = create({a.id, b.id}, at(86400));
  auto claims = store_->claim_post(future.id, at(0), "cli-1", kLease);
  ASSERT_EQ(claims.size(), 2u);
  for (const auto& c : claims) {
    EXPECT_EQ(c.post.id, future.id);
    EXPECT_EQ(c.target.status, TargetStatus::claimed);
    EXPECT_EQ(c.target.lease_owner, "cli-1");
  }
  EXPECT_THAT(store_->claim_post(future.id, at(1), "cli-2", kLease), IsEmpty());
  EXPECT_THAT(store_->claim_due(at(86400), "daemon", kLease, 10), IsEmpty());

  const Post draft = create({a.id}, std::nullopt);
  ASSERT_EQ(store_->claim_post(draft.id, at(0), "cli-1", kLease).size(), 1u) << "drafts can be published now";

  const Post done = create({a.id, b.id}, at(0));
  auto first = store_->claim_due(at(0), "d", kLease, 1);
  ASSERT_EQ(first.size(), 1u);
  const Attempt att = store_->begin_attempt(first[0].target.id, "d", at(0));
  store_->finish_attempt(att.id, published({"1"}, "u"), at(1));
  auto rest = store_->claim_post(done.id, at(2), "cli-1", kLease);
  ASSERT_EQ(rest.size(), 1u) << "the published target is not claimed again";
  EXPECT_NE(rest[0].target.id, first[0].target.id);
}

TEST_P(StoreTest, BeginAttemptWritesPendingAttemptAndMovesToPublishing) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  auto claims = store_->claim_due(at(10), "d", kLease, 10);
  ASSERT_EQ(claims.size(), 1u);
  const std::int64_t tid = claims[0].target.id;

  EXPECT_EQ(kind_of([&] { store_->begin_attempt(tid, "someone-else", at(11)); }), "usage");
  EXPECT_THAT(store_->attempts(tid), IsEmpty());
  EXPECT_EQ(status_of(p.id), TargetStatus::claimed);

  const Attempt att = store_->begin_attempt(tid, "d", at(11));
  EXPECT_GT(att.id, 0);
  EXPECT_EQ(att.target_id, tid);
  EXPECT_EQ(att.number, 1);
  EXPECT_EQ(att.owner, "d");
  EXPECT_EQ(ms(att.started_at), ms(at(11)));
  EXPECT_EQ(att.outcome, AttemptOutcome::pending);
  EXPECT_FALSE(att.idempotency_key.empty());

  const auto rows = store_->attempts(tid);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, att.id);
  EXPECT_EQ(rows[0].outcome, AttemptOutcome::pending);
  EXPECT_FALSE(rows[0].finished_at.has_value());
  EXPECT_EQ(rows[0].idempotency_key, att.idempotency_key);
  EXPECT_EQ(rows[0].owner, "d");
  EXPECT_EQ(ms(rows[0].started_at), ms(at(11)));

  const Target t = target(p.id);
  EXPECT_EQ(t.status, TargetStatus::publishing);
  EXPECT_EQ(t.attempts, 1);
  EXPECT_EQ(t.lease_owner, "d");
  EXPECT_EQ(post(p.id).status(), PostStatus::publishing);

  // Not claimed any more (publishing), not claimed at all, or no such target.
  EXPECT_EQ(kind_of([&] { store_->begin_attempt(tid, "d", at(12)); }), "usage");
  const Post other = create({a.id}, at(1000));
  EXPECT_EQ(kind_of([&] { store_->begin_attempt(other.targets[0].id, "d", at(12)); }), "usage");
  EXPECT_EQ(kind_of([&] { store_->begin_attempt(other.targets[0].id + 100, "d", at(12)); }), "not_found");
  EXPECT_EQ(store_->attempts(tid).size(), 1u);
}

// store.hpp: begin_attempt "throws usage when the lease is no longer owner's".
// A lease that has run out is no longer the owner's: recover_expired (run by
// any daemon at any moment) would mark the call unknown the instant it starts.
TEST_P(StoreTest, BeginAttemptRefusedAfterLeaseExpired) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  auto claims = store_->claim_due(at(10), "d", kLease, 10);
  ASSERT_EQ(claims.size(), 1u);
  const Timestamp late = at(10) + kLease + seconds(1);
  EXPECT_EQ(kind_of([&] { store_->begin_attempt(claims[0].target.id, "d", late); }), "usage");
  EXPECT_THAT(store_->attempts(claims[0].target.id), IsEmpty());
  EXPECT_EQ(status_of(p.id), TargetStatus::claimed);
}

TEST_P(StoreTest, FinishPublishedRecordsRemoteIdsAndClearsLease) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  const Attempt att = start(p.id, "d", at(10));
  store_->finish_attempt(att.id, published({"111", "112", "113"}, "https://x.example/111"), at(12));

  const Post after = post(p.id);
  const Target& t = after.targets[0];
  EXPECT_EQ(t.status, TargetStatus::published);
  EXPECT_THAT(t.remote_ids, ElementsAre("111", "112", "113"));
  EXPECT_EQ(t.remote_url, "https://x.example/111");
  EXPECT_EQ(ms(t.published_at), ms(at(12)));
  EXPECT_EQ(t.lease_owner, "");
  EXPECT_FALSE(t.lease_expires_at.has_value());
  EXPECT_FALSE(t.next_attempt_at.has_value());
  EXPECT_EQ(t.error, "");
  EXPECT_EQ(t.attempts, 1);
  EXPECT_EQ(after.status(), PostStatus::published);
  EXPECT_EQ(ms(after.updated_at), ms(at(12)));

  const auto rows = store_->attempts(t.id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome, AttemptOutcome::ok);
  EXPECT_EQ(ms(rows[0].finished_at), ms(at(12)));
  EXPECT_EQ(rows[0].http_status, 200);
  EXPECT_THAT(rows[0].remote_id, testing::HasSubstr("111"));

  EXPECT_FALSE(store_->next_due().has_value());
  EXPECT_THAT(store_->claim_due(at(10000), "d", kLease, 10), IsEmpty());
  EXPECT_THAT(store_->recover_expired(at(10000)), IsEmpty());
  EXPECT_EQ(status_of(p.id), TargetStatus::published);
}

TEST_P(StoreTest, FinishRetryWaitMakesTheTargetDueAgainLater) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  const Attempt first = start(p.id, "d", at(10));
  store_->finish_attempt(first.id, retry_at(at(40), "429 rate limited"), at(11));

  Target t = target(p.id);
  EXPECT_EQ(t.status, TargetStatus::retry_wait);
  EXPECT_EQ(ms(t.next_attempt_at), ms(at(40)));
  EXPECT_EQ(t.error, "429 rate limited");
  EXPECT_EQ(t.lease_owner, "");
  EXPECT_FALSE(t.lease_expires_at.has_value());
  EXPECT_EQ(t.attempts, 1);
  EXPECT_EQ(post(p.id).status(), PostStatus::scheduled);
  const auto rows = store_->attempts(t.id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome, AttemptOutcome::transient);
  EXPECT_EQ(rows[0].http_status, 503);
  EXPECT_EQ(rows[0].error, "429 rate limited");

  EXPECT_EQ(ms(store_->next_due()), ms(at(40)));
  EXPECT_THAT(store_->claim_due(at(39), "d", kLease, 10), IsEmpty());
  auto claims = store_->claim_due(at(40), "d2", kLease, 10);
  ASSERT_EQ(claims.size(), 1u);
  const Attempt second = store_->begin_attempt(claims[0].target.id, "d2", at(40));
  EXPECT_EQ(second.number, 2);
  EXPECT_EQ(second.idempotency_key, first.idempotency_key);
  store_->finish_attempt(second.id, published({"9"}, "u"), at(41));
  t = target(p.id);
  EXPECT_EQ(t.status, TargetStatus::published);
  EXPECT_EQ(t.attempts, 2);
  EXPECT_EQ(t.error, "");
  EXPECT_EQ(store_->attempts(t.id).size(), 2u);
}

TEST_P(StoreTest, FinishFailedIsFinal) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  const Attempt att = start(p.id, "d", at(10));
  store_->finish_attempt(att.id, failed("403 forbidden"), at(11));
  const Target t = target(p.id);
  EXPECT_EQ(t.status, TargetStatus::failed);
  EXPECT_EQ(t.error, "403 forbidden");
  EXPECT_FALSE(t.next_attempt_at.has_value());
  EXPECT_EQ(t.lease_owner, "");
  EXPECT_FALSE(t.lease_expires_at.has_value());
  EXPECT_THAT(t.remote_ids, IsEmpty());
  EXPECT_FALSE(t.published_at.has_value());
  EXPECT_EQ(post(p.id).status(), PostStatus::failed);
  EXPECT_EQ(store_->attempts(t.id).at(0).outcome, AttemptOutcome::permanent);
  EXPECT_FALSE(store_->next_due().has_value());
  EXPECT_THAT(store_->claim_due(at(10000), "d", kLease, 10), IsEmpty());
  EXPECT_EQ(kind_of([&] { store_->finish_attempt(att.id + 100, failed(), at(12)); }), "not_found");
}

TEST_P(StoreTest, ReleaseClaimGivesTheTargetBack) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  auto claims = store_->claim_due(at(10), "d", kLease, 10);
  ASSERT_EQ(claims.size(), 1u);
  const std::int64_t tid = claims[0].target.id;

  store_->release_claim(tid, "someone-else");
  EXPECT_EQ(status_of(p.id), TargetStatus::claimed) << "only the owner releases";

  store_->release_claim(tid, "d");
  Target t = target(p.id);
  EXPECT_EQ(t.status, TargetStatus::scheduled);
  EXPECT_EQ(ms(t.next_attempt_at), ms(at(10)));
  EXPECT_EQ(t.lease_owner, "");
  EXPECT_FALSE(t.lease_expires_at.has_value());
  EXPECT_EQ(t.attempts, 0);
  EXPECT_THAT(store_->attempts(tid), IsEmpty());
  EXPECT_EQ(store_->claim_due(at(11), "d2", kLease, 10).size(), 1u);

  // A draft claimed for `post publish` goes back to draft.
  const Post d = create({a.id}, std::nullopt);
  auto dc = store_->claim_post(d.id, at(0), "cli", kLease);
  ASSERT_EQ(dc.size(), 1u);
  store_->release_claim(dc[0].target.id, "cli");
  EXPECT_EQ(status_of(d.id), TargetStatus::draft);

  // A retry_wait target goes back to retry_wait with its due time.
  const Post r = create({a.id}, at(10));
  const Attempt att = start(r.id, "d", at(10));
  store_->finish_attempt(att.id, retry_at(at(70)), at(11));
  auto rc = store_->claim_due(at(70), "d", kLease, 10);
  ASSERT_EQ(rc.size(), 1u);
  store_->release_claim(rc[0].target.id, "d");
  t = target(r.id);
  EXPECT_EQ(t.status, TargetStatus::retry_wait);
  EXPECT_EQ(ms(t.next_attempt_at), ms(at(70)));

  // A target that is already publishing is not "released".
  const Post busy = create({a.id}, at(10));
  const Attempt running = start(busy.id, "d", at(10));
  store_->release_claim(running.target_id, "d");
  EXPECT_EQ(status_of(busy.id), TargetStatus::publishing);
}

TEST_P(StoreTest, RecoverExpiredClaimGoesBackToScheduled) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  ASSERT_EQ(store_->claim_due(at(10), "dead-daemon", kLease, 10).size(), 1u);

  EXPECT_THAT(store_->recover_expired(at(10) + kLease - seconds(1)), IsEmpty());
  Target t = target(p.id);
  EXPECT_EQ(t.status, TargetStatus::claimed) << "lease not expired yet";
  EXPECT_EQ(t.lease_owner, "dead-daemon");

  EXPECT_THAT(store_->recover_expired(at(10) + kLease + seconds(1)), IsEmpty())
      << "only targets that became unknown are returned";
  t = target(p.id);
  EXPECT_EQ(t.status, TargetStatus::scheduled);
  EXPECT_EQ(ms(t.next_attempt_at), ms(at(10)));
  EXPECT_EQ(t.lease_owner, "");
  EXPECT_FALSE(t.lease_expires_at.has_value());
  auto claims = store_->claim_due(at(80), "new-daemon", kLease, 10);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(kind_of([&] { store_->begin_attempt(claims[0].target.id, "dead-daemon", at(81)); }), "usage");
  EXPECT_EQ(kind_of([&] { store_->begin_attempt(claims[0].target.id, "new-daemon", at(81)); }), "no error");
}

TEST_P(StoreTest, RecoverExpiredPublishingBecomesUnknownAndIsNotResent) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  const Attempt att = start(p.id, "dead-daemon", at(10));
  const Timestamp later = at(10) + kLease + seconds(1);

  const auto unknown = store_->recover_expired(later);
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].id, att.target_id);
  EXPECT_EQ(unknown[0].post_id, p.id);
  EXPECT_EQ(unknown[0].status, TargetStatus::unknown);
  EXPECT_FALSE(unknown[0].error.empty());

  const Target t = target(p.id);
  EXPECT_EQ(t.status, TargetStatus::unknown);
  EXPECT_FALSE(t.error.empty());
  EXPECT_EQ(t.lease_owner, "");
  EXPECT_FALSE(t.lease_expires_at.has_value());
  EXPECT_FALSE(t.next_attempt_at.has_value());
  EXPECT_EQ(t.attempts, 1);
  EXPECT_EQ(post(p.id).status(), PostStatus::unknown);

  const auto rows = store_->attempts(t.id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome, AttemptOutcome::unknown);
  EXPECT_EQ(ms(rows[0].finished_at), ms(later));

  // Never silently re-posted.
  EXPECT_FALSE(store_->next_due().has_value());
  EXPECT_THAT(store_->claim_due(later + seconds(3600), "d", kLease, 10), IsEmpty());
  EXPECT_THAT(store_->recover_expired(later + seconds(3600)), IsEmpty()) << "reported once";
  PostFilter f;
  f.status = PostStatus::unknown;
  EXPECT_THAT(listed_ids(f), ElementsAre(p.id));
  f = {};
  f.target_status = TargetStatus::unknown;
  EXPECT_THAT(listed_ids(f), ElementsAre(p.id));
}

TEST_P(StoreTest, RecoverLeavesUnexpiredLeasesAndOtherStatesAlone) {
  const Account a = add("feed", "main");
  const Post claimed = create({a.id}, at(10));
  const Post publishing = create({a.id}, at(10));
  const Post waiting = create({a.id}, at(10));
  const Post scheduled = create({a.id}, at(10));
  const Post draft = create({a.id}, std::nullopt);
  ASSERT_EQ(store_->claim_post(claimed.id, at(10), "d", kLease).size(), 1u);
  const Attempt running = start(publishing.id, "d", at(10));
  const Attempt w = start(waiting.id, "d", at(10));
  store_->finish_attempt(w.id, retry_at(at(20)), at(11));

  // The lease runs until at(70); recovery at at(70) exactly does nothing.
  EXPECT_THAT(store_->recover_expired(at(10) + kLease), IsEmpty());
  EXPECT_EQ(status_of(claimed.id), TargetStatus::claimed);
  EXPECT_EQ(status_of(publishing.id), TargetStatus::publishing);
  EXPECT_EQ(status_of(waiting.id), TargetStatus::retry_wait);
  EXPECT_EQ(status_of(scheduled.id), TargetStatus::scheduled);
  EXPECT_EQ(status_of(draft.id), TargetStatus::draft);
  EXPECT_EQ(store_->attempts(running.target_id).at(0).outcome, AttemptOutcome::pending);
  EXPECT_EQ(target(publishing.id).lease_owner, "d");
}

TEST_P(StoreTest, LateFinishAfterRecoveryAppliesTheRealOutcome) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  const Attempt att = start(p.id, "slow-daemon", at(10));
  ASSERT_EQ(store_->recover_expired(at(100)).size(), 1u);
  ASSERT_EQ(status_of(p.id), TargetStatus::unknown);

  store_->finish_attempt(att.id, published({"77"}, "https://feed.example/77"), at(101));
  const Target t = target(p.id);
  EXPECT_EQ(t.status, TargetStatus::published);
  EXPECT_THAT(t.remote_ids, ElementsAre("77"));
  EXPECT_EQ(t.remote_url, "https://feed.example/77");
  EXPECT_EQ(ms(t.published_at), ms(at(101)));
  EXPECT_EQ(t.error, "");
  EXPECT_EQ(post(p.id).status(), PostStatus::published);
  const auto rows = store_->attempts(t.id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome, AttemptOutcome::ok);
  EXPECT_EQ(ms(rows[0].finished_at), ms(at(101)));

  // A late transient failure is also better than "unknown": it retries.
  const Post q = create({a.id}, at(10));
  const Attempt qa = start(q.id, "slow-daemon", at(10));
  ASSERT_EQ(store_->recover_expired(at(100)).size(), 1u);
  store_->finish_attempt(qa.id, retry_at(at(130)), at(102));
  EXPECT_EQ(status_of(q.id), TargetStatus::retry_wait);
  EXPECT_EQ(ms(store_->next_due()), ms(at(130)));
}

TEST_P(StoreTest, StaleFinishOfAnOlderAttemptDoesNotOverrideTheCurrentOne) {
  const Account a = add("feed", "main");
  const Post p = create({a.id}, at(10));
  const Attempt old = start(p.id, "slow", at(10));
  ASSERT_EQ(store_->recover_expired(at(100)).size(), 1u);
  ASSERT_EQ(store_->retry_post(p.id, at(101)), 1);
  const Attempt current = start(p.id, "fresh", at(101));
  EXPECT_EQ(current.number, 2);

  store_->finish_attempt(old.id, failed("late failure"), at(102));
  EXPECT_EQ(status_of(p.id), TargetStatus::publishing) << "the old call no longer decides";
  store_->finish_attempt(current.id, published({"5"}, "u"), at(103));
  EXPECT_EQ(status_of(p.id), TargetStatus::published);
  const auto rows = store_->attempts(current.target_id);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].outcome, AttemptOutcome::permanent) << "the audit log keeps what the old call saw";
  EXPECT_EQ(rows[1].outcome, AttemptOutcome::ok);
}

// ---- transactions -------------------------------------------------------------

struct Boom : std::runtime_error {
  Boom() : std::runtime_error("boom") {}
};

TEST_P(StoreTest, TransactionRollsBackEverythingOnException) {
  EXPECT_THROW(store_->transaction([&] {
    const Account a = add("feed", "main");
    create({a.id}, at(10));
    throw Boom();
  }),
               Boom);
  EXPECT_THAT(store_->list_accounts(), IsEmpty());
  EXPECT_THAT(store_->list_posts(PostFilter{}), IsEmpty());
  EXPECT_FALSE(store_->next_due().has_value());

  // The store is usable afterwards and the name is still free.
  const Account a = add("feed", "main");
  EXPECT_TRUE(store_->find_account(a.id).has_value());
}

TEST_P(StoreTest, StoreErrorInsideTransactionRollsBackEarlierWork) {
  add("feed", "main");
  EXPECT_EQ(kind_of([&] {
              store_->transaction([&] {
                add("x", "main");
                add("feed", "main");  // duplicate: usage
              });
            }),
            "usage");
  EXPECT_FALSE(store_->find_account("x", "main").has_value());
  EXPECT_EQ(store_->list_accounts().size(), 1u);
}

TEST_P(StoreTest, NestedTransactionsJoinTheOuterOne) {
  EXPECT_THROW(store_->transaction([&] {
    add("feed", "outer");
    store_->transaction([&] { add("feed", "inner"); });
    // The inner block returned: had it committed on its own, "inner" would survive.
    throw Boom();
  }),
               Boom);
  EXPECT_THAT(store_->list_accounts(), IsEmpty());

  store_->transaction([&] {
    add("feed", "outer");
    store_->transaction([&] { add("feed", "inner"); });
  });
  EXPECT_EQ(store_->list_accounts().size(), 2u);

  // An exception from the inner block unwinds through the outer one.
  EXPECT_THROW(store_->transaction([&] {
    add("x", "a");
    store_->transaction([&] {
      add("x", "b");
      throw Boom();
    });
  }),
               Boom);
  EXPECT_FALSE(store_->find_account("x", "a").has_value());
  EXPECT_FALSE(store_->find_account("x", "b").has_value());
  EXPECT_EQ(store_->list_accounts().size(), 2u);
}

TEST_P(StoreTest, PostJsonListsTargetsWithOutcome) {
  const Account a = add("feed", "main");
  const Account b = add("webhook", "ci");
  const Post p = create({a.id, b.id}, at(0), "json me");
  auto claims = store_->claim_post(p.id, at(0), "d", kLease);
  ASSERT_EQ(claims.size(), 2u);
  const Attempt ok = store_->begin_attempt(claims[0].target.id, "d", at(0));
  const Attempt bad = store_->begin_attempt(claims[1].target.id, "d", at(0));
  store_->finish_attempt(ok.id, published({"r1", "r2"}, "https://feed.example/r1"), at(1));
  store_->finish_attempt(bad.id, failed("webhook answered 410"), at(1));

  const nlohmann::json j = model::to_json(post(p.id));
  EXPECT_EQ(j.at("id"), p.id);
  EXPECT_EQ(j.at("text"), "json me");
  EXPECT_EQ(j.at("status"), "partial");
  EXPECT_EQ(j.at("scheduled_at"), "2027-01-15T08:00:00Z");
  EXPECT_TRUE(j.at("key").is_null());
  ASSERT_TRUE(j.at("targets").is_array());
  ASSERT_EQ(j.at("targets").size(), 2u);

  const auto& t0 = j.at("targets")[0];
  EXPECT_EQ(t0.at("account"), "feed:main");
  EXPECT_EQ(t0.at("platform"), "feed");
  EXPECT_EQ(t0.at("status"), "published");
  EXPECT_EQ(t0.at("remote_ids"), nlohmann::json::array({"r1", "r2"}));
  EXPECT_EQ(t0.at("remote_url"), "https://feed.example/r1");
  EXPECT_EQ(t0.at("attempts"), 1);
  EXPECT_EQ(t0.at("error"), "");

  const auto& t1 = j.at("targets")[1];
  EXPECT_EQ(t1.at("account"), "webhook:ci");
  EXPECT_EQ(t1.at("platform"), "webhook");
  EXPECT_EQ(t1.at("status"), "failed");
  EXPECT_EQ(t1.at("remote_ids"), nlohmann::json::array());
  EXPECT_EQ(t1.at("remote_url"), "");
  EXPECT_EQ(t1.at("attempts"), 1);
  EXPECT_EQ(t1.at("error"), "webhook answered 410");

  // Accounts never show their secrets.
  const std::string account_json = model::to_json(*store_->find_account(a.id)).dump();
  EXPECT_EQ(account_json.find("sealed-main"), std::string::npos) << account_json;
}

// ---- users and API tokens -------------------------------------------------------

TEST_P(StoreTest, MigrationCreatesTheLocalUserThatOwnsEverything) {
  auto local = store_->find_user(kLocalUser);
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(local->name, "local");
  EXPECT_EQ(store_->user(), kLocalUser);
  EXPECT_THROW(store_->remove_user(kLocalUser), Error);
  const User alice = store_->add_user("alice", at(1));
  EXPECT_GT(alice.id, kLocalUser);  // the sequence continues after the seeded id
  EXPECT_EQ(store_->find_user("alice")->id, alice.id);
  try {
    store_->add_user("alice", at(2));
    FAIL() << "a taken name was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
  ASSERT_EQ(store_->list_users().size(), 2u);
}

TEST_P(StoreTest, AccountsAndPostsAreScopedToTheCurrentUser) {
  const Account mine = add("feed", "mine");
  const Post local_post = create({mine.id}, std::nullopt, "local text");
  const User bob = store_->add_user("bob", at(0));

  store_->set_user(bob.id);
  EXPECT_THAT(store_->list_accounts(), IsEmpty());
  EXPECT_FALSE(store_->find_account(mine.id).has_value());
  EXPECT_FALSE(store_->find_account("feed", "mine").has_value());
  EXPECT_FALSE(store_->find_post(local_post.id).has_value());
  EXPECT_THAT(store_->list_posts(PostFilter{}), IsEmpty());
  // Every change by id answers not_found, exactly like a missing id.
  for (const auto& change : std::vector<std::function<void()>>{
           [&] { store_->cancel_post(local_post.id, at(1)); },
           [&] { store_->delete_post(local_post.id); },
           [&] { store_->retry_post(local_post.id, at(1)); },
           [&] { store_->schedule_post(local_post.id, at(5), "UTC", at(1)); },
           [&] { store_->remove_account(mine.id); },
           [&] { store_->update_account_secrets(mine.id, "x"); },
           [&] { store_->create_post(new_post({mine.id}, std::nullopt), at(1)); }}) {
    try {
      change();
      ADD_FAILURE() << "a foreign id was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::not_found) << e.what();
    }
  }
  const Account bobs = add("feed", "bobs");
  const Post bob_post = create({bobs.id}, std::nullopt, "bob text");
  EXPECT_THAT(listed_ids(PostFilter{}), ElementsAre(bob_post.id));
  try {
    store_->remove_user(bob.id);
    ADD_FAILURE() << "a user owning posts was removed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }

  store_->set_user(kLocalUser);
  EXPECT_THAT(listed_ids(PostFilter{}), ElementsAre(local_post.id));
  EXPECT_FALSE(store_->find_post(bob_post.id).has_value());
  // The daemon's view: every user's work.
  store_->set_user(kAnyUser);
  EXPECT_THAT(listed_ids(PostFilter{}), ElementsAre(bob_post.id, local_post.id));
  EXPECT_EQ(store_->list_accounts().size(), 2u);
}

TEST_P(StoreTest, IdempotencyKeysAreLookedUpWithinTheUser) {
  const Account a = add("feed", "main");
  store_->create_post(new_post({a.id}, std::nullopt, "x", "k1"), at(0));
  const User bob = store_->add_user("bob", at(0));
  store_->set_user(bob.id);
  EXPECT_FALSE(store_->find_post_by_key("k1").has_value());
}

MediaItem media_item(const std::string& sha, const std::string& alt = "") {
  MediaItem m;
  m.sha256 = sha;
  m.path = "/data/media/" + sha.substr(0, 2) + "/" + sha;
  m.mime = "image/png";
  m.kind = "png";
  m.bytes = 1234;
  m.width = 640;
  m.height = 480;
  m.alt = alt;
  m.created_at = at(3);
  return m;
}

TEST_P(StoreTest, MediaRoundTripsAndIsUniquePerUserAndSha) {
  const MediaItem a = store_->add_media(media_item("aa11", "a cat"));
  EXPECT_GT(a.id, 0);
  EXPECT_EQ(a.user_id, kLocalUser);
  MediaItem video = media_item("bb22");
  video.kind = "mp4";
  video.mime = "video/mp4";
  video.width.reset();
  video.height.reset();
  video.duration_ms = 90'500;
  const MediaItem b = store_->add_media(video);

  const auto found = store_->find_media(a.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->sha256, "aa11");
  EXPECT_EQ(found->path, "/data/media/aa/aa11");
  EXPECT_EQ(found->mime, "image/png");
  EXPECT_EQ(found->kind, "png");
  EXPECT_EQ(found->bytes, 1234);
  EXPECT_EQ(found->width, 640);
  EXPECT_EQ(found->height, 480);
  EXPECT_FALSE(found->duration_ms.has_value());
  EXPECT_EQ(found->alt, "a cat");
  EXPECT_EQ(ms(found->created_at), ms(at(3)));
  const auto by_sha = store_->find_media_by_sha("bb22");
  ASSERT_TRUE(by_sha.has_value());
  EXPECT_EQ(by_sha->id, b.id);
  EXPECT_EQ(by_sha->duration_ms, 90'500);
  EXPECT_FALSE(by_sha->width.has_value());
  EXPECT_FALSE(store_->find_media_by_sha("cc33").has_value());
  EXPECT_FALSE(store_->find_media(b.id + 100).has_value());

  EXPECT_EQ(kind_of([&] { store_->add_media(media_item("aa11")); }), "usage");
  store_->set_media_alt(a.id, "a black cat");
  EXPECT_EQ(store_->find_media(a.id)->alt, "a black cat");
  std::vector<std::int64_t> ids;
  for (const auto& m : store_->list_media()) ids.push_back(m.id);
  EXPECT_THAT(ids, ElementsAre(a.id, b.id));

  EXPECT_EQ(store_->remove_media(b.id), 0);
  EXPECT_FALSE(store_->find_media(b.id).has_value());
  EXPECT_EQ(kind_of([&] { store_->remove_media(b.id); }), "not_found");
  EXPECT_EQ(kind_of([&] { store_->set_media_alt(b.id, "x"); }), "not_found");
}

TEST_P(StoreTest, MediaIsScopedToTheUserAndRemovalCountsOtherUsersCopies) {
  const MediaItem mine = store_->add_media(media_item("aa11"));
  const User bob = store_->add_user("bob", at(0));
  store_->set_user(bob.id);
  EXPECT_THAT(store_->list_media(), IsEmpty());
  EXPECT_FALSE(store_->find_media(mine.id).has_value());
  EXPECT_FALSE(store_->find_media_by_sha("aa11").has_value());
  EXPECT_EQ(kind_of([&] { store_->remove_media(mine.id); }), "not_found");
  EXPECT_EQ(kind_of([&] { store_->set_media_alt(mine.id, "x"); }), "not_found");
  // The same bytes for another user: a row of its own, sharing the file.
  const MediaItem bobs = store_->add_media(media_item("aa11"));
  EXPECT_EQ(bobs.user_id, bob.id);
  EXPECT_NE(bobs.id, mine.id);
  EXPECT_EQ(store_->remove_media(bobs.id), 1) << "the local user still holds aa11";

  store_->set_user(kLocalUser);
  EXPECT_EQ(store_->remove_media(mine.id), 0);
}

TEST_P(StoreTest, TokensRoundTripRevokeAndListPerUser) {
  const User alice = store_->add_user("alice", at(0));
  ApiToken t;
  t.user_id = alice.id;
  t.name = "ci";
  t.hash = std::string(64, 'a');
  t.scopes = {"posts:read", "posts:write"};
  t.created_at = at(1);
  t.expires_at = at(100);
  const ApiToken added = store_->add_token(t);
  EXPECT_GT(added.id, 0);
  auto found = store_->find_token_by_hash(std::string(64, 'a'));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->user_id, alice.id);
  EXPECT_EQ(found->name, "ci");
  EXPECT_THAT(found->scopes, ElementsAre("posts:read", "posts:write"));
  EXPECT_EQ(found->created_at, at(1));
  EXPECT_EQ(found->expires_at, at(100));
  EXPECT_FALSE(found->revoked_at.has_value());
  EXPECT_FALSE(store_->find_token_by_hash(std::string(64, 'b')).has_value());

  store_->touch_token(added.id, at(5));
  store_->revoke_token(added.id, at(7));
  store_->revoke_token(added.id, at(9));  // the first revocation time stays
  found = store_->find_token_by_hash(std::string(64, 'a'));
  EXPECT_EQ(found->last_used_at, at(5));
  EXPECT_EQ(found->revoked_at, at(7));
  EXPECT_THROW(store_->revoke_token(added.id + 100, at(9)), Error);

  t.hash = std::string(64, 'c');
  t.user_id = kLocalUser;
  store_->add_token(t);
  EXPECT_EQ(store_->list_tokens(std::nullopt).size(), 2u);
  EXPECT_EQ(store_->list_tokens(alice.id).size(), 1u);
  t.user_id = 999;
  EXPECT_THROW(store_->add_token(t), Error);
  store_->remove_user(alice.id);  // takes its tokens along
  EXPECT_EQ(store_->list_tokens(std::nullopt).size(), 1u);
}

// ---- adapter progress, status events, per-user names --------------------------

TEST_P(StoreTest, ProgressIsSavedByTheLeaseHolderAndReadBackWithTheTarget) {
  const auto acct = add("feed", "main");
  const Post p = create({acct.id}, at(0));
  EXPECT_EQ(target(p.id).progress, nlohmann::json::object());
  const Attempt a = start(p.id, "daemon-a", at(1));
  const nlohmann::json progress = {{"upload_url", "https://upload.example/s/1"}, {"confirmed", 262144}};
  store_->save_target_progress(a.target_id, "daemon-a", progress);
  EXPECT_EQ(target(p.id).progress, progress);
  // Another process that no longer holds the lease cannot overwrite it.
  EXPECT_EQ(kind_of([&] { store_->save_target_progress(a.target_id, "daemon-b", {{"x", 1}}); }), "usage");
  EXPECT_EQ(target(p.id).progress, progress);
  // A retry after a failure starts with what the last attempt saved.
  store_->finish_attempt(a.id, retry_at(at(30)), at(2));
  EXPECT_EQ(target(p.id).progress, progress);
}

TEST_P(StoreTest, EveryTargetStatusChangeIsAnEventOfItsPostsUser) {
  const auto acct = add("feed", "main");
  const std::int64_t before = store_->last_event_id();
  const Post p = create({acct.id}, at(0));
  const Attempt a = start(p.id, "d", at(1));
  store_->finish_attempt(a.id, published({"r1"}, "https://example/r1"), at(2));
  const auto events = store_->events_after(before, 100);
  std::vector<std::string> statuses;
  for (const auto& e : events) {
    EXPECT_EQ(e.post_id, p.id);
    EXPECT_EQ(e.target_id, a.target_id);
    EXPECT_EQ(e.account_ref, "feed:main");
    statuses.push_back(e.status);
  }
  ASSERT_FALSE(statuses.empty());
  EXPECT_EQ(statuses.back(), "published");
  EXPECT_EQ(events.back().remote_url, "https://example/r1");
  for (std::size_t i = 1; i < events.size(); ++i) EXPECT_LT(events[i - 1].id, events[i].id);
  EXPECT_EQ(store_->last_event_id(), events.back().id);
  // Resuming after the last one yields nothing; limit bounds a page.
  EXPECT_TRUE(store_->events_after(events.back().id, 100).empty());
  EXPECT_EQ(store_->events_after(before, 1).size(), 1u);
  // Another user sees none of them.
  const User bob = store_->add_user("bob", at(0));
  store_->set_user(bob.id);
  EXPECT_TRUE(store_->events_after(0, 100).empty());
  store_->set_user(kLocalUser);
  EXPECT_EQ(store_->events_after(before, 100).size(), events.size());
}

TEST_P(StoreTest, AccountNamesAndPostKeysAreUniquePerUserOnly) {
  const auto mine = add("feed", "main");
  const Post first = store_->create_post(new_post({mine.id}, std::nullopt, "local", "release-1"), at(0)).post;
  const User bob = store_->add_user("bob", at(0));
  store_->set_user(bob.id);
  // Bob's "feed:main" and "release-1" are his own, not a clash with (or a
  // hint about) the local user's.
  const auto his = add("feed", "main");
  EXPECT_NE(his.id, mine.id);
  const auto created = store_->create_post(new_post({his.id}, std::nullopt, "bob", "release-1"), at(0));
  EXPECT_TRUE(created.created);
  EXPECT_NE(created.post.id, first.id);
  // Within one user both stay unique.
  EXPECT_EQ(kind_of([&] { add("feed", "main"); }), "usage");
  EXPECT_EQ(store_->create_post(new_post({his.id}, std::nullopt, "again", "release-1"), at(1)).post.id,
            created.post.id);
}

TEST_P(StoreTest, RowCountsDerivePostStatusesLikePostsDo) {
  const auto a = add("feed", "a");
  const auto b = add("feed", "b");
  const Post draft = create({a.id}, std::nullopt);
  const Post scheduled = create({a.id, b.id}, at(60));
  const Post done = create({a.id}, at(0));
  const Attempt attempt = start(done.id, "d", at(1));
  store_->finish_attempt(attempt.id, published({"r"}, "https://example/r"), at(2));
  const Post partial = create({a.id, b.id}, at(0));
  for (const auto& c : store_->claim_post(partial.id, at(3), "d", kLease)) {
    const Attempt x = store_->begin_attempt(c.target.id, "d", at(3));
    store_->finish_attempt(x.id, c.target.account_id == a.id ? published({"r2"}, "u") : failed(), at(4));
  }
  const auto counts = store_->row_counts();
  std::map<std::string, std::int64_t> expected;
  for (const auto id : {draft.id, scheduled.id, done.id, partial.id}) {
    ++expected[std::string(model::to_string(post(id).status()))];
  }
  EXPECT_EQ(counts.posts_by_status, expected);
  EXPECT_EQ(counts.posts_by_status.at("partial"), 1);
  EXPECT_EQ(counts.posts_by_status.at("published"), 1);
}

// Migration 5 rebuilds accounts and posts (SQLite cannot drop a constraint);
// everything that references them must come through.
TEST(SqliteMigrationTest, VersionFiveKeepsEveryRowThatReferencesRebuiltTables) {
  std::string tmpl = (fs::temp_directory_path() / "multivio-mig-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string file = tmpl + "/v4.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    auto exec = [&](const std::string& sql) {
      char* err = nullptr;
      const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
      EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << "\n" << sql;
      sqlite3_free(err);
    };
    exec("PRAGMA foreign_keys = ON");
    exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER "
         "NOT NULL)");
    for (const auto& m : migrations()) {
      if (m.version > 4) break;
      exec(m.sqlite);
      exec("INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", 'x', 0)");
    }
    exec("INSERT INTO accounts (id, platform, name, created_at) VALUES (7, 'feed', 'main', 0)");
    exec("INSERT INTO posts (id, text, created_at, updated_at, key) VALUES (9, 'hi', 0, 0, 'k')");
    exec("INSERT INTO targets (id, post_id, account_id, idempotency_key, status, remote_ids) "
         "VALUES (11, 9, 7, 'ik', 'published', '[\"r\"]')");
    exec("INSERT INTO attempts (target_id, number, idempotency_key, owner, started_at, outcome) "
         "VALUES (11, 1, 'ik', 'o', 0, 'ok')");
    sqlite3_close(db);
  }
  auto store = open("sqlite://" + file);
  EXPECT_EQ(store->schema_version(), latest_schema_version());
  const auto post = store->find_post(9);
  ASSERT_TRUE(post.has_value());
  ASSERT_EQ(post->targets.size(), 1u);
  EXPECT_EQ(post->targets[0].id, 11);
  EXPECT_EQ(post->targets[0].account_ref, "feed:main");
  EXPECT_EQ(post->targets[0].remote_ids, std::vector<std::string>{"r"});
  EXPECT_EQ(store->attempts(11).size(), 1u);
  EXPECT_EQ(store->find_post_by_key("k")->id, 9);
  // Foreign keys are back on: deleting the post cascades to its target and
  // that target's attempts.
  store->delete_post(9);
  EXPECT_TRUE(store->attempts(11).empty());
  store.reset();
  fs::remove_all(tmpl);
}

// ---- backends -------------------------------------------------------------------

std::unique_ptr<Store> open_sqlite_file(const std::string& dir) { return open("sqlite://" + dir + "/multivio.db"); }
std::unique_ptr<Store> open_sqlite_memory(const std::string&) { return open(":memory:"); }

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreTest,
                         testing::Values(Backend{"SqliteFile", open_sqlite_file, true},
                                         Backend{"SqliteMemory", open_sqlite_memory, false}),
                         [](const testing::TestParamInfo<Backend>& info) { return info.param.name; });
// Reopening only means something for backends that persist.
INSTANTIATE_TEST_SUITE_P(Sqlite, PersistentStoreTest, testing::Values(Backend{"SqliteFile", open_sqlite_file, true}),
                         [](const testing::TestParamInfo<Backend>& info) { return info.param.name; });

#if MULTIVIO_POSTGRES_TESTS
// One server per test executable (tests/fakes/postgres_server.hpp), a fresh
// database per test. The URL is kept in the test's directory, so reopening
// the same dir reaches the same database.
std::unique_ptr<Store> open_postgres_db(const std::string& dir) {
  const fs::path file = fs::path(dir) / "postgres-url";
  std::string url;
  if (std::ifstream in(file); in) std::getline(in, url);
  if (url.empty()) {
    url = fakes::fresh_postgres_database();
    std::ofstream(file) << url << '\n';
  }
  return open(url);
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreTest, testing::Values(Backend{"Postgres", open_postgres_db, true}),
                         [](const testing::TestParamInfo<Backend>& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(Postgres, PersistentStoreTest, testing::Values(Backend{"Postgres", open_postgres_db, true}),
                         [](const testing::TestParamInfo<Backend>& info) { return info.param.name; });

// Forty threads, each with its own Store (as daemon workers and REST
// handlers have), share a small pool: the server never sees more than 16
// connections from this process for the database, and every write lands.
TEST(PostgresPool, ManyStoresShareAFewConnections) {
  std::string url;
  try {
    url = fakes::fresh_postgres_database();
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no PostgreSQL server: " << e.what();
  }
  const std::string database = url.substr(url.rfind('/') + 1);
  const auto connections = [&] {
    const std::string out = fakes::shared_postgres().psql(
        "postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + database + "'");
    return std::stoi(out);
  };
  constexpr int k_threads = 40;
  std::atomic<int> peak{0};
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) {
      peak = std::max(peak.load(), connections());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < k_threads; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto store = open(url);
        for (int n = 0; n < 5; ++n) {
          store->put_secret("pool-" + std::to_string(i) + "-" + std::to_string(n), "sealed", Timestamp{});
        }
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  watcher.join();
  EXPECT_EQ(failures, 0);
  auto store = open(url);
  for (int i = 0; i < k_threads; ++i) EXPECT_TRUE(store->get_secret("pool-" + std::to_string(i) + "-4").has_value());
  EXPECT_GT(peak.load(), 0);
  EXPECT_LE(peak.load(), 16) << "connections open at once from 40 stores";
}
#endif

// ---- backend-independent model rules ---------------------------------------------

Post with_targets(std::initializer_list<TargetStatus> states, std::optional<Timestamp> scheduled_at = {}) {
  Post p;
  p.scheduled_at = scheduled_at;
  for (auto s : states) {
    Target t;
    t.status = s;
    p.targets.push_back(t);
  }
  return p;
}

TEST(PostStatusTest, DerivedFromTargets) {
  using TS = TargetStatus;
  using PS = PostStatus;
  struct Case {
    std::vector<TS> targets;
    PS expected;
  };
  const std::vector<Case> cases{
      {{TS::draft}, PS::draft},
      {{TS::draft, TS::draft}, PS::draft},
      {{TS::draft, TS::cancelled}, PS::draft},
      {{TS::scheduled}, PS::scheduled},
      {{TS::retry_wait}, PS::scheduled},
      {{TS::scheduled, TS::draft}, PS::scheduled},
      {{TS::scheduled, TS::retry_wait}, PS::scheduled},
      {{TS::scheduled, TS::failed}, PS::scheduled},
      {{TS::claimed}, PS::publishing},
      {{TS::publishing}, PS::publishing},
      {{TS::publishing, TS::published}, PS::publishing},
      {{TS::claimed, TS::failed}, PS::publishing},
      {{TS::published, TS::scheduled}, PS::publishing},
      {{TS::published, TS::retry_wait}, PS::publishing},
      {{TS::published}, PS::published},
      {{TS::published, TS::published}, PS::published},
      {{TS::published, TS::failed}, PS::partial},
      {{TS::published, TS::unknown}, PS::partial},
      {{TS::published, TS::cancelled}, PS::partial},
      {{TS::published, TS::failed, TS::unknown}, PS::partial},
      {{TS::cancelled}, PS::cancelled},
      {{TS::cancelled, TS::cancelled}, PS::cancelled},
      {{TS::failed}, PS::failed},
      {{TS::failed, TS::failed}, PS::failed},
      {{TS::failed, TS::cancelled}, PS::failed},
      {{TS::unknown}, PS::unknown},
      {{TS::unknown, TS::failed}, PS::unknown},
      {{TS::unknown, TS::cancelled}, PS::unknown},
  };
  for (const auto& c : cases) {
    Post p;
    std::string names;
    for (auto s : c.targets) {
      Target t;
      t.status = s;
      p.targets.push_back(t);
      names += std::string(model::to_string(s)) + " ";
    }
    EXPECT_EQ(p.status(), c.expected) << "targets: " << names;
  }
}

TEST(PostStatusTest, WithoutTargetsFollowsTheScheduleTime) {
  EXPECT_EQ(with_targets({}).status(), PostStatus::draft);
  EXPECT_EQ(with_targets({}, at(1)).status(), PostStatus::scheduled);
}

TEST(StatusNamesTest, RoundTripAndRejectUnknownNames) {
  for (auto s : {TargetStatus::draft, TargetStatus::scheduled, TargetStatus::claimed, TargetStatus::publishing,
                 TargetStatus::published, TargetStatus::retry_wait, TargetStatus::failed, TargetStatus::unknown,
                 TargetStatus::cancelled}) {
    EXPECT_EQ(model::parse_target_status(model::to_string(s)), s);
  }
  for (auto s : {PostStatus::draft, PostStatus::scheduled, PostStatus::publishing, PostStatus::published,
                 PostStatus::partial, PostStatus::failed, PostStatus::cancelled, PostStatus::unknown}) {
    EXPECT_EQ(model::parse_post_status(model::to_string(s)), s);
  }
  EXPECT_EQ(kind_of([] { model::parse_post_status("done"); }), "usage");
  EXPECT_EQ(kind_of([] { model::parse_target_status("sent"); }), "usage");
}

// ---- SQLite specifics -----------------------------------------------------------

// Counts schema_migrations rows straight from the file, below the Store API.
int migration_rows(const std::string& file) {
  sqlite3* db = nullptr;
  int rows = -1;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM schema_migrations", -1, &q, nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
      rows = sqlite3_column_int(q, 0);
    }
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
  return rows;
}

TEST(SqliteStoreTest, MigrationsAreRecordedOnceAcrossReopens) {
  std::string tmpl = (fs::temp_directory_path() / "multivio-store-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string file = tmpl + "/nested/dir/multivio.db";  // parent directories are created
  for (int i = 0; i < 3; ++i) {
    auto s = open("sqlite://" + file);
    EXPECT_EQ(s->schema_version(), latest_schema_version());
  }
  EXPECT_EQ(migration_rows(file), static_cast<int>(migrations().size()));
  // Bare paths and sqlite: URLs reach the same file.
  EXPECT_EQ(open(file)->schema_version(), latest_schema_version());
  EXPECT_EQ(open("sqlite:" + file)->schema_version(), latest_schema_version());
  EXPECT_EQ(migration_rows(file), static_cast<int>(migrations().size()));
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}

TEST(SqliteStoreTest, MigrationVersionsAscend) {
  int previous = 0;
  for (const auto& m : migrations()) {
    EXPECT_GT(m.version, previous) << m.name;
    previous = m.version;
  }
  EXPECT_GE(previous, 1);
}

TEST(SqliteStoreTest, RejectsUnsupportedUrls) {
  EXPECT_EQ(kind_of([] { open("mysql://localhost/db"); }), "usage");
  EXPECT_EQ(kind_of([] { open("sqlite://"); }), "usage");
}

// ---- PostgreSQL specifics ----------------------------------------------------------

#if MULTIVIO_POSTGRES_TESTS
std::string database_of(const std::string& url) { return url.substr(url.rfind('/') + 1); }

Account pg_account(Store& s, const std::string& name) {
  Account a;
  a.platform = "feed";
  a.name = name;
  a.created_at = at(0);
  return s.add_account(a);
}

NewPost pg_post(std::int64_t account, std::optional<Timestamp> when) {
  NewPost p;
  p.text = "concurrent";
  p.scheduled_at = when;
  p.targets.push_back(NewTarget{account, std::nullopt, nlohmann::json::object()});
  return p;
}

TEST(PostgresStoreTest, StoresOpeningAtOnceMigrateOnce) {
  const std::string url = fakes::fresh_postgres_database();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        if (open(url)->schema_version() == latest_schema_version()) ++ok;
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(open(url)->schema_version(), latest_schema_version());
  EXPECT_EQ(fakes::shared_postgres().psql(database_of(url), "SELECT COUNT(*) FROM schema_migrations"),
            std::to_string(migrations().size()));
}

TEST(PostgresStoreTest, TwoStoresClaimingConcurrentlyNeverClaimTheSameTarget) {
  const std::string url = fakes::fresh_postgres_database();
  auto a = open(url);
  auto b = open(url);
  const Account account = pg_account(*a, "main");
  constexpr int kPosts = 400;
  a->transaction([&] {
    for (int i = 0; i < kPosts; ++i) a->create_post(pg_post(account.id, at(i % 20)), at(0));
  });

  std::atomic<bool> go{false};
  const auto drain = [&](Store& store, const std::string& owner, std::vector<std::int64_t>& got) {
    while (!go.load()) std::this_thread::yield();
    for (;;) {
      const auto claims = store.claim_due(at(100), owner, kLease, 7);
      if (claims.empty()) break;
      for (const auto& c : claims) {
        EXPECT_EQ(c.target.lease_owner, owner);
        got.push_back(c.target.id);
      }
    }
  };
  std::vector<std::int64_t> got_a, got_b;
  std::thread ta([&] { drain(*a, "daemon-a", got_a); });
  std::thread tb([&] { drain(*b, "daemon-b", got_b); });
  go = true;
  ta.join();
  tb.join();

  std::set<std::int64_t> all(got_a.begin(), got_a.end());
  EXPECT_EQ(all.size(), got_a.size()) << "daemon-a claimed a target twice";
  for (const auto id : got_b) EXPECT_TRUE(all.insert(id).second) << "target " << id << " claimed by both";
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kPosts));
  EXPECT_EQ(got_a.size() + got_b.size(), static_cast<std::size_t>(kPosts));
  EXPECT_THAT(a->claim_due(at(100), "daemon-c", kLease, 100), IsEmpty());
  // The database agrees on who holds each lease.
  const std::set<std::int64_t> mine_a(got_a.begin(), got_a.end());
  PostFilter f;
  f.limit = kPosts;
  for (const auto& p : a->list_posts(f)) {
    ASSERT_EQ(p.targets.size(), 1u);
    EXPECT_EQ(p.targets[0].status, TargetStatus::claimed);
    EXPECT_EQ(p.targets[0].lease_owner, mine_a.count(p.targets[0].id) ? "daemon-a" : "daemon-b");
  }
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

TEST(PostgresStoreTest, ScheduleChangeOnOneStoreWakesAnothersChangeFd) {
  const std::string url = fakes::fresh_postgres_database();
  auto a = open(url);
  auto b = open(url);
  const Account account = pg_account(*a, "main");
  const Post draft = a->create_post(pg_post(account.id, std::nullopt), at(0)).post;

  const int fd = b->change_fd();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(b->change_fd(), fd) << "one LISTEN connection per Store";
  EXPECT_FALSE(readable(fd, 0));

  a->schedule_post(draft.id, at(60), "UTC", at(1));
  EXPECT_TRUE(readable(fd, 10'000)) << "no notification within 10 s";
  b->drain_changes();
  EXPECT_FALSE(readable(fd, 0)) << "drain_changes() left the descriptor readable";

  // Delivered on commit only: a rolled-back change wakes nobody.
  EXPECT_THROW(a->transaction([&] {
    a->schedule_post(draft.id, at(120), "UTC", at(2));
    throw Boom();
  }),
               Boom);
  EXPECT_FALSE(readable(fd, 300));
  EXPECT_EQ(ms(a->next_due()), ms(at(60)));

  // It keeps working after a drain.
  a->cancel_post(draft.id, at(3));
  EXPECT_TRUE(readable(fd, 10'000));
  b->drain_changes();
  EXPECT_FALSE(readable(fd, 0));
}

TEST(PostgresStoreTest, ConnectionFailureIsPermanentAndHidesThePassword) {
  // Port 1 on 127.0.0.1: nothing listens, the connection is refused at once.
  const std::string url = "postgresql://mv:s3cret-pw@127.0.0.1:1/multivio";
  std::string message;
  try {
    open(url);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::permanent);
    message = e.what();
  }
  EXPECT_NE(message.find("postgresql://mv:***@127.0.0.1:1/multivio"), std::string::npos) << message;
  EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
  EXPECT_EQ(local_file(url), "");
  EXPECT_EQ(local_file("postgres://localhost/db"), "");
}
#endif

}  // namespace
}  // namespace multivio::store
