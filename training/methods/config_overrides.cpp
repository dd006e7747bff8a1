#include "training/methods/config_overrides.h"

#include "vision/core/error.h"
#include "vision/core/text.h"

#include <fstream>

namespace wsss::training {

nlohmann::json parseSetAssignment(const std::string &assignment)
{
    const auto eq = assignment.find('=');
    const std::string key = eq == std::string::npos ? "" : vision::trim(assignment.substr(0, eq));
    if (key.empty())
        throw Error("--set \"" + assignment + "\": expected key=value");
    const std::string text = vision::trim(assignment.substr(eq + 1));
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded())
        value = text; // a bare word such as pooling=gap

    // Build the nested object from the dotted path, innermost first.
    nlohmann::json result = value;
    std::size_t end = key.size();
    while (true) {
        const auto dot = key.rfind('.', end - 1);
        const std::string part = key.substr(dot == std::string::npos ? 0 : dot + 1,
                                            end - (dot == std::string::npos ? 0 : dot + 1));
        if (part.empty())
            throw Error("--set \"" + assignment + "\": empty key component");
        result = nlohmann::json{{part, result}};
        if (dot == std::string::npos)
            break;
        end = dot;
    }
    return result;
}

nlohmann::json configOverrides(const std::string &configFile, const std::vector<std::string> &assignments)
{
    nlohmann::json merged = nlohmann::json::object();
    if (!configFile.empty()) {
        std::ifstream in(configFile);
        if (!in)
            throw Error("--config: cannot read \"" + configFile + "\"");
        nlohmann::json file = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
        if (file.is_discarded() || !file.is_object())
            throw Error("--config: \"" + configFile + "\" is not a JSON object");
        merged.merge_patch(file);
    }
    for (const auto &a : assignments)
        merged.merge_patch(parseSetAssignment(a));
    return merged;
}

} // namespace wsss::training
