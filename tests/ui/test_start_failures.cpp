// A dataset or a checkpoint that fails when the studio starts (given on the command line, or
// remembered from the last session) or when opened from the File menu: the cause, naming the file,
// stays in the window's banner — through a hover that clears the status bar, and through the
// inspection queued behind the failed load, which the engine fails with "no model is loaded" —
// the model label does not stay at "Loading …", and the failed path is forgotten, so the next
// start does not try it again.
#include "support/tiny_checkpoint.h"
#include "training/data/demo_generator.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/engine/engine_bridge.h"
#include "ui/main_window.h"
#include "ui/widgets/message_banner.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStatusTipEvent>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <functional>
#include <memory>

using wsss::ui::MainWindow;

namespace {

constexpr int kJobTimeoutMs = 60000;
const QString kNoModel = QStringLiteral("no model is loaded"); // the engine's words for an inspection without a model

} // namespace

class TestStartFailures : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void badCheckpointAtStart_data();
    void badCheckpointAtStart();
    void badDatasetAtStart_data();
    void badDatasetAtStart();
    void badCheckpointFromMenu();
    void badDatasetFromMenu();

private:
    QString badCheckpoint(const QString &kind) const;
    QString badDataset(const QString &kind) const;
    QLabel *modelLabel() const { return m_window->findChild<QLabel *>(QStringLiteral("modelLabel")); }
    // Hovering a menu entry or a toolbar button sends the window a status tip, which replaces any
    // status-bar message: what should stay must not live only there.
    void hover() const;
    void waitIdle(MainWindow *window) const;
    // Calls `handle` with the next modal dialog of type Dialog once it is on screen.
    template <class Dialog> void onNextModal(std::function<void(Dialog *)> handle);
    void startGood(); // the tiny dataset and checkpoint, their first inspection shown

    QTemporaryDir m_dir;
    QString m_data, m_good;
    std::unique_ptr<MainWindow> m_window;
};

void TestStartFailures::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    // Qt's own file dialog, which the test drives; a platform one (a desktop portal) is not a widget.
    QCoreApplication::setAttribute(Qt::AA_DontUseNativeDialogs);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio tests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_start_failures"));
    // Qt's own file dialogs, which a test can fill in (a platform's native one could not be reached).
    QCoreApplication::setAttribute(Qt::AA_DontUseNativeDialogs);

    m_data = m_dir.filePath(QStringLiteral("data"));
    wsss::training::DemoDataOptions demo;
    demo.out = m_data.toStdString();
    demo.train = 3;
    demo.val = 1;
    demo.size = 64;
    wsss::training::generateDemoData(demo);
    m_good = m_dir.filePath(QStringLiteral("good.wsss"));
    wsss::test::writeTinyCheckpoint(m_good.toStdString(), 1);

    QFile good(m_good);
    QVERIFY(good.open(QIODevice::ReadOnly));
    const QByteArray bytes = good.readAll();
    QVERIFY(bytes.size() > 1000);
    auto write = [this](const QString &name, const QByteArray &content) {
        QFile file(m_dir.filePath(name));
        QVERIFY(file.open(QIODevice::WriteOnly));
        QCOMPARE(file.write(content), content.size());
    };
    write(QStringLiteral("truncated.wsss"), bytes.left(bytes.size() / 2)); // a copy cut short in the weights
    write(QStringLiteral("header_cut.wsss"), bytes.left(40));              // … or inside its JSON header
    QVERIFY(QDir(m_dir.path()).mkpath(QStringLiteral("empty_folder")));
}

