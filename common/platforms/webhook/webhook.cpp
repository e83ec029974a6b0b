// SPDX-License-Identifier: MIT
#include "common/platforms/webhook/webhook.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <filesystem>

#include "common/config/config.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::webhook {

namespace {

using Json = nlohmann::ordered_json;  // the body's field order is part of what receivers see

struct Format {
  std::string_view name;
  std::size_t limit;  // code points; 0: none
};

// Discord rejects content over 2000 characters; Slack truncates text after 40000.
constexpr std::array k_formats{Format{"json", 0}, Format{"slack", 40'000}, Format{"discord", 2'000}};

const Format* find_format(std::string_view name) {
  for (const auto& f : k_formats) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

const Format& format_of(const model::Account* account) {
  if (account != nullptr) {
    if (auto it = account->options.find("format"); it != account->options.end() && it->is_string()) {
      if (const Format* f = find_format(it->get_ref<const std::string&>())) {
        return *f;
      }
    }
  }
  return k_formats[0];
}

bool is_http_url(std::string_view url) {
  auto lower_starts = [&](std::string_view prefix) {
    return url.size() > prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), url.begin(),
                      [](char p, char c) { return p == std::tolower(static_cast<unsigned char>(c)); });
  };
  const std::size_t host = lower_starts("https://") ? 8 : lower_starts("http://") ? 7 : 0;
  return host != 0 && url[host] != '/' && url[host] != '?' && url[host] != '#' &&
         url.find_first_of(" \t\r\n") == std::string_view::npos;
}

