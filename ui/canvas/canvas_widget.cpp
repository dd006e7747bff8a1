#include "ui/canvas/canvas_widget.h"

#include "ui/canvas/abstract_tool.h"
#include "ui/canvas/hud_overlay.h"
#include "ui/project/mask_document.h"
#include "vision/core/labels.h"

#include <QAction>
#include <QElapsedTimer>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QSignalBlocker>
#include <QWheelEvent>

#include <algorithm>
#include <array>
#include <cmath>

namespace wsss::ui {

namespace tr = wsss::training;

namespace {

constexpr double kMinZoom = 0.02;
constexpr double kMaxZoom = 128.0;
constexpr double kFitMargin = 8.0; // widget pixels left around a fitted image

// Pixels per wheel notch (120 units) → about ×1.2, the usual step of image viewers.
double wheelFactor(int angleDelta) { return std::pow(1.2, angleDelta / 120.0); }

} // namespace

QRgb jetColor(float t)
{
    t = std::clamp(std::isfinite(t) ? t : 0.0f, 0.0f, 1.0f);
    auto channel = [t](float centre) {
        return static_cast<int>(255.0f * std::clamp(1.5f - std::abs(4.0f * t - centre), 0.0f, 1.0f));
    };
    return qRgb(channel(3.0f), channel(2.0f), channel(1.0f));
}

CanvasWidget::CanvasWidget(QWidget *parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("Canvas"));
    setFocusPolicy(Qt::StrongFocus); // arrow keys and 'F' go to the canvas
    setMouseTracking(true);          // hover readout without a button held
    setMinimumSize(200, 200);
    setAttribute(Qt::WA_OpaquePaintEvent); // paintScene fills every pixel

    m_hudAction = new QAction(tr("Overlay &HUD"), this);
    m_hudAction->setObjectName(QStringLiteral("hudAction"));
    m_hudAction->setCheckable(true);
    m_hudAction->setShortcuts({QKeySequence(Qt::Key_H), QKeySequence(Qt::Key_F1)});
    m_hudAction->setToolTip(tr("Show the cursor readout, map values and rule sliders over the canvas (H, F1)"));
    connect(m_hudAction, &QAction::toggled, this, &CanvasWidget::setHudVisible);
    addAction(m_hudAction); // window-wide shortcut while the canvas is shown
}

void CanvasWidget::setHudVisible(bool visible)
{
    if (visible == hudVisible())
        return;
    if (visible && !m_hud) {
        // Made on first use: until then the window composes no OpenGL widget.
        m_hud = new HudOverlay(this);
        connect(m_hud, &HudOverlay::ruleEdited, this, &CanvasWidget::ruleEdited);
    }
    if (m_hud) {
        m_hud->setVisible(visible);
        m_hud->placeInParent();
    }
    {
        const QSignalBlocker block(m_hudAction);
        m_hudAction->setChecked(visible);
    }
    refreshHud();
}

void CanvasWidget::setHoverPixel(QPointF imagePixel)
{
    m_hoverPixel = QPoint(static_cast<int>(std::floor(imagePixel.x())), static_cast<int>(std::floor(imagePixel.y())));
    m_hoverValid = !m_image.isNull() && QRect(QPoint(0, 0), m_image.size()).contains(m_hoverPixel);
    refreshHud();
}

bool CanvasWidget::hudVisible() const
{
    return m_hud && !m_hud->isHidden();
}

