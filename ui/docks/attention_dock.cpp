#include "ui/docks/attention_dock.h"

#include "ui/canvas/canvas_widget.h"

#include <QCheckBox>
#include <QComboBox>
#include <QKeyEvent>
#include <QSignalBlocker>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QVBoxLayout>

#include <algorithm>
#include <functional>

namespace wsss::ui {

// The heatmap, scaled up with nearest sampling and kept square-celled, with the query patch
// outlined and a vertical colour bar labelled with the row's range. Reports the patch under the
// cursor and clicks through callbacks (no signals, so it needs no moc of its own).
class AttentionHeatmapView : public QWidget {
public:
    explicit AttentionHeatmapView(QWidget *parent) : QWidget(parent)
    {
        setMouseTracking(true);
        setFocusPolicy(Qt::ClickFocus); // arrow keys move the query from here too
        setMinimumSize(180, 120);
        // Square cells: as tall as the width allows, not taller, so the labels sit just below.
        QSizePolicy policy(QSizePolicy::Expanding, QSizePolicy::Preferred);
        policy.setHeightForWidth(true);
        setSizePolicy(policy);
    }

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int w) const override
    {
        const double aspect = m_image.isNull() ? 1.0 : double(m_image.height()) / m_image.width();
        return std::max(120, int((w - kBarSpace) * aspect) + 4);
    }
    QSize sizeHint() const override { return QSize(320, heightForWidth(320)); }

    void setContent(const QImage &image, int queryPatch, float minValue, float maxValue)
    {
        const bool shapeChanged = image.size() != m_image.size();
        m_image = image;
        if (shapeChanged)
            updateGeometry(); // the height follows the grid's aspect
        m_queryPatch = queryPatch;
        m_min = minValue;
        m_max = maxValue;
        update();
    }

    void setColorMap(ColorMap map)
    {
        m_colorMap = map;
        update();
    }

    std::function<void(int)> onHover; // patch index or -1
    std::function<void(int)> onClick; // patch index
    std::function<bool(int)> onKey;   // a key; true if used

protected:
    void paintEvent(QPaintEvent *) override
    {
        QPainter p(this);
        p.fillRect(rect(), palette().window());
        if (m_image.isNull()) {
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, tr("No attention to show"));
            return;
        }
        const QRectF map = mapRect();
        p.setRenderHint(QPainter::SmoothPixmapTransform, false); // one flat cell per patch
        p.drawImage(map, m_image);
        const int gw = m_image.width();
        if (m_queryPatch >= 0 && m_queryPatch < gw * m_image.height()) {
            const double cw = map.width() / gw, ch = map.height() / m_image.height();
            const QRectF cell(map.left() + (m_queryPatch % gw) * cw, map.top() + (m_queryPatch / gw) * ch, cw, ch);
            // Black under white: visible on every colour of the map.
            p.setPen(QPen(Qt::black, 3));
            p.drawRect(cell);
            p.setPen(QPen(Qt::white, 1.5));
            p.drawRect(cell);
        }
        // Colour bar: max at the top.
        const QRectF bar(map.right() + 10, map.top(), 12, map.height());
        for (int y = 0; y < int(bar.height()); ++y) {
            p.setPen(QColor(colorMapColor(m_colorMap, 1.0f - float(y) / std::max(1.0, bar.height() - 1))));
            p.drawLine(QPointF(bar.left(), bar.top() + y), QPointF(bar.right(), bar.top() + y));
        }
        p.setPen(palette().color(QPalette::WindowText));
        p.drawRect(bar);
        const QFontMetrics fm = p.fontMetrics();
        p.drawText(QPointF(bar.right() + 4, bar.top() + fm.ascent()), QString::number(m_max, 'g', 3));
        p.drawText(QPointF(bar.right() + 4, bar.bottom()), QString::number(m_min, 'g', 3));
    }

    void mouseMoveEvent(QMouseEvent *event) override
    {
        if (onHover)
            onHover(patchAt(event->position()));
    }
    void mousePressEvent(QMouseEvent *event) override
    {
        const int patch = patchAt(event->position());
        if (event->button() == Qt::LeftButton && patch >= 0 && onClick)
            onClick(patch);
    }
    void leaveEvent(QEvent *) override
    {
        if (onHover)
            onHover(-1);
    }
    void keyPressEvent(QKeyEvent *event) override
    {
        if (!onKey || !onKey(event->key()))
            QWidget::keyPressEvent(event);
    }

