#pragma once
// AttentionDock: where the query patch looks. A grid of small maps, one row per block and one
// column per head plus the mean over heads, shows the query's attention over the patch grid at a
// glance; clicking a cell enlarges it in the big view below (one block's row, nearest-scaled,
// with its value range, a colour bar and the value under the cursor). A toggle shows the class
// token's attention instead of the query patch's. Arrow keys in either view move the query.
// Defaults to the last block's mean; reads only the current inspection, never the model.
#include "training/methods/inspection.h"
#include "ui/canvas/color_map.h"

#include <QDockWidget>
#include <QImage>

#include <memory>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;

namespace wsss::ui {

class AttentionGridView;
class AttentionHeatmapView;

class AttentionDock : public QDockWidget {
    Q_OBJECT
public:
    explicit AttentionDock(QWidget *parent = nullptr);

    void setInspection(std::shared_ptr<const wsss::training::Inspection> inspection);
    void setQueryToken(int token);
    int queryToken() const { return m_query; }

    void setLayer(int layer); // 0-based block index
    int layer() const;
    void setHead(int head); // -1 = mean over heads
    int head() const;

    // The shown row over the patch tokens only (prefix tokens dropped), gridHeight × gridWidth
    // row-major; empty without an inspection or query.
    std::vector<float> currentRow() const { return m_row; }
    // The heatmap at grid resolution (one pixel per patch), as drawn.
    QImage attentionImage() const { return m_image; }

    // Show the class token's attention (token 0) instead of the query patch's.
    void setShowClassToken(bool show);
    bool showClassToken() const;
    void setColorMap(ColorMap map);
    ColorMap colorMap() const { return m_colorMap; }

    // The grid: rows = blocks, columns = the mean over heads (column 0) then each head.
    int gridRows() const { return m_gridRows; }
    int gridColumns() const { return m_gridColumns; }
    // A cell at grid resolution as drawn (empty when out of range).
    QImage gridImage(int layer, int column) const;
    QWidget *gridView() const;
    QRect gridCellRect(int layer, int column) const; // in gridView() coordinates

Q_SIGNALS:
    // The user clicked a patch in the heatmap: make it the query.
    void queryRequested(int token);

private:
    void refreshSelectors();
    void recompute();
    void recomputeGrid();
    void showHover(int patch);
    void showGridHover(int layer, int column, int patch);
    void moveQuery(int key); // an arrow key: the neighbouring patch becomes the query
    int shownToken() const;  // the class token or the query
    QImage colorize(const std::vector<float> &values, int width, int height, float lo, float hi) const;

    std::shared_ptr<const wsss::training::Inspection> m_inspection;
    int m_query = -1;
    std::vector<float> m_row;
    float m_min = 0, m_max = 0;
    QImage m_image;
    ColorMap m_colorMap = ColorMap::Jet;
    int m_gridRows = 0, m_gridColumns = 0;
    std::vector<QImage> m_gridImages;             // row-major, rows × columns
    std::vector<std::vector<float>> m_gridValues; // the patch values behind each cell

    QCheckBox *m_classToken = nullptr;
    AttentionGridView *m_grid = nullptr;
    QComboBox *m_layer = nullptr;
    QComboBox *m_head = nullptr;
    AttentionHeatmapView *m_view = nullptr;
    QLabel *m_title = nullptr;
    QLabel *m_range = nullptr;
    QLabel *m_hover = nullptr;
};

} // namespace wsss::ui