void CanvasWidget::refreshHud()
{
    if (!hudVisible())
        return;
    HudState state;
    state.rule = m_preview.rule();
    state.canvasFrameMs = m_frameMs;
    state.hasImage = m_inspection && !m_image.isNull();
    state.ownBackground = m_inspection && m_inspection->ownBackground(mapKind().toStdString());
    if (state.hasImage && m_hoverValid && m_hoverPixel.x() < m_inspection->imageWidth
        && m_hoverPixel.y() < m_inspection->imageHeight) {
        const auto &ins = *m_inspection;
        state.hasPixel = true;
        state.pixel = m_hoverPixel;
        const int token = ins.patchTokenAt(m_hoverPixel.x() + 0.5, m_hoverPixel.y() + 0.5);
        if (token >= ins.prefixTokens && ins.gridWidth > 0) {
            state.patchIndex = token - ins.prefixTokens;
            state.patchRow = state.patchIndex / ins.gridWidth;
            state.patchCol = state.patchIndex % ins.gridWidth;
        }
        const size_t at = static_cast<size_t>(m_hoverPixel.y()) * ins.imageWidth + m_hoverPixel.x();
        for (const auto &map : ins.maps) {
            // The image's classes (and a method's own background): the other classes' maps are
            // zero or beside the point, and ten of them per kind would push the rule off the panel.
            const bool shown = map.classIndex == 0 || std::find(ins.imageLabels.begin(), ins.imageLabels.end(),
                                                                 map.classIndex) != ins.imageLabels.end();
            if (!shown || map.values.size() != static_cast<size_t>(ins.imageWidth) * ins.imageHeight)
                continue;
            const QString cls = map.classIndex >= 0 && map.classIndex < static_cast<int>(ins.classNames.size())
                                    ? QString::fromStdString(ins.classNames[static_cast<size_t>(map.classIndex)])
                                    : QString::number(map.classIndex);
            state.values.push_back({QStringLiteral("%1 · %2").arg(QString::fromStdString(map.kind), cls), map.values[at]});
        }
    }
    m_hud->setState(state);
}

void CanvasWidget::setInspection(std::shared_ptr<const tr::Inspection> inspection)
{
    const QSizeF oldSize = imageSize();
    const int oldGridW = m_inspection ? m_inspection->gridWidth : 0;
    const int oldGridH = m_inspection ? m_inspection->gridHeight : 0;
    m_inspection = std::move(inspection);
    m_preview.setInspection(m_inspection);
    m_image = QImage();
    if (m_inspection && m_inspection->imageWidth > 0 && m_inspection->imageHeight > 0
        && m_inspection->rgb.size()
               == static_cast<size_t>(m_inspection->imageWidth) * m_inspection->imageHeight * 3) {
        m_image = QImage(m_inspection->rgb.data(), m_inspection->imageWidth,
                         m_inspection->imageHeight, m_inspection->imageWidth * 3,
                         QImage::Format_RGB888)
                      // Own the pixels (the QImage may outlive a swapped inspection), in the
                      // raster engine's native format so painting never converts them.
                      .convertToFormat(QImage::Format_RGB32);
    }
    // Same image size: keep the view, so images can be compared at one zoom.
    if (m_fitMode || imageSize() != oldSize)
        fitToWindow();

    // Keep the query patch where the grid allows; else start at the centre patch.
    int query = m_query;
    if (m_inspection) {
        const auto &ins = *m_inspection;
        const int patches = ins.gridWidth * ins.gridHeight;
        if (ins.gridWidth != oldGridW || ins.gridHeight != oldGridH || query < ins.prefixTokens
            || query >= ins.prefixTokens + patches)
            query = patches > 0 ? ins.prefixTokens + (ins.gridHeight / 2) * ins.gridWidth
                                      + ins.gridWidth / 2
                                : -1;
    } else {
        query = -1;
    }
    rebuildHeatmap();
    rebuildMask();
    update();
    refreshHud();
    if (query != m_query) {
        m_query = query;
        Q_EMIT queryChanged(m_query);
    }
}

void CanvasWidget::setMapClass(int classIndex)
{
    if (classIndex == m_mapClass)
        return;
    m_mapClass = classIndex;
    rebuildHeatmap();
    update();
}

void CanvasWidget::setMapKind(const QString &kind)
{
    if (kind.toStdString() == m_preview.requestedKind())
        return;
    m_preview.setKind(kind.toStdString());
    rebuildHeatmap();
    rebuildMask();
    update();
}

QString CanvasWidget::mapKind() const
{
    return QString::fromStdString(m_preview.kind());
}

void CanvasWidget::setOverlayOpacity(double opacity)
{
    m_opacity = std::clamp(opacity, 0.0, 1.0);
    update();
}

void CanvasWidget::setBgThreshold(float threshold)
{
    wsss::vision::PseudoLabelRule rule = m_preview.rule();
    rule.bgThreshold = std::clamp(threshold, 0.0f, 1.0f);
    setRule(rule);
}

void CanvasWidget::setRule(const wsss::vision::PseudoLabelRule &rule)
{
    if (rule == m_preview.rule())
        return;
    m_preview.setRule(rule);
    rebuildMask();
    update();
    refreshHud();
}

