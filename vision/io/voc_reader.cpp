#include "vision/io/voc_reader.h"

#include "vision/core/error.h"
#include "vision/core/text.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/palette_png.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace wsss::vision {
namespace {

namespace fs = std::filesystem;

bool isFile(const fs::path &p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

// An id from a split line: a plain id, or the file stem of the first field (PSA style).
std::string idFromLine(const std::string &line)
{
    std::istringstream fields(line);
    std::string first;
    fields >> first;
    const fs::path p(first);
    const std::string ext = lower(p.extension().string());
    const bool hasImageExt = ext == ".jpg" || ext == ".jpeg" || ext == ".png";
    if (first.find('/') != std::string::npos || hasImageExt)
        return hasImageExt ? p.stem().string() : p.filename().string();
    return first;
}

std::string decodeEntities(const std::string &s)
{
    static const std::pair<const char *, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        bool replaced = false;
        if (s[i] == '&') {
            for (const auto &[entity, c] : kEntities) {
                const std::size_t n = std::strlen(entity);
                if (s.compare(i, n, entity) == 0) {
                    out += c;
                    i += n;
                    replaced = true;
                    break;
                }
            }
        }
        if (!replaced)
            out += s[i++];
    }
    return out;
}

// Whether `text` at `pos` opens the element `name` ("<name>" or "<name attr...>").
bool opensElement(const std::string &text, std::size_t pos, const std::string &name)
{
    if (text.compare(pos, name.size() + 1, "<" + name) != 0)
        return false;
    const std::size_t after = pos + name.size() + 1;
    return after < text.size() && (text[after] == '>' || text[after] == ' ' || text[after] == '\t' ||
                                   text[after] == '\n' || text[after] == '\r');
}

// The text of the first <name> that is a direct child of an <object> body (so <part><name>head
// and CVAT's <attribute><name> are skipped). Returns false if the body is malformed.
bool directChildName(const std::string &body, std::string *name)
{
    int depth = 0;
    std::size_t pos = 0;
    while ((pos = body.find('<', pos)) != std::string::npos) {
        if (body.compare(pos, 4, "<!--") == 0) {
            const std::size_t end = body.find("-->", pos);
            if (end == std::string::npos)
                return false;
            pos = end + 3;
            continue;
        }
        const std::size_t close = body.find('>', pos);
        if (close == std::string::npos)
            return false;
        const std::string tag = body.substr(pos + 1, close - pos - 1);
        if (tag.empty() || tag[0] == '?' || tag[0] == '!') {
            pos = close + 1;
            continue;
        }
        if (tag[0] == '/') {
            --depth;
        } else if (tag.back() != '/') {
            const std::string tagName = tag.substr(0, tag.find_first_of(" \t\r\n"));
            if (depth == 0 && tagName == "name") {
                const std::size_t end = body.find("</name>", close + 1);
                if (end == std::string::npos)
                    return false;
                *name = decodeEntities(trim(body.substr(close + 1, end - close - 1)));
                return true;
            }
            ++depth;
        }
        pos = close + 1;
    }
    return false;
}

// Object names of a VOC annotation, in document order. Throws wsss::Error naming the file.
std::vector<std::string> xmlObjectNames(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("annotation " + quoted(path) + ": cannot open (" + std::strerror(errno) + ")");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    if (text.find("<annotation") == std::string::npos)
        throw Error("annotation " + quoted(path) + ": no <annotation> element (not a VOC XML file)");
    std::vector<std::string> names;
    std::size_t pos = 0;
    while ((pos = text.find("<object", pos)) != std::string::npos) {
        if (!opensElement(text, pos, "object")) {
            pos += 7;
            continue;
        }
        const std::size_t open = text.find('>', pos);
        const std::size_t end = text.find("</object>", pos);
        if (open == std::string::npos || end == std::string::npos || end < open)
            throw Error("annotation " + quoted(path) + ": unterminated <object> element");
        std::string name;
        if (!directChildName(text.substr(open + 1, end - open - 1), &name))
            throw Error("annotation " + quoted(path) + ": <object> without a <name>");
        names.push_back(name);
        pos = end + 9;
    }
    return names;
}

fs::path findImage(const fs::path &root, const std::string &id)
{
    for (const char *ext : {".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG"}) {
        const fs::path p = root / "JPEGImages" / (id + ext);
        if (isFile(p))
            return p;
    }
    return {};
}

fs::path findMask(const fs::path &root, const std::string &id)
{
    for (const char *folder : {"SegmentationClass", "SegmentationClassAug"}) {
        const fs::path p = root / folder / (id + ".png");
        if (isFile(p))
            return p;
    }
    return {};
}

} // namespace

