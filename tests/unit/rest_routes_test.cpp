// SPDX-License-Identifier: MIT
// The REST listener's route table (daemon/http/routes.*): /openapi.json
// describes exactly the routes the table serves, with their scopes and path
// parameters; path matching; the per-token rate limiter; metrics text.
#include "daemon/http/routes.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "common/app/tokens.hpp"
#include "daemon/http/metrics.hpp"
#include "daemon/http/rate_limiter.hpp"

namespace multivio::daemon::http {
namespace {

using testing::HasSubstr;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(Routes, EveryRouteIsUniqueAndHasAKnownScope) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : routes()) {
    EXPECT_TRUE(seen.emplace(r.method, r.path).second) << r.method << " " << r.path;
    const std::string scope = r.scope;
    EXPECT_TRUE(scope.empty() || std::find(app::kScopes.begin(), app::kScopes.end(), scope) != app::kScopes.end())
        << r.path << ": " << scope;
    // Every /v1 route needs a token; only the service routes may be public.
    if (std::string_view(r.path).starts_with("/v1/")) {
      EXPECT_FALSE(scope.empty()) << r.path;
    }
    EXPECT_NE(r.handler, nullptr);
  }
}

TEST(Routes, OpenApiDescribesExactlyTheRouteTable) {
  const auto doc = openapi();
  EXPECT_EQ(doc.at("openapi"), "3.1.0");
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, op] : item.items()) documented.emplace(method, path);
  }
  std::set<std::pair<std::string, std::string>> served;
  for (const auto& r : routes()) served.emplace(lower(r.method), r.path);
  EXPECT_EQ(documented, served);

  std::set<std::string> operation_ids;
  for (const auto& r : routes()) {
    const auto& op = doc.at("paths").at(r.path).at(lower(r.method));
    EXPECT_TRUE(operation_ids.insert(op.at("operationId").get<std::string>()).second);
    EXPECT_TRUE(op.at("responses").contains(std::to_string(r.ok_status))) << r.path;
    if (*r.scope != '\0') {
      EXPECT_EQ(op.at("security"), nlohmann::json::parse(R"([{"bearer": [")" + std::string(r.scope) + R"("]}])"));
      for (const char* status : {"401", "403", "429"}) EXPECT_TRUE(op.at("responses").contains(status)) << r.path;
    } else {
      EXPECT_EQ(op.at("security"), nlohmann::json::array());
    }
    EXPECT_EQ(op.contains("requestBody"), r.request_schema != nullptr) << r.path;
    // Each {name} of the pattern is a declared path parameter, and no more.
    std::map<std::string, std::string> names;
    ASSERT_TRUE(match(r.path, r.path, names));
    std::set<std::string> declared;
    for (const auto& p : op.value("parameters", nlohmann::json::array())) {
      if (p.at("in") == "path") declared.insert(p.at("name").get<std::string>());
    }
    std::set<std::string> expected;
    for (const auto& [name, unused] : names) expected.insert(name);
    EXPECT_EQ(declared, expected) << r.path;
    std::set<std::string> query;
    for (const auto& p : op.value("parameters", nlohmann::json::array())) {
      if (p.at("in") == "query") query.insert(p.at("name").get<std::string>());
    }
    EXPECT_EQ(query.size(), r.query.size()) << r.path;
  }
  // Every $ref points at a component that exists.
  const std::string text = doc.dump();
  for (std::size_t at = text.find("#/components/schemas/"); at != std::string::npos;
       at = text.find("#/components/schemas/", at + 1)) {
    const auto start = at + std::string("#/components/schemas/").size();
    const std::string name = text.substr(start, text.find('"', start) - start);
    EXPECT_TRUE(doc.at("components").at("schemas").contains(name)) << name;
  }
}

