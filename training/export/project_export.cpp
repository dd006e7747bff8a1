#include "training/export/project_export.h"

#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"
#include "vision/io/palette_png.h"
#include "vision/io/voc_reader.h"

#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path &p)
{
    return "\"" + p.string() + "\"";
}

// Absolute and lexically normal, without a trailing separator.
fs::path normalAbsolute(const fs::path &p)
{
    fs::path a = fs::absolute(p).lexically_normal();
    if (!a.has_filename() && a != a.root_path())
        a = a.parent_path();
    return a;
}

// Symbolic links resolved as far as the path exists: two names of one folder compare equal.
fs::path resolvedPath(const fs::path &p)
{
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(fs::absolute(p), ec);
    return normalAbsolute(ec ? p : canonical);
}

// Whether `inner` is `outer` or lies inside it.
bool isWithin(const fs::path &inner, const fs::path &outer)
{
    if (inner.empty() || outer.empty())
        return false;
    const fs::path i = resolvedPath(inner), o = resolvedPath(outer);
    auto ii = i.begin();
    for (auto oi = o.begin(); oi != o.end(); ++oi, ++ii)
        if (ii == i.end() || *ii != *oi)
            return false;
    return true;
}

bool isEmptyFolder(const fs::path &folder)
{
    std::error_code ec;
    return fs::directory_iterator(folder, ec) == fs::directory_iterator();
}

// The output must not be (or lie in) the dataset or the masks folder, and a non-empty one is
// replaced only with force, and never when it holds what the project points to: the new export
// would be made, then the folder holding the dataset or the person's corrections removed.
void checkOutput(const StudioProject &project, const ProjectExportOptions &options, const fs::path &out)
{
    const std::string at = "export to " + quoted(out) + ": ";
    if (isWithin(out, project.data))
        throw Error(at + (isWithin(project.data, out) ? "that is the dataset itself" : "that is inside the dataset " +
                                                                                            quoted(project.data)) +
                    "; choose a folder outside it");
    if (isWithin(out, project.masks))
        throw Error(at + "that is (or is inside) the project's corrected masks folder " + quoted(project.masks) +
                    "; choose another folder");
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(out, ec)))
        return;
    if (!fs::is_directory(out, ec))
        throw Error(at + "that is a file, not a folder");
    if (isEmptyFolder(out))
        return;
    if (!options.force)
        throw Error(at + "the folder is not empty; pass --force to replace it (its files are removed once the new "
                         "export is complete)");
    const std::pair<const fs::path *, const char *> kept[] = {
        {&project.data, "the dataset"},
        {&project.masks, "the project's corrected masks"},
        {&project.checkpoint, "the project's checkpoint"},
        {&options.projectFile, "the project file"},
    };
    for (const auto &[path, what] : kept)
        if (isWithin(*path, out))
            throw Error(at + "the folder holds " + what + " (" + quoted(*path) +
                        "), which --force would delete; choose another folder");
}

// "<out>.partial-<pid>" beside the output, so the final rename stays on one file system. One left
// by a process that is gone (killed, powered off) is removed; a live one means another export to
// the same folder is running.
fs::path makeStagingFolder(const fs::path &out, const std::function<void(const std::string &)> &warn)
{
    const fs::path parent = out.parent_path();
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec)
        throw Error("export to " + quoted(out) + ": cannot create " + quoted(parent) + " (" + ec.message() + ")");
    const std::string prefix = out.filename().string() + ".partial-";
    for (const auto &entry : fs::directory_iterator(parent, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.compare(0, prefix.size(), prefix) != 0)
            continue;
        char *end = nullptr;
        const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
        if (pid <= 0 || end == nullptr || *end != '\0')
            continue;
        if (pid != ::getpid() && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH))
            throw Error("export to " + quoted(out) + ": another export to it is running (process " +
                        std::to_string(pid) + " is writing " + quoted(entry.path()) + ")");
        std::error_code removeError;
        fs::remove_all(entry.path(), removeError);
        if (pid != ::getpid())
            warn("removed " + quoted(entry.path()) + ", left by an export that was interrupted");
    }
    const fs::path staging = parent / (prefix + std::to_string(::getpid()));
    if (!fs::create_directory(staging, ec) || ec)
        throw Error("export to " + quoted(out) + ": cannot create its staging folder " + quoted(staging) + " (" +
                    (ec ? ec.message() : std::string("it exists")) + ")");
    return staging;
}

