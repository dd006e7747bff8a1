#include "ui/project/project_document.h"

#include "ui/commands/set_review_state.h"
#include "ui/project/mask_document.h"
#include "vision/io/atomic_write.h"
#include "vision/io/palette_png.h"

#include <QFileInfo>
#include <QStringList>
#include <QUndoGroup>
#include <QUndoStack>

#include <opencv2/core/mat.hpp>

#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <optional>

namespace fs = std::filesystem;

namespace wsss::ui {

namespace {

fs::path toPath(const QString &path)
{
    return fs::path(path.toStdString());
}

QString fromPath(const fs::path &path)
{
    return QString::fromStdString(path.string());
}

QString quoted(const fs::path &path)
{
    return QLatin1Char('"') + fromPath(path) + QLatin1Char('"');
}

bool samePath(const fs::path &a, const fs::path &b)
{
    return a.lexically_normal() == b.lexically_normal();
}

} // namespace

ProjectDocument::ProjectDocument(QObject *parent)
    : QObject(parent), m_undoGroup(new QUndoGroup(this)), m_palette(vision::paletteFor(vision::vocLabelMap()))
{
    m_autosave.setSingleShot(true);
    connect(&m_autosave, &QTimer::timeout, this, &ProjectDocument::saveNow);
}

ProjectDocument::~ProjectDocument()
{
    if (isOpen() && isDirty())
        saveNow();
    m_autosave.stop();
}

bool ProjectDocument::open(const QString &path)
{
    close();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    try {
        m_project = training::readStudioProject(toPath(absolute));
    } catch (const std::exception &e) {
        m_project = {};
        m_error = QString::fromUtf8(e.what());
        Q_EMIT loadFailed(m_error);
        return false;
    }
    if (m_project.masks.empty())
        m_project.masks = training::defaultMasksFolder(toPath(absolute));
    m_path = absolute;
    m_projectDirty = false;
    m_error.clear();
    // A studio killed mid-write leaves a hidden temporary beside the mask it was replacing.
    vision::removeStaleTemporaries(m_project.masks);
    if (!m_project.image.empty())
        maskDocument(currentImage()); // becomes the active stack

    return true;
}

bool ProjectDocument::create(const QString &path, const training::StudioProject &project)
{
    close();
    m_path = QFileInfo(path).absoluteFilePath();
    m_project = project;
    if (m_project.masks.empty())
        m_project.masks = training::defaultMasksFolder(toPath(m_path));
    m_projectDirty = true;
    return save();
}

void ProjectDocument::close()
{
    if (isOpen() && isDirty())
        saveNow();
    reset();
}

void ProjectDocument::reset()
{
    m_autosave.stop();
    m_undoGroup->setActiveStack(nullptr);
    for (const Entry &entry : std::as_const(m_entries))
        delete entry.document;
    m_entries.clear();
    m_project = {};
    m_path.clear();
    m_projectDirty = false;
}

bool ProjectDocument::save()
{
    return write(true);
}

bool ProjectDocument::saveNow()
{
    return write(false);
}

bool ProjectDocument::write(bool projectFile)
{
    m_autosave.stop();
    if (!isOpen())
        return true;
    QStringList errors;
    // Masks before the project file: a crash between the two leaves a corrected mask whose review
    // state is older, never a "corrected" state without its mask.
    for (auto it = m_entries.begin(); it != m_entries.end(); ++it)
        saveMask(it.key(), it.value(), errors);
    if (projectFile || m_projectDirty) {
        const fs::path file = toPath(m_path);
        if (insideDataset(file)) {
            errors << tr("refusing to write the project %1: it is inside the dataset folder %2; save it elsewhere")
                          .arg(quoted(file), quoted(m_project.data));
        } else {
            try {
                training::writeStudioProject(file, m_project);
                m_projectDirty = false;
            } catch (const std::exception &e) {
                errors << QString::fromUtf8(e.what());
            }
        }
    }
    if (!errors.isEmpty()) {
        m_error = errors.join(QLatin1Char('\n'));
        Q_EMIT saveFailed(m_error);
        return false;
    }
    Q_EMIT saved();
    return true;
}

bool ProjectDocument::saveMask(const QString &id, Entry &entry, QStringList &errors)
{
    const MaskDocument *document = entry.document;
    const quint64 revision = document->revision();
    if (revision == entry.savedRevision)
        return true;
    const fs::path file = m_project.correctedMaskPath(id.toStdString());
    if (document->isCorrected()) {
        if (insideDataset(file)) {
            errors << tr("refusing to write the corrected mask %1: it is inside the dataset folder %2; "
                         "move the masks folder (Save As)")
                          .arg(quoted(file), quoted(m_project.data));
            return false;
        }
        const LabelImage &mask = document->mask();
        const cv::Mat labels(mask.height, mask.width, CV_8UC1, const_cast<std::uint8_t *>(mask.pixels.data()));
        try {
            vision::writeLabelPng(file.string(), labels, m_palette);
        } catch (const std::exception &e) {
            errors << QString::fromUtf8(e.what());
            return false;
        }
        entry.fileWritten = true;
    } else if (entry.fileWritten) {
        // Every edit undone: the image is back to its pseudo-mask, so its correction goes.
        std::error_code ec;
        fs::remove(file, ec);
        if (ec) {
            errors << tr("cannot remove the corrected mask %1: %2").arg(quoted(file), QString::fromStdString(ec.message()));
            return false;
        }
        entry.fileWritten = false;
    }
    entry.savedRevision = revision;
    return true;
}

bool ProjectDocument::saveAs(const QString &path)
{
    if (!isOpen())
        return false;
    const QString absolute = QFileInfo(path).absoluteFilePath();
    const fs::path oldFile = toPath(m_path), newFile = toPath(absolute);
    const fs::path oldMasks = m_project.masks;
    const bool movesMasks = samePath(oldMasks, training::defaultMasksFolder(oldFile));
    const fs::path newMasks = movesMasks ? training::defaultMasksFolder(newFile) : oldMasks;
    auto fail = [this](const QString &message) {
        m_error = message;
        Q_EMIT saveFailed(message);
        return false;
    };
    if (insideDataset(newFile) || insideDataset(newMasks))
        return fail(tr("refusing to save the project as %1: it or its masks folder %2 would be inside the dataset "
                       "folder %3")
                        .arg(quoted(newFile), quoted(newMasks), quoted(m_project.data)));
    if (!samePath(oldMasks, newMasks)) {
        std::error_code ec;
        for (auto it = fs::directory_iterator(oldMasks, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
            if (!it->is_regular_file() || it->path().extension() != ".png" ||
                it->path().filename().string().front() == '.')
                continue;
            std::ifstream in(it->path(), std::ios::binary);
            const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            if (!in.good() && !in.eof())
                return fail(tr("cannot read the corrected mask %1 to copy it").arg(quoted(it->path())));
            try {
                vision::atomicWriteBytes(newMasks / it->path().filename(), bytes.data(), bytes.size());
            } catch (const std::exception &e) {
                return fail(QString::fromUtf8(e.what()));
            }
        }
        if (ec && ec != std::errc::no_such_file_or_directory)
            return fail(tr("cannot list the masks folder %1: %2").arg(quoted(oldMasks), QString::fromStdString(ec.message())));
    }
    m_path = absolute;
    m_project.masks = newMasks;
    m_projectDirty = true;
    return save();
}

bool ProjectDocument::isDirty() const
{
    if (m_projectDirty)
        return true;
    for (const Entry &entry : m_entries)
        if (entry.document->revision() != entry.savedRevision)
            return true;
    return false;
}

void ProjectDocument::setAutosaveInterval(int ms)
{
    m_autosaveMs = ms;
    if (ms < 0)
        m_autosave.stop();
    else if (m_autosave.isActive())
        m_autosave.start(ms);
}

void ProjectDocument::setLabelMap(const vision::LabelMap &labels)
{
    m_palette = vision::paletteFor(labels);
}

void ProjectDocument::scheduleAutosave()
{
    if (!isOpen() || m_autosaveMs < 0)
        return;
    // Restarted by every change: one save after the user pauses, not one per dab; but nonstop
    // painting must not postpone it for ever.
    if (!m_autosave.isActive())
        m_pendingSince.start();
    else if (m_pendingSince.elapsed() >= qint64(kAutosaveMaxDelays) * m_autosaveMs)
        return;
    m_autosave.start(m_autosaveMs);
}

bool ProjectDocument::insideDataset(const fs::path &path) const
{
    if (m_project.data.empty())
        return false;
    std::error_code ec;
    const fs::path data = fs::weakly_canonical(m_project.data, ec);
    if (ec)
        return false;
    const fs::path target = fs::weakly_canonical(path, ec);
    if (ec)
        return false;
    const fs::path relative = target.lexically_relative(data);
    return !relative.empty() && *relative.begin() != "..";
}

void ProjectDocument::setCurrentImage(const QString &id)
{
    const QString previous = currentImage();
    if (id != previous) {
        m_project.image = id.toStdString();
        m_projectDirty = true;
        scheduleAutosave();
    }
    m_undoGroup->setActiveStack(id.isEmpty() ? nullptr : maskDocument(id)->undoStack());
    if (id != previous) {
        releaseIfIdle(previous);
        Q_EMIT currentImageChanged(id);
    }
}

void ProjectDocument::releaseIfIdle(const QString &id)
{
    const auto it = m_entries.find(id);
    if (it == m_entries.end())
        return;
    MaskDocument *document = it->document;
    if (document->undoStack()->count() > 0 || document->revision() != it->savedRevision || document->isStroking())
        return;
    m_entries.erase(it);
    m_undoGroup->removeStack(document->undoStack());
    document->disconnect(this);
    document->deleteLater();
}

MaskDocument *ProjectDocument::findMaskDocument(const QString &id) const
{
    const auto it = m_entries.constFind(id);
    return it == m_entries.constEnd() ? nullptr : it->document;
}

MaskDocument *ProjectDocument::maskDocument(const QString &id)
{
    if (MaskDocument *existing = findMaskDocument(id))
        return existing;
    auto *document = new MaskDocument(id, this);
    m_undoGroup->addStack(document->undoStack());
    // The first edit of an image that is not corrected yet marks it so, in the same undo step.
    document->setEditHook([this, id](QUndoCommand *command) {
        if (review(id) != training::ReviewState::Corrected)
            new SetReviewState(this, id, training::ReviewState::Corrected, command);
    });
    connect(document, &MaskDocument::changed, this, [this, id](const QRect &rect) {
        Q_EMIT maskChanged(id, rect);
        scheduleAutosave();
    });
    m_entries.insert(id, Entry{document});
    if (id == currentImage())
        m_undoGroup->setActiveStack(document->undoStack());
    return document;
}

MaskDocument *ProjectDocument::maskDocument(const QString &id, const LabelImage &baseMask)
{
    MaskDocument *document = maskDocument(id);
    if (document->hasMask()) {
        document->setBase(baseMask);
        return document;
    }
    std::optional<LabelImage> corrected;
    const fs::path file = m_project.correctedMaskPath(id.toStdString());
    std::error_code ec;
    if (isOpen() && fs::exists(file, ec)) {
        try {
            const cv::Mat labels = vision::readLabelPng(file.string());
            if (!baseMask.isNull() && (labels.cols != baseMask.width || labels.rows != baseMask.height)) {
                m_error = tr("the corrected mask %1 is %2×%3 pixels but its image is %4×%5; starting from the "
                             "pseudo-mask (an edit replaces the file)")
                              .arg(quoted(file))
                              .arg(labels.cols)
                              .arg(labels.rows)
                              .arg(baseMask.width)
                              .arg(baseMask.height);
                Q_EMIT loadFailed(m_error);
            } else {
                LabelImage image(labels.cols, labels.rows);
                for (int y = 0; y < labels.rows; ++y)
                    std::memcpy(&image.at(0, y), labels.ptr<std::uint8_t>(y), static_cast<std::size_t>(labels.cols));
                corrected = std::move(image);
            }
        } catch (const std::exception &e) {
            m_error = QString::fromUtf8(e.what());
            Q_EMIT loadFailed(m_error);
        }
    }
    document->setBase(baseMask, std::move(corrected));
    // Reading the file is not a change to save.
    m_entries[id].savedRevision = document->revision();
    return document;
}

training::ReviewState ProjectDocument::review(const QString &id) const
{
    return m_project.review(id.toStdString());
}

void ProjectDocument::setReview(const QString &id, training::ReviewState state)
{
    if (review(id) == state)
        return;
    maskDocument(id)->undoStack()->push(new SetReviewState(this, id, state));
}

void ProjectDocument::applyReview(const QString &id, training::ReviewState state)
{
    if (review(id) == state)
        return;
    m_project.setReview(id.toStdString(), state);
    m_projectDirty = true;
    Q_EMIT reviewChanged(id, state);
    scheduleAutosave();
}

void ProjectDocument::setRule(const vision::PseudoLabelRule &rule)
{
    if (rule == m_project.rule)
        return;
    m_project.rule = rule;
    m_projectDirty = true;
    Q_EMIT ruleChanged();
    scheduleAutosave();
}

void ProjectDocument::setSources(const QString &data, const QString &split, const QString &checkpoint)
{
    const std::filesystem::path dataPath = data.toStdString(), checkpointPath = checkpoint.toStdString();
    if (dataPath == m_project.data && split.toStdString() == m_project.split && checkpointPath == m_project.checkpoint)
        return;
    m_project.data = dataPath;
    m_project.split = split.toStdString();
    m_project.checkpoint = checkpointPath;
    m_projectDirty = true;
    scheduleAutosave();
}

void ProjectDocument::setMapKind(const QString &kind)
{
    if (kind.toStdString() == m_project.mapKind)
        return;
    m_project.mapKind = kind.toStdString();
    m_projectDirty = true;
    scheduleAutosave();
}

} // namespace wsss::ui
