// SPDX-License-Identifier: MIT
#include "cli/output/posts.hpp"

#include <optional>
#include <sstream>

#include "cli/output/table.hpp"
#include "common/schedule/when.hpp"

namespace multivio::cli::output {
namespace {

constexpr std::size_t kListTextWidth = 50;

std::string when(const model::Post& p, const std::string& zone) {
  return p.scheduled_at ? schedule::format_local(*p.scheduled_at, zone) : "-";
}

std::string target_refs(const model::Post& p) {
  std::vector<std::string> refs;
  for (const auto& t : p.targets) refs.push_back(t.account_ref);
  return join(refs);
}

// When the post will next be worked on: the earliest due target (a retry
// can make that differ from scheduled_at), none once nothing is pending.
std::optional<model::Timestamp> next_due(const model::Post& p) {
  std::optional<model::Timestamp> due;
  for (const auto& t : p.targets) {
    const bool pending = t.status == model::TargetStatus::scheduled || t.status == model::TargetStatus::retry_wait;
    if (pending && t.next_attempt_at && (!due || *t.next_attempt_at < *due)) due = t.next_attempt_at;
  }
  if (!due && p.status() == model::PostStatus::scheduled) due = p.scheduled_at;
  return due;
}

// "(scheduled, 2026-12-01 09:00:00 CET)", or "(draft)" when nothing is due.
std::string status_and_time(const Printer& out, const model::Post& p, const std::string& zone) {
  const auto status = std::string(model::to_string(p.status()));
  const auto due = next_due(p);
  return "(" + out.status(status) + (due ? ", " + schedule::format_local(*due, zone) : "") + ")";
}

void print_lines(const Printer& out, const std::string& text, const std::string& indent) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.line(line.empty() ? line : indent + line);
}

std::string plural(int n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

}  // namespace

void show_created(const Printer& out, const app::NewPostResult& r, const std::string& zone) {
  if (out.json()) {
    auto doc = model::to_json(r.post);
    doc["created"] = r.created;
    return out.json_doc(doc);
  }
  if (out.quiet()) return out.line(std::to_string(r.post.id));
  const std::string id = std::to_string(r.post.id);
  if (!r.created) {
    out.line("Post " + id + " already exists for key '" + r.post.key + "'; nothing new was created " +
             status_and_time(out, r.post, zone));
    return;
  }
  out.line("Created post " + id + " " + status_and_time(out, r.post, zone) + " for " + target_refs(r.post));
}

void show_changed(const Printer& out, const model::Post& p, std::string_view verb, const std::string& zone) {
  if (out.json()) return out.json_doc(model::to_json(p));
  if (out.quiet()) return;
  out.line(std::string(verb) + " post " + std::to_string(p.id) + " " + status_and_time(out, p, zone));
}

void show_deleted(const Printer& out, std::int64_t id) {
  if (out.json()) return out.json_doc({{"id", id}, {"deleted", true}});
  if (out.quiet()) return;
  out.line("Deleted post " + std::to_string(id));
}

void show_posts(const Printer& out, const std::vector<model::Post>& posts, const std::string& zone) {
  // Written without a JSON DOM: thousands of posts print in milliseconds.
  if (out.json()) return out.json_text(model::posts_json(posts));
  if (posts.empty()) return out.note("No posts match.");
  Table table({"ID", "STATUS", "WHEN", "TARGETS", "TEXT"});
  for (const auto& p : posts) {
    table.add({std::to_string(p.id), std::string(model::to_string(p.status())), when(p, zone), target_refs(p),
               one_line(p.text, kListTextWidth)});
  }
  for (const auto& line :
       table.lines([&](std::size_t col, const std::string& cell) { return col == 1 ? out.status(cell) : cell; })) {
    out.line(line);
  }
}

void show_post(const Printer& out, const model::Post& p, const std::string& zone) {
  if (out.json()) return out.json_doc(model::to_json(p));

  out.line(out.paint("post " + std::to_string(p.id), Color::bold) + "  " +
           out.status(std::string(model::to_string(p.status()))));
  Table fields;
  fields.add({"when", when(p, zone)});
  fields.add({"created", schedule::format_local(p.created_at, zone)});
  if (p.updated_at != p.created_at) fields.add({"updated", schedule::format_local(p.updated_at, zone)});
  if (!p.tags.empty()) fields.add({"tags", join(p.tags)});
  if (!p.key.empty()) fields.add({"key", p.key});
  for (const auto& m : p.media) fields.add({"media", m});
  for (const auto& line : fields.lines()) out.line(line);
  out.line();
  print_lines(out, p.text, "  ");

  out.line();
  out.line(out.paint("targets", Color::bold));
  for (const auto& t : p.targets) {
    out.line("  " + t.account_ref + " (" + t.platform + ")  " + out.status(std::string(model::to_string(t.status))) +
             "  " + plural(t.attempts, "attempt"));
    Table details;
    if (t.next_attempt_at && (t.status == model::TargetStatus::retry_wait ||
                              t.status == model::TargetStatus::scheduled)) {
      details.add({"next", schedule::format_local(*t.next_attempt_at, zone)});
    }
    if (t.published_at) details.add({"published", schedule::format_local(*t.published_at, zone)});
    if (!t.remote_ids.empty()) details.add({"remote", join(t.remote_ids)});
    if (!t.remote_url.empty()) details.add({"url", t.remote_url});
    if (!t.error.empty()) details.add({"error", out.paint(t.error, Color::red)});
    if (t.variant) details.add({"text", one_line(*t.variant, 0)});
    for (const auto& line : details.lines()) out.line("    " + line);
  }
}

void show_checks(const Printer& out, const std::vector<app::CheckResult>& checks) {
  if (out.json()) {
    auto doc = nlohmann::json::array();
    for (const auto& c : checks) doc.push_back(app::to_json(c));
    return out.json_doc(doc);
  }
  Table table;
  for (const auto& c : checks) {
    const auto& r = c.report;
    std::string size = std::to_string(r.length) + (r.limit > 0 ? "/" + std::to_string(r.limit) : "");
    table.add({c.target, r.ok() ? "ok" : "FAIL", size, r.parts > 1 ? plural(r.parts, "part") : ""});
  }
  const auto lines = table.lines([&](std::size_t col, const std::string& cell) {
    return col == 1 ? out.status(cell) : cell;
  });
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out.line(lines[i]);
    for (const auto& problem : checks[i].report.problems) out.line("  - " + problem);
  }
}