void CanvasWidget::setRefinement(std::shared_ptr<const tr::RefinedMaps> refined)
{
    if (!m_preview.setRefinement(std::move(refined)))
        return;
    rebuildMask();
    update();
}

bool CanvasWidget::refinementPending() const
{
    return m_preview.refinementPending(m_showMask);
}

void CanvasWidget::refinementFailed()
{
    m_preview.refinementFailed();
    update();
}

void CanvasWidget::requestRefinement()
{
    if (m_preview.takeRefinementRequest(m_showMask))
        Q_EMIT refinementRequested(mapKind(), m_preview.rule());
}

void CanvasWidget::setMaskDocument(MaskDocument *document)
{
    if (document == m_document)
        return;
    if (m_document)
        disconnect(m_document, nullptr, this, nullptr);
    m_document = document;
    m_documentMask = QImage();
    if (m_document) {
        connect(m_document, &MaskDocument::changed, this, [this](const QRect &rect) {
            rebuildDocumentMask(rect);
            update();
        });
        connect(m_document, &QObject::destroyed, this, [this] {
            m_document = nullptr;
            m_documentMask = QImage();
            update();
        });
        rebuildDocumentMask(QRect(QPoint(0, 0), m_document->size()));
    }
    update();
}

void CanvasWidget::rebuildDocumentMask(const QRect &rect)
{
    if (!m_document)
        return;
    const QSize size = m_document->size();
    const auto &labels = m_document->mask().pixels;
    if (size.isEmpty() || labels.size() != static_cast<size_t>(size.width()) * size.height())
        return;
    if (m_documentMask.size() != size) {
        m_documentMask = MaskPreview::colorize(labels.data(), size.width(), size.height());
        return;
    }
    // Recolour only what changed: a brush dab touches a few hundred pixels of a large image.
    const QRect r = rect.intersected(QRect(QPoint(0, 0), size));
    if (r.isEmpty())
        return;
    std::vector<std::uint8_t> part(static_cast<size_t>(r.width()) * r.height());
    for (int y = 0; y < r.height(); ++y)
        std::copy_n(labels.data() + static_cast<size_t>(r.top() + y) * size.width() + r.left(), r.width(),
                    part.data() + static_cast<size_t>(y) * r.width());
    const QImage patch = MaskPreview::colorize(part.data(), r.width(), r.height());
    for (int y = 0; y < r.height(); ++y)
        std::copy_n(reinterpret_cast<const QRgb *>(patch.constScanLine(y)), r.width(),
                    reinterpret_cast<QRgb *>(m_documentMask.scanLine(r.top() + y)) + r.left());
}

void CanvasWidget::setTool(AbstractTool *tool)
{
    if (tool == m_tool)
        return;
    if (m_tool)
        m_tool->deactivated(this);
    m_toolDrag = false;
    m_tool = tool;
    if (m_tool) {
        m_tool->activated(this);
        if (m_tool->editsMask() && !m_showMask)
            setShowMask(true); // edits are made on the mask: show it
    }
    setCursor(m_tool && m_tool->editsMask() ? Qt::CrossCursor : Qt::ArrowCursor);
    update();
}

void CanvasWidget::setColorMap(ColorMap map)
{
    if (map == m_colorMap)
        return;
    m_colorMap = map;
    rebuildHeatmap();
    update();
}

void CanvasWidget::setShowMask(bool show)
{
    if (show == m_showMask)
        return;
    m_showMask = show;
    Q_EMIT showMaskChanged(show);
    requestRefinement();
    update();
}

void CanvasWidget::setShowGrid(bool show)
{
    m_showGrid = show;
    update();
}

void CanvasWidget::setQueryToken(int token)
{
    if (!m_inspection || token == m_query)
        return;
    const int first = m_inspection->prefixTokens;
    if (token < first || token >= first + m_inspection->gridWidth * m_inspection->gridHeight)
        return;
    m_query = token;
    update();
    Q_EMIT queryChanged(m_query);
}

QPointF CanvasWidget::widgetToImage(QPointF widgetPos) const
{
    return (widgetPos - m_offset) / m_zoom;
}

QPointF CanvasWidget::imageToWidget(QPointF imagePos) const
{
    return m_offset + imagePos * m_zoom;
}

