#pragma once
// A method's config from the command line: `--config FILE.json` then repeated `--set key=value`,
// merged over the method's defaults (the method itself rejects unknown keys by name).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace wsss::training {

// "key=value" → {"key": value}. The value is read as JSON when it parses (numbers, true/false,
// arrays, quoted strings), else taken as a plain string; "a.b=1" nests as {"a": {"b": 1}}.
nlohmann::json parseSetAssignment(const std::string &assignment);

// The file's object (if any), then each assignment in order, merged key by key.
nlohmann::json configOverrides(const std::string &configFile, const std::vector<std::string> &assignments);

} // namespace wsss::training