private:
    static constexpr int kBarSpace = 70; // colour bar plus its labels, right of the map

    QRectF mapRect() const
    {
        if (m_image.isNull())
            return {};
        const double w = std::max(1, width() - kBarSpace), h = std::max(1, height() - 4);
        const double cell = std::min(w / m_image.width(), h / m_image.height());
        const double mw = cell * m_image.width(), mh = cell * m_image.height();
        return QRectF(std::max(2.0, (width() - kBarSpace - mw) / 2), 2, mw, mh);
    }

    int patchAt(QPointF pos) const
    {
        const QRectF map = mapRect();
        if (map.isEmpty() || !map.contains(pos))
            return -1;
        const int col = std::min(m_image.width() - 1, int((pos.x() - map.left()) / map.width() * m_image.width()));
        const int row = std::min(m_image.height() - 1, int((pos.y() - map.top()) / map.height() * m_image.height()));
        return row * m_image.width() + col;
    }

    QImage m_image;
    int m_queryPatch = -1;
    float m_min = 0, m_max = 0;
    ColorMap m_colorMap = ColorMap::Jet;
};

// The layers × (mean + heads) grid of small maps, each scaled to its own range, the enlarged
// cell outlined, with row and column labels and a colour bar below. Callbacks, as above.
class AttentionGridView : public QWidget {
public:
    explicit AttentionGridView(QWidget *parent) : QWidget(parent)
    {
        setMouseTracking(true);
        setFocusPolicy(Qt::ClickFocus);
        QSizePolicy policy(QSizePolicy::Expanding, QSizePolicy::Preferred);
        policy.setHeightForWidth(true);
        setSizePolicy(policy);
    }

    void setContent(const std::vector<QImage> &cells, int rows, int columns, int selectedRow, int selectedColumn)
    {
        const bool shapeChanged = rows != m_rows || columns != m_columns
                                  || (!cells.empty() && !m_cells.empty() && cells.front().size() != m_cells.front().size());
        m_cells = cells;
        m_rows = rows;
        m_columns = columns;
        m_selRow = selectedRow;
        m_selColumn = selectedColumn;
        if (shapeChanged) {
            // Dock layouts do not ask heightForWidth(): reserve room for cells of a useful size.
            const double aspect = m_cells.empty() || m_cells.front().isNull()
                                      ? 1.0
                                      : double(m_cells.front().height()) / std::max(1, m_cells.front().width());
            setMinimumHeight(m_rows == 0 ? 40 : heightForCell(m_rows > 8 ? 16 : 28, aspect));
            updateGeometry();
        }
        update();
    }
    void setColorMap(ColorMap map)
    {
        m_colorMap = map;
        update();
    }

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int w) const override
    {
        if (m_rows == 0 || m_cells.empty() || m_cells.front().isNull())
            return 40;
        const QSize grid = m_cells.front().size();
        const double aspect = double(grid.height()) / std::max(1, grid.width());
        return heightForCell(std::clamp((w - kLeft - 4) / m_columns - kGap, 12, 120), aspect);
    }
    QSize sizeHint() const override { return QSize(320, heightForWidth(320)); }

    QRect cellRect(int row, int column) const
    {
        if (row < 0 || row >= m_rows || column < 0 || column >= m_columns)
            return {};
        const QSize cell = cellSize(width());
        return QRect(kLeft + column * (cell.width() + kGap), kTop + row * (cell.height() + kGap), cell.width(),
                     cell.height());
    }

    std::function<void(int, int, int)> onHover; // row, column, patch (-1s when outside)
    std::function<void(int, int)> onClick;      // row, column
    std::function<bool(int)> onKey;

