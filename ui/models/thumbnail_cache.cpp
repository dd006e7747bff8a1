#include "ui/models/thumbnail_cache.h"

#include <QCoreApplication>
#include <QImageReader>
#include <QMetaObject>
#include <QPointer>
#include <QThreadPool>

namespace wsss::ui {

namespace {

// Decodes straight to the small size where the format allows it (JPEG scales while decoding,
// so a 500 px photo costs a fraction of a full decode).
QImage loadThumbnail(const QString &path, QSize box)
{
    QImageReader reader(path);
    reader.setAutoTransform(true);
    const QSize full = reader.size();
    if (full.isValid())
        reader.setScaledSize(full.scaled(box, Qt::KeepAspectRatio));
    QImage image = reader.read();
    if (image.isNull())
        return image;
    if (image.width() > box.width() || image.height() > box.height())
        image = image.scaled(box, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    return image.convertToFormat(QImage::Format_ARGB32_Premultiplied);
}

} // namespace

ThumbnailCache::ThumbnailCache(QSize size, QObject *parent) : QObject(parent), m_size(size)
{
    m_pool = new QThreadPool(this);
    // Two decoders: enough to keep up with scrolling, without starving the engine's worker.
    m_pool->setMaxThreadCount(2);
}

ThumbnailCache::~ThumbnailCache()
{
    m_pool->clear();
    m_pool->waitForDone();
}

QImage ThumbnailCache::thumbnail(const QString &path)
{
    if (path.isEmpty())
        return {};
    const auto it = m_images.constFind(path);
    if (it != m_images.constEnd())
        return *it;
    if (m_pending.contains(path))
        return {};
    m_pending.insert(path);
    const quint64 generation = m_generation;
    const QSize box = m_size;
    QPointer<ThumbnailCache> self(this);
    m_pool->start([self, generation, path, box] {
        const QImage image = loadThumbnail(path, box);
        // The destructor waits for the pool, so `self` outlives this task; QPointer is a guard
        // for the queued call only.
        QMetaObject::invokeMethod(
            self.data(), [self, generation, path, image] {
                if (self)
                    self->deliver(generation, path, image);
            },
            Qt::QueuedConnection);
    });
    return {};
}

void ThumbnailCache::deliver(quint64 generation, const QString &path, const QImage &image)
{
    if (generation != m_generation)
        return;
    m_pending.remove(path);
    m_images.insert(path, image);
    Q_EMIT thumbnailReady(path);
}

void ThumbnailCache::clear()
{
    m_pool->clear(); // loads not started yet are dropped; running ones finish and are ignored
    ++m_generation;
    m_images.clear();
    m_pending.clear();
}

void ThumbnailCache::waitForPending()
{
    m_pool->waitForDone();
    QCoreApplication::sendPostedEvents(this);
}

} // namespace wsss::ui
