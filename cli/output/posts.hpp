// SPDX-License-Identifier: MIT
// Text and JSON views of `post` results. Times are shown in `zone`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/output/printer.hpp"
#include "common/app/posts.hpp"

namespace multivio::cli::output {

/// `post new`: the post (JSON, plus "created"), a summary line (text), the id (quiet).
void show_created(const Printer& out, const app::NewPostResult& result, const std::string& zone);
/// After edit/schedule/cancel/retry: the post (JSON) or "<verb> post N (status, when)".
void show_changed(const Printer& out, const model::Post& post, std::string_view verb, const std::string& zone);
void show_deleted(const Printer& out, std::int64_t id);
void show_posts(const Printer& out, const std::vector<model::Post>& posts, const std::string& zone);
void show_post(const Printer& out, const model::Post& post, const std::string& zone);
void show_checks(const Printer& out, const std::vector<app::CheckResult>& checks);
/// --dry-run of `post new` / `post publish`: exactly what each target would send.
void show_previews(const Printer& out, const model::Post& post, const std::vector<app::TargetPreview>& previews,
                   const std::string& zone);
/// `post publish`: one line per target with its outcome.
void show_published(const Printer& out, const app::PublishOutcome& outcome);

}  // namespace multivio::cli::output
