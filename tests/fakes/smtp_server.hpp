// SPDX-License-Identifier: MIT
// A minimal SMTP server (RFC 5321) on 127.0.0.1 for tests: plain text, no
// TLS (it does not offer STARTTLS, so clients must be told not to require
// it). Speaks EHLO/HELO, AUTH PLAIN and LOGIN (RFC 4954, with or without an
// initial response), MAIL FROM, RCPT TO, DATA (undoing dot-stuffing), RSET,
// NOOP and QUIT; commands out of order get 503 as a real server answers.
// Records every accepted message. Thread-safe; one thread per connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace multivio::fakes {

class SmtpServer {
 public:
  struct Message {
    std::string from;                 // MAIL FROM address, without <>
    std::vector<std::string> rcpts;   // RCPT TO addresses, without <>
    std::string data;                 // the message as sent, dot-stuffing undone, CRLF line ends
    std::string auth_user;            // empty when the session did not authenticate
    std::string helo;                 // the EHLO/HELO argument

    /// The value of the first header with this name (case-insensitive),
    /// unfolded; "" when absent.
    std::string header(const std::string& name) const;
    /// Everything after the blank line ending the headers.
    std::string body() const;
  };

  /// Binds 127.0.0.1 on a free port and starts accepting. Throws
  /// std::runtime_error when no socket can be bound (tests GTEST_SKIP then).
  SmtpServer();
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  /// Stops accepting, closes open sessions and joins all threads.
  void stop();

  int port() const;
  std::string url() const;  // "smtp://127.0.0.1:PORT"

  /// Advertises AUTH with these mechanisms (PLAIN and/or LOGIN) and refuses
  /// MAIL FROM with 530 until a client logs in as user/password; wrong
  /// credentials get 535.
  void require_auth(std::string user, std::string password, std::vector<std::string> mechanisms = {"PLAIN", "LOGIN"});
  /// RCPT TO for this address gets "550 5.1.1 mailbox unavailable".
  void reject_recipient(std::string address);
  /// The end of the next `count` DATA transfers gets this reply instead of
  /// 250 (e.g. 451 or 554), and the message is not recorded.
  void fail_data(int code, std::size_t count = 1);

  std::vector<Message> messages() const;
  std::size_t count() const;
  /// True once at least n messages were accepted, false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;
  /// Every command line received, in order; AUTH payloads are shown as "***".
  std::vector<std::string> transcript() const;
  /// Every reply line sent, in order (for diagnosing a failing test).
  std::vector<std::string> replies() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
