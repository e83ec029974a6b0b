// SPDX-License-Identifier: MIT
#include "common/notify/channels.hpp"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/smtp.hpp"
#include "common/text/text.hpp"

namespace multivio::notify {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMaxConnectTimeout{10'000};

// "https://hooks.slack.com/services/T/B/X" -> "https://hooks.slack.com".
std::string url_origin(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return "(invalid URL)";
  std::string origin = url.substr(0, url.find_first_of("/?#", scheme + 3));
  const auto at = origin.find('@', scheme + 3);
  if (at != std::string::npos) origin.erase(scheme + 3, at + 1 - (scheme + 3));  // no userinfo
  return origin;
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size())) {
    s.replace(pos, what.size(), with);
  }
}

// The same error with every secret replaced by "***" and `prefix` in front
// unless it is already there.
using Secrets = std::vector<std::pair<std::string, std::string>>;  // secret -> what replaces it

Error scrubbed(const Error& e, const std::string& prefix, const Secrets& secrets) {
  std::string message = e.what();
  for (const auto& [secret, replacement] : secrets) replace_all(message, secret, replacement);
  if (!message.starts_with(prefix)) message = prefix + ": " + message;
  Error out(e.kind(), message);
  out.retry_after = e.retry_after;
  out.outcome_unknown = e.outcome_unknown;
  out.http_status = e.http_status;
  return out;
}

std::string trim_slash(std::string s) {
  while (s.ends_with('/')) s.pop_back();
  return s;
}

http::Request post(const std::string& url, milliseconds timeout) {
  http::Request request;
  request.method = "POST";
  request.url = url;
  request.total_timeout = timeout;
  request.connect_timeout = std::min(timeout, kMaxConnectTimeout);
  return request;
}

class WebhookChannel final : public Channel {
 public:
  WebhookChannel(const config::NotifyConfig& cfg, http::Client& client)
      : client_(client),
        url_(cfg.webhook_url),
        format_(cfg.webhook_format),
        timeout_(cfg.timeout),
        name_("webhook (" + format_ + ")") {
    const std::string origin = url_origin(url_);
    const std::string hidden = origin + "/***";
    secrets_ = {{url_, hidden}, {http::redact_url(url_), hidden}};
    const std::string rest = url_.size() > origin.size() ? url_.substr(origin.size()) : std::string();
    if (rest.size() > 1) secrets_.emplace_back(rest, "/***");
    // The token alone (Slack and Discord put it last), in case a reply quotes it.
    const std::string path = rest.substr(0, rest.find_first_of("?#"));
    const std::string token = path.substr(path.find_last_of('/') + 1);
    if (token.size() >= 6) secrets_.emplace_back(token, "***");
    context_ = name_ + " " + hidden;
  }

  const std::string& name() const override { return name_; }

  void send(const Batch& batch) override {
    http::Request request = post(url_, timeout_);
    request.headers = {{"Content-Type", "application/json"}};
    request.body = webhook_body(format_, batch);
    try {
      const http::Response response = client_.send(request);
      if (!response.ok()) throw http::classify(response, context_);
    } catch (const Error& e) {
      throw scrubbed(e, name_, secrets_);
    }
  }

 private:
  http::Client& client_;
  std::string url_;
  std::string format_;
  milliseconds timeout_;
  std::string name_;
  std::string context_;
  Secrets secrets_;
};

// Shared by the four email providers: subject and text, secrets from the
// environment, scrubbing.
class EmailChannel : public Channel {
 public:
  EmailChannel(const config::NotifyEmailConfig& cfg, milliseconds timeout, EnvFn env)
      : cfg_(cfg), timeout_(timeout), env_(std::move(env)), name_("email (" + cfg.provider + ")") {}

  const std::string& name() const override { return name_; }

  void send(const Batch& batch) override {
    secrets_.clear();
    try {
      deliver(batch, email_subject(cfg_.subject_prefix, batch), email_text(batch));
    } catch (const Error& e) {
      throw scrubbed(e, name_, secrets_);
    }
  }

 protected:
  virtual void deliver(const Batch& batch, const std::string& subject, const std::string& text) = 0;

