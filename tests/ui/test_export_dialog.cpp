// ExportDialog: the format values the export takes, the summary, and the folder check — an empty
// path is an inline error, a new or empty folder exports without asking, a non-empty one asks
// (confirmReplace, answered here by a subclass) and force() follows the answer, No keeping the
// dialog open.
#include "ui/dialogs/export_dialog.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <memory>

using wsss::ui::ExportDialog;

namespace {

// Answers the replace question without a modal box and remembers what it was asked.
class AnsweringExportDialog : public ExportDialog {
public:
    bool answer = false;
    QStringList asked;

protected:
    bool confirmReplace(const QString &dir) override
    {
        asked << dir;
        return answer;
    }
};

void touch(const QString &path)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("x");
}

} // namespace

class TestExportDialog : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();

    void formatValues();
    void summary();
    void emptyPathIsAnError_data();
    void emptyPathIsAnError();
    void fileIsAnError();
    void nonEmptyFolderAsks_data();
    void nonEmptyFolderAsks();
    void newOrEmptyFolderDoesNotAsk_data();
    void newOrEmptyFolderDoesNotAsk();
    void exportButtonValidates();
    void questionNamesTheFolder();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestExportDialog::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestExportDialog::formatValues()
{
    ExportDialog dialog;
    auto *combo = dialog.findChild<QComboBox *>(QStringLiteral("exportFormatCombo"));
    QVERIFY(combo);
    QCOMPARE(combo->count(), 2);
    QCOMPARE(combo->itemData(0).toString(), QStringLiteral("voc"));
    QCOMPARE(combo->itemData(1).toString(), QStringLiteral("coco"));
    QCOMPARE(combo->itemText(0), QStringLiteral("VOC folder (palette PNGs)"));
    QCOMPARE(combo->itemText(1), QStringLiteral("COCO JSON (RLE masks)"));
    QCOMPARE(dialog.format(), QStringLiteral("voc"));
    combo->setCurrentIndex(1);
    QCOMPARE(dialog.format(), QStringLiteral("coco"));
    dialog.setFormat(QStringLiteral("voc"));
    QCOMPARE(dialog.format(), QStringLiteral("voc"));
    dialog.setFormat(QStringLiteral("tiff")); // not a format: ignored
    QCOMPARE(dialog.format(), QStringLiteral("voc"));
}

void TestExportDialog::summary()
{
    ExportDialog dialog;
    dialog.setSummary(120, 7, 3);
    const QString text = dialog.summaryText();
    QVERIFY2(text.contains(QStringLiteral("120 images")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("7 corrected")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("3 rejected")), qPrintable(text));
    auto *label = dialog.findChild<QLabel *>(QStringLiteral("exportSummary"));
    QVERIFY(label);
    QCOMPARE(label->text(), text);
}

void TestExportDialog::emptyPathIsAnError_data()
{
    QTest::addColumn<QString>("path");
    QTest::newRow("empty") << QString();
    QTest::newRow("blank") << QStringLiteral("   ");
}

void TestExportDialog::emptyPathIsAnError()
{
    QFETCH(QString, path);
    AnsweringExportDialog dialog;
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    dialog.setOutDir(path);
    QVERIFY(dialog.outDir().isEmpty());
    dialog.accept();
    QVERIFY(dialog.isVisible());
    QCOMPARE(dialog.result(), int(QDialog::Rejected));
    QVERIFY(!dialog.errorText().isEmpty());
    QVERIFY(dialog.findChild<QLabel *>(QStringLiteral("exportError"))->isVisible());
    QVERIFY(dialog.asked.isEmpty());
    // Typing clears the message.
    auto *edit = dialog.findChild<QLineEdit *>(QStringLiteral("exportOutEdit"));
    QVERIFY(edit);
    QTest::keyClicks(edit, QStringLiteral("x"));
    QVERIFY(dialog.errorText().isEmpty());
}

void TestExportDialog::fileIsAnError()
{
    const QString file = m_dir->filePath(QStringLiteral("a_file"));
    touch(file);
    AnsweringExportDialog dialog;
    dialog.answer = true;
    dialog.setOutDir(file);
    dialog.show();
    dialog.accept();
    QVERIFY(dialog.isVisible());
    QVERIFY(dialog.errorText().contains(QStringLiteral("not a folder")));
    QVERIFY(dialog.asked.isEmpty());
    QVERIFY(!dialog.force());
}

void TestExportDialog::nonEmptyFolderAsks_data()
{
    QTest::addColumn<QString>("file"); // what the folder holds
    QTest::addColumn<bool>("answer");
    QTest::newRow("a file, Yes") << QStringLiteral("manifest.json") << true;
    QTest::newRow("a file, No") << QStringLiteral("manifest.json") << false;
    QTest::newRow("only a hidden file, Yes") << QStringLiteral(".hidden") << true;
    QTest::newRow("only a hidden file, No") << QStringLiteral(".hidden") << false;
}

