// SPDX-License-Identifier: MIT
#include "common/media/library.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/media/sniff.hpp"

namespace multivio::media {
namespace fs = std::filesystem;
namespace {

// Whole files are read into memory to hash and sniff them (an MP4's moov box
// may sit at the very end); this cap keeps a wrong path from exhausting memory.
constexpr std::uintmax_t kMaxBytes = std::uintmax_t{1} << 30;

std::string read_file(const fs::path& file) {
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (ec) throw Error(ErrorKind::validation, "cannot read " + file.string() + ": " + ec.message());
  if (!fs::is_regular_file(status)) throw Error(ErrorKind::validation, file.string() + " is not a regular file");
  const auto size = fs::file_size(file, ec);
  if (ec) throw Error(ErrorKind::validation, "cannot read " + file.string() + ": " + ec.message());
  if (size > kMaxBytes) throw Error(ErrorKind::validation, file.string() + " is larger than 1 GiB");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorKind::validation, "cannot read " + file.string() + ": " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorKind::validation, "cannot read " + file.string());
  return bytes;
}

[[noreturn]] void io_error(const std::string& what, const fs::path& path, int err) {
  throw Error(ErrorKind::permanent, what + " " + path.string() + ": " + std::strerror(err));
}

void make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::permanent, "cannot create " + dir.string() + ": " + ec.message());
  // Media may be unpublished drafts: only the owner may list or read them.
  if (::chmod(dir.c_str(), 0700) != 0) io_error("cannot chmod", dir, errno);
}

// Closes the descriptor and unlinks the temporary file unless it was renamed.
class TempFile {
 public:
  explicit TempFile(const fs::path& dir) : path_((dir / ".tmp-XXXXXX").string()) {
    fd_ = ::mkstemp(path_.data());
    if (fd_ < 0) io_error("cannot create a temporary file in", dir, errno);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  void close() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) io_error("cannot write", path_, errno);
  }
  void rename_to(const fs::path& target) {
    if (::rename(path_.c_str(), target.c_str()) != 0) io_error("cannot rename to", target, errno);
    renamed_ = true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool renamed_ = false;
};

}  // namespace

Library::Library(store::Store& store, fs::path data_dir) : store_(store), root_(std::move(data_dir) / "media") {}

fs::path Library::path_for(const std::string& sha256, std::string_view kind) const {
  const std::string name = kind == "unknown" ? sha256 : sha256 + "." + (kind == "jpeg" ? "jpg" : std::string(kind));
  return root_ / sha256.substr(0, 2) / name;
}

void Library::store_file(const std::string& bytes, const fs::path& target) {
  // Another user (or an earlier run that stopped before the insert) may have
  // stored the same bytes already; content addressing makes that copy good.
  std::error_code ec;
  if (fs::is_regular_file(target, ec) && fs::file_size(target, ec) == bytes.size() && !ec) return;
  make_private_dir(root_);
  make_private_dir(target.parent_path());
  // Written next to the target and renamed, so a crash never leaves a
  // half-written file under the content's name.
  TempFile tmp(target.parent_path());
  if (::fchmod(tmp.fd(), 0600) != 0) io_error("cannot chmod", target, errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(tmp.fd(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_error("cannot write", target, errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(tmp.fd()) != 0) io_error("cannot write", target, errno);
  tmp.close();
  tmp.rename_to(target);
}

Library::Added Library::add(const fs::path& file, const std::optional<std::string>& alt, model::Timestamp now) {
  const std::string bytes = read_file(file);
  const std::string sha = crypto::sha256_hex(bytes);
  if (auto existing = store_.find_media_by_sha(sha)) {
    store_file(bytes, existing->path);  // restores the file if someone deleted it by hand
    if (alt && *alt != existing->alt) {
      store_.set_media_alt(existing->id, *alt);
      existing->alt = *alt;
    }
    return {*existing, false};
  }
  Sniffed sniffed;
  try {
    sniffed = sniff(bytes);
  } catch (const Error& e) {
    throw e.with_prefix(file.string());
  }
  const fs::path target = path_for(sha, kind_name(sniffed.kind));
  store_file(bytes, target);
  store::MediaItem item;
  item.sha256 = sha;
  item.path = fs::absolute(target).lexically_normal().string();
  item.mime = sniffed.mime;
  item.kind = std::string(kind_name(sniffed.kind));
  item.bytes = static_cast<std::int64_t>(bytes.size());
  item.width = sniffed.width;
  item.height = sniffed.height;
  item.duration_ms = sniffed.duration_ms;
  item.alt = alt.value_or("");
  item.created_at = now;
  return {store_.add_media(item), true};
}

store::MediaItem Library::get(std::int64_t id) {
  auto item = store_.find_media(id);
  if (!item) throw Error(ErrorKind::not_found, "media " + std::to_string(id) + " does not exist");
  return *item;
}

std::vector<store::MediaItem> Library::list() { return store_.list_media(); }

void Library::remove(std::int64_t id) {
  const store::MediaItem item = get(id);
  // The row goes first: a crash between the two steps leaves an orphan file,
  // never a row that points at nothing.
  if (store_.remove_media(id) > 0) return;
  std::error_code ec;
  fs::remove(item.path, ec);
  if (ec) throw Error(ErrorKind::permanent, "cannot remove " + item.path + ": " + ec.message());
}

}  // namespace multivio::media
