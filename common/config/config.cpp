// SPDX-License-Identifier: MIT
#include "common/config/config.hpp"
#include "common/text/text.hpp"

#include <pwd.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <set>
#include <span>
#include <sstream>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace multivio::config {
namespace {

using Names = std::span<const std::string_view>;

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
constexpr std::string_view kLogFormats[] = {"auto", "text", "json"};
constexpr std::string_view kLatePolicies[] = {"publish", "skip", "ask"};
constexpr std::string_view kWebhookFormats[] = {"json", "slack", "discord"};
constexpr std::string_view kStageKinds[] = {"s3", "public_url"};
constexpr std::string_view kEmailProviders[] = {"smtp", "resend", "sendgrid", "mailgun"};
constexpr std::string_view kPlatformNames[] = {"x",        "mastodon",  "bluesky", "threads", "linkedin", "facebook",
                                               "instagram", "youtube", "tiktok",  "webhook", "feed"};
constexpr std::string_view kPlatformKeys[] = {"client_id", "client_secret_env", "client_secret", "api_base",
                                              "auth_base", "upload_base",       "graph_base",    "api_version",
                                              "redirect_port", "app_name", "thread_counter", "upload_chunk_bytes",
                                              "media_timeout", "token_base"};

std::string join(Names names) {
  std::string out;
  for (const auto name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// " (did you mean 'x'?)" for the closest name within two edits, else the
// full list, so an unknown key always tells the user what is allowed. Two
// edits that rewrite a whole short name ("x" -> "ai") are no hint.
std::string hint(std::string_view name, Names candidates) {
  std::string_view best;
  std::size_t best_distance = std::min<std::size_t>(3, name.size());
  for (const auto candidate : candidates) {
    const auto d = text::edit_distance(name, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (!best.empty()) return " (did you mean '" + std::string(best) + "'?)";
  return " (expected one of: " + join(candidates) + ")";
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    default: return "nothing";
  }
}

// 2 -> "2", 0.5 -> "0.5": bounds in messages as a user would write them.
std::string format_number(double n) {
  std::ostringstream out;
  out << n;
  return out.str();
}

std::string line_of(const YAML::Mark& mark) { return std::to_string(std::max(mark.line, 0) + 1); }

// One node of the file plus what an error about it must name.
class Value {
 public:
  Value(const YAML::Node& node, const std::string& file, std::string key)
      : node_(node), file_(file), key_(std::move(key)) {}

  std::string location() const { return file_ + ":" + line_of(node_.Mark()); }

  [[noreturn]] void fail(const std::string& problem) const { throw_usage(location() + ": " + key_ + ": " + problem); }

  std::string str() const {
    if (!node_.IsScalar()) fail("expected a string, got " + describe(node_));
    return node_.Scalar();
  }

  int integer(long long lo, long long hi) const {
    if (!node_.IsScalar()) fail("expected an integer, got " + describe(node_));
    const std::string& s = node_.Scalar();
    long long n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (end != s.data() + s.size() || s.empty()) fail("expected an integer, got '" + s + "'");
    if (ec != std::errc{} || n < lo || n > hi) {
      fail("must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + s);
    }
    return static_cast<int>(n);
  }

  double number(double lo, double hi) const {
    if (!node_.IsScalar()) fail("expected a number, got " + describe(node_));
    const std::string& s = node_.Scalar();
    double n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (end != s.data() + s.size() || s.empty() || ec != std::errc{}) fail("expected a number, got '" + s + "'");
    if (!(n >= lo && n <= hi)) {
      fail("must be between " + format_number(lo) + " and " + format_number(hi) + ", got " + s);
    }
    return n;
  }

  milliseconds duration(bool allow_zero = false) const {
    milliseconds d{};
    try {
      d = parse_duration(str());
    } catch (const Error& e) {
      fail(e.what());
    }
    // Zero leases, timeouts or poll intervals would spin or never wait.
    if (d.count() == 0 && !allow_zero) fail("must be longer than zero");
    return d;
  }

  bool boolean() const {
    std::string s = str();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail("expected true or false, got '" + node_.Scalar() + "'");
  }

  // A YAML list of strings, or one string of comma-separated items.
  std::vector<std::string> strings() const {
    std::vector<std::string> out;
    const auto add = [&](const Value& at, std::string_view item) {
      item = text::trim(item);
      if (item.empty()) at.fail("empty entry in the list");
      out.emplace_back(item);
    };
    if (node_.IsSequence()) {
      for (const auto& item : node_) {
        const Value v(item, file_, key_);
        add(v, v.str());
      }
    } else if (node_.IsScalar()) {
      std::string_view rest = node_.Scalar();
      while (true) {
        const auto comma = rest.find(',');
        add(*this, rest.substr(0, comma));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else {
      fail("expected a string or a list of strings, got " + describe(node_));
    }
    return out;
  }

  // An absolute URL with one of `schemes` ("http://", ...) and no user:password@.
  std::string url(std::initializer_list<std::string_view> schemes, std::string_view credentials_hint) const {
    std::string s = str();
    if (std::none_of(schemes.begin(), schemes.end(), [&](std::string_view p) { return s.starts_with(p); })) {
      std::string expected;
      for (const auto p : schemes) expected += (expected.empty() ? "" : " or ") + std::string(p) + "...";
      fail("expected a URL " + expected + ", got '" + s + "'");
    }
    const auto authority = s.find("://") + 3;
    const auto at = s.find('@', authority);
    if (at != std::string::npos && at < s.find_first_of("/?#", authority)) {
      fail("credentials do not belong in the URL; " + std::string(credentials_hint));
    }
    return s;
  }

  // Browser origins as a browser sends them in Origin: scheme://host[:port],
  // no path, no trailing slash, no wildcard. They are compared byte for
  // byte, so a near miss here would silently never match.
  std::vector<std::string> origins() const {
    auto list = strings();
    for (const auto& o : list) {
      const bool scheme = o.starts_with("http://") || o.starts_with("https://");
      const auto host = o.find("://") + 3;
      if (!scheme || host >= o.size() || o.find_first_of("/?#@* ", host) != std::string::npos) {
        fail("'" + o + "' is not an origin like https://app.example.com or http://localhost:5173");
      }
    }
    return list;
  }

  std::string one_of(Names allowed) const {
    std::string s = str();
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      fail("expected one of " + join(allowed) + "; got '" + s + "'");
    }
    return s;
  }

 private:
  const YAML::Node& node_;
  const std::string& file_;
  std::string key_;
};

// Every scalar setting, by dotted path. Sections ("daemon", "notify.webhook")
// are implied by the paths, so this table is the whole schema except
// `platforms`, whose keys are names chosen by the user.
struct Leaf {
  std::string_view path;
  void (*set)(Config&, const Value&);
};

constexpr Leaf kLeaves[] = {
    {"database", [](Config& c, const Value& v) { c.database = v.str(); }},
    {"timezone", [](Config& c, const Value& v) { c.timezone = v.str(); }},
    {"key_file", [](Config& c, const Value& v) { c.key_file = v.str(); }},
    {"data_dir", [](Config& c, const Value& v) { c.data_dir = v.str(); }},
    {"daemon.workers", [](Config& c, const Value& v) { c.daemon.workers = v.integer(1, 256); }},
    {"daemon.max_attempts", [](Config& c, const Value& v) { c.daemon.max_attempts = v.integer(1, 100); }},
    {"daemon.retry_base", [](Config& c, const Value& v) { c.daemon.retry_base = v.duration(); }},
    {"daemon.retry_max", [](Config& c, const Value& v) { c.daemon.retry_max = v.duration(); }},
    {"daemon.lease", [](Config& c, const Value& v) { c.daemon.lease = v.duration(); }},
    {"daemon.poll_interval", [](Config& c, const Value& v) { c.daemon.poll_interval = v.duration(); }},
    {"daemon.shutdown_grace", [](Config& c, const Value& v) { c.daemon.shutdown_grace = v.duration(true); }},
    {"daemon.http_timeout", [](Config& c, const Value& v) { c.daemon.http_timeout = v.duration(); }},
    {"daemon.connect_timeout", [](Config& c, const Value& v) { c.daemon.connect_timeout = v.duration(); }},
    {"daemon.listen", [](Config& c, const Value& v) { c.daemon.listen = v.str(); }},
    {"daemon.http.max_body", [](Config& c, const Value& v) { c.daemon.http_max_body = v.integer(1024, 1 << 30); }},
    {"daemon.http.max_upload", [](Config& c, const Value& v) { c.daemon.http_max_upload = v.integer(1024, 1 << 30); }},
    {"daemon.http.rate_limit", [](Config& c, const Value& v) { c.daemon.http_rate_limit = v.integer(0, 1'000'000); }},
    {"daemon.http.allow_private_urls",
     [](Config& c, const Value& v) { c.daemon.http_allow_private_urls = v.boolean(); }},
    {"daemon.http.cors_origins", [](Config& c, const Value& v) { c.daemon.http_cors_origins = v.origins(); }},
    {"daemon.tls.cert", [](Config& c, const Value& v) { c.daemon.tls_cert = v.str(); }},
    {"daemon.tls.key", [](Config& c, const Value& v) { c.daemon.tls_key = v.str(); }},
    {"daemon.late_grace", [](Config& c, const Value& v) { c.daemon.late_grace = v.duration(true); }},
    {"daemon.late_policy", [](Config& c, const Value& v) { c.daemon.late_policy = v.one_of(kLatePolicies); }},
    {"daemon.breaker_threshold", [](Config& c, const Value& v) { c.daemon.breaker_threshold = v.integer(1, 1000); }},
    {"daemon.breaker_base", [](Config& c, const Value& v) { c.daemon.breaker_base = v.duration(); }},
    {"daemon.breaker_max", [](Config& c, const Value& v) { c.daemon.breaker_max = v.duration(); }},
    {"daemon.token_refresh_margin", [](Config& c, const Value& v) { c.daemon.token_refresh_margin = v.duration(true); }},
    {"media.stage", [](Config& c, const Value& v) { c.media.stage = v.one_of(kStageKinds); }},
    {"media.public_url",
     [](Config& c, const Value& v) { c.media.public_url = v.url({"http://", "https://"}, "it is handed to networks"); }},
    {"media.url_ttl", [](Config& c, const Value& v) { c.media.url_ttl = v.duration(); }},
    {"media.s3.endpoint",
     [](Config& c, const Value& v) {
       c.media.s3_endpoint = v.url({"http://", "https://"}, "name environment variables in access_key_env and "
                                                            "secret_key_env");
     }},
    {"media.s3.bucket", [](Config& c, const Value& v) { c.media.s3_bucket = v.str(); }},
    {"media.s3.region", [](Config& c, const Value& v) { c.media.s3_region = v.str(); }},
    {"media.s3.access_key_env", [](Config& c, const Value& v) { c.media.s3_access_key_env = v.str(); }},
    {"media.s3.secret_key_env", [](Config& c, const Value& v) { c.media.s3_secret_key_env = v.str(); }},
    {"media.s3.prefix", [](Config& c, const Value& v) { c.media.s3_prefix = v.str(); }},
    {"media.s3.path_style", [](Config& c, const Value& v) { c.media.s3_path_style = v.boolean(); }},
    {"auth.oidc.issuer", [](Config& c, const Value& v) { c.oidc.issuer = v.str(); }},
    {"auth.oidc.audience", [](Config& c, const Value& v) { c.oidc.audience = v.str(); }},
    {"auth.oidc.jwks_file", [](Config& c, const Value& v) { c.oidc.jwks_file = v.str(); }},
    {"auth.oidc.jwks_url",
     [](Config& c, const Value& v) { c.oidc.jwks_url = v.url({"http://", "https://"}, "a JWKS URL holds no secret"); }},
    {"auth.oidc.auto_create", [](Config& c, const Value& v) { c.oidc.auto_create = v.boolean(); }},
    {"auth.oidc.leeway", [](Config& c, const Value& v) { c.oidc.leeway = v.duration(true); }},
    {"feed.max_entries", [](Config& c, const Value& v) { c.feed.max_entries = v.integer(1, 100'000); }},
    {"log.level", [](Config& c, const Value& v) { c.log.level = v.one_of(kLogLevels); }},
    {"log.format", [](Config& c, const Value& v) { c.log.format = v.one_of(kLogFormats); }},
    {"ai.base_url", [](Config& c, const Value& v) { c.ai.base_url = v.str(); }},
    {"ai.model", [](Config& c, const Value& v) { c.ai.model = v.str(); }},
    {"ai.api_key_env", [](Config& c, const Value& v) { c.ai.api_key_env = v.str(); }},
    {"ai.timeout", [](Config& c, const Value& v) { c.ai.timeout = v.duration(); }},
    {"ai.temperature", [](Config& c, const Value& v) { c.ai.temperature = v.number(0, 2); }},
    {"ai.max_tokens", [](Config& c, const Value& v) { c.ai.max_tokens = v.integer(1, 1'000'000); }},
    {"ai.retries", [](Config& c, const Value& v) { c.ai.retries = v.integer(0, 10); }},
    {"ai.rewrites", [](Config& c, const Value& v) { c.ai.rewrites = v.integer(0, 10); }},
    {"notify.batch_window", [](Config& c, const Value& v) { c.notify.batch_window = v.duration(true); }},
    {"notify.timeout", [](Config& c, const Value& v) { c.notify.timeout = v.duration(); }},
    {"notify.webhook.url",
     [](Config& c, const Value& v) {
       c.notify.webhook_url = v.url({"http://", "https://"}, "the URL's path carries the webhook's token");
     }},
    {"notify.webhook.format", [](Config& c, const Value& v) { c.notify.webhook_format = v.one_of(kWebhookFormats); }},
    {"notify.email.provider", [](Config& c, const Value& v) { c.notify.email.provider = v.one_of(kEmailProviders); }},
    {"notify.email.from", [](Config& c, const Value& v) { c.notify.email.from = v.str(); }},
    {"notify.email.to", [](Config& c, const Value& v) { c.notify.email.to = v.strings(); }},
    {"notify.email.subject_prefix", [](Config& c, const Value& v) { c.notify.email.subject_prefix = v.str(); }},
    {"notify.email.smtp_url",
     [](Config& c, const Value& v) {
       c.notify.email.smtp_url = v.url({"smtp://", "smtps://"}, "name environment variables in username_env and "
                                                                "password_env");
     }},
    {"notify.email.starttls", [](Config& c, const Value& v) { c.notify.email.starttls = v.boolean(); }},
    {"notify.email.username_env", [](Config& c, const Value& v) { c.notify.email.username_env = v.str(); }},
    {"notify.email.password_env", [](Config& c, const Value& v) { c.notify.email.password_env = v.str(); }},
    {"notify.email.api_key_env", [](Config& c, const Value& v) { c.notify.email.api_key_env = v.str(); }},
    {"notify.email.api_base",
     [](Config& c, const Value& v) {
       c.notify.email.api_base = v.url({"http://", "https://"}, "name an environment variable in api_key_env");
     }},
    {"notify.email.domain", [](Config& c, const Value& v) { c.notify.email.domain = v.str(); }},
};
constexpr std::string_view kPlatforms = "platforms";

const Leaf* find_leaf(std::string_view path) {
  for (const auto& leaf : kLeaves) {
    if (leaf.path == path) return &leaf;
  }
  return nullptr;
}

bool is_section(std::string_view path) {
  return std::any_of(std::begin(kLeaves), std::end(kLeaves), [&](const Leaf& leaf) {
    return leaf.path.size() > path.size() && leaf.path.starts_with(path) && leaf.path[path.size()] == '.';
  });
}

// The names allowed directly under `prefix` ("" for the top level).
std::vector<std::string_view> children(std::string_view prefix) {
  std::vector<std::string_view> out;
  for (const auto& leaf : kLeaves) {
    std::string_view rest = leaf.path;
    if (!prefix.empty()) {
      if (!rest.starts_with(prefix) || rest.size() <= prefix.size() || rest[prefix.size()] != '.') continue;
      rest.remove_prefix(prefix.size() + 1);
    }
    rest = rest.substr(0, rest.find('.'));
    if (std::find(out.begin(), out.end(), rest) == out.end()) out.push_back(rest);
  }
  if (prefix.empty()) out.push_back(kPlatforms);
  return out;
}

class FileReader {
 public:
  FileReader(Config& cfg, const std::string& file) : cfg_(cfg), file_(file) {}

  void read(const std::string& text) {
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
      throw_usage(file_ + ":" + line_of(e.mark) + ": malformed YAML: " + e.msg);
    }
    if (docs.size() > 1) throw_usage(file_ + ":" + line_of(docs[1].Mark()) + ": only one YAML document is allowed");
    // An empty file, or one with only comments, means "all defaults".
    if (docs.empty() || docs[0].IsNull()) return;
    if (!docs[0].IsMap()) {
      throw_usage(file_ + ":" + line_of(docs[0].Mark()) + ": the top level must be a map of settings, got " +
                  describe(docs[0]));
    }
    walk(docs[0], "");
  }

 private:
  // Calls fn(name, dotted path, key, value) for each entry of `map`, rejecting
  // non-scalar and duplicate keys (yaml-cpp keeps both duplicates silently).
  template <typename Fn>
  void for_each_key(const YAML::Node& map, const std::string& prefix, Fn&& fn) {
    std::set<std::string> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {
        Value(kv.first, file_, prefix.empty() ? "(top level)" : prefix)
            .fail("keys must be plain names, got " + describe(kv.first));
      }
      const std::string& name = kv.first.Scalar();
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      const Value key(kv.first, file_, path);
      if (!seen.insert(name).second) key.fail("duplicate key '" + name + "'");
      fn(name, path, key, kv.second);
    }
  }

  void expect_map(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) Value(node, file_, path).fail("expected a map of settings, got " + describe(node));
  }

  void walk(const YAML::Node& map, const std::string& prefix) {
    for_each_key(map, prefix, [&](const std::string& name, const std::string& path, const Value& key,
                                  const YAML::Node& value) {
      const Leaf* leaf = find_leaf(path);
      const bool platforms = path == kPlatforms;
      const bool section = !leaf && !platforms && is_section(path);
      if (!leaf && !platforms && !section) key.fail("unknown key '" + name + "'" + hint(name, children(prefix)));
      if (value.IsNull()) return;  // "key:" with nothing after it keeps the default
      if (leaf) {
        const Value v(value, file_, path);
        leaf->set(cfg_, v);
        cfg_.origins[path] = v.location();
      } else if (platforms) {
        expect_map(value, path);
        walk_platforms(value);
      } else {
        expect_map(value, path);
        walk(value, path);
      }
    });
  }

  void walk_platforms(const YAML::Node& map) {
    for_each_key(map, std::string(kPlatforms), [&](const std::string& name, const std::string& path,
                                                   const Value& key, const YAML::Node& settings) {
      if (std::find(std::begin(kPlatformNames), std::end(kPlatformNames), name) == std::end(kPlatformNames)) {
        key.fail("unknown platform '" + name + "'" + hint(name, kPlatformNames));
      }
      auto& out = cfg_.platforms[name];
      if (settings.IsNull()) return;
      expect_map(settings, path);
      for_each_key(settings, path, [&](const std::string& k, const std::string& kpath, const Value& kkey,
                                       const YAML::Node& value) {
        if (std::find(std::begin(kPlatformKeys), std::end(kPlatformKeys), k) == std::end(kPlatformKeys)) {
          kkey.fail("unknown key '" + k + "'" + hint(k, kPlatformKeys));
        }
        if (value.IsNull()) return;
        const Value v(value, file_, kpath);
        // Checked here so a typo points at its line, not at a later OAuth failure.
        if (k == "redirect_port") v.integer(0, 65535);
        if (k == "thread_counter") v.boolean();
        if (k == "upload_chunk_bytes") v.integer(1, 5 * 1024 * 1024);
        if (k == "media_timeout") v.duration();
        out[k] = v.str();
        cfg_.origins[kpath] = v.location();
      });
    });
  }

  Config& cfg_;
  const std::string& file_;
};

std::optional<std::string> nonempty_env(const EnvLookup& env, const std::string& name) {
  auto value = env(name);
  if (value && value->empty()) return std::nullopt;  // VAR= means unset, as for most tools
  return value;
}

std::string home_dir(const EnvLookup& env) {
  if (auto home = nonempty_env(env, "HOME")) return *home;
  // Services started without HOME (some system units) still have a passwd entry.
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) return pw->pw_dir;
  return {};
}

// XDG base directory: the variable when set to an absolute path (the spec says
// to ignore relative ones), else $HOME/<fallback>.
std::string xdg_dir(const EnvLookup& env, const std::string& var, const std::string& fallback) {
  if (auto dir = nonempty_env(env, var); dir && dir->front() == '/') return *dir;
  const std::string home = home_dir(env);
  if (home.empty()) throw_usage("cannot find the home directory: set HOME or " + var);
  return home + "/" + fallback;
}

// nullopt when the file does not exist; Error(usage) when it cannot be read.
std::optional<std::string> read_text(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) return std::nullopt;
  if (ec) throw_usage("cannot read config file " + path + ": " + ec.message());
  if (std::filesystem::is_directory(status)) throw_usage("config file " + path + " is a directory");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw_usage("cannot read config file " + path);
  return text.str();
}

constexpr std::string_view kSqlite = "sqlite://";

// What the email provider needs beyond single keys, reported at the first
// notify.email line of the file.
void check_notify(const Config& cfg) {
  std::string where;
  long first_line = std::numeric_limits<long>::max();
  for (const auto& [path, origin] : cfg.origins) {
    if (!path.starts_with("notify.email.") || origin == "default") continue;
    const auto colon = origin.rfind(':');
    const long line = std::strtol(origin.c_str() + colon + 1, nullptr, 10);
    if (line < first_line) {
      first_line = line;
      where = origin;
    }
  }
  if (where.empty()) return;  // no email settings: email notifications are off
  const auto& email = cfg.notify.email;
  const auto fail = [&](const std::string& problem) { throw_usage(where + ": notify.email: " + problem); };
  if (email.to.empty()) fail("'to' is required (one address or a list)");
  if (email.from.empty()) fail("'from' is required");
  if (email.provider == "smtp" && email.smtp_url.empty()) fail("'smtp_url' is required for provider smtp");
  if (email.provider == "mailgun" && email.domain.empty()) fail("'domain' is required for provider mailgun");
  if (email.username_env.empty() != email.password_env.empty()) {
    fail("set both 'username_env' and 'password_env', or neither");
  }
}

// https://hooks.slack.com/services/T0/B0/XYZ -> https://hooks.slack.com/***:
// Slack and Discord webhook URLs carry their token in the path.
std::string redact_webhook_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url.empty() ? url : "***";
  const auto path = url.find_first_of("/?#", scheme + 3);
  if (path == std::string::npos || url.size() - path <= 1) return url;
  return url.substr(0, path) + "/***";
}

std::string format_duration(milliseconds d) {
  constexpr std::pair<long long, std::string_view> units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"},
                                                              {1'000, "s"}};
  const long long ms = d.count();
  for (const auto& [size, suffix] : units) {
    if (ms != 0 && ms % size == 0) return std::to_string(ms / size) + std::string(suffix);
  }
  return ms == 0 ? "0s" : std::to_string(ms) + "ms";
}

// postgresql://user:pw@host/db -> postgresql://user:***@host/db
std::string redact_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto authority = scheme + 3;
  const auto at = url.find('@', authority);
  if (at == std::string::npos || url.find('/', authority) < at) return url;
  const auto colon = url.find(':', authority);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::string expand_home(const std::string& path, const EnvLookup& env) {
  if (path != "~" && !path.starts_with("~/")) return path;  // ~user is not supported
  const std::string home = home_dir(env);
  return home.empty() ? path : home + path.substr(1);
}

Paths default_paths(const EnvLookup& env) {
  Paths p;
  p.config_dir = xdg_dir(env, "XDG_CONFIG_HOME", ".config") + "/multivio";
  p.data_dir = xdg_dir(env, "XDG_DATA_HOME", ".local/share") + "/multivio";
  p.config_file = p.config_dir + "/config.yaml";
  p.key_file = p.config_dir + "/key";
  p.database = std::string(kSqlite) + p.data_dir + "/multivio.db";
  return p;
}

milliseconds parse_duration(const std::string& text) {
  const auto invalid = [&] { throw_usage("invalid duration '" + text + "' (use forms like 30s, 5m, 2h)"); };
  const std::size_t digits = text.find_first_not_of("0123456789");
  const std::string_view all(text);
  const std::string_view number = all.substr(0, digits);
  const std::string_view unit = digits == std::string::npos ? std::string_view() : all.substr(digits);
  if (number.empty()) invalid();  // also rejects "", "-5s", "+5s", " 5s"
  long long n = 0;
  if (std::from_chars(number.data(), number.data() + number.size(), n).ec != std::errc{}) invalid();

  long long factor = 0;
  if (unit == "ms") factor = 1;
  else if (unit.empty() || unit == "s") factor = 1'000;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else if (unit == "d") factor = 86'400'000;
  else invalid();
  if (n > std::numeric_limits<milliseconds::rep>::max() / factor) invalid();
  return milliseconds(n * factor);
}

Config load(const std::optional<std::string>& explicit_path, const EnvLookup& env) {
  const Paths paths = default_paths(env);
  Config cfg;
  cfg.database = paths.database;
  cfg.key_file = paths.key_file;
  cfg.data_dir = paths.data_dir;
  for (const auto& leaf : kLeaves) cfg.origins[std::string(leaf.path)] = "default";

  std::string path = paths.config_file;
  bool required = false;
  if (explicit_path && !explicit_path->empty()) {
    path = expand_home(*explicit_path, env);
    required = true;
  } else if (auto from_env = nonempty_env(env, "MULTIVIO_CONFIG")) {
    path = expand_home(*from_env, env);
    required = true;
  }
  if (auto text = read_text(path)) {
    cfg.file = path;
    FileReader(cfg, path).read(*text);
    check_notify(cfg);
  } else if (required) {
    throw_usage("config file " + path + " does not exist");
  }

  if (auto v = nonempty_env(env, "MULTIVIO_DB")) {
    cfg.database = *v;
    cfg.origins["database"] = "env MULTIVIO_DB";
  }
  if (auto v = nonempty_env(env, "MULTIVIO_KEY_FILE")) {
    cfg.key_file = *v;
    cfg.origins["key_file"] = "env MULTIVIO_KEY_FILE";
  }
  if (auto v = nonempty_env(env, "MULTIVIO_LOG_LEVEL")) {
    if (std::find(std::begin(kLogLevels), std::end(kLogLevels), *v) == std::end(kLogLevels)) {
      throw_usage("MULTIVIO_LOG_LEVEL: expected one of " + join(kLogLevels) + "; got '" + *v + "'");
    }
    cfg.log.level = *v;
    cfg.origins["log.level"] = "env MULTIVIO_LOG_LEVEL";
  }

  cfg.key_file = expand_home(cfg.key_file, env);
  cfg.data_dir = expand_home(cfg.data_dir, env);
  if (cfg.database.starts_with(kSqlite)) {
    cfg.database = std::string(kSqlite) + expand_home(cfg.database.substr(kSqlite.size()), env);
  }
  // Moving data_dir moves the default database with it.
  if (cfg.origins["database"] == "default" && cfg.origins["data_dir"] != "default") {
    cfg.database = std::string(kSqlite) + cfg.data_dir + "/multivio.db";
  }
  return cfg;
}

nlohmann::json Config::to_json() const {
  nlohmann::json platforms_json = nlohmann::json::object();
  for (const auto& [name, settings] : platforms) {
    auto& out = platforms_json[name] = nlohmann::json::object();
    for (const auto& [key, value] : settings) out[key] = key == "client_secret" ? "***" : value;
  }
  return {
      {"file", file.empty() ? nlohmann::json() : nlohmann::json(file)},
      {"database", redact_url(database)},
      {"timezone", timezone},
      {"key_file", key_file},
      {"data_dir", data_dir},
      {"daemon",
       {{"workers", daemon.workers},
        {"max_attempts", daemon.max_attempts},
        {"retry_base", format_duration(daemon.retry_base)},
        {"retry_max", format_duration(daemon.retry_max)},
        {"lease", format_duration(daemon.lease)},
        {"poll_interval", format_duration(daemon.poll_interval)},
        {"shutdown_grace", format_duration(daemon.shutdown_grace)},
        {"http_timeout", format_duration(daemon.http_timeout)},
        {"connect_timeout", format_duration(daemon.connect_timeout)},
        {"listen", daemon.listen},
        {"http",
         {{"max_body", daemon.http_max_body},
          {"max_upload", daemon.http_max_upload},
          {"rate_limit", daemon.http_rate_limit},
          {"allow_private_urls", daemon.http_allow_private_urls},
          {"cors_origins", daemon.http_cors_origins}}},
        {"tls", {{"cert", daemon.tls_cert}, {"key", daemon.tls_key}}},
        {"late_grace", format_duration(daemon.late_grace)},
        {"late_policy", daemon.late_policy},
        {"breaker_threshold", daemon.breaker_threshold},
        {"breaker_base", format_duration(daemon.breaker_base)},
        {"breaker_max", format_duration(daemon.breaker_max)},
        {"token_refresh_margin", format_duration(daemon.token_refresh_margin)}}},
      {"media",
       {{"stage", media.stage},
        {"public_url", media.public_url},
        {"url_ttl", format_duration(media.url_ttl)},
        {"s3",
         {{"endpoint", media.s3_endpoint},
          {"bucket", media.s3_bucket},
          {"region", media.s3_region},
          {"access_key_env", media.s3_access_key_env},
          {"secret_key_env", media.s3_secret_key_env},
          {"prefix", media.s3_prefix},
          {"path_style", media.s3_path_style}}}}},
      {"auth",
       {{"oidc",
         {{"issuer", oidc.issuer},
          {"audience", oidc.audience},
          {"jwks_file", oidc.jwks_file},
          {"jwks_url", oidc.jwks_url},
          {"auto_create", oidc.auto_create},
          {"leeway", format_duration(oidc.leeway)}}}}},
      {"feed", {{"max_entries", feed.max_entries}}},
      {"log", {{"level", log.level}, {"format", log.format}}},
      {"ai",
       {{"base_url", ai.base_url},
        {"model", ai.model},
        {"api_key_env", ai.api_key_env},
        {"timeout", format_duration(ai.timeout)},
        {"temperature", ai.temperature ? nlohmann::json(*ai.temperature) : nlohmann::json()},
        {"max_tokens", ai.max_tokens ? nlohmann::json(*ai.max_tokens) : nlohmann::json()},
        {"retries", ai.retries},
        {"rewrites", ai.rewrites}}},
      {"notify",
       {{"batch_window", format_duration(notify.batch_window)},
        {"timeout", format_duration(notify.timeout)},
        {"webhook", {{"url", redact_webhook_url(notify.webhook_url)}, {"format", notify.webhook_format}}},
        {"email",
         {{"provider", notify.email.provider},
          {"from", notify.email.from},
          {"to", notify.email.to},
          {"subject_prefix", notify.email.subject_prefix},
          {"smtp_url", notify.email.smtp_url},
          {"starttls", notify.email.starttls},
          {"username_env", notify.email.username_env},
          {"password_env", notify.email.password_env},
          {"api_key_env", notify.email.api_key_env},
          {"api_base", notify.email.api_base},
          {"domain", notify.email.domain}}}}},
      {"platforms", platforms_json},
      {"origins", origins},
  };
}

}  // namespace multivio::config
