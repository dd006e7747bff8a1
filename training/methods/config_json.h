#pragma once
// Helpers for method configs: read known keys from JSON, reject unknown ones by name.
#include "vision/core/error.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <vector>

namespace wsss::training {

inline void rejectUnknownKeys(const nlohmann::json &json, const std::string &owner,
                              const std::vector<std::string> &known)
{
    for (auto it = json.begin(); it != json.end(); ++it) {
        bool ok = false;
        for (const auto &k : known)
            ok = ok || it.key() == k;
        if (!ok) {
            std::string list;
            for (const auto &k : known)
                list += (list.empty() ? "" : ", ") + k;
            throw Error(owner + ": unknown config key \"" + it.key() + "\" (known: " + list + ")");
        }
    }
}

inline void rejectUnknownKeys(const nlohmann::json &json, const std::string &owner,
                              std::initializer_list<const char *> known)
{
    rejectUnknownKeys(json, owner, std::vector<std::string>(known.begin(), known.end()));
}

template <typename T>
void readKey(const nlohmann::json &json, const char *key, T &field)
{
    if (json.contains(key))
        field = json.at(key).get<T>();
}

// The config a JSON starts from: its "preset" key, "official" (the default, Config{}) or "paper"
// (Config::paper()); the keys the JSON sets then override it. wsss::Error naming another preset.
template <typename Config>
Config presetConfig(const nlohmann::json &json, const std::string &owner)
{
    std::string preset = "official";
    readKey(json, "preset", preset);
    if (preset == "paper")
        return Config::paper();
    if (preset != "official")
        throw Error(owner + ": preset " + ('"' + preset + '"') + " is not official or paper");
    return Config{};
}

} // namespace wsss::training
