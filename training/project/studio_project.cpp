#include "training/project/studio_project.h"

#include "vision/core/error.h"
#include "vision/io/atomic_write.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

// The review states in file order; reviewStateName and reviewStateFromName both read it.
const std::pair<ReviewState, const char *> kReviewNames[] = {
    {ReviewState::Unreviewed, "unreviewed"},
    {ReviewState::Corrected, "corrected"},
    {ReviewState::Accepted, "accepted"},
    {ReviewState::Rejected, "rejected"},
};

// The folder stored paths are relative to: the project file's own, made absolute.
fs::path baseFolder(const fs::path &projectFile)
{
    return fs::absolute(projectFile).lexically_normal().parent_path();
}

// Stored → in memory: a relative path resolves against the project's folder; "" stays "".
fs::path resolved(const fs::path &base, const std::string &stored)
{
    if (stored.empty())
        return {};
    const fs::path p(stored);
    return (p.is_absolute() ? p : base / p).lexically_normal();
}

// In memory → stored: relative to the project's folder, lexically (symbolic links are kept as the
// user named them), so a project folder moved as a whole still finds its dataset and masks. A path
// that has no relative form keeps its absolute one.
std::string relativeTo(const fs::path &base, const fs::path &path)
{
    if (path.empty())
        return {};
    const fs::path absolute = fs::absolute(path).lexically_normal();
    const fs::path relative = absolute.lexically_relative(base);
    return (relative.empty() ? absolute : relative).generic_string();
}

class ProjectReader {
public:
    ProjectReader(const fs::path &file, const nlohmann::json &json) : m_file(file), m_json(json) {}

    [[noreturn]] void fail(const std::string &field, const std::string &why) const
    {
        throw Error("project \"" + m_file.string() + "\": field \"" + field + "\" " + why);
    }

    // The string at `field`, or `fallback` when the field is absent; any other type is an error.
    std::string text(const std::string &field, const std::string &fallback = {}) const
    {
        const auto it = m_json.find(field);
        if (it == m_json.end())
            return fallback;
        if (!it->is_string())
            fail(field, "must be a string, not " + std::string(it->type_name()) + " " + it->dump());
        return it->get<std::string>();
    }

    const nlohmann::json *object(const std::string &field) const
    {
        const auto it = m_json.find(field);
        if (it == m_json.end())
            return nullptr;
        if (!it->is_object())
            fail(field, "must be a JSON object, not " + std::string(it->type_name()) + " " + it->dump());
        return &*it;
    }

private:
    const fs::path &m_file;
    const nlohmann::json &m_json;
};

nlohmann::json parseProjectFile(const fs::path &file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error("cannot open project \"" + file.string() + "\": " + std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception &e) {
        throw Error("project \"" + file.string() + "\" is not valid JSON: " + e.what());
    }
    if (!json.is_object())
        throw Error("project \"" + file.string() + "\" is not a JSON object");
    return json;
}

// The keys a project file may hold; another one is a typo or a newer program's field, and
// reading on would silently drop it.
const char *const kProjectKeys[] = {"format", "data", "split", "checkpoint", "rule",
                                    "map",    "masks", "reviews", "image"};

} // namespace

std::string reviewStateName(ReviewState state)
{
    for (const auto &[value, name] : kReviewNames)
        if (value == state)
            return name;
    return "unreviewed";
}

ReviewState reviewStateFromName(const std::string &name)
{
    for (const auto &[value, text] : kReviewNames)
        if (name == text)
            return value;
    throw Error("unknown review state \"" + name + "\" (expected unreviewed, corrected, accepted or rejected)");
}

ReviewState StudioProject::review(const std::string &id) const
{
    const auto it = reviews.find(id);
    return it == reviews.end() ? ReviewState::Unreviewed : it->second;
}

void StudioProject::setReview(const std::string &id, ReviewState state)
{
    if (state == ReviewState::Unreviewed)
        reviews.erase(id);
    else
        reviews[id] = state;
}

