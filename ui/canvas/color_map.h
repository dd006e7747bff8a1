#pragma once
// Colour maps for scalar layers (class maps, attention): value in [0, 1] → colour. The canvas
// and the attention views share the user's choice; names are stable keys for QSettings.
#include <QList>
#include <QRgb>
#include <QString>

namespace wsss::ui {

enum class ColorMap { Jet, Viridis, Magma, Gray };

QList<ColorMap> colorMaps();
QString colorMapName(ColorMap map);                                  // "jet", "viridis", …
ColorMap colorMapFromName(const QString &name, ColorMap fallback = ColorMap::Jet);
// 256 entries, index = round(255 · t); NaN and out-of-range values clamp.
const QRgb *colorMapTable(ColorMap map);
QRgb colorMapColor(ColorMap map, float t);

} // namespace wsss::ui