void CanvasWidget::fitToWindow()
{
    const QSizeF image = imageSize();
    m_fitMode = true;
    if (image.isEmpty()) {
        m_zoom = 1.0;
        m_offset = QPointF();
        update();
        return;
    }
    const double w = std::max(1.0, width() - 2 * kFitMargin);
    const double h = std::max(1.0, height() - 2 * kFitMargin);
    m_zoom = std::clamp(std::min(w / image.width(), h / image.height()), kMinZoom, kMaxZoom);
    m_offset = QPointF((width() - image.width() * m_zoom) / 2, (height() - image.height() * m_zoom) / 2);
    update();
}

void CanvasWidget::zoomAt(QPointF widgetPos, double factor)
{
    const QPointF anchor = widgetToImage(widgetPos);
    m_zoom = std::clamp(m_zoom * factor, kMinZoom, kMaxZoom);
    m_offset = widgetPos - anchor * m_zoom;
    m_fitMode = false;
    update();
}

void CanvasWidget::panBy(QPointF widgetDelta)
{
    m_offset += widgetDelta;
    m_fitMode = false;
    update();
}

void CanvasWidget::rebuildHeatmap()
{
    m_heatmap = QImage();
    if (!m_inspection || m_mapClass < 0 || m_image.isNull())
        return;
    const tr::ClassMap *map = m_inspection->map(mapKind().toStdString(), m_mapClass);
    const int w = m_inspection->imageWidth, h = m_inspection->imageHeight;
    if (!map || map->values.size() != static_cast<size_t>(w) * h)
        return;
    m_heatmap = QImage(w, h, QImage::Format_RGB32);
    const QRgb *table = colorMapTable(m_colorMap);
    for (int y = 0; y < h; ++y) {
        auto *line = reinterpret_cast<QRgb *>(m_heatmap.scanLine(y));
        const float *src = map->values.data() + static_cast<size_t>(y) * w;
        for (int x = 0; x < w; ++x) {
            const float v = src[x];
            line[x] = table[v > 0.0f ? (v < 1.0f ? static_cast<int>(v * 255.0f + 0.5f) : 255) : 0]; // NaN → 0
        }
    }
}

void CanvasWidget::rebuildMask()
{
    m_preview.rebuild();
    requestRefinement();
}

QSizeF CanvasWidget::imageSize() const
{
    return m_image.isNull() ? QSizeF() : QSizeF(m_image.size());
}

QRectF CanvasWidget::patchRect(int token) const
{
    if (!m_inspection || m_inspection->gridWidth <= 0 || m_inspection->gridHeight <= 0)
        return {};
    const auto &ins = *m_inspection;
    const int patch = token - ins.prefixTokens;
    if (patch < 0 || patch >= ins.gridWidth * ins.gridHeight)
        return {};
    // The grid covers the whole image: the network saw it resized to its input size.
    const double cw = double(ins.imageWidth) / ins.gridWidth;
    const double ch = double(ins.imageHeight) / ins.gridHeight;
    return QRectF((patch % ins.gridWidth) * cw, (patch / ins.gridWidth) * ch, cw, ch);
}

void CanvasWidget::paintEvent(QPaintEvent *)
{
    QElapsedTimer timer;
    timer.start();
    QPainter painter(this);
    paintScene(painter);
    // Shown by the HUD at its next refresh: asking it to repaint from here could loop.
    m_frameMs = timer.nsecsElapsed() * 1e-6;
}

