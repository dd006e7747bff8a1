#include "ui/widgets/message_banner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QStringList>
#include <QStyle>
#include <QToolButton>

#include <algorithm>

namespace wsss::ui {

MessageBanner::MessageBanner(QWidget *parent) : QFrame(parent)
{
    setObjectName(QStringLiteral("messageBanner"));
    setFrameShape(QFrame::StyledPanel);
    // The error colours of the usual in-window message strips (KMessageWidget and the like),
    // fixed rather than from the palette so the strip reads as an error under every style.
    setStyleSheet(QStringLiteral("#messageBanner { background: #fbe3e4; border: 1px solid #d9a0a4; border-radius: 3px; }"
                                 "#messageBanner QLabel { color: #5c1419; }"));
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 6, 4, 6);
    auto *icon = new QLabel(this);
    const int size = style()->pixelMetric(QStyle::PM_SmallIconSize, nullptr, this);
    icon->setPixmap(style()->standardIcon(QStyle::SP_MessageBoxCritical, nullptr, this).pixmap(size, size));
    icon->setAlignment(Qt::AlignTop);
    layout->addWidget(icon);
    m_label = new QLabel(this);
    m_label->setObjectName(QStringLiteral("messageBannerText"));
    m_label->setWordWrap(true);
    m_label->setTextFormat(Qt::PlainText); // paths and engine messages are not markup
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse); // a path the user may want to copy
    layout->addWidget(m_label, 1);
    m_close = new QToolButton(this);
    m_close->setObjectName(QStringLiteral("messageBannerClose"));
    m_close->setAutoRaise(true);
    m_close->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton, nullptr, this));
    m_close->setToolTip(tr("Dismiss"));
    layout->addWidget(m_close, 0, Qt::AlignTop);
    connect(m_close, &QToolButton::clicked, this, [this] {
        m_lines.clear();
        refresh();
    });
    refresh();
}

void MessageBanner::setMessage(const QString &subject, const QString &message)
{
    const auto it = std::find_if(m_lines.begin(), m_lines.end(), [&](const Line &l) { return l.subject == subject; });
    if (it != m_lines.end())
        it->message = message;
    else
        m_lines.push_back({subject, message});
    refresh();
}

void MessageBanner::clearMessage(const QString &subject)
{
    m_lines.erase(std::remove_if(m_lines.begin(), m_lines.end(), [&](const Line &l) { return l.subject == subject; }),
                  m_lines.end());
    refresh();
}

QString MessageBanner::message(const QString &subject) const
{
    for (const Line &line : m_lines)
        if (line.subject == subject)
            return line.message;
    return QString();
}

QString MessageBanner::text() const
{
    return m_label->text();
}

void MessageBanner::refresh()
{
    QStringList lines;
    for (const Line &line : m_lines)
        lines << line.message;
    m_label->setText(lines.join(QLatin1Char('\n')));
    setVisible(!m_lines.isEmpty());
}

} // namespace wsss::ui
