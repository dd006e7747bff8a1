#pragma once
// SetReviewState: marks one image unreviewed, corrected, accepted or rejected ("Mark accepted").
// Lives on that image's undo stack, so Undo in the studio takes back a verdict like an edit; a mask
// edit carries one as a child when it turns the image corrected.
#include "training/project/studio_project.h"

#include <QString>
#include <QUndoCommand>

namespace wsss::ui {

class ProjectDocument;

class SetReviewState : public QUndoCommand {
public:
    // The state before is read now, so construct it right before pushing.
    SetReviewState(ProjectDocument *project, const QString &imageId, training::ReviewState state,
                   QUndoCommand *parent = nullptr);

    void undo() override;
    void redo() override;

    const QString &imageId() const { return m_imageId; }
    training::ReviewState state() const { return m_after; }

private:
    ProjectDocument *m_project;
    QString m_imageId;
    training::ReviewState m_before;
    training::ReviewState m_after;
};

} // namespace wsss::ui
