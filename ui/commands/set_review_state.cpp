#include "ui/commands/set_review_state.h"

#include "ui/project/project_document.h"

#include <QCoreApplication>

namespace wsss::ui {

SetReviewState::SetReviewState(ProjectDocument *project, const QString &imageId, training::ReviewState state,
                               QUndoCommand *parent)
    : QUndoCommand(QCoreApplication::translate("SetReviewState", "Mark %1")
                       .arg(QString::fromStdString(training::reviewStateName(state))),
                   parent),
      m_project(project), m_imageId(imageId), m_before(project->review(imageId)), m_after(state)
{
}

void SetReviewState::undo()
{
    QUndoCommand::undo();
    m_project->applyReview(m_imageId, m_before);
}

void SetReviewState::redo()
{
    m_project->applyReview(m_imageId, m_after);
    QUndoCommand::redo();
}

} // namespace wsss::ui
