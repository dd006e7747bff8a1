#include "ui/docks/attention_dock.h"

#include "ui/canvas/canvas_widget.h"

#include <QComboBox>
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

    std::function<void(int)> onHover; // patch index or -1
    std::function<void(int)> onClick; // patch index

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
            p.setPen(QColor(jetColor(1.0f - float(y) / std::max(1.0, bar.height() - 1))));
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
};

AttentionDock::AttentionDock(QWidget *parent) : QDockWidget(tr("Attention"), parent)
{
    setObjectName(QStringLiteral("AttentionDock"));

    auto *body = new QWidget(this);
    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(6, 6, 6, 6);

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
    recompute();
}

void AttentionDock::setQueryToken(int token)
{
    if (token == m_query)
        return;
    m_query = token;
    recompute();
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
    const std::vector<float> full = att.row(m_query, head());
    m_row.assign(full.begin() + ins->prefixTokens, full.begin() + ins->prefixTokens + patches);
    const auto [lo, hi] = std::minmax_element(m_row.begin(), m_row.end());
    m_min = *lo;
    m_max = *hi;

    // Normalised to the row's own range: attention rows are peaky and differ by orders of
    // magnitude between layers, so a fixed scale would show most of them as flat blue.
    const float span = m_max - m_min;
    m_image = QImage(ins->gridWidth, ins->gridHeight, QImage::Format_RGB32);
    for (int r = 0; r < ins->gridHeight; ++r) {
        auto *line = reinterpret_cast<QRgb *>(m_image.scanLine(r));
        for (int c = 0; c < ins->gridWidth; ++c) {
            const float v = m_row[static_cast<size_t>(r * ins->gridWidth + c)];
            line[c] = jetColor(span > 0 ? (v - m_min) / span : 0.0f);
        }
    }
    const int queryPatch = m_query - ins->prefixTokens;
    m_view->setContent(m_image, queryPatch, m_min, m_max);

    QString title = queryPatch >= 0 && queryPatch < patches
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