void TestStartFailures::init()
{
    QSettings().clear(); // every start begins from no last session
    m_window = std::make_unique<MainWindow>();
    m_window->resize(1200, 800);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void TestStartFailures::cleanup()
{
    m_window.reset(); // joins the engine's worker
}

QString TestStartFailures::badCheckpoint(const QString &kind) const
{
    if (kind == QLatin1String("missing"))
        return m_dir.filePath(QStringLiteral("missing.wsss"));
    if (kind == QLatin1String("truncated"))
        return m_dir.filePath(QStringLiteral("truncated.wsss"));
    return m_dir.filePath(QStringLiteral("header_cut.wsss"));
}

QString TestStartFailures::badDataset(const QString &kind) const
{
    if (kind == QLatin1String("missing"))
        return m_dir.filePath(QStringLiteral("no_such_folder"));
    return m_dir.filePath(QStringLiteral("empty_folder")); // a folder, but no VOC split in it
}

void TestStartFailures::hover() const
{
    QStatusTipEvent tip(QStringLiteral("Open a checkpoint")); // as File ▸ Open checkpoint… under the mouse
    QApplication::sendEvent(m_window.get(), &tip);
    QStatusTipEvent leave{QString()};
    QApplication::sendEvent(m_window.get(), &leave);
}

void TestStartFailures::waitIdle(MainWindow *window) const
{
    QTRY_VERIFY_WITH_TIMEOUT(!window->bridge()->isBusy(), kJobTimeoutMs);
}

template <class Dialog> void TestStartFailures::onNextModal(std::function<void(Dialog *)> handle)
{
    auto *poll = new QTimer(this);
    poll->setInterval(20);
    connect(poll, &QTimer::timeout, this, [poll, handle] {
        auto *dialog = qobject_cast<Dialog *>(QApplication::activeModalWidget());
        if (!dialog || !dialog->isVisible())
            return;
        poll->stop();
        poll->deleteLater();
        handle(dialog);
    });
    poll->start();
}

void TestStartFailures::startGood()
{
    QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
    QVERIFY2(m_window->openDataset(m_data), qPrintable(m_window->lastError()));
    m_window->openCheckpoint(m_good, QStringLiteral("cpu"));
    QVERIFY2(shown.wait(kJobTimeoutMs), qPrintable(m_window->lastError()));
    QVERIFY(!m_window->messageBanner()->isVisible());
}

void TestStartFailures::badCheckpointAtStart_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<bool>("remembered"); // from the last session, else on the command line
    for (const char *kind : {"missing", "truncated", "header cut"}) {
        QTest::addRow("%s, command line", kind) << QString::fromLatin1(kind) << false;
        QTest::addRow("%s, last session", kind) << QString::fromLatin1(kind) << true;
    }
}

void TestStartFailures::badCheckpointAtStart()
{
    QFETCH(QString, kind);
    QFETCH(bool, remembered);
    const QString checkpoint = badCheckpoint(kind);
    const QString name = QFileInfo(checkpoint).fileName();

    // As main() starts: the dataset, then the checkpoint (with the first image's inspection queued
    // behind its load), or both from the last session.
    QSignalSpy failed(m_window->bridge(), &wsss::ui::EngineBridge::jobFailed);
    if (remembered) {
        QSettings settings;
        settings.setValue(QStringLiteral("session/data"), m_data);
        settings.setValue(QStringLiteral("session/split"), QStringLiteral("train"));
        settings.setValue(QStringLiteral("session/checkpoint"), checkpoint);
        settings.sync();
        QVERIFY(m_window->restoreLastSession(QStringLiteral("cpu")));
    } else {
        QVERIFY2(m_window->openDataset(m_data), qPrintable(m_window->lastError()));
        m_window->openCheckpoint(checkpoint, QStringLiteral("cpu"));
    }
    QVERIFY(modelLabel()->text().startsWith(QStringLiteral("Loading")));
    waitIdle(m_window.get());

    // The load failed, naming the file, and the inspection behind it for want of a model.
    QCOMPARE(failed.count(), 2);
    const QString cause = failed.at(0).at(1).toString();
    QVERIFY2(cause.contains(name), qPrintable(cause));
    QVERIFY2(failed.at(1).at(1).toString().contains(kNoModel), qPrintable(failed.at(1).at(1).toString()));

    const wsss::ui::MessageBanner *banner = m_window->messageBanner();
    QVERIFY(banner->isVisible());
    QVERIFY2(banner->text().contains(name) && banner->text().contains(cause), qPrintable(banner->text()));
    QVERIFY2(!m_window->lastError().contains(kNoModel), qPrintable(m_window->lastError()));
    QVERIFY2(m_window->statusBar()->currentMessage().contains(cause), qPrintable(m_window->statusBar()->currentMessage()));
    QCOMPARE(modelLabel()->text(), QStringLiteral("No model"));
    QVERIFY(modelLabel()->toolTip().contains(cause));

    hover();
    QVERIFY(m_window->statusBar()->currentMessage().isEmpty()); // the hover did clear the status bar …
    QVERIFY(banner->isVisible());                               // … and the banner stayed
    QVERIFY(banner->text().contains(cause));

    // Forgotten: the session saved at close does not hold it, and the next start loads nothing.
    m_window->close();
    const MainWindow::Session session = MainWindow::lastSession();
    QVERIFY2(session.checkpoint.isEmpty(), qPrintable(session.checkpoint));
    QCOMPARE(session.data, QDir::cleanPath(QFileInfo(m_data).absoluteFilePath())); // the dataset that opened is kept
    MainWindow next;
    next.show();
    QVERIFY(next.restoreLastSession(QStringLiteral("cpu")));
    QVERIFY(!next.bridge()->isBusy());
    QVERIFY(!next.messageBanner()->isVisible());
    QVERIFY2(next.lastError().isEmpty(), qPrintable(next.lastError()));
}

