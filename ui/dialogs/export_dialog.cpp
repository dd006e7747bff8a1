#include "ui/dialogs/export_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>

namespace wsss::ui {

ExportDialog::ExportDialog(QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("Export pseudo-labels"));

    m_out = new QLineEdit(this);
    m_out->setObjectName(QStringLiteral("exportOutEdit"));
    m_out->setPlaceholderText(tr("A new or empty folder"));
    m_out->setToolTip(tr("The dataset folder to write; an existing export there is replaced only "
                         "once the new one is complete"));
    auto *browseButton = new QPushButton(tr("Browse…"), this);
    browseButton->setObjectName(QStringLiteral("exportBrowseButton"));
    auto *outRow = new QHBoxLayout;
    outRow->setContentsMargins(0, 0, 0, 0);
    outRow->addWidget(m_out, 1);
    outRow->addWidget(browseButton);

    // Item data are training::exportFormatName's values, what `wsss export --format` takes.
    m_format = new QComboBox(this);
    m_format->setObjectName(QStringLiteral("exportFormatCombo"));
    m_format->addItem(tr("VOC folder (palette PNGs)"), QStringLiteral("voc"));
    m_format->setItemData(0, tr("SegmentationClass/<id>.png with the class palette (255 = ignore) and "
                                "ImageSets/Segmentation/<split>.txt"), Qt::ToolTipRole);
    m_format->addItem(tr("COCO JSON (RLE masks)"), QStringLiteral("coco"));
    m_format->setItemData(1, tr("annotations.json: one compressed-RLE annotation per image and class present"),
                          Qt::ToolTipRole);

    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("exportSummary"));
    m_summary->setWordWrap(true);

    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("exportError"));
    m_error->setStyleSheet(QStringLiteral("color: #c62828; font-weight: bold;"));
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->hide();

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    QPushButton *ok = buttons->button(QDialogButtonBox::Ok);
    ok->setText(tr("Export"));
    ok->setObjectName(QStringLiteral("exportButton"));

    auto *form = new QFormLayout;
    form->addRow(tr("Output folder"), outRow);
    form->addRow(tr("Format"), m_format);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_summary);
    layout->addWidget(m_error);
    layout->addStretch(1);
    layout->addWidget(buttons);

    connect(browseButton, &QPushButton::clicked, this, &ExportDialog::browse);
    connect(m_out, &QLineEdit::textEdited, this, [this] { m_error->hide(); });
    connect(buttons, &QDialogButtonBox::accepted, this, &ExportDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    setSummary(0, 0, 0);
    resize(520, sizeHint().height());
}

QString ExportDialog::outDir() const
{
    QString text = m_out->text().trimmed();
    if (text.isEmpty())
        return {};
    if (text == QLatin1String("~") || text.startsWith(QLatin1String("~/")))
        text = QDir::homePath() + text.mid(1);
    return QDir::cleanPath(QFileInfo(text).absoluteFilePath());
}

void ExportDialog::setOutDir(const QString &dir)
{
    m_out->setText(QDir::toNativeSeparators(dir));
    m_error->hide();
}

QString ExportDialog::format() const { return m_format->currentData().toString(); }

void ExportDialog::setFormat(const QString &format)
{
    const int i = m_format->findData(format);
    if (i >= 0)
        m_format->setCurrentIndex(i);
}

void ExportDialog::setSummary(int images, int corrected, int rejected)
{
    // Plurals spelled out: "%n image(s)" reads as written when no translation is installed.
    m_summary->setText((images == 1 ? tr("1 image in the project's split")
                                    : tr("%1 images in the project's split").arg(images)) +
                       tr(" · %1 corrected by hand · %2 rejected (left out of the export)").arg(corrected).arg(rejected));
}

QString ExportDialog::summaryText() const { return m_summary->text(); }

QString ExportDialog::errorText() const { return m_error->isHidden() ? QString() : m_error->text(); }

void ExportDialog::accept()
{
    m_force = false;
    const QString dir = outDir();
    if (dir.isEmpty()) {
        showError(tr("Choose the folder to export to."));
        return;
    }
    const QFileInfo info(dir);
    if (info.exists() && !info.isDir()) {
        showError(tr("%1 is a file, not a folder.").arg(QDir::toNativeSeparators(dir)));
        return;
    }
    // Hidden files count: the export refuses any non-empty folder without force.
    const bool holdsFiles =
        info.isDir() && !QDir(dir).isEmpty(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System);
    if (holdsFiles) {
        if (!confirmReplace(dir))
            return; // stays open for another folder
        m_force = true;
    }
    m_error->hide();
    QDialog::accept();
}

bool ExportDialog::confirmReplace(const QString &dir)
{
    const auto answer = QMessageBox::question(
        this, tr("Replace export"),
        tr("Replace the contents of %1? The old export is replaced only once the new one is complete.")
            .arg(QDir::toNativeSeparators(dir)),
        QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
    return answer == QMessageBox::Yes;
}

void ExportDialog::browse()
{
    const QString start = outDir().isEmpty() ? QDir::homePath() : outDir();
    const QString path = QFileDialog::getExistingDirectory(this, tr("Export to folder"), start);
    if (!path.isEmpty())
        setOutDir(path);
}

void ExportDialog::showError(const QString &message)
{
    m_error->setText(message);
    m_error->show();
    m_out->setFocus();
}

} // namespace wsss::ui