protected:
    void paintEvent(QPaintEvent *) override
    {
        QPainter p(this);
        p.fillRect(rect(), palette().window());
        if (m_rows == 0 || m_cells.empty()) {
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(rect(), Qt::AlignCenter, tr("No attention to show"));
            return;
        }
        const QFontMetrics fm = p.fontMetrics();
        p.setPen(palette().color(QPalette::WindowText));
        for (int c = 0; c < m_columns; ++c) {
            const QRect r = cellRect(0, c);
            p.drawText(QRect(r.left(), 0, r.width(), kTop), Qt::AlignCenter,
                       c == 0 ? tr("mean") : tr("h%1").arg(c));
        }
        p.setRenderHint(QPainter::SmoothPixmapTransform, false);
        for (int r = 0; r < m_rows; ++r) {
            const QRect first = cellRect(r, 0);
            p.drawText(QRect(0, first.top(), kLeft - 4, first.height()), Qt::AlignRight | Qt::AlignVCenter,
                       tr("L%1").arg(r + 1));
            for (int c = 0; c < m_columns; ++c) {
                const QImage &cell = m_cells[static_cast<size_t>(r * m_columns + c)];
                if (!cell.isNull())
                    p.drawImage(cellRect(r, c), cell);
            }
        }
        const QRect sel = cellRect(m_selRow, m_selColumn);
        if (!sel.isNull()) {
            p.setPen(QPen(Qt::black, 3));
            p.drawRect(sel.adjusted(-1, -1, 1, 1));
            p.setPen(QPen(Qt::white, 1.5));
            p.drawRect(sel.adjusted(-1, -1, 1, 1));
        }
        // The colour scale: each map is stretched over its own min..max.
        const int y = height() - kBottom + 6;
        const int x0 = kLeft, x1 = std::max(x0 + 20, cellRect(0, m_columns - 1).right());
        for (int x = x0; x <= x1; ++x) {
            p.setPen(QColor(colorMapColor(m_colorMap, float(x - x0) / std::max(1, x1 - x0))));
            p.drawLine(x, y, x, y + 8);
        }
        p.setPen(palette().color(QPalette::WindowText));
        const QString note = tr("each map: its own range");
        p.drawText(QRect(x0, y + 9, x1 - x0, fm.height()), Qt::AlignLeft, tr("min"));
        p.drawText(QRect(x0, y + 9, x1 - x0, fm.height()), Qt::AlignRight, tr("max"));
        if (fm.horizontalAdvance(note) + 2 * fm.horizontalAdvance(tr("max")) + 16 < x1 - x0)
            p.drawText(QRect(x0, y + 9, x1 - x0, fm.height()), Qt::AlignHCenter, note);
        else // no room under the grid: beside it
            p.drawText(QRect(x1 + 6, y - 2, width() - x1 - 6, 2 * fm.height()), Qt::AlignLeft | Qt::TextWordWrap, note);
    }
    void mouseMoveEvent(QMouseEvent *event) override
    {
        if (!onHover)
            return;
        int row = -1, column = -1, patch = -1;
        hit(event->position(), row, column, patch);
        onHover(row, column, patch);
    }
    void mousePressEvent(QMouseEvent *event) override
    {
        int row = -1, column = -1, patch = -1;
        if (event->button() == Qt::LeftButton && hit(event->position(), row, column, patch) && onClick)
            onClick(row, column);
    }
    void leaveEvent(QEvent *) override
    {
        if (onHover)
            onHover(-1, -1, -1);
    }
    void keyPressEvent(QKeyEvent *event) override
    {
        if (!onKey || !onKey(event->key()))
            QWidget::keyPressEvent(event);
    }

private:
    static constexpr int kLeft = 30, kTop = 18, kBottom = 34, kGap = 3;

    QSize cellSize(int w) const
    {
        if (m_columns == 0 || m_cells.empty() || m_cells.front().isNull())
            return {};
        const QSize grid = m_cells.front().size();
        const double aspect = double(grid.height()) / std::max(1, grid.width());
        int cw = std::clamp((w - kLeft - 4) / m_columns - kGap, 12, 120);
        // Laid out shorter than asked for (a crowded dock): shrink to fit the height too.
        if (height() > 0 && height() < heightForCell(cw, aspect))
            cw = std::max(8, static_cast<int>(((height() - kTop - kBottom) / m_rows - kGap) / aspect));
        return QSize(cw, std::max(6, static_cast<int>(cw * aspect)));
    }

    int heightForCell(int cw, double aspect) const
    {
        return kTop + m_rows * (std::max(6, static_cast<int>(cw * aspect)) + kGap) + kBottom;
    }

    bool hit(QPointF pos, int &row, int &column, int &patch) const
    {
        for (int r = 0; r < m_rows; ++r)
            for (int c = 0; c < m_columns; ++c) {
                const QRect cell = cellRect(r, c);
                if (!cell.contains(pos.toPoint()))
                    continue;
                const QImage &image = m_cells[static_cast<size_t>(r * m_columns + c)];
                row = r;
                column = c;
                const int px = std::min(image.width() - 1, int((pos.x() - cell.left()) / cell.width() * image.width()));
                const int py = std::min(image.height() - 1, int((pos.y() - cell.top()) / cell.height() * image.height()));
                patch = py * image.width() + px;
                return true;
            }
        return false;
    }

    std::vector<QImage> m_cells;
    int m_rows = 0, m_columns = 0, m_selRow = -1, m_selColumn = -1;
    ColorMap m_colorMap = ColorMap::Jet;
};

