#pragma once
// AffinityDock: every token affinity the method has (AFA's learned affinity and its random-walk
// transition, ACR's patch-to-patch attention, ...) seen from the query patch: one small map per
// kind, the query's row over the patch grid, each on its own value range with a colour bar;
// hovering a patch reads its value. Reads only the current inspection, never the model.
#include "training/methods/inspection.h"
#include "ui/canvas/color_map.h"

#include <QDockWidget>
#include <QImage>

#include <memory>
#include <string>
#include <vector>

class QGridLayout;
class QLabel;

namespace wsss::ui {

class AffinityTile;

class AffinityDock : public QDockWidget {
    Q_OBJECT
public:
    explicit AffinityDock(QWidget *parent = nullptr);

    void setInspection(std::shared_ptr<const wsss::training::Inspection> inspection);
    // A token index as the canvas gives it (prefix tokens first); class tokens show nothing.
    void setQueryToken(int token);
    void setColorMap(ColorMap map);

    int tileCount() const { return static_cast<int>(m_kinds.size()); }
    std::vector<std::string> kinds() const { return m_kinds; }
    // The shown row of a kind (gridHeight × gridWidth, row-major); empty when none.
    std::vector<float> row(const std::string &kind) const;
    QImage tileImage(int index) const; // at grid resolution, as drawn

    // A human name for an affinity kind ("afa" → "Learned affinity (AFA)").
    static QString kindTitle(const std::string &kind);

private:
    void rebuild();
    void recompute();
    void showHover(int tile, int patch);

    std::shared_ptr<const wsss::training::Inspection> m_inspection;
    int m_patch = -1;
    ColorMap m_colorMap = ColorMap::Jet;
    std::vector<std::string> m_kinds;
    std::vector<std::vector<float>> m_rows;
    std::vector<AffinityTile *> m_tiles;
    std::vector<QLabel *> m_titles, m_ranges;
    QGridLayout *m_layout = nullptr;
    QLabel *m_status = nullptr;
};

} // namespace wsss::ui
