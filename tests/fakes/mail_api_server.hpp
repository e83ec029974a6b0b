// SPDX-License-Identifier: MIT
// The HTTP mail APIs of Resend, SendGrid and Mailgun on one 127.0.0.1 server
// for tests, at their documented paths: POST /emails (Resend), POST
// /v3/mail/send (SendGrid), POST /v3/<domain>/messages (Mailgun). Each
// checks its credentials and required fields the way the real service does
// and answers with its real status codes and body shapes:
//   Resend:   200 {"id"}; 401 no key, 403 wrong key, 400 invalid JSON,
//             422 missing or invalid field.
//   SendGrid: 202 with an empty body; 401 bad key, 400 {"errors":[...]}.
//   Mailgun:  200 {"id","message":"Queued. Thank you."}; 401 "Forbidden",
//             404 unknown domain, 400 {"message":"from parameter is missing"}.
// Records every request and every accepted mail. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multivio::fakes {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class MailApiServer {
 public:
  static constexpr const char* kResendKey = "re_test_5f2a9c";
  static constexpr const char* kSendgridKey = "SG.test.7b41e0";
  static constexpr const char* kMailgunKey = "key-test-93d1aa";
  static constexpr const char* kMailgunDomain = "mg.example.com";

  struct Mail {
    std::string provider;  // resend, sendgrid, mailgun
    std::string from;      // as sent ("Name <a@b>" or "a@b"; SendGrid: the from.email)
    std::vector<std::string> to;
    std::string subject;
    std::string text;
  };

  struct Received {
    std::string provider;  // "" for a path none of the APIs has
    std::string method;
    std::string path;
    HeaderList headers;
    std::string body;
    int status = 0;
    std::string error;  // why it was refused; "" when accepted

    std::optional<std::string> header(std::string_view name) const;
  };

  /// Binds 127.0.0.1 on a free port and starts serving with the k* keys.
  /// Throws std::runtime_error when no socket can be bound.
  MailApiServer();
  ~MailApiServer();
  MailApiServer(const MailApiServer&) = delete;
  MailApiServer& operator=(const MailApiServer&) = delete;

  void stop();
  std::string base_url() const;  // "http://127.0.0.1:PORT"

  void set_resend_key(std::string key);
  void set_sendgrid_key(std::string key);
  void set_mailgun(std::string domain, std::string key);
  /// The next `count` requests that pass every check are answered with this
  /// status and body instead (e.g. 500, 429) and not recorded as mails.
  void fail_next(int status, std::string body = "", std::size_t count = 1);

  std::vector<Mail> mails() const;
  std::vector<Received> received() const;
  std::size_t count() const;  // requests received

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