AttentionDock::AttentionDock(QWidget *parent) : QDockWidget(tr("Attention"), parent)
{
    setObjectName(QStringLiteral("AttentionDock"));

    auto *body = new QWidget(this);
    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(6, 6, 6, 6);

    m_classToken = new QCheckBox(tr("Class token's attention instead of the query's"), body);
    m_classToken->setObjectName(QStringLiteral("classTokenCheck"));
    m_classToken->setToolTip(tr("Show where the class token looks, per block and head"));
    layout->addWidget(m_classToken);
    m_grid = new AttentionGridView(body);
    m_grid->setObjectName(QStringLiteral("attentionGrid"));
    m_grid->setToolTip(tr("Rows: blocks. Columns: mean over heads, then each head. Click a map to enlarge it."));
    layout->addWidget(m_grid);

    auto *selectors = new QHBoxLayout;
    m_layer = new QComboBox(body);
    m_layer->setToolTip(tr("Transformer block"));
    m_head = new QComboBox(body);
    m_head->setToolTip(tr("Mean over heads, or one head"));
    selectors->addWidget(new QLabel(tr("Layer"), body));
    selectors->addWidget(m_layer, 1);
    selectors->addWidget(new QLabel(tr("Head"), body));
    selectors->addWidget(m_head, 1);
    layout->addLayout(selectors);

    m_title = new QLabel(body);
    m_title->setWordWrap(true);
    layout->addWidget(m_title);
    m_view = new AttentionHeatmapView(body);
    layout->addWidget(m_view);
    m_range = new QLabel(body);
    m_range->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_range);
    m_hover = new QLabel(body);
    layout->addWidget(m_hover);
    layout->addStretch(1);
    setWidget(body);

    connect(m_layer, &QComboBox::currentIndexChanged, this, [this] { recompute(); });
    connect(m_head, &QComboBox::currentIndexChanged, this, [this] { recompute(); });
    connect(m_classToken, &QCheckBox::toggled, this, [this] {
        recomputeGrid();
        recompute();
    });
    m_grid->onClick = [this](int row, int column) {
        // Enlarge: the big view shows that block and head (column 0 = mean).
        const QSignalBlocker block(m_layer);
        setLayer(row);
        setHead(column - 1);
        recompute();
    };
    m_grid->onHover = [this](int row, int column, int patch) { showGridHover(row, column, patch); };
    m_grid->onKey = [this](int key) {
        moveQuery(key);
        return key == Qt::Key_Left || key == Qt::Key_Right || key == Qt::Key_Up || key == Qt::Key_Down;
    };
    m_view->onKey = m_grid->onKey;
    m_view->onHover = [this](int patch) { showHover(patch); };
    m_view->onClick = [this](int patch) {
        if (m_inspection)
            Q_EMIT queryRequested(m_inspection->prefixTokens + patch);
    };
    recompute();
}

void AttentionDock::setInspection(std::shared_ptr<const wsss::training::Inspection> inspection)
{
    m_inspection = std::move(inspection);
    refreshSelectors();
    recomputeGrid();
    recompute();
}

void AttentionDock::setQueryToken(int token)
{
    if (token == m_query)
        return;
    m_query = token;
    if (!showClassToken())
        recomputeGrid();
    recompute();
}

void AttentionDock::setShowClassToken(bool show)
{
    m_classToken->setChecked(show);
}

bool AttentionDock::showClassToken() const
{
    return m_classToken->isChecked();
}

void AttentionDock::setColorMap(ColorMap map)
{
    if (map == m_colorMap)
        return;
    m_colorMap = map;
    m_grid->setColorMap(map);
    m_view->setColorMap(map);
    recomputeGrid();
    recompute();
}

QImage AttentionDock::gridImage(int layer, int column) const
{
    if (layer < 0 || layer >= m_gridRows || column < 0 || column >= m_gridColumns)
        return {};
    return m_gridImages[static_cast<size_t>(layer * m_gridColumns + column)];
}

QWidget *AttentionDock::gridView() const
{
    return m_grid;
}

