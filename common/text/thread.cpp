// SPDX-License-Identifier: MIT
#include "common/text/thread.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <iterator>

#include "common/error.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"

namespace multivio::text {

namespace {

// How good a place to end a part is; higher is better.
enum Level : int { grapheme = 0, word = 1, sentence = 2, paragraph = 3, end_of_text = 4 };

struct CodePoint {
  char32_t value = 0;
  std::size_t begin = 0;  // byte offsets
  std::size_t end = 0;
};

struct Break {
  std::size_t end = 0;   // the part ends here (exclusive byte offset)
  std::size_t next = 0;  // the next part starts here (after the whitespace)
  int level = grapheme;
};

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

std::vector<CodePoint> decode(std::string_view s) {
  std::vector<CodePoint> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = utf8_sequence_length(s.substr(i));  // valid UTF-8 is checked first
    utf8proc_int32_t cp = 0xFFFD;
    utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i), static_cast<utf8proc_ssize_t>(n), &cp);
    out.push_back({static_cast<char32_t>(cp), i, i + n});
    i += n;
  }
  return out;
}

bool ascii_space(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool word_char(char32_t c) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO: case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

bool ascii_username(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool sentence_end(char32_t c) { return c == '.' || c == '!' || c == '?' || c == 0x2026 || c == 0x203C; }
// Full stops that end a sentence with no space after them (CJK).
bool cjk_sentence_end(char32_t c) { return c == 0x3002 || c == 0xFF01 || c == 0xFF1F || c == 0xFF0E; }
// Closing quotes and brackets that may follow a sentence end: "Done." or (Done!)
bool closer(char32_t c) {
  return c == '"' || c == '\'' || c == ')' || c == ']' || c == 0xBB || c == 0x201D || c == 0x2019 ||
         c == 0x300D || c == 0x300F || c == 0xFF09;
}

// @user or @user@domain.tld, and #tag: the tokens a network links, which a
// split would turn into a different mention or tag.
std::vector<Span> mentions_and_tags(const std::vector<CodePoint>& cps) {
  std::vector<Span> out;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i].value;
    const char32_t prev = i > 0 ? cps[i - 1].value : U' ';
    std::size_t q = i + 1;
    if (c == '@' && !word_char(prev) && prev != '@') {
      // user, user.name or user-name, as Mastodon's mention pattern allows
      while (q < cps.size() && ascii_username(cps[q].value)) ++q;
      if (q == i + 1) continue;
      for (;;) {
        std::size_t r = q;
        while (r < cps.size() && (cps[r].value == '.' || cps[r].value == '-')) ++r;
        if (r == q || r >= cps.size() || !ascii_username(cps[r].value)) break;
        while (r < cps.size() && ascii_username(cps[r].value)) ++r;
        q = r;
      }
      if (q + 1 < cps.size() && cps[q].value == '@') {  // remote: @user@domain
        std::size_t r = q + 1, last_alnum = 0;
        while (r < cps.size() && (ascii_username(cps[r].value) || cps[r].value == '.' || cps[r].value == '-')) {
          if (ascii_username(cps[r].value)) last_alnum = r;
          ++r;
        }
        if (last_alnum > q) q = last_alnum + 1;
      }
    } else if ((c == '#' || c == 0xFF03) && !word_char(prev) && prev != '&') {
      while (q < cps.size() && (word_char(cps[q].value) || cps[q].value == 0x200C || cps[q].value == 0x200D)) ++q;
      if (q == i + 1) continue;
    } else {
      continue;
    }
    out.push_back({cps[i].begin, cps[q - 1].end});
    i = q - 1;
  }
  return out;
}

