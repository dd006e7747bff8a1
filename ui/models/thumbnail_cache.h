#pragma once
// ThumbnailCache: small previews of dataset images, decoded on a private thread pool and kept in
// memory. thumbnail() answers at once — the cached image, or a null one after queueing the load —
// and thumbnailReady() announces each image when it lands (on the GUI thread). clear() forgets
// everything and drops results of loads still in flight, so a new dataset never shows old
// previews. One rule of use: ask only for what is on screen; a view's delegate does that by
// itself, since only visible rows are painted.
#include <QHash>
#include <QImage>
#include <QObject>
#include <QSet>
#include <QSize>
#include <QString>

class QThreadPool;

namespace wsss::ui {

class ThumbnailCache : public QObject {
    Q_OBJECT
public:
    explicit ThumbnailCache(QSize size = QSize(48, 48), QObject *parent = nullptr);
    ~ThumbnailCache() override; // waits for the loads in flight

    QSize size() const { return m_size; }
    // The preview of an image file (fits in size(), aspect kept), or a null image while it loads
    // or when the file cannot be read (then it is not asked again until clear()).
    QImage thumbnail(const QString &path);
    bool isPending(const QString &path) const { return m_pending.contains(path); }
    void clear();
    // Blocks until the queued loads are done and their results delivered (tests, screenshots).
    void waitForPending();

Q_SIGNALS:
    void thumbnailReady(const QString &path);

private:
    void deliver(quint64 generation, const QString &path, const QImage &image);

    QSize m_size;
    QThreadPool *m_pool = nullptr;
    QHash<QString, QImage> m_images; // failed loads are stored as null images
    QSet<QString> m_pending;
    quint64 m_generation = 0; // bumped by clear(); older results are dropped
};

} // namespace wsss::ui