fs::path defaultMasksFolder(const fs::path &projectFile)
{
    return baseFolder(projectFile) / (projectFile.stem().string() + ".masks");
}

StudioProject readStudioProject(const fs::path &projectFile)
{
    const nlohmann::json json = parseProjectFile(projectFile);
    const ProjectReader field(projectFile, json);
    for (auto it = json.begin(); it != json.end(); ++it)
        if (std::find(std::begin(kProjectKeys), std::end(kProjectKeys), it.key()) == std::end(kProjectKeys))
            field.fail(it.key(), "is not a project field (a newer version's file, or a typo)");
    // The first format had no "format" field: it reads as version 1 with defaults for the rest.
    if (const auto it = json.find("format"); it != json.end()) {
        if (!it->is_number_integer())
            field.fail("format", "must be an integer, not " + it->dump());
        const int version = it->get<int>();
        if (version < 1 || version > StudioProject::kFormatVersion)
            field.fail("format", "is " + std::to_string(version) + "; this program reads format 1 to " +
                                     std::to_string(StudioProject::kFormatVersion) +
                                     (version > StudioProject::kFormatVersion ? " (the file is from a newer version)" : ""));
    }

    const fs::path base = baseFolder(projectFile);
    StudioProject project;
    // Every writer writes "data"; "" (no dataset chosen yet) is what missingProjectPaths reports.
    if (!json.contains("data"))
        field.fail("data", "is missing (the dataset folder)");
    project.data = resolved(base, field.text("data"));
    project.split = field.text("split", project.split);
    if (project.split.empty())
        field.fail("split", "is empty");
    project.checkpoint = resolved(base, field.text("checkpoint"));
    if (const auto *rule = field.object("rule")) {
        try {
            project.rule = vision::PseudoLabelRule::fromJson(*rule);
        } catch (const nlohmann::json::exception &e) {
            field.fail("rule", std::string("has a value of the wrong type: ") + e.what());
        } catch (const std::exception &e) {
            field.fail("rule", std::string("is not a valid rule: ") + e.what());
        }
    }
    project.mapKind = field.text("map");
    const std::string masks = field.text("masks");
    project.masks = masks.empty() ? defaultMasksFolder(projectFile) : resolved(base, masks);
    if (const auto *reviews = field.object("reviews")) {
        for (auto it = reviews->begin(); it != reviews->end(); ++it) {
            if (!it->is_string())
                field.fail("reviews", "of image \"" + it.key() + "\" must be a string, not " + it->dump());
            try {
                project.setReview(it.key(), reviewStateFromName(it->get<std::string>()));
            } catch (const Error &e) {
                field.fail("reviews", "of image \"" + it.key() + "\": " + e.what());
            }
        }
    }
    project.image = field.text("image");
    return project;
}

void writeStudioProject(const fs::path &projectFile, const StudioProject &project)
{
    const fs::path base = baseFolder(projectFile);
    nlohmann::json reviews = nlohmann::json::object();
    for (const auto &[id, state] : project.reviews)
        if (state != ReviewState::Unreviewed)
            reviews[id] = reviewStateName(state);
    const nlohmann::json json = {
        {"format", StudioProject::kFormatVersion},
        {"data", relativeTo(base, project.data)},
        {"split", project.split},
        {"checkpoint", relativeTo(base, project.checkpoint)},
        {"rule", project.rule.toJson()},
        {"map", project.mapKind},
        {"masks", relativeTo(base, project.masks.empty() ? defaultMasksFolder(projectFile) : project.masks)},
        {"reviews", reviews},
        {"image", project.image},
    };
    vision::atomicWriteText(projectFile, json.dump(2) + "\n");
}

std::vector<std::string> missingProjectPaths(const StudioProject &project)
{
    std::vector<std::string> missing;
    std::error_code ec;
    if (project.data.empty() || !fs::is_directory(project.data, ec))
        missing.push_back("data");
    if (!project.checkpoint.empty() && !fs::is_regular_file(project.checkpoint, ec))
        missing.push_back("checkpoint");
    return missing;
}

} // namespace wsss::training
