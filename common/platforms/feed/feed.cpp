// SPDX-License-Identifier: MIT
#include "common/platforms/feed/feed.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <utility>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::feed {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // keeps log lines in a readable field order

namespace {

constexpr const char* k_atom_file = "feed.atom";
constexpr const char* k_log_file = "feed.jsonl";
constexpr const char* k_lock_file = ".feed.lock";
constexpr std::size_t k_title_code_points = 80;

// Local file failures are transient (a full disk empties) and never leave an
// unknown outcome: a retry finds an entry already logged and does not add it twice.
[[noreturn]] void throw_io(const std::string& context, const std::string& what, const fs::path& path,
                           int err) {
  throw Error(ErrorKind::transient, context + ": cannot " + what + " " + path.string() + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void write_all(int fd, std::string_view data, const std::string& context, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_io(context, "write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Held while reading the log and rewriting the Atom file. flock locks belong
// to the open file description, so this also serialises threads of one process.
class DirLock {
 public:
  DirLock(const fs::path& dir, const std::string& context)
      : fd_(::open((dir / k_lock_file).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_.get() < 0) {
      throw_io(context, "open", dir / k_lock_file, errno);
    }
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) {
        throw_io(context, "lock", dir / k_lock_file, errno);
      }
    }
  }  // the lock goes away with the descriptor

 private:
  Fd fd_;
};

// The newest `n` well-formed lines of the log, oldest first. Reads backwards
// so a long log costs no more than its tail.
std::vector<Json> read_tail(const fs::path& path, std::size_t n, const std::string& context) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return {};
    }
    throw_io(context, "open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw_io(context, "stat", path, errno);
  }
  off_t pos = st.st_size;
  std::string data;
  constexpr off_t chunk = 64 * 1024;
  while (pos > 0 && static_cast<std::size_t>(std::count(data.begin(), data.end(), '\n')) <= n) {
    const off_t start = std::max<off_t>(0, pos - chunk);
    std::string buf(static_cast<std::size_t>(pos - start), '\0');
    std::size_t got = 0;
    while (got < buf.size()) {
      const ssize_t r = ::pread(fd.get(), buf.data() + got, buf.size() - got, start + static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r <= 0) {
        throw_io(context, "read", path, r < 0 ? errno : EIO);
      }
      got += static_cast<std::size_t>(r);
    }
    data.insert(0, buf);
    pos = start;
  }

  std::vector<std::string_view> lines;
  std::string_view rest(data);
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  if (pos > 0 && !lines.empty()) {
    lines.erase(lines.begin());  // starts mid-line
  }
  std::vector<Json> entries;
  for (auto it = lines.rbegin(); it != lines.rend() && entries.size() < n; ++it) {
    // A hand-edited or torn line is skipped rather than failing every publish.
    auto j = Json::parse(*it, nullptr, false);
    if (j.is_object() && j.contains("id") && j["id"].is_string()) {
      entries.push_back(std::move(j));
    }
  }
  std::reverse(entries.begin(), entries.end());
  return entries;
}

void append_line(const fs::path& path, std::string line, const std::string& context) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) {
    throw_io(context, "open", path, errno);
  }
  // After a crash mid-write the log may end without a newline; never glue a
  // new entry onto the torn one.
  struct stat st {};
  char last = '\n';
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
    Fd reader(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (reader.get() >= 0 && ::pread(reader.get(), &last, 1, st.st_size - 1) != 1) {
      last = '\n';
    }
  }
  if (last != '\n') {
    line.insert(0, "\n");
  }
  line.push_back('\n');
  write_all(fd.get(), line, context, path);
  if (::fsync(fd.get()) != 0) {
    throw_io(context, "sync", path, errno);
  }
}

// Readers see the old file or the new one, never a half-written one.
void replace_file(const fs::path& path, std::string_view content, const std::string& context) {
  std::string tmpl = (path.parent_path() / ("." + path.filename().string() + ".XXXXXX")).string();
  Fd fd(::mkstemp(tmpl.data()));
  if (fd.get() < 0) {
    throw_io(context, "create a temporary file in", path.parent_path(), errno);
  }
  try {
    write_all(fd.get(), content, context, tmpl);
    if (::fchmod(fd.get(), 0644) != 0 || ::fsync(fd.get()) != 0) {
      throw_io(context, "sync", tmpl, errno);
    }
    if (::close(fd.release()) != 0) {
      throw_io(context, "close", tmpl, errno);
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
      throw_io(context, "rename to", path, errno);
    }
  } catch (...) {
    ::unlink(tmpl.c_str());
    throw;
  }
}

