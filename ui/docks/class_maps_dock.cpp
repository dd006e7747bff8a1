#include "ui/docks/class_maps_dock.h"

#include <QGridLayout>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollArea>
#include <QVBoxLayout>

#include <algorithm>
#include <functional>

namespace wsss::ui {

namespace tr = wsss::training;

// One class's map, scaled to fit (smooth), its name below; framed when it is the canvas's class.
class ClassMapTile : public QWidget {
public:
    std::function<void()> onClick;

    explicit ClassMapTile(QWidget *parent) : QWidget(parent)
    {
        setMinimumSize(80, 80 + textHeight());
        QSizePolicy policy(QSizePolicy::Expanding, QSizePolicy::Preferred);
        policy.setHeightForWidth(true); // square heatmap, name underneath
        setSizePolicy(policy);
        setCursor(Qt::PointingHandCursor);
    }

    void setContent(QImage image, QString name)
    {
        m_image = std::move(image);
        m_name = std::move(name);
        setToolTip(tr("Show %1 on the canvas").arg(m_name));
        update();
    }
    void setCurrent(bool current)
    {
        m_current = current;
        update();
    }
    const QImage &image() const { return m_image; }

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int w) const override
    {
        if (m_image.isNull())
            return w + textHeight();
        return qRound(double(w - 6) * m_image.height() / std::max(1, m_image.width())) + 6 + textHeight();
    }
    QSize sizeHint() const override { return {ClassMapsDock::kTileSide, heightForWidth(ClassMapsDock::kTileSide)}; }

protected:
    int textHeight() const { return fontMetrics().height() + 4; }

    void paintEvent(QPaintEvent *) override
    {
        QPainter p(this);
        const int text = textHeight();
        const QRect room = rect().adjusted(3, 3, -3, -3 - text);
        int textTop = height() - text;
        if (!m_image.isNull() && !room.isEmpty()) {
            const QSize fitted = m_image.size().scaled(room.size(), Qt::KeepAspectRatio);
            const QRect r(QPoint(room.left() + (room.width() - fitted.width()) / 2, room.top()), fitted);
            textTop = r.bottom() + 3;
            p.setRenderHint(QPainter::SmoothPixmapTransform);
            p.drawImage(r, m_image);
            if (m_current) {
                p.setPen(QPen(palette().color(QPalette::Highlight), 3));
                p.drawRect(r.adjusted(-1, -1, 1, 1));
            }
        }
        p.setPen(palette().color(m_current ? QPalette::Highlight : QPalette::WindowText));
        QFont f = font();
        f.setBold(m_current);
        p.setFont(f);
        p.drawText(QRect(0, textTop, width(), text), Qt::AlignCenter,
                   fontMetrics().elidedText(m_name, Qt::ElideRight, width()));
    }

    void mouseReleaseEvent(QMouseEvent *event) override
    {
        if (event->button() == Qt::LeftButton && rect().contains(event->position().toPoint()) && onClick)
            onClick();
    }

private:
    QImage m_image;
    QString m_name;
    bool m_current = false;
};

ClassMapsDock::ClassMapsDock(QWidget *parent) : QDockWidget(tr("Class maps"), parent)
{
    setObjectName(QStringLiteral("ClassMapsDock"));
    auto *body = new QWidget(this);
    auto *column = new QVBoxLayout(body);
    auto *tiles = new QWidget(body);
    m_layout = new QGridLayout(tiles);
    m_layout->setContentsMargins(0, 0, 0, 0);
    auto *scroll = new QScrollArea(body);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(tiles);
    column->addWidget(scroll, 1);
    m_status = new QLabel(body);
    m_status->setWordWrap(true);
    column->addWidget(m_status);
    setWidget(body);
    rebuild();
}

void ClassMapsDock::setInspection(std::shared_ptr<const tr::Inspection> inspection)
{
    m_inspection = std::move(inspection);
    rebuild();
}

void ClassMapsDock::setMapKind(const QString &kind)
{
    if (kind == m_kind)
        return;
    m_kind = kind;
    rebuild();
}

