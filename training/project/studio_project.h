#pragma once
// StudioProject: what a `.wsssproj` file holds — the dataset and checkpoint a person corrects
// pseudo-masks for, the pseudo-label rule, each image's review state and the folder of corrected
// masks. Plain data and JSON, no undo (ui/project/project_document.h wraps it for the studio);
// `wsss project new`, `wsss export` and the studio read and write the same file. Paths are absolute
// in memory and stored relative to the project file, so a project folder can move as a whole.
#include "vision/labels/pseudo_label_rule.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace wsss::training {

// Where a person stands with one image's mask.
enum class ReviewState {
    Unreviewed, // nobody has looked (no entry in the file)
    Corrected,  // edited by hand: its mask is in the masks folder
    Accepted,   // the pseudo-mask (or the correction) is right as it is
    Rejected,   // not usable: left out of exports
};

std::string reviewStateName(ReviewState state);          // "unreviewed" | "corrected" | "accepted" | "rejected"
ReviewState reviewStateFromName(const std::string &name); // wsss::Error naming the value

struct StudioProject {
    static constexpr int kFormatVersion = 1;

    std::filesystem::path data;       // VOC-layout dataset folder
    std::string split = "train";      // the split being corrected
    std::filesystem::path checkpoint; // .wsss the pseudo-masks come from ("" = none yet)
    vision::PseudoLabelRule rule;     // how maps become pseudo-masks
    std::string mapKind;              // which of the method's maps ("" = its primary one)
    std::filesystem::path masks;      // corrected masks: <id>.png, palette PNG at image size, 255 = ignore
    std::map<std::string, ReviewState> reviews; // image id → state; absent = unreviewed
    std::string image;                // the image last shown ("" = the first)

    ReviewState review(const std::string &id) const;
    // Unreviewed erases the entry, so the file lists only the images someone touched.
    void setReview(const std::string &id, ReviewState state);
    std::filesystem::path correctedMaskPath(const std::string &id) const { return masks / (id + ".png"); }
};

// The masks folder a new project gets: "<project stem>.masks" beside the project file.
std::filesystem::path defaultMasksFolder(const std::filesystem::path &projectFile);

// Reads a project; relative paths resolve against the project file's folder. The first format
// ({"data", "checkpoint", "split"} only) reads with the other fields at their defaults. Errors
// (unreadable file, bad JSON, a field of the wrong type, an unknown review state or rule key) are
// wsss::Error naming the file and the field.
StudioProject readStudioProject(const std::filesystem::path &projectFile);
// Writes atomically (vision::AtomicFile): a crash leaves the previous file whole.
void writeStudioProject(const std::filesystem::path &projectFile, const StudioProject &project);

// The fields whose paths no longer exist ("data", "checkpoint"), for a studio that asks the user
// for the new place instead of failing.
std::vector<std::string> missingProjectPaths(const StudioProject &project);

} // namespace wsss::training