void CanvasWidget::paintScene(QPainter &painter)
{
    painter.fillRect(rect(), QColor(38, 40, 44));
    if (m_image.isNull()) {
        painter.setPen(QColor(170, 170, 170));
        painter.drawText(rect(), Qt::AlignCenter,
                         tr("Open a dataset and a checkpoint, then pick an image."));
        return;
    }
    const auto &ins = *m_inspection;

    // Image layers in image coordinates. Nearest sampling once pixels are big enough to see.
    // The image itself changes only with the view: scale it once per zoom (smooth below 2×) and
    // blit it, so a repaint for a new mask costs little more than the mask.
    const QSize scaledSize(qRound(m_image.width() * m_zoom), qRound(m_image.height() * m_zoom));
    if (m_scaledImage.size() != scaledSize || m_scaledFrom != m_image.cacheKey()) {
        m_scaledImage = scaledSize == m_image.size() ? m_image
                        : m_image.scaled(scaledSize, Qt::IgnoreAspectRatio,
                                         m_zoom < 2.0 ? Qt::SmoothTransformation : Qt::FastTransformation);
        m_scaledFrom = m_image.cacheKey();
    }
    painter.drawImage(QPoint(qRound(m_offset.x()), qRound(m_offset.y())), m_scaledImage);

    painter.save();
    painter.translate(m_offset);
    painter.scale(m_zoom, m_zoom);
    const QImage &overlay = !m_showMask ? m_heatmap : !m_documentMask.isNull() ? m_documentMask : m_preview.image();
    if (!overlay.isNull() && m_opacity > 0) {
        painter.setRenderHint(QPainter::SmoothPixmapTransform, !m_showMask && m_zoom < 2.0);
        painter.setOpacity(m_opacity);
        painter.drawImage(QPointF(0, 0), overlay);
        painter.setOpacity(1.0);
    }
    painter.restore();

    // Lines in widget coordinates so they stay one pixel wide at any zoom.
    const QRectF imageRect(imageToWidget(QPointF(0, 0)), imageToWidget(QPointF(m_image.width(), m_image.height())));
    const double cellW = imageRect.width() / std::max(1, ins.gridWidth);
    const double cellH = imageRect.height() / std::max(1, ins.gridHeight);
    if (m_showGrid && ins.gridWidth > 0 && ins.gridHeight > 0 && std::min(cellW, cellH) >= 4.0) {
        painter.setPen(QPen(QColor(255, 255, 255, 70), 0));
        for (int c = 1; c < ins.gridWidth; ++c) {
            const double x = imageRect.left() + c * cellW;
            painter.drawLine(QPointF(x, imageRect.top()), QPointF(x, imageRect.bottom()));
        }
        for (int r = 1; r < ins.gridHeight; ++r) {
            const double y = imageRect.top() + r * cellH;
            painter.drawLine(QPointF(imageRect.left(), y), QPointF(imageRect.right(), y));
        }
    }
    const QRectF query = patchRect(m_query);
    if (!query.isEmpty()) {
        const QRectF r(imageToWidget(query.topLeft()), imageToWidget(query.bottomRight()));
        painter.setRenderHint(QPainter::Antialiasing, false);
        painter.setPen(QPen(QColor(0, 0, 0, 160), 4));
        painter.drawRect(r);
        painter.setPen(QPen(QColor(255, 230, 0), 2));
        painter.drawRect(r);
    }

    if (m_tool)
        m_tool->paintOverlay(this, painter);

    // Caption: what is on screen.
    QString caption = QStringLiteral("%1  %2×%3  ·  %4%")
                          .arg(QString::fromStdString(ins.imageId))
                          .arg(ins.imageWidth)
                          .arg(ins.imageHeight)
                          .arg(qRound(m_zoom * 100));
    const auto &rule = m_preview.rule();
    if (m_showMask && m_document) {
        caption += tr("  ·  corrected mask");
    } else if (m_showMask && ins.ownBackground(mapKind().toStdString())) {
        caption += tr("  ·  pseudo-mask %1: argmax with its own background").arg(mapKind());
        if (rule.parIterations > 0)
            caption += tr(", PAR %1").arg(rule.parIterations);
        if (rule.crf)
            caption += rule.crfPreset == "psa" ? tr(", CRF") : tr(", CRF (%1)").arg(QString::fromStdString(rule.crfPreset));
        if (refinementPending())
            caption += tr("  (refining…)");
    } else if (m_showMask) {
        if (rule.crf && rule.crfPreset != "psa") // the default preset goes unnamed
            caption += tr("  ·  pseudo-mask %1, CRF (%2) bg %3")
                           .arg(mapKind(), QString::fromStdString(rule.crfPreset))
                           .arg(rule.bgThreshold, 0, 'f', 2);
        else if (rule.crf)
            caption += tr("  ·  pseudo-mask %1, CRF bg %2").arg(mapKind()).arg(rule.bgThreshold, 0, 'f', 2);
        else if (rule.background == wsss::vision::BackgroundRule::Band)
            caption += tr("  ·  pseudo-mask %1, band %2–%3").arg(mapKind()).arg(rule.bandLow, 0, 'f', 2).arg(rule.bandHigh, 0, 'f', 2);
        else
            caption += tr("  ·  pseudo-mask %1, bg ≥ %2").arg(mapKind()).arg(rule.bgThreshold, 0, 'f', 2);
        if (rule.parIterations > 0)
            caption += tr(", PAR %1").arg(rule.parIterations);
        if (refinementPending())
            caption += tr("  (refining…)");
    }
    else if (m_mapClass >= 0 && m_mapClass < static_cast<int>(ins.classNames.size()))
        caption += QStringLiteral("  ·  %1 %2").arg(mapKind(), QString::fromStdString(ins.classNames[m_mapClass]));
    const QFontMetrics fm = painter.fontMetrics();
    const QRect box(QPoint(8, 8), fm.boundingRect(caption).adjusted(-6, -3, 6, 3).size());
    painter.fillRect(box, QColor(0, 0, 0, 150));
    painter.setPen(Qt::white);
    painter.drawText(box, Qt::AlignCenter, caption);

    // Mask legend: the palette colour of each class the image is labelled with.
    if (m_showMask && !ins.imageLabels.empty()) {
        int x = box.left();
        const int y = box.bottom() + 4, h = fm.height() + 6;
        for (int c : ins.imageLabels) {
            const QString name = c >= 0 && c < static_cast<int>(ins.classNames.size())
                                     ? QString::fromStdString(ins.classNames[static_cast<size_t>(c)])
                                     : QString::number(c);
            const int w = h + fm.horizontalAdvance(name) + 10;
            painter.fillRect(QRect(x, y, w, h), QColor(0, 0, 0, 150));
            const auto rgb = wsss::vision::vocPaletteColor(c);
            painter.fillRect(QRect(x + 4, y + 4, h - 8, h - 8), QColor(rgb[0], rgb[1], rgb[2]));
            painter.drawText(QRect(x + h, y, w - h, h), Qt::AlignVCenter | Qt::AlignLeft, name);
            x += w + 4;
        }
        if (m_document || (rule.background == wsss::vision::BackgroundRule::Band && !rule.crf)) {
            const QString name = tr("ignored (255)");
            const int w = h + fm.horizontalAdvance(name) + 10;
            painter.fillRect(QRect(x, y, w, h), QColor(0, 0, 0, 150));
            painter.fillRect(QRect(x + 4, y + 4, h - 8, h - 8), QBrush(Qt::white, Qt::BDiagPattern));
            painter.drawText(QRect(x + h, y, w - h, h), Qt::AlignVCenter | Qt::AlignLeft, name);
        }
    }
}

