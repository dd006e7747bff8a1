#include "ui/docks/affinity_dock.h"

#include <QGridLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QVBoxLayout>

#include <algorithm>

namespace wsss::ui {

// One kind's row as a nearest-scaled heatmap with its colour bar underneath; reports the patch
// under the cursor.
class AffinityTile : public QWidget {
public:
    std::function<void(int)> onHover;

    explicit AffinityTile(QWidget *parent) : QWidget(parent)
    {
        setMouseTracking(true);
        setMinimumSize(120, 132);
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    }

    void setContent(QImage image, const QRgb *table)
    {
        m_image = std::move(image);
        m_table = table;
        update();
    }

protected:
    QRect imageRect() const
    {
        if (m_image.isNull())
            return {};
        const int bar = 10;
        const QSize room(width(), height() - bar - 4);
        const QSize fitted = m_image.size().scaled(room, Qt::KeepAspectRatio);
        return {QPoint((width() - fitted.width()) / 2, 0), fitted};
    }

    void paintEvent(QPaintEvent *) override
    {
        QPainter p(this);
        if (m_image.isNull()) {
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(rect(), Qt::AlignCenter, tr("click a patch"));
            return;
        }
        const QRect r = imageRect();
        p.drawImage(r, m_image); // nearest: one block per patch
        const QRect bar(r.left(), r.bottom() + 4, r.width(), 10);
        for (int x = 0; x < bar.width(); ++x) {
            const int i = bar.width() > 1 ? x * 255 / (bar.width() - 1) : 0;
            p.setPen(QColor::fromRgb(m_table[i]));
            p.drawLine(bar.left() + x, bar.top(), bar.left() + x, bar.bottom());
        }
    }

    void mouseMoveEvent(QMouseEvent *event) override
    {
        const QRect r = imageRect();
        if (!onHover)
            return;
        if (r.isEmpty() || !r.contains(event->position().toPoint())) {
            onHover(-1);
            return;
        }
        const int c = static_cast<int>((event->position().x() - r.left()) * m_image.width() / r.width());
        const int row = static_cast<int>((event->position().y() - r.top()) * m_image.height() / r.height());
        onHover(std::clamp(row, 0, m_image.height() - 1) * m_image.width() + std::clamp(c, 0, m_image.width() - 1));
    }

