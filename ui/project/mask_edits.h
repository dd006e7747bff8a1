#pragma once
// Pure edits of a label image (class index per pixel, 255 = ignore): brush strokes, flood fill,
// polygon fill and region fill, and the patches that undo them. No widgets and no document: the
// undo commands (ui/commands/) and MaskDocument call these, and the tests check them pixel by pixel.
// Coordinates are image pixels; pixel (x, y) covers [x, x+1) × [y, y+1), its centre is (x+½, y+½).
#include <QPointF>
#include <QPolygonF>
#include <QRect>
#include <QSize>

#include <cstdint>
#include <vector>

namespace wsss::ui {

// A mask at full image resolution: class index per pixel (0 background, 1..254 classes,
// vision::kIgnoreLabel = 255 ignore), row-major, no padding — the layout of the canvas's labels.
struct LabelImage {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels; // width × height

    LabelImage() = default;
    LabelImage(int width, int height, std::uint8_t fill = 0);
    // `pixels` must hold width × height labels.
    LabelImage(int width, int height, std::vector<std::uint8_t> pixels);

    bool isNull() const { return width <= 0 || height <= 0; }
    QSize size() const { return {width, height}; }
    QRect rect() const { return {0, 0, width, height}; }
    std::uint8_t at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
    std::uint8_t &at(int x, int y) { return pixels[static_cast<std::size_t>(y) * width + x]; }
    const std::uint8_t *scanLine(int y) const { return pixels.data() + static_cast<std::size_t>(y) * width; }
    std::uint8_t *scanLine(int y) { return pixels.data() + static_cast<std::size_t>(y) * width; }

    bool operator==(const LabelImage &o) const
    {
        return width == o.width && height == o.height && pixels == o.pixels;
    }
    bool operator!=(const LabelImage &o) const { return !(*this == o); }
};

// A copy of `rect` (clipped to the image) of an image.
LabelImage cropLabels(const LabelImage &image, const QRect &rect);
// Writes `crop` into the image with its top-left corner at `at` (the part outside is dropped).
void pasteLabels(LabelImage &image, const LabelImage &crop, const QPoint &at);

// A set of pixels: a bounding rect and one byte per pixel of it (nonzero = inside). Edits build
// one, then fillRegion() writes a label into it; the bounds may be loose or reach outside the image.
struct RegionMask {
    QRect bounds;                     // image pixels; empty = no pixel
    std::vector<std::uint8_t> inside; // bounds.width() × bounds.height(), row-major

    bool isEmpty() const { return bounds.isEmpty(); }
    bool contains(int x, int y) const
    {
        return bounds.contains(x, y) &&
               inside[static_cast<std::size_t>(y - bounds.y()) * bounds.width() + (x - bounds.x())] != 0;
    }
    // The nonzero pixels of an image-sized mask (an affinity fill, a drawn selection), tightly bounded.
    static RegionMask fromMask(const LabelImage &mask);
    // The pixels of `labels` equal to `label` (a pseudo-mask's class region), tightly bounded.
    static RegionMask ofLabel(const LabelImage &labels, std::uint8_t label);
};

// The pixels a round brush of `diameter` pixels covers moving from `from` to `to`: every pixel
// whose centre lies within diameter/2 of the segment (a capsule, so dabs never leave gaps). Dab
// centres snap to pixel centres for odd diameters and to pixel corners for even ones, so one dab
// is exactly `diameter` pixels across (1 → one pixel, 2 → 2×2, 3 → 3×3, 5 → 5×5 less the corners).
RegionMask strokeRegion(const QSize &imageSize, const QPointF &from, const QPointF &to, int diameter);
// The 4-connected pixels of the seed's label that the seed reaches; empty if the seed is outside.
RegionMask floodRegion(const LabelImage &image, const QPoint &seed);
// The pixels whose centres lie inside the polygon, even-odd rule (a point on a left or top edge is
// inside, on a right or bottom edge outside, so adjacent polygons share no pixel).
RegionMask polygonRegion(const QSize &imageSize, const QPolygonF &polygon);

// Sets the region's pixels (inside the image) to `label`; returns the bounding rect of the pixels
// whose label changed (empty when none did). The three below are this over the regions above.
QRect fillRegion(LabelImage &image, const RegionMask &region, std::uint8_t label);
QRect paintStroke(LabelImage &image, const QPointF &from, const QPointF &to, int diameter, std::uint8_t label);
QRect floodFill(LabelImage &image, const QPoint &seed, std::uint8_t label);
QRect fillPolygon(LabelImage &image, const QPolygonF &polygon, std::uint8_t label);
// Whether fillRegion() would change any pixel (edits that change nothing push no undo step).
bool regionChanges(const LabelImage &image, const RegionMask &region, std::uint8_t label);

// The pixels one edit changed: a rect and its labels before and after. Undo pastes `before`,
// redo pastes `after`; nothing outside `rect` is stored.
struct MaskPatch {
    QRect rect;        // empty: nothing changed
    LabelImage before; // rect-sized
    LabelImage after;  // rect-sized

    bool isEmpty() const { return rect.isEmpty(); }
};

// fillRegion() that returns what changed, tightly bounded.
MaskPatch applyRegion(LabelImage &image, const RegionMask &region, std::uint8_t label);
// Extends `earlier` by `later`, the edit applied right after it, so that one patch undoes and
// redoes both; `image` is the mask after both. When the rect has to grow it grows `slack` pixels
// further on each side (clipped to the image), so a long stroke copies its crops a few times
// rather than on every dab; trimPatch() removes the margin.
void mergePatches(MaskPatch &earlier, const MaskPatch &later, const LabelImage &image, int slack = 0);
// Shrinks a patch to the bounding rect of the pixels whose labels differ (empty when none do).
void trimPatch(MaskPatch &patch);

} // namespace wsss::ui
