// SPDX-License-Identifier: MIT
// What a notification says: the events (a target failed, ended unknown, is
// overdue; an account needs re-linking) and how a batch of them is written
// for each channel (JSON, Slack, Discord, email text and MIME).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/model/model.hpp"

namespace multivio::notify {

struct Event {
  enum class Kind { target_failed, target_unknown, account_needs_relink, overdue };
  Kind kind = Kind::target_failed;
  std::int64_t post_id = 0;    // 0 when not about a post (account_needs_relink)
  std::int64_t target_id = 0;  // 0 when not about a target
  std::string account;         // REF "platform:name", may be empty
  std::string platform;
  std::string message;         // what happened, one line; never a secret
  model::Timestamp at{};       // when it was noticed; the batch window counts from here
};

/// "target_failed", "target_unknown", "account_needs_relink", "overdue".
std::string_view to_string(Event::Kind kind) noexcept;
/// {"kind","post_id","target_id","account","platform","message","at"}; ids
/// that are 0 are null.
nlohmann::json to_json(const Event& event);

/// Events sent together as one message on one channel.
struct Batch {
  std::vector<Event> events;
  std::size_t dropped = 0;  // older events given up because the queue was full
  model::Timestamp now{};   // when the batch is sent (email Date header)
};

/// "3 targets failed, 1 account needs re-linking".
std::string headline(const Batch& batch);

/// One line per event ("- failed: post 12, target 34 on x:alice: HTTP 500
/// (2026-05-01T10:00:00Z)"); the message is flattened to one line (control
/// characters become spaces, invalid UTF-8 '?') and cut at 200 characters.
std::string event_line(const Event& event);

/// headline + ":" and the event lines, at most max_lines of them and at most
/// max_chars code points in all (0: no limit), then "... and N more" for the
/// rest and a note about dropped events.
std::string render_text(const Batch& batch, std::size_t max_lines = 50, std::size_t max_chars = 0);

/// The webhook body for format json ({"summary","text","events":[...],
/// "dropped"}), slack ({"text"}) or discord ({"content"}, at most 2000
/// characters).
std::string webhook_body(std::string_view format, const Batch& batch);

/// subject_prefix + " " + headline.
std::string email_subject(std::string_view subject_prefix, const Batch& batch);
/// render_text plus a closing line.
std::string email_text(const Batch& batch);

/// A complete text/plain RFC 5322 message with CRLF line ends (Date,
/// From, To, Subject (RFC 2047 when not ASCII), Message-ID, MIME headers,
/// Auto-Submitted). CR and LF in header values are replaced by spaces.
std::string compose_mime(const std::string& from, const std::vector<std::string>& to, const std::string& subject,
                         const std::string& text, model::Timestamp date);

}  // namespace multivio::notify