void CanvasWidget::resizeEvent(QResizeEvent *)
{
    if (m_fitMode)
        fitToWindow();
    if (m_hud)
        m_hud->placeInParent();
}

ToolEvent CanvasWidget::toolEvent(const QPointF &widgetPos, Qt::KeyboardModifiers modifiers) const
{
    return ToolEvent{widgetToImage(widgetPos), widgetPos, modifiers, false};
}

void CanvasWidget::wheelEvent(QWheelEvent *event)
{
    if (m_image.isNull())
        return;
    const int steps = event->angleDelta().y() / 120;
    if ((event->modifiers() & Qt::ControlModifier) && m_tool && steps != 0 &&
        m_tool->wheel(this, toolEvent(event->position(), event->modifiers()), steps)) {
        update();
        event->accept();
        return;
    }
    zoomAt(event->position(), wheelFactor(event->angleDelta().y()));
    updateHover(event->position());
    event->accept();
}

void CanvasWidget::mousePressEvent(QMouseEvent *event)
{
    setFocus(Qt::MouseFocusReason);
    if (event->button() == Qt::LeftButton) {
        if (m_tool && m_inspection) {
            m_toolDrag = true;
            m_tool->mousePressed(this, toolEvent(event->position(), event->modifiers()));
        } else {
            m_toolDrag = true;
            selectQueryAt(event->position());
        }
        update();
    } else if (event->button() == Qt::MiddleButton || event->button() == Qt::RightButton) {
        m_panning = true;
        m_lastDragPos = event->position();
        setCursor(Qt::ClosedHandCursor);
    }
    event->accept();
}

void CanvasWidget::mouseDoubleClickEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton && m_tool && m_inspection) {
        ToolEvent e = toolEvent(event->position(), event->modifiers());
        e.doubleClick = true;
        m_tool->mousePressed(this, e);
        update();
        event->accept();
        return;
    }
    mousePressEvent(event);
}

