#include "ui/project/mask_edits.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <cmath>
#include <cstring>
#include <utility>

namespace wsss::ui {

namespace {

std::size_t area(const QRect &r)
{
    return r.isEmpty() ? 0 : static_cast<std::size_t>(r.width()) * static_cast<std::size_t>(r.height());
}

RegionMask emptyRegion(const QRect &bounds)
{
    RegionMask region;
    region.bounds = bounds;
    region.inside.assign(area(bounds), 0);
    return region;
}

// A region over `bounds` (image pixels) selecting where pick(x, y) holds, tightened to its pixels.
template <class Pick> RegionMask regionWhere(const QRect &bounds, Pick pick)
{
    int x0 = bounds.right() + 1, y0 = bounds.bottom() + 1, x1 = bounds.left() - 1, y1 = bounds.top() - 1;
    for (int y = bounds.top(); y <= bounds.bottom(); ++y)
        for (int x = bounds.left(); x <= bounds.right(); ++x)
            if (pick(x, y)) {
                x0 = std::min(x0, x), x1 = std::max(x1, x);
                y0 = std::min(y0, y), y1 = std::max(y1, y);
            }
    if (x1 < x0)
        return {};
    RegionMask region = emptyRegion(QRect(QPoint(x0, y0), QPoint(x1, y1)));
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x)
            region.inside[static_cast<std::size_t>(y - y0) * region.bounds.width() + (x - x0)] = pick(x, y) ? 1 : 0;
    return region;
}

// A dab centre on the pixel grid: odd diameters on a pixel centre, even ones on a pixel corner.
QPointF snapCentre(const QPointF &p, int diameter)
{
    if (diameter % 2 == 1)
        return {std::floor(p.x()) + 0.5, std::floor(p.y()) + 0.5};
    return {std::round(p.x()), std::round(p.y())};
}

double distanceSquaredToSegment(double px, double py, const QPointF &a, const QPointF &b)
{
    const double dx = b.x() - a.x(), dy = b.y() - a.y();
    const double length2 = dx * dx + dy * dy;
    double t = length2 > 0 ? ((px - a.x()) * dx + (py - a.y()) * dy) / length2 : 0.0;
    t = std::clamp(t, 0.0, 1.0);
    const double ex = a.x() + t * dx - px, ey = a.y() + t * dy - py;
    return ex * ex + ey * ey;
}

} // namespace

LabelImage::LabelImage(int width, int height, std::uint8_t fill)
    : width(std::max(width, 0)), height(std::max(height, 0)),
      pixels(static_cast<std::size_t>(this->width) * this->height, fill)
{
}

LabelImage::LabelImage(int width, int height, std::vector<std::uint8_t> pixels)
    : width(std::max(width, 0)), height(std::max(height, 0)), pixels(std::move(pixels))
{
    assert(this->pixels.size() == static_cast<std::size_t>(this->width) * this->height);
    this->pixels.resize(static_cast<std::size_t>(this->width) * this->height); // never read past the end
}

LabelImage cropLabels(const LabelImage &image, const QRect &rect)
{
    const QRect r = rect & image.rect();
    if (r.isEmpty())
        return {};
    LabelImage crop(r.width(), r.height());
    for (int y = 0; y < r.height(); ++y)
        std::memcpy(crop.scanLine(y), image.scanLine(r.y() + y) + r.x(), static_cast<std::size_t>(r.width()));
    return crop;
}

void pasteLabels(LabelImage &image, const LabelImage &crop, const QPoint &at)
{
    const QRect r = QRect(at, crop.size()) & image.rect();
    if (r.isEmpty())
        return;
    for (int y = r.top(); y <= r.bottom(); ++y)
        std::memcpy(image.scanLine(y) + r.x(), crop.scanLine(y - at.y()) + (r.x() - at.x()), static_cast<std::size_t>(r.width()));
}

RegionMask RegionMask::fromMask(const LabelImage &mask)
{
    return regionWhere(mask.rect(), [&](int x, int y) { return mask.at(x, y) != 0; });
}

RegionMask RegionMask::ofLabel(const LabelImage &labels, std::uint8_t label)
{
    return regionWhere(labels.rect(), [&](int x, int y) { return labels.at(x, y) == label; });
}