class Splitter {
 public:
  Splitter(std::string_view text, const std::function<bool(std::string_view)>& fits)
      : text_(text), fits_(fits), cps_(decode(text)) {
    for (const auto& u : find_urls(text)) protected_.push_back({u.begin, u.end});
    for (const auto& s : mentions_and_tags(cps_)) protected_.push_back(s);
    std::sort(protected_.begin(), protected_.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
    for (const auto& s : protected_) max_span_ = std::max(max_span_, s.end - s.begin);
    collect_breaks();
    for (std::size_t i = 0; i < breaks_.size(); ++i) {
      for (int level = grapheme; level <= breaks_[i].level; ++level) {
        by_level_[static_cast<std::size_t>(level)].push_back(i);
      }
    }
  }

  // Greedy split, each part measured with a counter " (i/9...9)" of `digits`
  // nines, as wide as the real one; digits 0: no counter.
  std::vector<std::string> run(int digits) const {
    std::vector<std::string> parts;
    std::size_t start = skip_space(0);
    while (start < text_.size()) {
      const std::string suffix = digits > 0 ? counter(parts.size() + 1, std::string(digits, '9')) : std::string();
      // The furthest any part can reach, then the best break within reach:
      // every shorter part fits too, so no more measuring is needed.
      const Break* chosen = furthest_fitting(start, grapheme, suffix);
      for (int level = end_of_text; chosen != nullptr && level > grapheme; --level) {
        if (const Break* b = last_within(start, chosen->end, level)) {
          chosen = b;
          break;
        }
      }
      if (chosen == nullptr) {
        throw Error(ErrorKind::validation, "cannot split the text into a thread: '" + token_at(start) +
                                               "' does not fit in one part" +
                                               (digits > 0 ? " with its counter" : ""));
      }
      parts.emplace_back(piece(start, chosen->end));
      start = skip_space(chosen->next);
    }
    return parts;
  }

  static std::string counter(std::size_t i, std::string_view n) {
    return " (" + std::to_string(i) + "/" + std::string(n) + ")";
  }

 private:
  // protected_ is sorted by begin; spans rarely overlap, but may (a URL
  // finder and a mention finder disagreeing), so look at every span that
  // begins before pos until one reaches past it.
  bool inside_protected(std::size_t pos) const {
    auto it = std::lower_bound(protected_.begin(), protected_.end(), pos,
                               [](const Span& s, std::size_t p) { return s.begin < p; });
    while (it != protected_.begin()) {
      --it;
      if (pos < it->end) return true;
      if (it->begin + max_span_ <= pos) break;  // no earlier span reaches pos
    }
    return false;
  }

  void add(std::size_t end, std::size_t next, int level) {
    if (end == 0 || inside_protected(end)) return;
    breaks_.push_back({end, next, level});
  }

  void collect_breaks() {
    // Grapheme cluster boundaries: the last resort inside long words.
    utf8proc_int32_t state = 0;
    for (std::size_t i = 1; i < cps_.size(); ++i) {
      if (utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(cps_[i - 1].value),
                                           static_cast<utf8proc_int32_t>(cps_[i].value), &state)) {
        add(cps_[i].begin, cps_[i].begin, grapheme);
      }
    }
    for (std::size_t i = 0; i < cps_.size(); ++i) {
      if (cjk_sentence_end(cps_[i].value)) {
        std::size_t j = i + 1;
        while (j < cps_.size() && closer(cps_[j].value)) ++j;
        if (j < cps_.size() && !ascii_space(cps_[j].value)) add(cps_[j].begin, cps_[j].begin, sentence);
        continue;
      }
      if (!ascii_space(cps_[i].value)) continue;
      // A run of whitespace: the part ends before it, the next starts after.
      std::size_t j = i, newlines = 0;
      for (; j < cps_.size() && ascii_space(cps_[j].value); ++j) newlines += cps_[j].value == '\n' ? 1 : 0;
      int level = word;
      if (newlines >= 2) {
        level = paragraph;
      } else if (newlines == 1) {
        level = sentence;  // a line of its own: a list item, a heading
      } else if (i > 0) {
        std::size_t k = i;
        while (k > 0 && closer(cps_[k - 1].value)) --k;
        if (k > 0 && (sentence_end(cps_[k - 1].value) || cjk_sentence_end(cps_[k - 1].value))) level = sentence;
      }
      add(cps_[i].begin, j < cps_.size() ? cps_[j].begin : text_.size(), level);
      i = j - 1;
    }
    breaks_.push_back({text_.size(), text_.size(), end_of_text});
    std::stable_sort(breaks_.begin(), breaks_.end(), [](const Break& a, const Break& b) {
      return a.end != b.end ? a.end < b.end : a.level > b.level;
    });
    // One break per offset: the best one.
    breaks_.erase(std::unique(breaks_.begin(), breaks_.end(),
                              [](const Break& a, const Break& b) { return a.end == b.end; }),
                  breaks_.end());
  }

  std::string_view piece(std::size_t begin, std::size_t end) const { return trim(text_.substr(begin, end - begin)); }

  std::size_t skip_space(std::size_t pos) const {
    while (pos < text_.size() && ascii_space(static_cast<unsigned char>(text_[pos]))) ++pos;
    return pos;
  }