// Makes the renames durable; best effort (some file systems refuse fsync on folders).
void syncFolder(const fs::path &folder)
{
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

// The complete staging folder becomes `out`. An earlier output there is moved aside first and
// removed only once the new one is in place; if the rename fails it is moved back.
void moveIntoPlace(const fs::path &staging, const fs::path &out, const std::function<void(const std::string &)> &warn)
{
    std::error_code ec;
    fs::path earlier;
    if (fs::exists(fs::symlink_status(out, ec))) {
        earlier = out.parent_path() / (out.filename().string() + ".old-" + std::to_string(::getpid()));
        fs::remove_all(earlier, ec);
        fs::rename(out, earlier, ec);
        if (ec)
            throw Error("cannot move the earlier " + quoted(out) + " aside (" + ec.message() + ")");
    }
    fs::rename(staging, out, ec);
    if (ec) {
        const std::string why = ec.message();
        if (!earlier.empty())
            fs::rename(earlier, out, ec);
        throw Error("cannot rename " + quoted(staging) + " to " + quoted(out) + " (" + why + ")");
    }
    syncFolder(out.parent_path());
    if (!earlier.empty()) {
        fs::remove_all(earlier, ec);
        if (ec)
            warn("the earlier export, moved to " + quoted(earlier) + ", could not be removed (" + ec.message() + ")");
    }
}

std::vector<std::string> readLines(const fs::path &file)
{
    std::ifstream in(file);
    if (!in)
        throw Error("cannot read " + quoted(file));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            lines.push_back(line);
    return lines;
}

// The image's path as COCO's "file_name": relative to the dataset folder (the manifest's
// "image_root"), as detectron2's and mmdetection's loaders join them.
std::string cocoFileName(const std::string &imagePath, const fs::path &dataRoot)
{
    const fs::path relative = normalAbsolute(imagePath).lexically_relative(normalAbsolute(dataRoot));
    if (relative.empty() || *relative.begin() == "..")
        return fs::path(imagePath).filename().generic_string();
    return relative.generic_string();
}

// Pixel count and box of one class in a mask.
struct ClassExtent {
    int area = 0;
    int x0 = 0, y0 = 0, x1 = -1, y1 = -1; // inclusive

    void add(int x, int y)
    {
        if (area++ == 0) {
            x0 = x1 = x;
            y0 = y1 = y;
            return;
        }
        x0 = std::min(x0, x), x1 = std::max(x1, x);
        y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
};

// One annotation per class present in the mask, in class order; 0 (background) and 255 (ignore)
// are no category, so their pixels belong to no annotation. The box is counted here: OpenCV
// 4.6's boundingRect of a mask misses a column in some narrow masks (a 6×2 mask with its two
// bottom pixels set gives width 1).
void addAnnotations(const cv::Mat &mask, int imageId, int numClasses, nlohmann::json &annotations)
{
    std::vector<ClassExtent> extents(256);
    for (int y = 0; y < mask.rows; ++y) {
        const auto *row = mask.ptr<std::uint8_t>(y);
        for (int x = 0; x < mask.cols; ++x)
            extents[row[x]].add(x, y);
    }
    for (int c = 1; c < numClasses; ++c) {
        const auto &e = extents[c];
        if (e.area == 0)
            continue;
        cv::Mat binary;
        cv::compare(mask, c, binary, cv::CMP_EQ);
        annotations.push_back({{"id", static_cast<int>(annotations.size()) + 1},
                               {"image_id", imageId},
                               {"category_id", c},
                               {"segmentation",
                                {{"size", {mask.rows, mask.cols}}, {"counts", cocoRleString(cocoRleCounts(binary))}}},
                               {"area", e.area},
                               {"bbox", {e.x0, e.y0, e.x1 - e.x0 + 1, e.y1 - e.y0 + 1}},
                               {"iscrowd", 0}});
    }
}

// Turns the VOC folder inferDataset made into COCO: annotations.json from its masks (the same
// bytes the VOC export holds), then the masks and the list go. Returns the annotation count.
std::int64_t convertToCoco(const fs::path &folder, const StudioProject &project, const vision::LabelMap &labelMap)
{
    const auto dataset = vision::loadVocDataset(project.data.string(), project.split);
    std::map<std::string, std::string> imagePaths;
    for (const auto &item : dataset.items)
        imagePaths[item.id] = item.imagePath;
    nlohmann::json images = nlohmann::json::array(), annotations = nlohmann::json::array(),
                   categories = nlohmann::json::array();
    for (int c = 1; c < labelMap.size(); ++c)
        categories.push_back({{"id", c}, {"name", labelMap.classes[c].name}});
    int imageId = 0;
    for (const auto &id : readLines(folder / "ImageSets" / "Segmentation" / (project.split + ".txt"))) {
        const cv::Mat mask = vision::readLabelPng((folder / "SegmentationClass" / (id + ".png")).string());
        const auto path = imagePaths.find(id);
        if (path == imagePaths.end())
            throw Error("image \"" + id + "\" is no longer in the split " + project.split + " of " + quoted(project.data));
        images.push_back({{"id", ++imageId},
                          {"file_name", cocoFileName(path->second, project.data)},
                          {"width", mask.cols},
                          {"height", mask.rows}});
        addAnnotations(mask, imageId, labelMap.size(), annotations);
    }
    const std::int64_t count = static_cast<std::int64_t>(annotations.size());
    const nlohmann::json coco = {
        {"info", {{"description", "WSSS Studio pseudo-labels of " + project.split + " (see manifest.json)"}}},
        {"images", std::move(images)},
        {"annotations", std::move(annotations)},
        {"categories", std::move(categories)}};
    vision::atomicWriteText(folder / "annotations.json", coco.dump() + "\n");
    fs::remove_all(folder / "SegmentationClass");
    fs::remove_all(folder / "ImageSets");
    return count;
}

// inferDataset's manifest plus what only an export knows: its format, the project, and for COCO
// where the images are and what became of the ignored pixels.
void completeManifest(const fs::path &folder, const StudioProject &project, const ProjectExportOptions &options,
                      std::int64_t annotations)
{
    const fs::path file = folder / "manifest.json";
    std::ifstream in(file);
    nlohmann::json manifest = nlohmann::json::parse(in);
    manifest["format"] = exportFormatName(options.format);
    if (!options.projectFile.empty())
        manifest["project"] = normalAbsolute(options.projectFile).string();
    if (options.format == ExportFormat::Coco) {
        manifest["annotations_file"] = "annotations.json";
        manifest["annotations"] = annotations;
        manifest["image_root"] = normalAbsolute(project.data).string();
        manifest["ignore"] = "pixels labelled 255 (ignore) belong to no annotation; background (0) is no category";
    }
    vision::atomicWriteText(file, manifest.dump(2) + "\n");
}

} // namespace

std::string exportFormatName(ExportFormat format)
{
    return format == ExportFormat::Coco ? "coco" : "voc";
}

ExportFormat exportFormatFromName(const std::string &name)
{
    if (name == "voc")
        return ExportFormat::Voc;
    if (name == "coco")
        return ExportFormat::Coco;
    throw Error("unknown export format \"" + name + "\" (expected voc or coco)");
}

ProjectExportResult exportProject(LoadedModel &model, const torch::Device &device, const StudioProject &project,
                                  const ProjectExportOptions &options, const DatasetInferenceCallbacks &callbacks)
{
    auto warn = [&](const std::string &message) {
        if (callbacks.warning)
            callbacks.warning(message);
    };
    if (options.out.empty())
        throw Error("export: no output folder");
    if (project.data.empty())
        throw Error("export: the project names no dataset");
    const fs::path out = normalAbsolute(options.out);
    checkOutput(project, options, out);
    const fs::path staging = makeStagingFolder(out, warn);
    auto discard = [&] {
        std::error_code ec;
        fs::remove_all(staging, ec);
        if (ec)
            warn("could not remove " + quoted(staging) + " (" + ec.message() + ")");
    };
    auto failure = [&](const std::string &why) {
        std::error_code ec;
        return Error("export of " + project.split + " to " + quoted(out) + " failed: " + why +
                     (fs::exists(out, ec) ? " (the earlier export there is unchanged)" : " (nothing was written there)"));
    };

    ProjectExportResult result;
    result.out = out;
    try {
        DatasetInferenceOptions o;
        o.checkpoint = project.checkpoint.string();
        o.data = project.data.string();
        o.split = project.split;
        o.out = staging.string();
        o.rule = project.rule;
        o.map = project.mapKind;
        o.correctedMasks = project.masks.string();
        for (const auto &[id, state] : project.reviews)
            if (state == ReviewState::Rejected)
                o.leaveOut.insert(id);
        o.discardOnFailure = true;
        const auto inferred = inferDataset(model, device, o, callbacks);
        result.total = inferred.total;
        result.images = inferred.written;
        result.corrected = inferred.corrected;
        result.rejected = inferred.leftOut;
        result.skipped = inferred.skipped;
        if (!inferred.complete) {
            discard();
            result.complete = false;
            return result;
        }
        if (options.format == ExportFormat::Coco)
            result.annotations = convertToCoco(staging, project, model.header.labelMap);
        completeManifest(staging, project, options, result.annotations);
        moveIntoPlace(staging, out, warn);
    } catch (const c10::Error &e) {
        discard();
        throw failure(e.what_without_backtrace());
    } catch (const std::exception &e) {
        discard();
        throw failure(e.what());
    }
    return result;
}

ProjectExportResult exportProject(const StudioProject &project, const ProjectExportOptions &options,
                                  const std::string &deviceName, const DatasetInferenceCallbacks &callbacks)
{
    if (project.checkpoint.empty())
        throw Error("export: the project has no checkpoint (give one to `wsss project new --checkpoint`)");
    if (!options.out.empty())
        checkOutput(project, options, normalAbsolute(options.out)); // before loading: a refusal should be quick
    const auto device = resolveDevice(deviceName);
    auto model = loadCheckpoint(project.checkpoint.string(), device);
    return exportProject(model, device, project, options, callbacks);
}

} // namespace wsss::training