void TestExportDialog::nonEmptyFolderAsks()
{
    QFETCH(QString, file);
    QFETCH(bool, answer);
    const QString out = m_dir->filePath(QStringLiteral("export"));
    QVERIFY(QDir().mkpath(out));
    touch(out + QLatin1Char('/') + file);

    AnsweringExportDialog dialog;
    dialog.answer = answer;
    dialog.setOutDir(out);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    dialog.accept();
    QCOMPARE(dialog.asked, QStringList{QDir::cleanPath(out)});
    QCOMPARE(dialog.force(), answer);
    QCOMPARE(dialog.isVisible(), !answer); // No: stays open for another folder
    QCOMPARE(dialog.result(), answer ? int(QDialog::Accepted) : int(QDialog::Rejected));
    QVERIFY(dialog.errorText().isEmpty());
    QCOMPARE(dialog.outDir(), QDir::cleanPath(out));

    if (!answer) {
        // Another, empty folder then exports without asking again, and without force.
        const QString other = m_dir->filePath(QStringLiteral("other"));
        dialog.setOutDir(other);
        dialog.accept();
        QCOMPARE(dialog.asked.size(), 1);
        QVERIFY(!dialog.force());
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
    } else {
        // force is the answer of the last Export, not a leftover.
        dialog.show();
        dialog.setOutDir(m_dir->filePath(QStringLiteral("new")));
        dialog.accept();
        QVERIFY(!dialog.force());
    }
}

void TestExportDialog::newOrEmptyFolderDoesNotAsk_data()
{
    QTest::addColumn<QString>("relative");
    QTest::addColumn<bool>("make");
    QTest::newRow("empty folder") << QStringLiteral("empty") << true;
    QTest::newRow("new folder") << QStringLiteral("new") << false;
    QTest::newRow("new nested folder") << QStringLiteral("a/b/c") << false;
}

void TestExportDialog::newOrEmptyFolderDoesNotAsk()
{
    QFETCH(QString, relative);
    QFETCH(bool, make);
    const QString out = m_dir->filePath(relative);
    if (make)
        QVERIFY(QDir().mkpath(out));
    AnsweringExportDialog dialog;
    dialog.answer = true;
    dialog.setOutDir(out + QLatin1Char('/')); // a trailing separator is the same folder
    dialog.show();
    dialog.accept();
    QVERIFY(dialog.asked.isEmpty());
    QVERIFY(!dialog.force());
    QVERIFY(!dialog.isVisible());
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    QCOMPARE(dialog.outDir(), QDir::cleanPath(out));
}

void TestExportDialog::exportButtonValidates()
{
    const QString out = m_dir->filePath(QStringLiteral("full"));
    QVERIFY(QDir().mkpath(out));
    touch(out + QStringLiteral("/a.png"));
    AnsweringExportDialog dialog;
    dialog.answer = false;
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    auto *button = dialog.findChild<QPushButton *>(QStringLiteral("exportButton"));
    QVERIFY(button);
    QCOMPARE(button->text(), QStringLiteral("Export"));
    QTest::mouseClick(button, Qt::LeftButton); // no folder yet
    QVERIFY(dialog.isVisible());
    QVERIFY(!dialog.errorText().isEmpty());
    dialog.setOutDir(out);
    QTest::mouseClick(button, Qt::LeftButton);
    QCOMPARE(dialog.asked.size(), 1);
    QVERIFY(dialog.isVisible());
    dialog.answer = true;
    QTest::mouseClick(button, Qt::LeftButton);
    QVERIFY(!dialog.isVisible());
    QVERIFY(dialog.force());
}

void TestExportDialog::questionNamesTheFolder()
{
    // The real question, answered No by clicking its button.
    const QString out = m_dir->filePath(QStringLiteral("old export"));
    QVERIFY(QDir().mkpath(out));
    touch(out + QStringLiteral("/manifest.json"));
    ExportDialog dialog;
    dialog.setOutDir(out);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    QString question;
    bool answered = false;
    QTimer poll;
    connect(&poll, &QTimer::timeout, &dialog, [&] {
        auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
        if (!box || answered)
            return;
        answered = true;
        question = box->text();
        box->button(QMessageBox::No)->click();
    });
    poll.start(20);
    dialog.accept(); // returns once the box is answered
    poll.stop();
    QVERIFY(answered);
    QVERIFY2(question.contains(QDir::toNativeSeparators(QDir::cleanPath(out))), qPrintable(question));
    QVERIFY2(question.contains(QStringLiteral("replaced only once the new one is complete")), qPrintable(question));
    QVERIFY(dialog.isVisible());
    QVERIFY(!dialog.force());
}

QTEST_MAIN(TestExportDialog)
#include "test_export_dialog.moc"