QRect AttentionDock::gridCellRect(int layer, int column) const
{
    return m_grid->cellRect(layer, column);
}

int AttentionDock::shownToken() const
{
    return showClassToken() ? 0 : m_query;
}

QImage AttentionDock::colorize(const std::vector<float> &values, int width, int height, float lo, float hi) const
{
    // Normalised to the values' own range: attention rows are peaky and differ by orders of
    // magnitude between layers, so a fixed scale would show most of them as flat.
    const float span = hi - lo;
    const QRgb *table = colorMapTable(m_colorMap);
    QImage image(width, height, QImage::Format_RGB32);
    for (int r = 0; r < height; ++r) {
        auto *line = reinterpret_cast<QRgb *>(image.scanLine(r));
        for (int c = 0; c < width; ++c) {
            const float t = span > 0 ? (values[static_cast<size_t>(r * width + c)] - lo) / span : 0.0f;
            line[c] = table[std::clamp(static_cast<int>(t * 255.0f + 0.5f), 0, 255)];
        }
    }
    return image;
}

void AttentionDock::recomputeGrid()
{
    m_gridImages.clear();
    m_gridValues.clear();
    m_gridRows = m_gridColumns = 0;
    const auto *ins = m_inspection.get();
    const int token = shownToken();
    const int patches = ins ? ins->gridWidth * ins->gridHeight : 0;
    if (!ins || patches <= 0 || token < 0 || ins->attention.empty()) {
        m_grid->setContent({}, 0, 0, -1, -1);
        return;
    }
    int heads = 0;
    for (const auto &att : ins->attention) {
        if (att.tokens < ins->prefixTokens + patches || token >= att.tokens) {
            m_grid->setContent({}, 0, 0, -1, -1);
            return;
        }
        heads = std::max(heads, att.heads);
    }
    m_gridRows = static_cast<int>(ins->attention.size());
    m_gridColumns = heads + 1;
    for (const auto &att : ins->attention) {
        for (int column = 0; column < m_gridColumns; ++column) {
            std::vector<float> values;
            if (column == 0 || column <= att.heads) {
                const std::vector<float> full = att.row(token, column - 1);
                values.assign(full.begin() + ins->prefixTokens, full.begin() + ins->prefixTokens + patches);
            }
            if (values.empty()) {
                m_gridImages.emplace_back();
            } else {
                const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
                m_gridImages.push_back(colorize(values, ins->gridWidth, ins->gridHeight, *lo, *hi));
            }
            m_gridValues.push_back(std::move(values));
        }
    }
    m_grid->setContent(m_gridImages, m_gridRows, m_gridColumns, layer(), head() + 1);
}

void AttentionDock::showGridHover(int layer, int column, int patch)
{
    if (!m_inspection || layer < 0 || column < 0 || patch < 0) {
        m_hover->setText(m_row.empty() ? QString() : tr("Hover a patch to read its value."));
        return;
    }
    const auto &values = m_gridValues[static_cast<size_t>(layer * m_gridColumns + column)];
    if (patch >= static_cast<int>(values.size()))
        return;
    const int gw = m_inspection->gridWidth;
    m_hover->setText(tr("block %1, %2: patch (row %3, col %4) = %5")
                         .arg(layer + 1)
                         .arg(column == 0 ? tr("mean") : tr("head %1").arg(column))
                         .arg(patch / gw)
                         .arg(patch % gw)
                         .arg(values[static_cast<size_t>(patch)], 0, 'g', 4));
}

void AttentionDock::moveQuery(int key)
{
    if (!m_inspection || m_query < m_inspection->prefixTokens)
        return;
    const int gw = m_inspection->gridWidth, gh = m_inspection->gridHeight;
    const int patch = m_query - m_inspection->prefixTokens;
    int col = patch % gw, row = patch / gw;
    switch (key) {
    case Qt::Key_Left: col = std::max(0, col - 1); break;
    case Qt::Key_Right: col = std::min(gw - 1, col + 1); break;
    case Qt::Key_Up: row = std::max(0, row - 1); break;
    case Qt::Key_Down: row = std::min(gh - 1, row + 1); break;
    default: return;
    }
    const int token = m_inspection->prefixTokens + row * gw + col;
    if (token != m_query)
        Q_EMIT queryRequested(token);
}

void AttentionDock::setLayer(int layer)
{
    if (layer >= 0 && layer < m_layer->count())
        m_layer->setCurrentIndex(layer);
}