RegionMask strokeRegion(const QSize &imageSize, const QPointF &from, const QPointF &to, int diameter)
{
    diameter = std::max(diameter, 1);
    const QPointF a = snapCentre(from, diameter), b = snapCentre(to, diameter);
    const double r = diameter / 2.0;
    // Pixel centres within the segment's box grown by r; the epsilon keeps exact ties (a 3-pixel
    // dab's corners at distance √2 < 1.5, a 5-pixel dab's (2, 1) at √5 < 2.5) from rounding away.
    const double r2 = r * r + 1e-9;
    const int x0 = static_cast<int>(std::ceil(std::min(a.x(), b.x()) - r - 0.5));
    const int x1 = static_cast<int>(std::floor(std::max(a.x(), b.x()) + r - 0.5));
    const int y0 = static_cast<int>(std::ceil(std::min(a.y(), b.y()) - r - 0.5));
    const int y1 = static_cast<int>(std::floor(std::max(a.y(), b.y()) + r - 0.5));
    const QRect box = QRect(QPoint(x0, y0), QPoint(x1, y1)) & QRect(QPoint(0, 0), imageSize);
    if (box.isEmpty())
        return {};
    RegionMask region = emptyRegion(box);
    bool any = false;
    for (int y = box.top(); y <= box.bottom(); ++y)
        for (int x = box.left(); x <= box.right(); ++x)
            if (distanceSquaredToSegment(x + 0.5, y + 0.5, a, b) <= r2) {
                region.inside[static_cast<std::size_t>(y - box.y()) * box.width() + (x - box.x())] = 1;
                any = true;
            }
    return any ? region : RegionMask{};
}

RegionMask floodRegion(const LabelImage &image, const QPoint &seed)
{
    if (!image.rect().contains(seed))
        return {};
    const int w = image.width, h = image.height;
    const std::uint8_t target = image.at(seed.x(), seed.y());
    std::vector<std::uint8_t> reached(image.pixels.size(), 0);
    auto open = [&](int x, int y) {
        const std::size_t i = static_cast<std::size_t>(y) * w + x;
        return !reached[i] && image.pixels[i] == target;
    };
    int x0 = seed.x(), x1 = seed.x(), y0 = seed.y(), y1 = seed.y();
    // Scanline fill: each popped pixel grows to its whole run, then seeds the runs above and below.
    std::vector<QPoint> stack{seed};
    while (!stack.empty()) {
        const QPoint p = stack.back();
        stack.pop_back();
        if (!open(p.x(), p.y()))
            continue;
        int left = p.x(), right = p.x();
        while (left > 0 && open(left - 1, p.y()))
            --left;
        while (right + 1 < w && open(right + 1, p.y()))
            ++right;
        std::fill_n(reached.begin() + static_cast<std::ptrdiff_t>(p.y()) * w + left, right - left + 1, 1);
        x0 = std::min(x0, left), x1 = std::max(x1, right), y0 = std::min(y0, p.y()), y1 = std::max(y1, p.y());
        for (const int y : {p.y() - 1, p.y() + 1}) {
            if (y < 0 || y >= h)
                continue;
            for (int x = left; x <= right; ++x)
                if (open(x, y) && (x == left || !open(x - 1, y)))
                    stack.emplace_back(x, y);
        }
    }
    RegionMask region = emptyRegion(QRect(QPoint(x0, y0), QPoint(x1, y1)));
    for (int y = y0; y <= y1; ++y)
        std::memcpy(&region.inside[static_cast<std::size_t>(y - y0) * region.bounds.width()],
                    &reached[static_cast<std::size_t>(y) * w + x0], static_cast<std::size_t>(x1 - x0 + 1));
    return region;
}

RegionMask polygonRegion(const QSize &imageSize, const QPolygonF &polygon)
{
    if (polygon.size() < 3)
        return {};
    const QRectF extent = polygon.boundingRect();
    const QRect box = QRect(QPoint(static_cast<int>(std::floor(extent.left())), static_cast<int>(std::floor(extent.top()))),
                            QPoint(static_cast<int>(std::ceil(extent.right())), static_cast<int>(std::ceil(extent.bottom())))) &
                      QRect(QPoint(0, 0), imageSize);
    if (box.isEmpty())
        return {};
    RegionMask region = emptyRegion(box);
    bool any = false;
    std::vector<double> crossings;
    for (int y = box.top(); y <= box.bottom(); ++y) {
        const double yc = y + 0.5;
        crossings.clear();
        // Half-open in y (a vertex counts for one of its two edges), so the even-odd pairs stay paired.
        for (int i = 0, n = static_cast<int>(polygon.size()); i < n; ++i) {
            const QPointF &p = polygon[i], &q = polygon[(i + 1) % n];
            if ((p.y() <= yc) != (q.y() <= yc))
                crossings.push_back(p.x() + (yc - p.y()) * (q.x() - p.x()) / (q.y() - p.y()));
        }
        std::sort(crossings.begin(), crossings.end());
        for (std::size_t k = 0; k + 1 < crossings.size(); k += 2) {
            // Centres x + ½ in [c0, c1).
            const int from = std::max(box.left(), static_cast<int>(std::ceil(crossings[k] - 0.5)));
            const int to = std::min(box.right(), static_cast<int>(std::ceil(crossings[k + 1] - 0.5)) - 1);
            for (int x = from; x <= to; ++x) {
                region.inside[static_cast<std::size_t>(y - box.y()) * box.width() + (x - box.x())] = 1;
                any = true;
            }
        }
    }
    return any ? region : RegionMask{};
}