  // The value of `var`, remembered for scrubbing. Error(auth) when unset.
  std::string secret(const std::string& var, std::string_view what) {
    std::string value = env_ ? env_(var) : std::string();
    if (value.empty()) {
      throw Error(ErrorKind::auth, name_ + ": environment variable " + var + " (" + std::string(what) + ") is not set");
    }
    remember(value);
    return value;
  }

  void remember(const std::string& secret) {
    // Long before short, so a secret containing another is hidden whole.
    secrets_.emplace_back(secret, "***");
    std::stable_sort(secrets_.begin(), secrets_.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }

  // POSTs and turns a non-2xx answer into an Error.
  void post_checked(http::Client& client, http::Request request) {
    const http::Response response = client.send(request);
    if (!response.ok()) throw http::classify(response, name_ + " " + url_origin(request.url));
  }

  const config::NotifyEmailConfig cfg_;  // a copy: the daemon may reload its config
  milliseconds timeout_;
  EnvFn env_;
  std::string name_;
  Secrets secrets_;
};

class SmtpChannel final : public EmailChannel {
 public:
  SmtpChannel(const config::NotifyEmailConfig& cfg, milliseconds timeout, EnvFn env)
      : EmailChannel(cfg, timeout, std::move(env)) {
    if (!cfg.starttls && cfg.smtp_url.starts_with("smtp://") && !cfg.username_env.empty()) {
      spdlog::warn("notify: notify.email.starttls is off: the SMTP password for {} travels in clear text",
                   http::redact_url(cfg.smtp_url));
    }
  }

 protected:
  void deliver(const Batch& batch, const std::string& subject, const std::string& text) override {
    http::SmtpRequest request;
    request.url = cfg_.smtp_url;
    request.starttls = cfg_.starttls;
    request.from = cfg_.from;
    request.recipients = cfg_.to;
    request.message = compose_mime(cfg_.from, cfg_.to, subject, text, batch.now);
    request.total_timeout = timeout_;
    request.connect_timeout = std::min(timeout_, kMaxConnectTimeout);
    if (!cfg_.username_env.empty()) {
      request.username = env_ ? env_(cfg_.username_env) : std::string();
      if (request.username.empty()) {
        throw Error(ErrorKind::auth, name_ + ": environment variable " + cfg_.username_env +
                                         " (SMTP username) is not set");
      }
      request.password = secret(cfg_.password_env, "SMTP password");
    }
    http::send_mail(request);
  }
};

class ResendChannel final : public EmailChannel {
 public:
  ResendChannel(const config::NotifyEmailConfig& cfg, milliseconds timeout, EnvFn env, http::Client& client)
      : EmailChannel(cfg, timeout, std::move(env)), client_(client) {}

 protected:
  void deliver(const Batch&, const std::string& subject, const std::string& text) override {
    const std::string key = secret(cfg_.api_key_env.empty() ? "RESEND_API_KEY" : cfg_.api_key_env, "API key");
    http::Request request =
        post(trim_slash(cfg_.api_base.empty() ? "https://api.resend.com" : cfg_.api_base) + "/emails", timeout_);
    request.headers = {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
    request.body = nlohmann::json{{"from", cfg_.from}, {"to", cfg_.to}, {"subject", subject}, {"text", text}}.dump();
    post_checked(client_, std::move(request));
  }

 private:
  http::Client& client_;
};

// {"email": "a@b"} or {"email": "a@b", "name": "Ops"} from "Ops <a@b>".
nlohmann::json sendgrid_address(const std::string& mailbox) {
  nlohmann::json out = {{"email", http::mail_address(mailbox)}};
  const auto open = mailbox.rfind('<');
  if (open != std::string::npos) {
    std::string name(text::trim(std::string_view(mailbox).substr(0, open)));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    if (!name.empty()) out["name"] = name;
  }
  return out;
}

class SendgridChannel final : public EmailChannel {
 public:
  SendgridChannel(const config::NotifyEmailConfig& cfg, milliseconds timeout, EnvFn env, http::Client& client)
      : EmailChannel(cfg, timeout, std::move(env)), client_(client) {}

