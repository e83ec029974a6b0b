// SPDX-License-Identifier: MIT
// Text and JSON output of `multivio media ...`.
#pragma once

#include <vector>

#include "cli/output/printer.hpp"
#include "common/app/media.hpp"

namespace multivio::cli::output {

void show_added_media(const Printer& out, const app::AddedMedia& added);
void show_media(const Printer& out, const store::MediaItem& item);
void show_media_list(const Printer& out, const std::vector<store::MediaItem>& items);

}  // namespace multivio::cli::output