void ClassMapsDock::setColorMap(ColorMap map)
{
    if (map == m_colorMap)
        return;
    m_colorMap = map;
    rebuild();
}

void ClassMapsDock::setCurrentClass(int classIndex)
{
    m_currentClass = classIndex;
    for (int i = 0; i < tileCount(); ++i)
        m_tiles[static_cast<size_t>(i)]->setCurrent(m_classes[static_cast<size_t>(i)] == classIndex);
}

int ClassMapsDock::tileClass(int index) const
{
    return index >= 0 && index < tileCount() ? m_classes[static_cast<size_t>(index)] : -1;
}

QWidget *ClassMapsDock::tile(int index) const
{
    return index >= 0 && index < tileCount() ? m_tiles[static_cast<size_t>(index)] : nullptr;
}

QImage ClassMapsDock::tileImage(int index) const
{
    return index >= 0 && index < tileCount() ? m_tiles[static_cast<size_t>(index)]->image() : QImage();
}

QString ClassMapsDock::kind() const
{
    if (!m_kind.isEmpty() || !m_inspection || m_inspection->maps.empty())
        return m_kind;
    return QString::fromStdString(m_inspection->maps.front().kind);
}

void ClassMapsDock::rebuild()
{
    for (auto *t : m_tiles)
        delete t;
    m_tiles.clear();
    m_classes.clear();
    const std::string kindName = kind().toStdString();
    if (m_inspection)
        for (const tr::ClassMap *m : m_inspection->labelledMaps(kindName))
            m_classes.push_back(m->classIndex);
    const QRgb *table = colorMapTable(m_colorMap);
    const int columns = m_classes.size() <= 4 ? 2 : 3;
    for (int i = 0; i < tileCount(); ++i) {
        const int cls = m_classes[static_cast<size_t>(i)];
        const tr::ClassMap *map = m_inspection->map(kindName, cls);
        // Sampled down to the tile's size once: a 512² map costs a 160² image, not a 512² one.
        const int w = m_inspection->imageWidth, h = m_inspection->imageHeight;
        const double scale = std::min(1.0, double(kTileSide) / std::max(w, h));
        const int tw = std::max(1, qRound(w * scale)), th = std::max(1, qRound(h * scale));
        QImage image(tw, th, QImage::Format_RGB32);
        for (int y = 0; y < th; ++y) {
            auto *line = reinterpret_cast<QRgb *>(image.scanLine(y));
            const float *src = map->values.data() + static_cast<size_t>(std::min(h - 1, int((y + 0.5) / scale))) * w;
            for (int x = 0; x < tw; ++x) {
                const float v = src[std::min(w - 1, int((x + 0.5) / scale))];
                line[x] = table[v > 0.0f ? (v < 1.0f ? static_cast<int>(v * 255.0f + 0.5f) : 255) : 0]; // NaN → 0
            }
        }
        const QString name = cls >= 0 && cls < static_cast<int>(m_inspection->classNames.size())
                                 ? QString::fromStdString(m_inspection->classNames[static_cast<size_t>(cls)])
                                 : QString::number(cls);
        auto *tile = new ClassMapTile(m_layout->parentWidget());
        tile->setObjectName(QStringLiteral("classMapTile%1").arg(i));
        tile->setContent(std::move(image), name);
        tile->setCurrent(cls == m_currentClass);
        tile->onClick = [this, cls] { Q_EMIT classActivated(cls); };
        m_layout->addWidget(tile, i / columns, i % columns);
        m_tiles.push_back(tile);
    }
    // Tiles keep their shape; the room left over goes below them.
    for (int r = 0; r < m_layout->rowCount(); ++r)
        m_layout->setRowStretch(r, 0);
    m_layout->setRowStretch((tileCount() + columns - 1) / columns, 1);
    if (!m_inspection)
        m_status->setText(tr("Open a checkpoint and an image."));
    else if (m_classes.empty())
        m_status->setText(tr("The image has no labelled class with a %1 map.").arg(kind()));
    else
        m_status->setText(tr("%1 maps of the image's classes. Click one to show it on the canvas.").arg(kind()));
}

} // namespace wsss::ui