  bool fits_with(std::size_t start, const Break& b, const std::string& suffix) const {
    const std::string_view body = piece(start, b.end);
    if (body.empty()) return false;
    return fits_(std::string(body) + suffix);
  }

  // The last break of at least `level` after `start` whose part fits, or
  // null. fits is monotonic, so this is a search; it gallops from `start`
  // (1, 3, 7, ... breaks ahead) before bisecting, because a part is short
  // next to what remains and measuring costs as much as the text measured.
  const Break* furthest_fitting(std::size_t start, int level, const std::string& suffix) const {
    const std::vector<std::size_t>& index = by_level_[static_cast<std::size_t>(level)];
    const auto first = std::upper_bound(index.begin(), index.end(), start,
                                        [&](std::size_t pos, std::size_t i) { return pos < breaks_[i].end; });
    const std::size_t base = static_cast<std::size_t>(first - index.begin());
    const std::size_t n = index.size() - base;
    // start is never whitespace, so every part after it is non-empty.
    const auto fits_at = [&](std::size_t k) { return fits_with(start, breaks_[index[base + k]], suffix); };
    if (n == 0 || !fits_at(0)) return nullptr;
    std::size_t lo = 0, step = 1;  // invariant: lo fits; hi does not, or hi == n
    while (lo + step < n && fits_at(lo + step)) {
      lo += step;
      step *= 2;
    }
    std::size_t hi = std::min(n, lo + step);
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      (fits_at(mid) ? lo : hi) = mid;
    }
    return &breaks_[index[base + lo]];
  }

  // The last break of at least `level` in (start, limit], or null.
  const Break* last_within(std::size_t start, std::size_t limit, int level) const {
    const std::vector<std::size_t>& index = by_level_[static_cast<std::size_t>(level)];
    auto it = std::upper_bound(index.begin(), index.end(), limit,
                               [&](std::size_t pos, std::size_t i) { return pos < breaks_[i].end; });
    if (it == index.begin()) return nullptr;
    const Break& b = breaks_[*std::prev(it)];
    return b.end > start ? &b : nullptr;
  }

  // The unbreakable token at `start`, for the error message.
  std::string token_at(std::size_t start) const {
    std::size_t end = text_.size();
    for (const auto& b : breaks_) {
      if (b.end > start) {
        end = b.end;
        break;
      }
    }
    const std::string_view token = text_.substr(start, end - start);
    const std::string cut = truncate_code_points(token, 60);
    return cut.size() < token.size() ? cut + "..." : cut;
  }

  std::string_view text_;
  const std::function<bool(std::string_view)>& fits_;
  std::vector<CodePoint> cps_;
  std::vector<Span> protected_;
  std::vector<Break> breaks_;                        // sorted by end, one per offset
  std::array<std::vector<std::size_t>, 5> by_level_;  // [L]: indices of breaks of level >= L
  std::size_t max_span_ = 0;                         // longest protected span, in bytes
};

std::size_t decimal_digits(std::size_t n) {
  std::size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

}  // namespace

std::vector<std::string> split_thread(std::string_view text, const std::function<bool(std::string_view)>& fits,
                                      const ThreadOptions& opts) {
  if (!valid_utf8(text)) throw Error(ErrorKind::validation, "cannot split the text into a thread: not valid UTF-8");
  if (fits(text)) return {std::string(text)};
  const Splitter splitter(text, fits);
  if (!opts.counter) return splitter.run(0);
  // The counter's width depends on the number of parts, which depends on
  // the counter's width: try one digit, then more until the count agrees.
  constexpr int kMaxDigits = 4;
  for (int digits = 1; digits <= kMaxDigits; ++digits) {
    std::vector<std::string> parts = splitter.run(digits);
    if (decimal_digits(parts.size()) > static_cast<std::size_t>(digits)) continue;
    if (parts.size() == 1) return parts;  // fitted once trimmed; no "(1/1)"
    const std::string n = std::to_string(parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
      // The real counter is no wider than the one measured; fits is monotonic.
      parts[i] += Splitter::counter(i + 1, n);
      if (!fits(parts[i])) {
        throw Error(ErrorKind::validation, "cannot split the text into a thread: part " + std::to_string(i + 1) +
                                               " does not fit with its counter");
      }
    }
    return parts;
  }
  throw Error(ErrorKind::validation, "cannot split the text into a thread: it needs more than 9999 parts");
}

}  // namespace multivio::text
