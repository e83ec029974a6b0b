// SPDX-License-Identifier: MIT
#include "cli/output/help_formatter.hpp"

namespace multivio::cli::output {

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  if (!opt->get_option_text().empty()) return " " + opt->get_option_text();
  std::string out;
  if (opt->get_type_size() == 0) return out;  // a flag
  if (!opt->get_type_name().empty()) out += " " + get_label(opt->get_type_name());
  if (!opt->get_default_str().empty()) out += "=" + opt->get_default_str();
  if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
  if (opt->get_required()) out += " " + get_label("REQUIRED");
  return out;
}

}  // namespace multivio::cli::output
