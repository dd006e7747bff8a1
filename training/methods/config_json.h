#pragma once
// Helpers for method configs: read known keys from JSON, reject unknown ones by name.
#include "vision/core/error.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <type_traits>
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

// What a field of type T takes, for the message of a value of the wrong type.
template <typename T>
const char *expectedJson()
{
    if constexpr (std::is_same_v<T, bool>)
        return "true or false";
    else if constexpr (std::is_arithmetic_v<T>)
        return "a number";
    else if constexpr (std::is_same_v<T, std::string>)
        return "a string";
    else
        return "a list";
}

// The key's value into `field` when the JSON has it; a value of another type is a wsss::Error
// naming the key and the value (`--set center_keys=maybe`), not JSON's own type error.
template <typename T>
void readKey(const nlohmann::json &json, const char *key, T &field)
{
    if (!json.contains(key))
        return;
    try {
        field = json.at(key).get<T>();
    } catch (const nlohmann::json::exception &) {
        throw Error(std::string("config key \"") + key + "\": " + json.at(key).dump() + " is not " + expectedJson<T>());
    }
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
