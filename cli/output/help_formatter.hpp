// SPDX-License-Identifier: MIT
// CLI11's help layout, minus the "Excludes: ..." lists it appends to option
// names: they crowd the column, and the descriptions already say which
// options go together.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace multivio::cli::output {

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override;
};

}  // namespace multivio::cli::output