int AttentionDock::layer() const { return m_layer->currentIndex(); }

void AttentionDock::setHead(int head)
{
    if (head + 1 >= 0 && head + 1 < m_head->count())
        m_head->setCurrentIndex(head + 1);
}

int AttentionDock::head() const { return m_head->currentIndex() - 1; }

void AttentionDock::refreshSelectors()
{
    const int layers = m_inspection ? static_cast<int>(m_inspection->attention.size()) : 0;
    const int heads = layers > 0 ? m_inspection->attention.back().heads : 0;
    // Same model as before: keep the user's choice. Otherwise start at the last block's mean.
    if (m_layer->count() != layers) {
        const QSignalBlocker block(m_layer);
        m_layer->clear();
        for (int i = 0; i < layers; ++i)
            m_layer->addItem(tr("%1 of %2").arg(i + 1).arg(layers));
        m_layer->setCurrentIndex(layers - 1);
    }
    if (m_head->count() != heads + 1) {
        const QSignalBlocker block(m_head);
        m_head->clear();
        m_head->addItem(tr("mean"));
        for (int i = 0; i < heads; ++i)
            m_head->addItem(tr("head %1").arg(i + 1));
        m_head->setCurrentIndex(0);
    }
}

void AttentionDock::recompute()
{
    m_row.clear();
    m_image = QImage();
    m_min = m_max = 0;
    const int layerIndex = layer();
    const auto *ins = m_inspection.get();
    const bool valid = ins && layerIndex >= 0 && layerIndex < static_cast<int>(ins->attention.size())
                       && ins->gridWidth > 0 && ins->gridHeight > 0 && m_query >= 0;
    const int patches = valid ? ins->gridWidth * ins->gridHeight : 0;
    if (!valid || ins->attention[static_cast<size_t>(layerIndex)].tokens < ins->prefixTokens + patches) {
        m_view->setContent(QImage(), -1, 0, 0);
        m_title->setText(ins ? tr("This inspection has no attention for the patch grid.")
                             : tr("Pick an image and a query patch on the canvas."));
        m_range->clear();
        m_hover->clear();
        return;
    }
    const auto &att = ins->attention[static_cast<size_t>(layerIndex)];
    const std::vector<float> full = att.row(shownToken(), head());
    m_row.assign(full.begin() + ins->prefixTokens, full.begin() + ins->prefixTokens + patches);
    const auto [lo, hi] = std::minmax_element(m_row.begin(), m_row.end());
    m_min = *lo;
    m_max = *hi;
    m_image = colorize(m_row, ins->gridWidth, ins->gridHeight, m_min, m_max);
    const int queryPatch = m_query - ins->prefixTokens;
    m_view->setContent(m_image, showClassToken() ? -1 : queryPatch, m_min, m_max);
    m_grid->setContent(m_gridImages, m_gridRows, m_gridColumns, layerIndex, head() + 1);

    QString title = showClassToken() ? tr("Class token")
                    : queryPatch >= 0 && queryPatch < patches
                        ? tr("Query patch (row %1, col %2)").arg(queryPatch / ins->gridWidth).arg(queryPatch % ins->gridWidth)
                        : tr("Query: prefix token %1").arg(m_query);
    title += tr(", block %1, %2").arg(layerIndex + 1).arg(m_head->currentText());
    m_title->setText(title);
    float prefixMass = 0;
    for (int i = 0; i < ins->prefixTokens; ++i)
        prefixMass += full[static_cast<size_t>(i)];
    m_range->setText(tr("min %1   max %2   to [cls] %3")
                         .arg(m_min, 0, 'g', 3)
                         .arg(m_max, 0, 'g', 3)
                         .arg(prefixMass, 0, 'g', 3));
    m_hover->setText(tr("Hover a patch to read its value."));
}

void AttentionDock::showHover(int patch)
{
    if (!m_inspection || patch < 0 || patch >= static_cast<int>(m_row.size())) {
        m_hover->setText(m_row.empty() ? QString() : tr("Hover a patch to read its value."));
        return;
    }
    const int gw = m_inspection->gridWidth;
    m_hover->setText(tr("patch (row %1, col %2) = %3")
                         .arg(patch / gw)
                         .arg(patch % gw)
                         .arg(m_row[static_cast<size_t>(patch)], 0, 'g', 4));
}

} // namespace wsss::ui