TEST(Routes, WritesNeedTheWriteScopesAndChecksOnlyRead) {
  const std::map<std::pair<std::string, std::string>, std::string> expected{
      {{"PATCH", "/v1/posts/{id}"}, "posts:write"},
      {{"POST", "/v1/posts/{id}/publish"}, "posts:write"},
      {{"POST", "/v1/accounts"}, "accounts:write"},
      {{"DELETE", "/v1/accounts/{id}"}, "accounts:write"},
      {{"POST", "/v1/accounts/{id}/refresh"}, "accounts:write"},
      {{"POST", "/v1/accounts/{id}/check"}, "accounts:read"},
  };
  std::size_t found = 0;
  for (const auto& r : routes()) {
    const auto it = expected.find({r.method, r.path});
    if (it == expected.end()) continue;
    ++found;
    EXPECT_EQ(r.scope, it->second) << r.method << " " << r.path;
  }
  EXPECT_EQ(found, expected.size());
}

TEST(Routes, AccountSecretsAreWriteOnlyAndNeverInAnAnswer) {
  const auto doc = openapi();
  const auto& add = doc.at("paths").at("/v1/accounts").at("post");
  const auto& secrets =
      add.at("requestBody").at("content").at("application/json").at("schema").at("properties").at("secrets");
  EXPECT_EQ(secrets.at("writeOnly"), true);
  EXPECT_EQ(doc.at("components").at("schemas").at("Account").at("properties").contains("secrets"), false);
  // A network rejecting an account's credentials is 422, distinct from the
  // caller's own 401.
  EXPECT_TRUE(add.at("responses").contains("422"));
  EXPECT_TRUE(doc.at("paths").at("/v1/accounts/{id}/refresh").at("post").at("responses").contains("422"));
}

TEST(Routes, PatternsMatchWholeSegments) {
  std::map<std::string, std::string> p;
  EXPECT_TRUE(match("/v1/posts/{id}/cancel", "/v1/posts/12/cancel", p));
  EXPECT_EQ(p.at("id"), "12");
  EXPECT_FALSE(match("/v1/posts/{id}", "/v1/posts/12/cancel", p));
  EXPECT_FALSE(match("/v1/posts/{id}", "/v1/posts/", p));
  EXPECT_FALSE(match("/v1/posts", "/v1/posts/", p));
  EXPECT_FALSE(match("/v1/posts", "/v1/postsx", p));
  EXPECT_TRUE(match("/health", "/health", p));
  EXPECT_FALSE(match("/health", "health", p));
}

TEST(RateLimiter, AllowsABurstOfTheRateThenRefillsPerSecond) {
  RateLimiter limiter(3);
  const auto t0 = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.take(1, t0).count(), 0) << i;
  EXPECT_EQ(limiter.take(1, t0).count(), 1);        // Retry-After is at least one second
  EXPECT_EQ(limiter.take(2, t0).count(), 0);        // another token has its own bucket
  EXPECT_EQ(limiter.take(1, t0 + std::chrono::milliseconds(340)).count(), 0);  // one token back
  EXPECT_EQ(limiter.take(1, t0 + std::chrono::milliseconds(340)).count(), 1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.take(1, t0 + std::chrono::seconds(10)).count(), 0);

  RateLimiter off(0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(off.take(1, t0).count(), 0);
}

TEST(Metrics, CountsRequestsByRoutePatternAndStatus) {
  Metrics m;
  m.count_request("GET", "/v1/posts/{id}", 200);
  m.count_request("GET", "/v1/posts/{id}", 200);
  m.count_request("GET", "/v1/posts/{id}", 404);
  const auto text = m.render_requests();
  EXPECT_THAT(text, HasSubstr("# TYPE multivio_http_requests_total counter\n"));
  EXPECT_THAT(text, HasSubstr("multivio_http_requests_total{method=\"GET\",route=\"/v1/posts/{id}\",status=\"200\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("status=\"404\"} 1\n"));
  EXPECT_EQ(label_value("a\"b\\c\n"), "a\\\"b\\\\c\\n");
}

}  // namespace
}  // namespace multivio::daemon::http