    void leaveEvent(QEvent *) override
    {
        if (onHover)
            onHover(-1);
    }

private:
    QImage m_image;
    const QRgb *m_table = nullptr;
};

AffinityDock::AffinityDock(QWidget *parent) : QDockWidget(tr("Affinity"), parent)
{
    setObjectName("AffinityDock");
    auto *body = new QWidget(this);
    auto *column = new QVBoxLayout(body);
    m_layout = new QGridLayout;
    column->addLayout(m_layout, 1);
    m_status = new QLabel(body);
    m_status->setWordWrap(true);
    column->addWidget(m_status);
    setWidget(body);
    rebuild();
}

QString AffinityDock::kindTitle(const std::string &kind)
{
    if (kind == "afa")
        return tr("Learned affinity (AFA)");
    if (kind == "transition")
        return tr("Random-walk transition");
    if (kind == "p2p")
        return tr("Patch-to-patch attention");
    if (kind == "guider")
        return tr("Guider key cosine (ECA)");
    if (kind == "patch_attention")
        return tr("Patch attention (USAGE)");
    return QString::fromStdString(kind);
}

void AffinityDock::setInspection(std::shared_ptr<const wsss::training::Inspection> inspection)
{
    m_inspection = std::move(inspection);
    rebuild();
}

void AffinityDock::setQueryToken(int token)
{
    const int prefix = m_inspection ? m_inspection->prefixTokens : 1;
    m_patch = token >= prefix ? token - prefix : -1;
    recompute();
}

void AffinityDock::setColorMap(ColorMap map)
{
    m_colorMap = map;
    recompute();
}

std::vector<float> AffinityDock::row(const std::string &kind) const
{
    for (std::size_t i = 0; i < m_kinds.size(); ++i)
        if (m_kinds[i] == kind)
            return m_rows[i];
    return {};
}

QImage AffinityDock::tileImage(int index) const
{
    if (index < 0 || index >= tileCount() || m_rows[index].empty() || !m_inspection)
        return {};
    const int w = m_inspection->gridWidth, h = m_inspection->gridHeight;
    const auto &values = m_rows[index];
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    const float span = *hi - *lo;
    const QRgb *table = colorMapTable(m_colorMap);
    QImage image(w, h, QImage::Format_RGB32);
    for (int r = 0; r < h; ++r) {
        auto *line = reinterpret_cast<QRgb *>(image.scanLine(r));
        for (int c = 0; c < w; ++c) {
            const float t = span > 0 ? (values[static_cast<std::size_t>(r * w + c)] - *lo) / span : 0.0f;
            line[c] = table[std::clamp(static_cast<int>(t * 255.0f + 0.5f), 0, 255)];
        }
    }
    return image;
}

void AffinityDock::rebuild()
{
    for (auto *w : m_tiles)
        delete w;
    for (auto *w : m_titles)
        delete w;
    for (auto *w : m_ranges)
        delete w;
    m_tiles.clear();
    m_titles.clear();
    m_ranges.clear();
    m_kinds.clear();
    if (m_inspection)
        for (const auto &a : m_inspection->affinities)
            m_kinds.push_back(a.kind);
    for (int i = 0; i < tileCount(); ++i) {
        auto *title = new QLabel(kindTitle(m_kinds[i]), widget());
        auto *tile = new AffinityTile(widget());
        tile->onHover = [this, i](int patch) { showHover(i, patch); };
        auto *range = new QLabel(widget());
        const int col = i % 2, row = (i / 2) * 3;
        m_layout->addWidget(title, row, col);
        m_layout->addWidget(tile, row + 1, col);
        m_layout->addWidget(range, row + 2, col);
        m_titles.push_back(title);
        m_tiles.push_back(tile);
        m_ranges.push_back(range);
    }
    recompute();
}

void AffinityDock::recompute()
{
    m_rows.assign(m_kinds.size(), {});
    for (int i = 0; i < tileCount(); ++i) {
        if (const auto *a = m_inspection->affinity(m_kinds[i]); a && m_patch >= 0)
            m_rows[i] = a->row(m_patch);
        const QImage image = tileImage(i);
        m_tiles[i]->setContent(image, colorMapTable(m_colorMap));
        if (m_rows[i].empty()) {
            m_ranges[i]->clear();
        } else {
            const auto [lo, hi] = std::minmax_element(m_rows[i].begin(), m_rows[i].end());
            m_ranges[i]->setText(tr("%1 … %2").arg(*lo, 0, 'g', 3).arg(*hi, 0, 'g', 3));
        }
    }
    if (!m_inspection)
        m_status->setText(tr("Open a checkpoint and an image."));
    else if (m_kinds.empty())
        m_status->setText(tr("This method has no learned affinity (AFA and ACR have)."));
    else if (m_patch < 0)
        m_status->setText(tr("Click a patch on the canvas: each map shows its row."));
    else
        m_status->setText(tr("Row of patch (%1, %2). Hover a patch to read its value.")
                              .arg(m_patch / m_inspection->gridWidth)
                              .arg(m_patch % m_inspection->gridWidth));
}

void AffinityDock::showHover(int tile, int patch)
{
    if (tile < 0 || tile >= tileCount() || patch < 0 || m_rows[tile].empty() || !m_inspection) {
        recompute();
        return;
    }
    m_status->setText(tr("%1 — patch (%2, %3): %4")
                          .arg(kindTitle(m_kinds[tile]))
                          .arg(patch / m_inspection->gridWidth)
                          .arg(patch % m_inspection->gridWidth)
                          .arg(m_rows[tile][static_cast<std::size_t>(patch)], 0, 'g', 4));
}

} // namespace wsss::ui