std::string signing_secret(const nlohmann::json& secrets) {
  if (secrets.is_object()) {
    if (auto it = secrets.find("signing_secret"); it != secrets.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return {};
}

class WebhookAdapter final : public Adapter {
 public:
  explicit WebhookAdapter(const Context& context) : ctx_(context) {}

  std::string_view name() const override { return "webhook"; }

  Capabilities capabilities(const model::Account* account) const override {
    const Format& f = format_of(account);
    Capabilities c;
    c.max_length = f.limit;
    c.length_unit = "characters";
    c.media = f.name == "json";  // file names are passed on; nothing is uploaded
    // The Idempotency-Key header is sent, but a generic receiver is not known
    // to honour it, so an unknown outcome is not retried automatically.
    c.idempotency_key = false;
    c.needs_credentials = false;
    return c;
  }

  void configure_account(nlohmann::json& options) const override {
    check_option_keys("webhook", options, {"url", "format"});
    if (!options.contains("url") || !options["url"].is_string() || options["url"].get<std::string>().empty()) {
      throw_usage("webhook: option 'url' is required (--url https://...)");
    }
    const std::string url = options["url"].get<std::string>();
    if (!is_http_url(url)) {
      throw_usage("webhook: url '" + http::redact_url(url) + "' must be an http:// or https:// URL with a host");
    }
    if (!options.contains("format")) {
      options["format"] = "json";
    }
    if (!options["format"].is_string() || !find_format(options["format"].get<std::string>())) {
      throw_usage("webhook: format '" + (options["format"].is_string() ? options["format"].get<std::string>()
                                                                      : options["format"].dump()) +
                  "' is not one of json, slack, discord");
    }
  }

  // Slack and Discord URLs carry their token in the path: the full URL is
  // stored sealed; the options keep scheme, host and port for display.
  void move_secret_options(nlohmann::json& options, nlohmann::json& secrets) const override {
    const std::string url = options.value("url", "");
    if (url.empty()) return;
    secrets["url"] = url;
    const auto host_start = url.find("://") + 3;
    const auto path_start = url.find_first_of("/?#", host_start);
    options["url"] = path_start == std::string::npos ? url : url.substr(0, path_start) + "/***";
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>&, const model::Account* account,
                            const nlohmann::json&) const override {
    const Format& f = format_of(account);
    ValidationReport r;
    r.limit = f.limit;
    const bool utf8 = multivio::text::valid_utf8(text);
    r.length = utf8 ? multivio::text::code_points(text) : text.size();
    if (!utf8) {
      r.problems.push_back("text is not valid UTF-8");
    }
    if (multivio::text::trim(text).empty()) {
      r.problems.push_back("text is empty");
    }
    if (f.limit != 0 && r.length > f.limit) {
      r.problems.push_back("text is " + std::to_string(r.length) + " characters; " + std::string(f.name) +
                           " allows " + std::to_string(f.limit));
    }
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    const std::string context = request.account.ref();
    const ValidationReport report = validate(request.text, request.post.media, &request.account, nlohmann::json::object());
    if (!report.ok()) {
      std::string joined;
      for (const auto& p : report.problems) {
        joined += (joined.empty() ? "" : "; ") + p;
      }
      throw Error(ErrorKind::validation, context + ": " + joined);
    }

    const http::Request req = build(request, /*redacted=*/false);
    http::Response resp;
    try {
      resp = ctx_.http.send(req);
    } catch (const Error& e) {
      throw without_url(e, req, context);
    }
    if (!resp.ok()) {
      throw http::classify(resp, context);
    }

    PublishResult result;
    result.http_status = resp.status;
    // Receivers that create something may answer with its id; otherwise the
    // idempotency key is the stable handle for this delivery.
    const auto body = nlohmann::json::parse(resp.body, nullptr, false);
    if (body.is_object() && body.contains("id") && (body["id"].is_string() || body["id"].is_number_integer())) {
      result.remote_ids = {body["id"].is_string() ? body["id"].get<std::string>() : body["id"].dump()};
    } else {
      result.remote_ids = {request.idempotency_key};
    }
    return result;
  }

  Preview preview(const PublishRequest& request) const override {
    const http::Request req = build(request, /*redacted=*/true);
    return Preview{req.method, http::redact_url(req.url), req.headers, req.body};
  }

 private:
  http::Request build(const PublishRequest& r, bool redacted) const {
    // Accounts keep the real URL in their sealed secrets (see
    // move_secret_options); an account built in code may carry it in options.
    const nlohmann::json& holder = r.secrets.contains("url") ? r.secrets : r.account.options;
    const auto url = holder.find("url");
    if (url == holder.end() || !url->is_string()) {
      throw Error(ErrorKind::permanent, r.account.ref() + ": account has no 'url'; add it again with --url");
    }
    http::Request req;
    req.method = "POST";
    req.url = redacted && &holder == &r.secrets ? r.account.options.value("url", "") : url->get<std::string>();
    req.body = body(r, format_of(&r.account));
    req.connect_timeout = ctx_.config.daemon.connect_timeout;
    req.total_timeout = ctx_.config.daemon.http_timeout;
    req.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", r.idempotency_key}};
    if (const std::string secret = signing_secret(r.secrets); !secret.empty()) {
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch());
      req.headers.emplace_back("X-Multivio-Signature",
                               redacted ? "t=" + std::to_string(now.count()) + ",v1=***"
                                        : signature_header(secret, req.body, now.count()));
    }
    return req;
  }

  static std::string body(const PublishRequest& r, const Format& f) {
    Json j;
    if (f.name == "slack") {
      j = {{"text", r.text}};
    } else if (f.name == "discord") {
      j = {{"content", r.text}};
    } else {
      // Only file names: local paths mean nothing to the receiver and reveal the disk layout.
      Json media = Json::array();
      for (const auto& m : r.post.media) {
        media.push_back(std::filesystem::path(m).filename().string());
      }
      j = {
          {"post_id", r.post.id},
          {"target_id", r.target.id},
          {"account", r.account.ref()},
          {"text", r.text},
          {"media", std::move(media)},
          {"tags", r.post.tags},
          {"scheduled_at", r.post.scheduled_at ? Json(model::format_utc(*r.post.scheduled_at)) : Json(nullptr)},
          {"idempotency_key", r.idempotency_key},
      };
    }
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }

  // Slack and Discord webhook URLs carry their token in the path, which
  // redact_url cannot know about: name the account instead of the URL.
  static Error without_url(const Error& e, const http::Request& req, const std::string& context) {
    std::string message = e.what();
    const std::string prefix = req.method + " " + http::redact_url(req.url) + ": ";
    if (message.starts_with(prefix)) {
      message = req.method + ": " + message.substr(prefix.size());
    }
    Error out(e.kind(), context + ": " + message);
    out.retry_after = e.retry_after;
    out.outcome_unknown = e.outcome_unknown;
    out.http_status = e.http_status;
    return out;
  }

  Context ctx_;
};

}  // namespace

std::string signature_header(std::string_view secret, std::string_view body, std::int64_t unix_seconds) {
  const std::string t = std::to_string(unix_seconds);
  return "t=" + t + ",v1=" + crypto::hmac_sha256_hex(secret, t + "." + std::string(body));
}

std::unique_ptr<Adapter> make_adapter(const Context& context) { return std::make_unique<WebhookAdapter>(context); }

}  // namespace multivio::platforms::webhook