std::string first_line_title(std::string_view text) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = multivio::text::trim(text.substr(0, nl));
    if (!line.empty()) {
      return multivio::text::truncate_code_points(line, k_title_code_points);
    }
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return "(no text)";
}

// Account names may hold characters a URN may not.
std::string urn_part(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', hex[c >> 4], hex[c & 15]};
    }
  }
  return out;
}

template <typename J>
std::string json_string(const J& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->template get<std::string>() : std::string();
}

// Atom 1.0 (RFC 4287) from log entries, newest first.
std::string render_atom(const model::Account& account, const std::string& title,
                        const std::vector<Json>& newest_first) {
  const std::string updated = newest_first.empty() ? model::format_utc(std::chrono::floor<std::chrono::milliseconds>(
                                                         std::chrono::system_clock::now()))
                                                   : json_string(newest_first.front(), "published_at");
  std::string out;
  out += "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  out += "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
  out += "  <id>urn:multivio:feed:" + xml_escape(urn_part(account.name)) + "</id>\n";
  out += "  <title>" + xml_escape(title) + "</title>\n";
  out += "  <updated>" + xml_escape(updated) + "</updated>\n";
  out += "  <author><name>" + xml_escape(account.handle.empty() ? account.name : account.handle) +
         "</name></author>\n";
  out += "  <generator>multivio</generator>\n";
  for (const auto& e : newest_first) {
    const std::string text = json_string(e, "text");
    const std::string when = xml_escape(json_string(e, "published_at"));
    out += "  <entry>\n";
    out += "    <id>" + xml_escape(json_string(e, "id")) + "</id>\n";
    out += "    <title>" + xml_escape(first_line_title(text)) + "</title>\n";
    out += "    <published>" + when + "</published>\n";
    out += "    <updated>" + when + "</updated>\n";
    if (auto tags = e.find("tags"); tags != e.end() && tags->is_array()) {
      for (const auto& t : *tags) {
        if (t.is_string()) {
          out += "    <category term=\"" + xml_escape(t.get<std::string>()) + "\"/>\n";
        }
      }
    }
    // Media is not copied into the feed; the entry only names the files.
    if (auto media = e.find("media"); media != e.end() && media->is_array()) {
      for (const auto& m : *media) {
        if (m.is_string()) {
          out += "    <category scheme=\"urn:multivio:media\" term=\"" + xml_escape(m.get<std::string>()) +
                 "\"/>\n";
        }
      }
    }
    out += "    <content type=\"text\">" + xml_escape(text) + "</content>\n";
    out += "  </entry>\n";
  }
  out += "</feed>\n";
  return out;
}

class FeedAdapter final : public Adapter {
 public:
  explicit FeedAdapter(const Context& context) : ctx_(context) {}

  std::string_view name() const override { return "feed"; }

  Capabilities capabilities(const model::Account*) const override {
    Capabilities c;
    c.max_length = 0;
    c.media = true;            // named in the entry, not copied
    // An entry id already among the newest max_entries log lines is not
    // appended again, so a retry after an unknown outcome cannot duplicate.
    c.idempotency_key = true;
    c.needs_credentials = false;
    return c;
  }

