#include "vision/io/labelmap_file.h"

#include "vision/core/error.h"
#include "vision/core/text.h"
#include "vision/io/atomic_write.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace wsss::vision {
namespace {

std::vector<std::string> split(const std::string &s, char sep)
{
    std::vector<std::string> parts;
    std::string current;
    for (char c : s) {
        if (c == sep) {
            parts.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    parts.push_back(current);
    return parts;
}

bool parseComponent(const std::string &text, std::uint8_t *out)
{
    const std::string t = trim(text);
    if (t.empty() || t.size() > 3)
        return false;
    int value = 0;
    for (char c : t) {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + (c - '0');
    }
    if (value > 255)
        return false;
    *out = static_cast<std::uint8_t>(value);
    return true;
}

} // namespace

LabelMap readLabelMapFile(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("labelmap \"" + path + "\": cannot open (" + std::strerror(errno) + ")");
    LabelMap map;
    std::string line;
    int lineNumber = 0;
    while (std::getline(in, line)) {
        ++lineNumber;
        const std::string text = trim(line);
        if (text.empty() || text[0] == '#')
            continue;
        const std::string where = "labelmap \"" + path + "\" line " + std::to_string(lineNumber) + ": ";
        const std::vector<std::string> fields = split(text, ':');
        if (fields.size() < 2)
            throw Error(where + "expected name:r,g,b::, got \"" + text + "\"");
        const std::string name = trim(fields[0]);
        if (name.empty())
            throw Error(where + "empty class name in \"" + text + "\"");
        if (map.indexOf(name) >= 0)
            throw Error(where + "class \"" + name + "\" appears twice");
        ClassInfo info;
        info.name = name;
        // A line without a colour is rejected, not given a palette colour: such a line is as often
        // a stray one ("garbage :::"), and taking it as a class would shift every later class index.
        const std::string colour = trim(fields[1]);
        if (colour.empty())
            throw Error(where + "class \"" + name + "\" has no colour (expected name:r,g,b::, got \"" + text + "\")");
        const std::vector<std::string> rgb = split(colour, ',');
        if (rgb.size() != 3 || !parseComponent(rgb[0], &info.color[0]) || !parseComponent(rgb[1], &info.color[1]) ||
            !parseComponent(rgb[2], &info.color[2]))
            throw Error(where + "colour \"" + colour + "\" is not r,g,b with values 0..255");
        map.classes.push_back(info);
    }
    if (in.bad())
        throw Error("labelmap \"" + path + "\": read error");
    if (map.classes.empty())
        throw Error("labelmap \"" + path + "\": no classes");
    if (map.size() > 255)
        throw Error("labelmap \"" + path + "\": " + std::to_string(map.size()) +
                    " classes; at most 255 fit in a label PNG (255 = ignore)");
    return map;
}

void writeLabelMapFile(const std::string &path, const LabelMap &map)
{
    std::ostringstream out;
    out << "# label:color_rgb:parts:actions\n";
    for (const ClassInfo &c : map.classes) {
        if (c.name.empty() || c.name.find_first_of(":\n\r") != std::string::npos)
            throw Error("labelmap \"" + path + "\": class name \"" + c.name + "\" cannot be written");
        out << c.name << ':' << int(c.color[0]) << ',' << int(c.color[1]) << ',' << int(c.color[2]) << "::\n";
    }
    atomicWriteText(path, out.str());
}

} // namespace wsss::vision