 protected:
  void deliver(const Batch&, const std::string& subject, const std::string& text) override {
    const std::string key = secret(cfg_.api_key_env.empty() ? "SENDGRID_API_KEY" : cfg_.api_key_env, "API key");
    http::Request request = post(
        trim_slash(cfg_.api_base.empty() ? "https://api.sendgrid.com" : cfg_.api_base) + "/v3/mail/send", timeout_);
    request.headers = {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
    nlohmann::json to = nlohmann::json::array();
    for (const auto& address : cfg_.to) to.push_back(sendgrid_address(address));
    request.body = nlohmann::json{{"personalizations", {{{"to", std::move(to)}}}},
                                  {"from", sendgrid_address(cfg_.from)},
                                  {"subject", subject},
                                  {"content", {{{"type", "text/plain"}, {"value", text}}}}}
                       .dump();
    post_checked(client_, std::move(request));  // 202 Accepted, empty body
  }

 private:
  http::Client& client_;
};

class MailgunChannel final : public EmailChannel {
 public:
  MailgunChannel(const config::NotifyEmailConfig& cfg, milliseconds timeout, EnvFn env, http::Client& client)
      : EmailChannel(cfg, timeout, std::move(env)), client_(client) {}

 protected:
  void deliver(const Batch&, const std::string& subject, const std::string& text) override {
    const std::string key = secret(cfg_.api_key_env.empty() ? "MAILGUN_API_KEY" : cfg_.api_key_env, "API key");
    const std::string basic = crypto::base64_encode("api:" + key);
    remember(basic);
    http::Request request = post(trim_slash(cfg_.api_base.empty() ? "https://api.mailgun.net" : cfg_.api_base) +
                                     "/v3/" + form_encode(cfg_.domain) + "/messages",
                                 timeout_);
    request.headers = {{"Authorization", "Basic " + basic}, {"Content-Type", "application/x-www-form-urlencoded"}};
    std::string body = "from=" + form_encode(cfg_.from);
    for (const auto& address : cfg_.to) body += "&to=" + form_encode(address);
    body += "&subject=" + form_encode(subject) + "&text=" + form_encode(text);
    request.body = std::move(body);
    post_checked(client_, std::move(request));
  }

 private:
  http::Client& client_;
};

}  // namespace

std::string form_encode(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
        u == '_' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0x0f];
    }
  }
  return out;
}

std::vector<std::unique_ptr<Channel>> make_channels(const config::NotifyConfig& cfg, http::Client& client,
                                                    EnvFn env) {
  std::vector<std::unique_ptr<Channel>> out;
  if (!cfg.webhook_url.empty()) out.push_back(std::make_unique<WebhookChannel>(cfg, client));
  const auto& email = cfg.email;
  if (!email.enabled()) return out;
  if (email.from.empty()) throw_usage("notify.email: 'from' is required");
  if (email.provider == "smtp") {
    if (email.smtp_url.empty()) throw_usage("notify.email: 'smtp_url' is required for provider smtp");
    if (email.username_env.empty() != email.password_env.empty()) {
      throw_usage("notify.email: set both 'username_env' and 'password_env', or neither");
    }
    out.push_back(std::make_unique<SmtpChannel>(email, cfg.timeout, std::move(env)));
  } else if (email.provider == "resend") {
    out.push_back(std::make_unique<ResendChannel>(email, cfg.timeout, std::move(env), client));
  } else if (email.provider == "sendgrid") {
    out.push_back(std::make_unique<SendgridChannel>(email, cfg.timeout, std::move(env), client));
  } else if (email.provider == "mailgun") {
    if (email.domain.empty()) throw_usage("notify.email: 'domain' is required for provider mailgun");
    out.push_back(std::make_unique<MailgunChannel>(email, cfg.timeout, std::move(env), client));
  } else {
    throw_usage("notify.email.provider: expected one of smtp, resend, sendgrid, mailgun; got '" + email.provider +
                "'");
  }
  return out;
}

}  // namespace multivio::notify
