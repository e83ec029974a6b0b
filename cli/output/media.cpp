// SPDX-License-Identifier: MIT
#include "cli/output/media.hpp"

#include "cli/output/table.hpp"

namespace multivio::cli::output {
namespace {

// "640x480", "1:30.5" or "-": the one column that differs between images and video.
std::string shape(const store::MediaItem& m) {
  if (m.width && m.height) return std::to_string(*m.width) + "x" + std::to_string(*m.height);
  if (m.duration_ms) {
    const std::int64_t ms = *m.duration_ms;
    std::string secs = std::to_string(ms / 1000 % 60);
    if (secs.size() < 2) secs = "0" + secs;
    const std::int64_t tenths = ms % 1000 / 100;
    return std::to_string(ms / 60000) + ":" + secs + (tenths ? "." + std::to_string(tenths) : "");
  }
  return "-";
}

}  // namespace

void show_added_media(const Printer& out, const app::AddedMedia& added) {
  if (out.json()) {
    auto doc = app::to_json(added.item);
    doc["created"] = added.created;
    return out.json_doc(doc);
  }
  out.line(std::to_string(added.item.id));
  out.note(std::string(added.created ? "added" : "already in the library as") + " media " +
           std::to_string(added.item.id) + " (" + added.item.kind + ", " + shape(added.item) + ")");
}

void show_media(const Printer& out, const store::MediaItem& m) {
  if (out.json()) return out.json_doc(app::to_json(m));
  out.line("id:       " + std::to_string(m.id));
  out.line("kind:     " + m.kind + " (" + m.mime + ")");
  if (m.width && m.height) out.line("size:     " + std::to_string(*m.width) + "x" + std::to_string(*m.height));
  if (m.duration_ms) out.line("duration: " + shape(m) + " (" + std::to_string(*m.duration_ms) + " ms)");
  out.line("bytes:    " + std::to_string(m.bytes));
  out.line("sha256:   " + m.sha256);
  out.line("path:     " + m.path);
  out.line("alt:      " + (m.alt.empty() ? std::string("-") : m.alt));
  out.line("added:    " + model::format_utc(m.created_at));
}

void show_media_list(const Printer& out, const std::vector<store::MediaItem>& items) {
  if (out.json()) {
    auto doc = nlohmann::json::array();
    for (const auto& m : items) doc.push_back(app::to_json(m));
    return out.json_doc(doc);
  }
  Table table({"ID", "KIND", "SIZE", "BYTES", "ALT", "ADDED"});
  for (const auto& m : items) {
    table.add({std::to_string(m.id), m.kind, shape(m), std::to_string(m.bytes), m.alt.empty() ? "-" : m.alt,
               model::format_utc(m.created_at)});
  }
  for (const auto& line : table.lines()) out.line(line);
}

}  // namespace multivio::cli::output
