#include "ui/canvas/color_map.h"

#include "ui/canvas/canvas_widget.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace wsss::ui {

namespace {

struct Stop {
    float t;
    int r, g, b;
};

// Nine samples of matplotlib's viridis and magma (_cm_listed.py), linearly interpolated.
constexpr Stop kViridis[] = {{0.000f, 68, 1, 84},    {0.125f, 71, 44, 122},  {0.250f, 59, 81, 139},
                             {0.375f, 44, 113, 142}, {0.500f, 33, 144, 141}, {0.625f, 39, 173, 129},
                             {0.750f, 92, 200, 99},  {0.875f, 170, 220, 50}, {1.000f, 253, 231, 37}};
constexpr Stop kMagma[] = {{0.000f, 0, 0, 4},      {0.125f, 28, 16, 68},    {0.250f, 79, 18, 123},
                           {0.375f, 129, 37, 129}, {0.500f, 181, 54, 122},  {0.625f, 229, 80, 100},
                           {0.750f, 251, 135, 97}, {0.875f, 254, 194, 135}, {1.000f, 252, 253, 191}};

template <size_t N> QRgb interpolate(const Stop (&stops)[N], float t)
{
    size_t i = 1;
    while (i + 1 < N && stops[i].t < t)
        ++i;
    const Stop &a = stops[i - 1], &b = stops[i];
    const float f = std::clamp((t - a.t) / (b.t - a.t), 0.0f, 1.0f);
    auto mix = [f](int x, int y) { return static_cast<int>(std::lround(x + f * (y - x))); };
    return qRgb(mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b));
}

using Table = std::array<QRgb, 256>;

Table makeTable(ColorMap map)
{
    Table table{};
    for (int i = 0; i < 256; ++i) {
        const float t = i / 255.0f;
        switch (map) {
        case ColorMap::Jet: table[i] = jetColor(t); break;
        case ColorMap::Viridis: table[i] = interpolate(kViridis, t); break;
        case ColorMap::Magma: table[i] = interpolate(kMagma, t); break;
        case ColorMap::Gray: table[i] = qRgb(i, i, i); break;
        }
    }
    return table;
}

} // namespace

QList<ColorMap> colorMaps()
{
    return {ColorMap::Jet, ColorMap::Viridis, ColorMap::Magma, ColorMap::Gray};
}

QString colorMapName(ColorMap map)
{
    switch (map) {
    case ColorMap::Jet: return QStringLiteral("jet");
    case ColorMap::Viridis: return QStringLiteral("viridis");
    case ColorMap::Magma: return QStringLiteral("magma");
    case ColorMap::Gray: return QStringLiteral("gray");
    }
    return QStringLiteral("jet");
}

ColorMap colorMapFromName(const QString &name, ColorMap fallback)
{
    for (ColorMap map : colorMaps())
        if (colorMapName(map) == name)
            return map;
    return fallback;
}

const QRgb *colorMapTable(ColorMap map)
{
    static const std::array<Table, 4> tables = {makeTable(ColorMap::Jet), makeTable(ColorMap::Viridis),
                                                makeTable(ColorMap::Magma), makeTable(ColorMap::Gray)};
    return tables[static_cast<size_t>(map)].data();
}

QRgb colorMapColor(ColorMap map, float t)
{
    t = std::isfinite(t) ? std::clamp(t, 0.0f, 1.0f) : 0.0f;
    return colorMapTable(map)[static_cast<int>(std::lround(t * 255.0f))];
}

} // namespace wsss::ui
