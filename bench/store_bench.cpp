// SPDX-License-Identifier: MIT
// Google Benchmark over the SQLite store through the library, on a temporary
// database file (WAL, the same pragmas the CLI and daemon use):
//   - create and schedule 10,000 posts (one feed target each) in one
//     Store::transaction, on a fresh database each iteration;
//   - list_posts with limit 100 and limit 10,000 over those 10,000 posts;
//   - claim_due of 100 targets (given back, untimed, after each claim);
//   - recover_expired and next_due, which the daemon runs on every pass.
// Run: build/bench/bench_store [--benchmark_min_time=0.2]
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <benchmark/benchmark.h>

#include "common/store/store.hpp"

namespace {

using namespace std::chrono_literals;
using multivio::model::Timestamp;
namespace store = multivio::store;

constexpr int kPosts = 10'000;

Timestamp now_ms() { return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()); }

/// A temporary directory holding one database file; removed on destruction.
class TempDb {
 public:
  TempDb() {
    std::string templ = (std::filesystem::temp_directory_path() / "multivio-bench-store.XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
    store_ = store::open("sqlite://" + dir_ + "/multivio.db");
    multivio::model::Account feed;
    feed.platform = "feed";
    feed.name = "main";
    feed.options = {{"path", dir_ + "/feed"}};
    account_id_ = store_->add_account(feed).id;
  }
  ~TempDb() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;

  store::Store& store() { return *store_; }

  /// n posts scheduled at `at`, one feed target each, in one transaction.
  void create(int n, Timestamp at, Timestamp now) {
    store_->transaction([&] {
      for (int i = 0; i < n; ++i) {
        store::NewPost p;
        p.text = "benchmark post " + std::to_string(i) + " with a little text, like a real announcement";
        p.scheduled_at = at + std::chrono::milliseconds{i};
        p.timezone = "UTC";
        p.targets.push_back(store::NewTarget{account_id_, std::nullopt, nlohmann::json::object()});
        benchmark::DoNotOptimize(store_->create_post(p, now));
      }
    });
  }

 private:
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::int64_t account_id_ = 0;
};

void BM_CreateSchedule10k(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto db = std::make_unique<TempDb>();
    const auto now = now_ms();
    state.ResumeTiming();
    db->create(kPosts, now + 2h, now);
    state.PauseTiming();
    db.reset();  // deleting the files is not part of the measurement
    state.ResumeTiming();
  }
  state.counters["posts"] = kPosts;
  state.counters["posts_per_s"] = benchmark::Counter(kPosts, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CreateSchedule10k)->Unit(benchmark::kMillisecond)->Iterations(3);

/// One database of 10,000 scheduled posts shared by the read benchmarks.
TempDb& shared_db() {
  static auto db = [] {
    auto d = std::make_unique<TempDb>();
    const auto now = now_ms();
    d->create(kPosts, now - 1h, now - 2h);  // all due, for claim_due
    return d;
  }();
  return *db;
}

void BM_ListPosts(benchmark::State& state) {
  auto& db = shared_db();
  store::PostFilter filter;
  filter.limit = static_cast<int>(state.range(0));
  std::size_t n = 0;
  for (auto _ : state) {
    auto posts = db.store().list_posts(filter);
    n = posts.size();
    benchmark::DoNotOptimize(posts);
  }
  if (n != static_cast<std::size_t>(state.range(0))) {
    state.SkipWithError(("list_posts returned " + std::to_string(n) + " posts").c_str());
  }
  state.counters["posts"] = static_cast<double>(n);
}
BENCHMARK(BM_ListPosts)->Arg(100)->Arg(kPosts)->Unit(benchmark::kMillisecond);

void BM_ClaimDue100(benchmark::State& state) {
  auto& db = shared_db();
  const std::string owner = "bench-claimer";
  std::size_t n = 0;
  for (auto _ : state) {
    auto claims = db.store().claim_due(now_ms(), owner, 120s, 100);
    n = claims.size();
    state.PauseTiming();
    // Give the targets back so every iteration claims from the same 10,000.
    db.store().transaction([&] {
      for (const auto& c : claims) db.store().release_claim(c.target.id, owner);
    });
    state.ResumeTiming();
  }
  if (n != 100) state.SkipWithError(("claim_due returned " + std::to_string(n) + " claims").c_str());
}
BENCHMARK(BM_ClaimDue100)->Unit(benchmark::kMillisecond);

// What the daemon runs before every claim pass, with no lease expired: the
// common case, which should cost next to nothing.
void BM_RecoverExpiredNone(benchmark::State& state) {
  auto& db = shared_db();
  for (auto _ : state) benchmark::DoNotOptimize(db.store().recover_expired(now_ms()));
}
BENCHMARK(BM_RecoverExpiredNone)->Unit(benchmark::kMicrosecond);

void BM_NextDue(benchmark::State& state) {
  auto& db = shared_db();
  for (auto _ : state) benchmark::DoNotOptimize(db.store().next_due());
}
BENCHMARK(BM_NextDue)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