VocDataset loadVocDataset(const std::string &root, const std::string &split)
{
    const fs::path rootPath(root);
    std::error_code ec;
    if (!fs::is_directory(rootPath, ec))
        throw Error("VOC dataset " + quoted(rootPath) + ": folder not found");
    const fs::path listPath = rootPath / "ImageSets" / "Segmentation" / (split + ".txt");
    std::ifstream list(listPath, std::ios::binary);
    if (!list)
        throw Error("VOC dataset " + quoted(rootPath) + ": split file " + quoted(listPath) + " not found");

    VocDataset dataset;
    dataset.root = root;
    dataset.split = split;
    const fs::path labelMapPath = rootPath / "labelmap.txt";
    dataset.labelMap = isFile(labelMapPath) ? readLabelMapFile(labelMapPath.string()) : vocLabelMap();
    const int classCount = dataset.labelMap.size();

    std::map<std::string, int> unknownNames; // name -> occurrences; reported once each
    std::set<int> outOfRange;
    std::string line;
    while (std::getline(list, line)) {
        const std::string text = trim(line);
        if (text.empty() || text[0] == '#')
            continue;
        DatasetItem item;
        item.id = idFromLine(text);
        const fs::path image = findImage(rootPath, item.id);
        if (image.empty()) {
            dataset.warnings.push_back("image " + quoted(rootPath / "JPEGImages" / (item.id + ".jpg")) +
                                       " not found; item \"" + item.id + "\" skipped");
            continue;
        }
        item.imagePath = image.string();
        const fs::path mask = findMask(rootPath, item.id);
        item.maskPath = mask.string();

        std::set<int> labels;
        const fs::path xml = rootPath / "Annotations" / (item.id + ".xml");
        try {
            if (isFile(xml)) {
                for (const std::string &name : xmlObjectNames(xml)) {
                    const int index = dataset.labelMap.indexOf(name);
                    if (index > 0)
                        labels.insert(index);
                    else if (index < 0)
                        ++unknownNames[name];
                }
            } else if (!mask.empty()) {
                const cv::Mat indices = readLabelPng(mask.string());
                bool present[256] = {false};
                for (int y = 0; y < indices.rows; ++y) {
                    const std::uint8_t *row = indices.ptr<std::uint8_t>(y);
                    for (int x = 0; x < indices.cols; ++x)
                        present[row[x]] = true;
                }
                for (int v = 1; v < 255; ++v) {
                    if (!present[v])
                        continue;
                    if (v < classCount)
                        labels.insert(v);
                    else
                        outOfRange.insert(v);
                }
            }
        } catch (const Error &e) {
            dataset.warnings.push_back(std::string(e.what()) + "; item \"" + item.id + "\" skipped");
            continue;
        }
        item.labels.assign(labels.begin(), labels.end());
        dataset.items.push_back(std::move(item));
    }
    if (list.bad())
        throw Error("VOC dataset: read error in split file " + quoted(listPath));

    for (const auto &[name, count] : unknownNames)
        dataset.warnings.push_back("annotations in " + quoted(rootPath / "Annotations") + ": object name \"" +
                                   name + "\" (" + std::to_string(count) +
                                   " times) is not a class of the label map; ignored");
    for (int v : outOfRange)
        dataset.warnings.push_back("masks in " + quoted(rootPath) + ": index " + std::to_string(v) +
                                   " is beyond the " + std::to_string(classCount) + " classes; ignored");
    return dataset;
}

std::vector<std::string> vocSplits(const std::string &root)
{
    const fs::path folder = fs::path(root) / "ImageSets" / "Segmentation";
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw Error("VOC dataset " + quoted(fs::path(root)) + ": folder " + quoted(folder) + " not found");
    std::vector<std::string> splits;
    for (const fs::directory_entry &entry : fs::directory_iterator(folder, ec)) {
        if (entry.is_regular_file(ec) && entry.path().extension() == ".txt")
            splits.push_back(entry.path().stem().string());
    }
    if (ec)
        throw Error("VOC dataset: cannot list " + quoted(folder) + " (" + ec.message() + ")");
    std::sort(splits.begin(), splits.end());
    return splits;
}

} // namespace wsss::vision