void CanvasWidget::mouseMoveEvent(QMouseEvent *event)
{
    if (m_panning) {
        panBy(event->position() - m_lastDragPos);
        m_lastDragPos = event->position();
    } else if (m_tool && m_inspection) {
        m_tool->mouseMoved(this, toolEvent(event->position(), event->modifiers()), m_toolDrag);
        update(); // the tool's outline follows the cursor
    } else if (m_toolDrag) {
        selectQueryAt(event->position()); // scrub: the attention follows the cursor
    }
    updateHover(event->position());
    event->accept();
}

void CanvasWidget::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton && m_toolDrag) {
        m_toolDrag = false;
        if (m_tool && m_inspection)
            m_tool->mouseReleased(this, toolEvent(event->position(), event->modifiers()));
        update();
    }
    if (m_panning && (event->button() == Qt::MiddleButton || event->button() == Qt::RightButton)) {
        m_panning = false;
        setCursor(m_tool && m_tool->editsMask() ? Qt::CrossCursor : Qt::ArrowCursor);
    }
    event->accept();
}

void CanvasWidget::keyPressEvent(QKeyEvent *event)
{
    if (m_tool && m_tool->keyPressed(this, event)) {
        update();
        return;
    }
    if (event->key() == Qt::Key_F) {
        fitToWindow();
        return;
    }
    if (event->key() == Qt::Key_Plus || event->key() == Qt::Key_Equal) {
        zoomAt(QPointF(width() / 2.0, height() / 2.0), 1.25);
        return;
    }
    if (event->key() == Qt::Key_Minus) {
        zoomAt(QPointF(width() / 2.0, height() / 2.0), 0.8);
        return;
    }
    if (!m_inspection || m_query < m_inspection->prefixTokens) {
        QWidget::keyPressEvent(event);
        return;
    }
    const int gw = m_inspection->gridWidth, gh = m_inspection->gridHeight;
    const int patch = m_query - m_inspection->prefixTokens;
    int col = patch % gw, row = patch / gw;
    switch (event->key()) {
    case Qt::Key_Left: col = std::max(0, col - 1); break;
    case Qt::Key_Right: col = std::min(gw - 1, col + 1); break;
    case Qt::Key_Up: row = std::max(0, row - 1); break;
    case Qt::Key_Down: row = std::min(gh - 1, row + 1); break;
    default: QWidget::keyPressEvent(event); return;
    }
    setQueryToken(m_inspection->prefixTokens + row * gw + col);
    event->accept();
}

void CanvasWidget::leaveEvent(QEvent *)
{
    m_hoverValid = false;
    refreshHud();
    Q_EMIT hoverChanged(QString());
}

void CanvasWidget::selectQueryAt(QPointF widgetPos)
{
    if (!m_inspection)
        return;
    const QPointF p = widgetToImage(widgetPos);
    const int token = m_inspection->patchTokenAt(p.x(), p.y());
    if (token >= 0)
        setQueryToken(token);
}

void CanvasWidget::updateHover(QPointF widgetPos)
{
    if (!m_inspection || m_image.isNull())
        return;
    const QPointF p = widgetToImage(widgetPos);
    const int x = static_cast<int>(std::floor(p.x())), y = static_cast<int>(std::floor(p.y()));
    m_hoverValid = x >= 0 && y >= 0 && x < m_image.width() && y < m_image.height();
    m_hoverPixel = QPoint(x, y);
    refreshHud();
    if (!m_hoverValid) {
        Q_EMIT hoverChanged(QString());
        return;
    }
    const auto &ins = *m_inspection;
    const int token = ins.patchTokenAt(p.x(), p.y());
    const int patch = token - ins.prefixTokens;
    QString text = tr("pixel (%1, %2)  patch (%3, %4)")
                       .arg(x)
                       .arg(y)
                       .arg(patch / std::max(1, ins.gridWidth))
                       .arg(patch % std::max(1, ins.gridWidth));
    if (const tr::ClassMap *map = ins.map(mapKind().toStdString(), m_mapClass))
        if (map->values.size() == static_cast<size_t>(ins.imageWidth) * ins.imageHeight)
            text += tr("  %1 = %2").arg(mapKind()).arg(map->values[static_cast<size_t>(y) * ins.imageWidth + x], 0, 'f', 3);
    Q_EMIT hoverChanged(text);
}

} // namespace wsss::ui
