// SPDX-License-Identifier: MIT
// Where notifications go: a webhook (JSON, Slack or Discord) and email (SMTP
// through libcurl, or the HTTP APIs of Resend, SendGrid and Mailgun). Each
// channel sends one batch as one message and knows nothing about batching.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/http/client.hpp"
#include "common/notify/message.hpp"

namespace multivio::notify {

/// Reads an environment variable; "" when unset. Secrets come only from here.
using EnvFn = std::function<std::string(const std::string&)>;

class Channel {
 public:
  virtual ~Channel() = default;
  /// "webhook (slack)", "email (resend)": names the channel in logs and
  /// errors; never a secret.
  virtual const std::string& name() const = 0;
  /// Delivers the batch as one message. Throws Error (classified as
  /// http::classify does; auth when a secret is missing or refused) whose
  /// message starts with name() and never contains a secret: API keys,
  /// passwords and the path of a webhook URL (Slack and Discord put their
  /// token there) are replaced by "***".
  virtual void send(const Batch& batch) = 0;
};

/// The channels `cfg` turns on: the webhook when webhook_url is set, email
/// when email.to is set. Secrets are read through `env` at each send, so a
/// missing variable is reported per delivery. Throws Error(usage) when the
/// email section is incomplete (config::load reports that with file:line
/// before this is reached). `client` must outlive the channels.
std::vector<std::unique_ptr<Channel>> make_channels(const config::NotifyConfig& cfg, http::Client& client,
                                                    EnvFn env);

/// application/x-www-form-urlencoded value (RFC 3986 unreserved kept, the rest %XX).
std::string form_encode(std::string_view value);

}  // namespace multivio::notify