void TestStartFailures::badDatasetAtStart_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<bool>("remembered");
    for (const char *kind : {"missing", "not a dataset"}) {
        QTest::addRow("%s, command line", kind) << QString::fromLatin1(kind) << false;
        QTest::addRow("%s, last session", kind) << QString::fromLatin1(kind) << true;
    }
}

void TestStartFailures::badDatasetAtStart()
{
    QFETCH(QString, kind);
    QFETCH(bool, remembered);
    const QString data = badDataset(kind);
    const QString name = QFileInfo(data).fileName();

    // A good checkpoint is opened after the dataset: its "Loaded …" takes the status bar.
    QSignalSpy loaded(m_window->bridge(), &wsss::ui::EngineBridge::modelLoaded);
    if (remembered) {
        QSettings settings;
        settings.setValue(QStringLiteral("session/data"), data);
        settings.setValue(QStringLiteral("session/split"), QStringLiteral("train"));
        settings.setValue(QStringLiteral("session/image"), QStringLiteral("train_000000"));
        settings.setValue(QStringLiteral("session/checkpoint"), m_good);
        settings.sync();
        QVERIFY(m_window->restoreLastSession(QStringLiteral("cpu")));
    } else {
        QVERIFY(!m_window->openDataset(data));
        m_window->openCheckpoint(m_good, QStringLiteral("cpu"));
    }
    QVERIFY2(loaded.wait(kJobTimeoutMs), qPrintable(m_window->lastError()));
    waitIdle(m_window.get());

    const wsss::ui::MessageBanner *banner = m_window->messageBanner();
    QVERIFY(banner->isVisible());
    QVERIFY2(banner->text().contains(name), qPrintable(banner->text()));
    QVERIFY2(banner->text().contains(QStringLiteral("Cannot open dataset")), qPrintable(banner->text()));
    QVERIFY(!m_window->statusBar()->currentMessage().contains(name)); // the model's message replaced it
    hover();
    QVERIFY(banner->isVisible());
    QVERIFY(banner->text().contains(name));
    QCOMPARE(banner->text(), banner->message(QStringLiteral("dataset"))); // the checkpoint loaded fine

    m_window->close();
    const MainWindow::Session session = MainWindow::lastSession();
    QVERIFY2(session.data.isEmpty(), qPrintable(session.data));
    QVERIFY(session.split.isEmpty() && session.image.isEmpty());
    QCOMPARE(session.checkpoint, m_good);
    MainWindow next;
    next.show();
    QVERIFY(next.restoreLastSession(QStringLiteral("cpu"))); // the checkpoint only
    QVERIFY(!next.messageBanner()->isVisible());
    waitIdle(&next);
    QVERIFY2(next.lastError().isEmpty(), qPrintable(next.lastError()));
}