  void configure_account(nlohmann::json& options) const override {
    check_option_keys("feed", options, {"path", "title"});
    if (!options.contains("path") || !options["path"].is_string() || options["path"].get<std::string>().empty()) {
      throw_usage("feed: option 'path' (the feed directory) is required");
    }
    if (options.contains("title") && !options["title"].is_string()) {
      throw_usage("feed: option 'title' must be a string");
    }
    fs::path dir = config::expand_home(options["path"].get<std::string>());
    std::error_code ec;
    dir = fs::absolute(dir, ec).lexically_normal();
    if (!ec) {
      fs::create_directories(dir, ec);
    }
    if (ec || !fs::is_directory(dir)) {
      throw_usage("feed: cannot use directory '" + dir.string() + "': " +
                  (ec ? ec.message() : std::string("not a directory")));
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      throw_usage("feed: directory '" + dir.string() + "' is not writable");
    }
    // Keep no trailing slash so file:// URLs come out clean.
    std::string normal = dir.string();
    if (normal.size() > 1 && normal.back() == '/') {
      normal.pop_back();
    }
    options["path"] = normal;
    if (!options.contains("title")) {
      options["title"] = "multivio";
    }
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>&, const model::Account*,
                            const nlohmann::json&) const override {
    ValidationReport r;
    const bool utf8 = multivio::text::valid_utf8(text);
    r.length = utf8 ? multivio::text::code_points(text) : text.size();
    if (!utf8) {
      r.problems.push_back("text is not valid UTF-8");
    }
    if (multivio::text::trim(text).empty()) {
      r.problems.push_back("text is empty");
    }
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    const std::string context = request.account.ref();
    const fs::path dir = directory(request.account);
    std::error_code ec;
    fs::create_directories(dir, ec);  // it may have been removed since `account add`
    if (ec) {
      throw Error(ErrorKind::transient, context + ": cannot create " + dir.string() + ": " + ec.message());
    }
    const Json entry = make_entry(request);
    const std::string id = entry["id"].get<std::string>();
    const std::size_t keep = static_cast<std::size_t>(std::max(1, ctx_.config.feed.max_entries));

    DirLock lock(dir, context);
    std::vector<Json> entries = read_tail(dir / k_log_file, keep, context);
    const bool already = std::any_of(entries.begin(), entries.end(),
                                     [&](const Json& e) { return e["id"] == id; });
    if (!already) {
      append_line(dir / k_log_file, dump(entry), context);
      entries.push_back(entry);
      if (entries.size() > keep) {
        entries.erase(entries.begin(), entries.end() - static_cast<std::ptrdiff_t>(keep));
      }
    }
    // Regenerated even for a repeat: the earlier attempt may have died before the rename.
    std::reverse(entries.begin(), entries.end());
    replace_file(dir / k_atom_file, render_atom(request.account, title(request.account), entries), context);

    PublishResult result;
    result.remote_ids = {id};
    result.remote_url = "file://" + (dir / k_atom_file).string() + "#" + id;
    return result;
  }

  Preview preview(const PublishRequest& request) const override {
    Preview p;
    p.method = "APPEND";
    p.url = "file://" + (directory(request.account) / k_atom_file).string();
    p.body = dump(make_entry(request));
    return p;
  }

 private:
  static fs::path directory(const model::Account& account) {
    const std::string path = json_string(account.options, "path");
    if (path.empty()) {
      throw Error(ErrorKind::permanent, account.ref() + ": account has no 'path' option; add it again with --path");
    }
    return path;
  }

  static std::string title(const model::Account& account) {
    const std::string t = json_string(account.options, "title");
    return t.empty() ? "multivio" : t;
  }

  static std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }

  static Json make_entry(const PublishRequest& r) {
    Json media = Json::array();
    for (const auto& m : r.post.media) {
      media.push_back(fs::path(m).filename().string());
    }
    const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    return {
        {"id", "urn:multivio:post:" + std::to_string(r.post.id) + ":target:" + std::to_string(r.target.id)},
        {"post_id", r.post.id},
        {"target_id", r.target.id},
        {"account", r.account.ref()},
        {"text", r.text},
        {"media", std::move(media)},
        {"tags", r.post.tags},
        {"published_at", model::format_utc(now)},
    };
  }

  Context ctx_;
};

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        case '\r': out += "&#13;"; break;
        default:
          if (c >= 0x20 || c == '\t' || c == '\n') {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence; anything malformed is dropped a byte at a time.
    const std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    char32_t cp = len == 4 ? c & 0x07u : len == 3 ? c & 0x0Fu : c & 0x1Fu;
    bool ok = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      ok = (b & 0xC0) == 0x80;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    const char32_t min = len == 4 ? 0x10000 : len == 3 ? 0x800 : 0x80;
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) {
      ++i;
      continue;
    }
    if (cp != 0xFFFE && cp != 0xFFFF) {  // the only non-characters XML 1.0 excludes above U+D7FF
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::unique_ptr<Adapter> make_adapter(const Context& context) { return std::make_unique<FeedAdapter>(context); }

}  // namespace multivio::platforms::feed