void show_previews(const Printer& out, const model::Post& p, const std::vector<app::TargetPreview>& previews,
                   const std::string& zone) {
  if (out.json()) {
    auto targets = nlohmann::json::array();
    for (const auto& preview : previews) targets.push_back(app::to_json(preview));
    return out.json_doc({{"dry_run", true}, {"post", model::to_json(p)}, {"previews", targets}});
  }
  out.note("Dry run: nothing was stored or sent.");
  out.line("post " + (p.id != 0 ? std::to_string(p.id) + " " : "") + status_and_time(out, p, zone));
  for (const auto& preview : previews) {
    out.line();
    out.line(out.paint(preview.account + " (" + preview.platform + ")", Color::bold));
    out.line("  " + preview.request.method + " " + preview.request.url);
    for (const auto& [name, value] : preview.request.headers) out.line("  " + name + ": " + value);
    if (!preview.request.body.empty()) {
      out.line();
      print_lines(out, preview.request.body, "  ");
    }
  }
}

void show_published(const Printer& out, const app::PublishOutcome& outcome) {
  if (out.json()) return out.json_doc(model::to_json(outcome.post));
  Table table;
  for (const auto& t : outcome.post.targets) {
    const std::string status(model::to_string(t.status));
    const std::string detail = !t.error.empty() ? t.error : !t.remote_url.empty() ? t.remote_url : join(t.remote_ids);
    table.add({t.account_ref, status, detail});
  }
  for (const auto& line : table.lines([&](std::size_t col, const std::string& cell) {
         return col == 1 ? out.status(cell) : cell;
       })) {
    out.line(line);
  }
}

}  // namespace multivio::cli::output
