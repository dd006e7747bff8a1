#pragma once
// AttentionDock: where the query patch looks. Shows one block's attention row for the canvas's
// query token over the patch grid (gridWidth × gridHeight, nearest-scaled), for the mean over
// heads or one head, with its value range, a colour bar and the value under the cursor.
// Defaults to the last block; reads only the current inspection, never the model.
#include "training/methods/inspection.h"

#include <QDockWidget>
#include <QImage>

#include <memory>
#include <vector>

class QComboBox;
class QLabel;

namespace wsss::ui {

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

Q_SIGNALS:
    // The user clicked a patch in the heatmap: make it the query.
    void queryRequested(int token);

private:
    void refreshSelectors();
    void recompute();
    void showHover(int patch);

    std::shared_ptr<const wsss::training::Inspection> m_inspection;
    int m_query = -1;
    std::vector<float> m_row;
    float m_min = 0, m_max = 0;
    QImage m_image;

    QComboBox *m_layer = nullptr;
    QComboBox *m_head = nullptr;
    AttentionHeatmapView *m_view = nullptr;
    QLabel *m_title = nullptr;
    QLabel *m_range = nullptr;
    QLabel *m_hover = nullptr;
};

} // namespace wsss::ui
