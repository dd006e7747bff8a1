#pragma once
// MessageBanner: a strip above the canvas that keeps what went wrong in view — one line per
// subject ("checkpoint", "dataset"), replaced when the same subject fails again and removed when
// it opens fine or the user dismisses the banner. Unlike a status-bar message it survives hovering
// menus and later jobs' messages; unlike a message box it never blocks (scripted runs included).
#include <QFrame>
#include <QString>
#include <QVector>

class QLabel;
class QToolButton;

namespace wsss::ui {

class MessageBanner : public QFrame {
    Q_OBJECT
public:
    explicit MessageBanner(QWidget *parent = nullptr);

    void setMessage(const QString &subject, const QString &message); // shows the banner
    void clearMessage(const QString &subject);                       // hides it when none is left
    QString message(const QString &subject) const;                   // "" when none
    QString text() const;                                            // every line, as shown

private:
    void refresh();

    struct Line {
        QString subject, message;
    };
    QVector<Line> m_lines; // in the order they first failed
    QLabel *m_label = nullptr;
    QToolButton *m_close = nullptr;
};

} // namespace wsss::ui
