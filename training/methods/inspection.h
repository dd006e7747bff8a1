#pragma once
// Inspection: everything the studio shows for one image, computed once by the engine's worker.
// Plain data (no LibTorch types) so ui/ can hold it without the tensor headers; immutable once
// made and passed around as std::shared_ptr<const Inspection>.
#include "vision/labels/pseudo_label_rule.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace wsss::training {

// One per-class map at image resolution, values in [0, 1].
struct ClassMap {
    std::string kind;   // "cam", "seg", ... (what made it)
    int classIndex = 0; // index into Inspection::classNames (1..K; 0 = the kind's own background map)
    std::vector<float> values; // [imageHeight * imageWidth], row-major
};

// The attention of one block: post-softmax probabilities [heads, tokens, tokens] for short
// sequences; for long ones (ViT-S/8 at 512 px has 4097 tokens: 400 MB a block) the queries and
// keys [heads, tokens, headDim] instead, from which a query's row is computed when asked.
struct AttentionLayer {
    int heads = 0;
    int tokens = 0;
    std::vector<float> probs;
    int headDim = 0;
    float scale = 0;                  // softmax(scale · q·k)
    std::vector<float> queries, keys;

    // Row `query` (a token index: 0 = class token, 1 + r*w + c = patch (r, c)), of one head,
    // or the mean over heads when head < 0. Length = tokens.
    std::vector<float> row(int query, int head = -1) const;
};

// A token-to-token affinity over the patch grid (AFA's learned affinity, a random walk's
// transition, ACR's patch-to-patch attention): row i says how patch i relates to every patch.
struct AffinityMatrix {
    std::string kind;
    int tokens = 0;            // gridHeight · gridWidth
    std::vector<float> values; // [tokens * tokens], row-major

    // Row of patch `patch` (0-based, r·gridWidth + c); empty when out of range.
    std::vector<float> row(int patch) const;
};

struct Inspection {
    std::string imageId;
    int imageWidth = 0, imageHeight = 0;
    std::vector<std::uint8_t> rgb; // [imageHeight * imageWidth * 3], RGB

    // The network's view: the input was resized to inputWidth × inputHeight; its patch grid
    // is gridWidth × gridHeight patches of patchSize pixels, preceded by prefixTokens tokens.
    int inputWidth = 0, inputHeight = 0;
    int gridWidth = 0, gridHeight = 0;
    int patchSize = 0;
    int prefixTokens = 1;

    std::vector<std::string> classNames; // background first
    std::vector<int> imageLabels;        // the classes the image is labelled with (1..K)
    std::vector<float> classScores;      // per foreground class (index k-1 for class k), sigmoid
    std::vector<ClassMap> maps;
    std::string primaryKind;             // the kind the method's pseudo-masks come from (Method::primaryMap)
    std::vector<AttentionLayer> attention; // every block, in order
    std::vector<AffinityMatrix> affinities; // the method's, by kind
    float defaultBgThreshold = vision::kDefaultBgThreshold;

    // The patch token index under an image pixel (x, y), or -1 outside the image.
    int patchTokenAt(double x, double y) const;
    // The affinity of a kind, or nullptr.
    const AffinityMatrix *affinity(const std::string &kind) const;
    // The map of a kind and class, or nullptr.
    const ClassMap *map(const std::string &kind, int classIndex) const;
    // Pseudo-mask under a background threshold: argmax over [t; maps of `kind` for the image's
    // labelled classes], ties to background. [imageHeight * imageWidth] class indices.
    std::vector<std::uint8_t> pseudoMask(const std::string &kind, float bgThreshold) const;
    // The same under the rule's background decision (threshold, or the band with 255 between β_l
    // and β_h); for a kind with its own background map (ownBackground) the argmax over
    // [background; maps] instead, whatever the rule says, as `wsss infer` does. Refinements (PAR,
    // CRF) are not applied: see RefinedMaps.
    std::vector<std::uint8_t> pseudoMask(const std::string &kind, const vision::PseudoLabelRule &rule) const;
    // The background map of a kind whose method scores background itself (class index 0), or null.
    const ClassMap *ownBackground(const std::string &kind) const;
    // The maps of a kind for the image's labelled classes, in imageLabels order (full-size only).
    std::vector<const ClassMap *> labelledMaps(const std::string &kind) const;
};

// The rule's background decision over class maps of n values each (the class written is each
// map's classIndex); refinements are not applied. n labels.
std::vector<std::uint8_t> applyMaskRule(const vision::PseudoLabelRule &rule, const std::vector<const ClassMap *> &maps, std::size_t n);

// An inspection's maps of one kind after the rule's refinements, made by the engine's worker
// (PAR and the CRF cost up to a second at 512 px). Immutable once made.
struct RefinedMaps {
    std::string imageId;
    std::string kind;
    vision::PseudoLabelRule rule;                 // the rule it was made for
    int imageWidth = 0, imageHeight = 0;
    std::vector<ClassMap> maps;    // the labelled classes' maps after PAR; empty when PAR is off
    std::vector<std::uint8_t> crfLabels; // with the CRF: its labels [imageHeight * imageWidth]; else empty
    // A kind with its own background (Inspection::ownBackground): the refined argmax over
    // [background; labelled maps] (vision::decideWithOwnBackground), PAR alone or with the CRF;
    // `maps` and `crfLabels` stay empty. The rule's threshold is not read.
    bool ownBackground = false;
    std::vector<std::uint8_t> ownBackgroundLabels;

    // Whether this result serves `wanted` for the same image and kind: the same PAR, and with
    // the CRF on the same CRF inputs (its background score, unless the method scores it) and
    // parameters. The decision may differ: it applies to maps live.
    bool serves(const vision::PseudoLabelRule &wanted) const
    {
        return rule.parIterations == wanted.parIterations && rule.crf == wanted.crf &&
               (!wanted.crf ||
                (rule.crfPreset == wanted.crfPreset && (ownBackground || rule.bgThreshold == wanted.bgThreshold)));
    }
};

} // namespace wsss::training