QRect fillRegion(LabelImage &image, const RegionMask &region, std::uint8_t label)
{
    const QRect r = region.bounds & image.rect();
    int x0 = INT_MAX, y0 = INT_MAX, x1 = INT_MIN, y1 = INT_MIN;
    for (int y = r.top(); y <= r.bottom(); ++y) {
        const std::uint8_t *in = &region.inside[static_cast<std::size_t>(y - region.bounds.y()) * region.bounds.width() +
                                                (r.left() - region.bounds.x())];
        std::uint8_t *row = image.scanLine(y);
        for (int x = r.left(); x <= r.right(); ++x, ++in)
            if (*in && row[x] != label) {
                row[x] = label;
                x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
            }
    }
    return x1 < x0 ? QRect() : QRect(QPoint(x0, y0), QPoint(x1, y1));
}

bool regionChanges(const LabelImage &image, const RegionMask &region, std::uint8_t label)
{
    const QRect r = region.bounds & image.rect();
    for (int y = r.top(); y <= r.bottom(); ++y)
        for (int x = r.left(); x <= r.right(); ++x)
            if (region.contains(x, y) && image.at(x, y) != label)
                return true;
    return false;
}

QRect paintStroke(LabelImage &image, const QPointF &from, const QPointF &to, int diameter, std::uint8_t label)
{
    return fillRegion(image, strokeRegion(image.size(), from, to, diameter), label);
}

QRect floodFill(LabelImage &image, const QPoint &seed, std::uint8_t label)
{
    return fillRegion(image, floodRegion(image, seed), label);
}

QRect fillPolygon(LabelImage &image, const QPolygonF &polygon, std::uint8_t label)
{
    return fillRegion(image, polygonRegion(image.size(), polygon), label);
}

MaskPatch applyRegion(LabelImage &image, const RegionMask &region, std::uint8_t label)
{
    const QRect r = region.bounds & image.rect();
    if (r.isEmpty())
        return {};
    const LabelImage before = cropLabels(image, r);
    MaskPatch patch;
    patch.rect = fillRegion(image, region, label);
    if (patch.rect.isEmpty())
        return {};
    patch.before = cropLabels(before, patch.rect.translated(-r.topLeft()));
    patch.after = cropLabels(image, patch.rect);
    return patch;
}

void mergePatches(MaskPatch &earlier, const MaskPatch &later, const LabelImage &image, int slack)
{
    if (later.isEmpty())
        return;
    if (earlier.isEmpty()) {
        earlier = later;
        return;
    }
    if (earlier.rect.contains(later.rect)) {
        // `earlier.before` already holds the labels from before both edits; only `after` moves on.
        pasteLabels(earlier.after, later.after, later.rect.topLeft() - earlier.rect.topLeft());
        return;
    }
    const QRect grown = (earlier.rect | later.rect).adjusted(-slack, -slack, slack, slack) & image.rect();
    // Outside both rects nothing changed, so the current labels are also the labels before; then
    // `later.before` is right where only the later edit wrote, and `earlier.before` wins where both did.
    MaskPatch merged;
    merged.rect = grown;
    merged.after = cropLabels(image, grown);
    merged.before = merged.after;
    pasteLabels(merged.before, later.before, later.rect.topLeft() - grown.topLeft());
    pasteLabels(merged.before, earlier.before, earlier.rect.topLeft() - grown.topLeft());
    earlier = std::move(merged);
}

void trimPatch(MaskPatch &patch)
{
    if (patch.isEmpty())
        return;
    int x0 = INT_MAX, y0 = INT_MAX, x1 = INT_MIN, y1 = INT_MIN;
    for (int y = 0; y < patch.before.height; ++y)
        for (int x = 0; x < patch.before.width; ++x)
            if (patch.before.at(x, y) != patch.after.at(x, y)) {
                x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
            }
    if (x1 < x0) {
        patch = {};
        return;
    }
    const QRect local(QPoint(x0, y0), QPoint(x1, y1));
    if (local == patch.before.rect())
        return;
    patch.before = cropLabels(patch.before, local);
    patch.after = cropLabels(patch.after, local);
    patch.rect = local.translated(patch.rect.topLeft());
}

} // namespace wsss::ui