void TestStartFailures::badCheckpointFromMenu()
{
    startGood();
    const QString checkpoint = badCheckpoint(QStringLiteral("truncated"));
    const QString name = QFileInfo(checkpoint).fileName();
    auto *open = m_window->findChild<QAction *>(QStringLiteral("openCheckpointAction"));
    QVERIFY(open);
    // The dialog opens in the test's folder, not the working directory (whose listing can stall it).
    QSettings().setValue(QStringLiteral("paths/checkpoint"), m_dir.path());

    QSignalSpy failed(m_window->bridge(), &wsss::ui::EngineBridge::jobFailed);
    onNextModal<QFileDialog>([&](QFileDialog *dialog) {
        // Typed into the file name field, as a user would: selectFile() leaves the field empty
        // once the field has focus, and accept() then does nothing.
        auto *field = dialog->findChild<QLineEdit *>(QStringLiteral("fileNameEdit"));
        if (!field) { // Qt renamed it: fail below rather than hang in the dialog
            dialog->reject();
            return;
        }
        field->setText(checkpoint);
        static_cast<QDialog *>(dialog)->accept(); // QDialog's public slot, QFileDialog's override
    });
    open->trigger(); // returns once the dialog is accepted and the load submitted
    QVERIFY2(modelLabel()->text().startsWith(QStringLiteral("Loading")), qPrintable(modelLabel()->text()));
    QString boxText;
    onNextModal<QMessageBox>([&](QMessageBox *box) {
        boxText = box->text();
        box->accept();
    });
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->bridge()->isBusy() && !boxText.isEmpty(), kJobTimeoutMs);

    QCOMPARE(failed.count(), 2); // the load and the current image's inspection, in either order
    QString cause;
    for (const auto &args : failed)
        if (args.at(1).toString().contains(name))
            cause = args.at(1).toString();
    QVERIFY2(!cause.isEmpty(), qPrintable(failed.at(0).at(1).toString()));
    QCOMPARE(boxText, cause);
    const wsss::ui::MessageBanner *banner = m_window->messageBanner();
    QVERIFY(banner->isVisible());
    QVERIFY2(banner->text().contains(cause), qPrintable(banner->text()));
    QVERIFY2(!m_window->lastError().contains(kNoModel), qPrintable(m_window->lastError()));
    QVERIFY(m_window->lastError().contains(name));
    QCOMPARE(modelLabel()->text(), QStringLiteral("No model"));
    QVERIFY(!m_window->canvas()->inspection()); // its maps came from the model that is gone
    hover();
    QVERIFY(banner->text().contains(cause));

    // Another image asks nothing of the engine (no "no model is loaded" either).
    QVERIFY(m_window->selectImage(QStringLiteral("train_000001")));
    QVERIFY(!m_window->bridge()->isBusy());
    QVERIFY(!m_window->lastError().contains(kNoModel));

    // A checkpoint that loads takes the message away.
    QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
    m_window->openCheckpoint(m_good, QStringLiteral("cpu"));
    QVERIFY(!banner->isVisible());
    QVERIFY2(shown.wait(kJobTimeoutMs), qPrintable(m_window->lastError()));
    QVERIFY(!banner->isVisible());
}

void TestStartFailures::badDatasetFromMenu()
{
    startGood();
    const QString data = badDataset(QStringLiteral("not a dataset"));
    auto *open = m_window->findChild<QAction *>(QStringLiteral("openDatasetAction"));
    QSettings().setValue(QStringLiteral("paths/dataset"), m_dir.path());
    QVERIFY(open);

    QString boxText;
    onNextModal<QFileDialog>([&](QFileDialog *dialog) {
        dialog->setDirectory(data); // a folder dialog answers with the folder it shows
        static_cast<QDialog *>(dialog)->accept(); // QDialog's public slot, QFileDialog's override
        onNextModal<QMessageBox>([&](QMessageBox *box) {
            boxText = box->text();
            box->accept();
        });
    });
    open->trigger(); // the folder dialog, then the warning: both answered above
    QVERIFY2(boxText.contains(QFileInfo(data).fileName()), qPrintable(boxText));

    const wsss::ui::MessageBanner *banner = m_window->messageBanner();
    QVERIFY(banner->isVisible());
    QCOMPARE(banner->text(), boxText);
    hover();
    QVERIFY(banner->isVisible());
    QCOMPARE(banner->text(), boxText);
    QVERIFY(m_window->canvas()->inspection()); // the dataset that was open stays open

    m_window->close();
    QCOMPARE(MainWindow::lastSession().data, QDir::cleanPath(QFileInfo(m_data).absoluteFilePath()));
}

QTEST_MAIN(TestStartFailures)
#include "test_start_failures.moc"
