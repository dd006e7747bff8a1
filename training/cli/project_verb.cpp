// `wsss project new`: a studio project (.wsssproj) for a dataset and a checkpoint, with the rule
// its pseudo-masks start from, ready for the studio and for `wsss export`.
#include "training/checkpoint/checkpoint.h"
#include "training/cli/verbs.h"
#include "training/project/studio_project.h"
#include "vision/core/error.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/voc_reader.h"
#include "vision/labels/pseudo_label_rule.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

struct ProjectNewOptions {
    std::string data, checkpoint, out, rule, split = "train", map, image;
    bool force = false;
};

std::string joined(const std::vector<std::string> &names)
{
    std::string text;
    for (const auto &n : names)
        text += (text.empty() ? "" : ", ") + n;
    return text;
}

// A PseudoLabelRule JSON object, or a manifest of `wsss infer` / `wsss export` (its "rule"), so a
// project can start from the rule an earlier output was made with.
vision::PseudoLabelRule readRuleFile(const std::string &path)
{
    std::ifstream in(path);
    if (!in)
        throw Error("--rule \"" + path + "\": cannot open the file");
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception &e) {
        throw Error("--rule \"" + path + "\" is not valid JSON: " + e.what());
    }
    if (json.is_object() && json.contains("rule"))
        json = json["rule"];
    if (!json.is_object())
        throw Error("--rule \"" + path + "\": expected a pseudo-label rule (a JSON object) or a manifest with a \"rule\"");
    try {
        return vision::PseudoLabelRule::fromJson(json);
    } catch (const nlohmann::json::exception &e) {
        throw Error("--rule \"" + path + "\": a value of the wrong type: " + e.what());
    } catch (const Error &e) {
        throw Error("--rule \"" + path + "\": " + e.what());
    }
}

// What the project points to must be there and fit together: a VOC folder with the split, a
// checkpoint whose classes are the dataset's (export would refuse it later, after the work).
void checkInputs(const ProjectNewOptions &o, const CheckpointHeader &header)
{
    const auto splits = vision::vocSplits(o.data);
    if (std::find(splits.begin(), splits.end(), o.split) == splits.end())
        throw Error("project new: --data \"" + o.data + "\" has no split \"" + o.split + "\" (ImageSets/Segmentation has " +
                    (splits.empty() ? std::string("none") : joined(splits)) + ")");
    const fs::path labelMapFile = fs::path(o.data) / "labelmap.txt";
    const auto classes = fs::exists(labelMapFile) ? vision::readLabelMapFile(labelMapFile.string()) : vision::vocLabelMap();
    if (classes.names() != header.labelMap.names())
        throw Error("project new: the classes of \"" + o.data + "\" (" + joined(classes.names()) +
                    ") are not the checkpoint's (" + joined(header.labelMap.names()) + ")");
    if (!o.image.empty()) {
        const auto items = vision::loadVocDataset(o.data, o.split).items;
        if (std::none_of(items.begin(), items.end(), [&](const vision::DatasetItem &item) { return item.id == o.image; }))
            throw Error("project new: --image \"" + o.image + "\" is not in split \"" + o.split + "\" of \"" + o.data + "\"");
    }
}

void runProjectNew(const ProjectNewOptions &o)
{
    const fs::path out(o.out);
    std::error_code ec;
    if (fs::exists(out, ec) && !o.force)
        throw Error("project new: \"" + o.out + "\" exists; pass --force to overwrite it");
    if (!fs::is_directory(o.data, ec))
        throw Error("project new: --data \"" + o.data + "\" is not a folder");
    if (!fs::is_regular_file(o.checkpoint, ec))
        throw Error("project new: --checkpoint \"" + o.checkpoint + "\" is not a file");
    const auto header = readCheckpointHeader(o.checkpoint);
    checkInputs(o, header);

    StudioProject project;
    project.data = fs::absolute(o.data).lexically_normal();
    project.split = o.split;
    project.checkpoint = fs::absolute(o.checkpoint).lexically_normal();
    if (o.rule.empty()) // as `wsss infer`: the checkpoint's best threshold when it has one
        project.rule.bgThreshold = header.metrics.value("best_bg_threshold", vision::kDefaultBgThreshold);
    else
        project.rule = readRuleFile(o.rule);
    project.rule.validate();
    project.mapKind = o.map;
    project.masks = defaultMasksFolder(out);
    project.image = o.image;
    writeStudioProject(out, project);
    std::printf("project → %s (%s of %s, %s checkpoint; corrected masks go to %s)\n", o.out.c_str(), o.split.c_str(),
                o.data.c_str(), header.method.c_str(), project.masks.string().c_str());
}

} // namespace

void addProjectVerb(CLI::App &app)
{
    auto *verb = app.add_subcommand("project", "Make studio projects (.wsssproj)");
    verb->require_subcommand(1);
    auto o = std::make_shared<ProjectNewOptions>();
    auto *create = verb->add_subcommand("new", "Write a project for a dataset and a checkpoint");
    create->add_option("--data", o->data, "VOC-layout dataset folder")->required();
    create->add_option("--checkpoint", o->checkpoint, "checkpoint.wsss the pseudo-masks come from")->required();
    create->add_option("--out", o->out, "The project file to write (P.wsssproj)")->required();
    create->add_option("--rule", o->rule,
                       "RULE.json: a pseudo-label rule, or a manifest.json whose \"rule\" to start from "
                       "(default: the checkpoint's background threshold, else 0.45)");
    create->add_option("--split", o->split, "The split to correct and export")->capture_default_str();
    create->add_option("--map", o->map, "Which of the method's maps the rule reads (default: its primary one)");
    create->add_option("--image", o->image, "The image the studio opens on (default: the split's first)");
    create->add_flag("--force", o->force, "Overwrite an existing project file");
    create->callback([o] { runProjectNew(*o); });
}

} // namespace wsss::training
