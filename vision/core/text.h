#pragma once
// Small string helpers shared by the text-format readers and the file code's messages.
#include <filesystem>
#include <string>

namespace wsss::vision {

// s without leading and trailing spaces, tabs and line ends.
inline std::string trim(const std::string &s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos)
        return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

inline bool startsWith(const std::string &s, const std::string &prefix)
{
    return s.compare(0, prefix.size(), prefix) == 0;
}

// A path in double quotes, as every message names a file.
inline std::string quoted(const std::filesystem::path &p)
{
    return "\"" + p.string() + "\"";
}

} // namespace wsss::vision
