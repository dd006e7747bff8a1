// Every field of the pseudo-label rule in the studio, on a tiny real checkpoint: the band mode
// (a live mask with 255 between β_l and β_h, drawn hatched), PAR and the CRF computed by the
// engine's worker and shown when they arrive (thresholds still live on the refined maps), the
// HUD's band sliders, the reset to the paper's defaults, and the rule persisting across windows.
#include "support/tiny_demo_run.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/hud_overlay.h"
#include "ui/docks/evaluation_dock.h"
#include "ui/docks/thresholds_dock.h"
#include "ui/engine/engine_bridge.h"
#include "ui/main_window.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <memory>

using wsss::vision::BackgroundRule;
using wsss::ui::CanvasWidget;
using wsss::ui::MainWindow;
using wsss::vision::PseudoLabelRule;

class TestRuleControls : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;

    CanvasWidget *canvas() const { return m_window->canvas(); }
    const wsss::training::Inspection &inspection() const { return *canvas()->inspection(); }
    template <class T> T *dockChild(const QString &name) const
    {
        auto *w = m_window->thresholdsDock()->findChild<T *>(name);
        if (!w)
            qFatal("no %s in the thresholds dock", qPrintable(name));
        return w;
    }
    // The best labelled-class score per pixel of the shown kind.
    std::vector<float> bestScores() const
    {
        const auto maps = inspection().labelledMaps(canvas()->mapKind().toStdString());
        std::vector<float> best(static_cast<size_t>(inspection().imageWidth) * inspection().imageHeight,
                                maps.empty() ? 0.0f : -1e30f);
        for (const auto *m : maps)
            for (size_t i = 0; i < best.size(); ++i)
                best[i] = std::max(best[i], m->values[i]);
        return best;
    }
    static int count(const std::vector<std::uint8_t> &labels, std::uint8_t value)
    {
        return static_cast<int>(std::count(labels.begin(), labels.end(), value));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
        QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("test_rule_controls"));
        QSettings().clear();

        const auto run = wsss::test::makeTinyDemoRun(m_dir.path().toStdString(), 2);
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1400, 900);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
        QVERIFY(m_window->openDataset(QString::fromStdString(run.data), QStringLiteral("val")));
        m_window->openCheckpoint(QString::fromStdString(run.trained.checkpointPath), QStringLiteral("cpu"));
        QVERIFY2(shown.wait(60000), qPrintable(m_window->lastError()));
        QVERIFY(!inspection().labelledMaps(canvas()->mapKind().toStdString()).empty());
        m_window->findChild<QCheckBox *>(QStringLiteral("showMaskCheck"))->setChecked(true);
    }

    void cleanupTestCase() { m_window.reset(); }

    void init() { m_window->setRule(wsss::vision::PseudoLabelRule{}); }

    void bandModeIgnoresPixelsBetweenTheThresholds()
    {
        // A band around the middle of this image's scores, so every outcome occurs.
        std::vector<float> best = bestScores();
        std::vector<float> sorted = best;
        std::sort(sorted.begin(), sorted.end());
        const double low = std::floor(double(sorted[sorted.size() / 4]) * 100) / 100;
        const double high = std::max(low + 0.01, std::ceil(double(sorted[sorted.size() * 3 / 4]) * 100) / 100);
        const std::vector<std::uint8_t> threshold = canvas()->maskLabels();
        QCOMPARE(count(threshold, 255), 0);

        auto *mode = dockChild<QComboBox>(QStringLiteral("backgroundModeCombo"));
        mode->setCurrentIndex(mode->findData(QStringLiteral("band")));
        QCOMPARE(m_window->rule().background, wsss::vision::BackgroundRule::Band);
        // The threshold's row does not apply to the band; the band's rows do.
        QVERIFY(!dockChild<QSlider>(QStringLiteral("bgThresholdRuleSlider"))->isEnabled());
        QVERIFY(dockChild<QSlider>(QStringLiteral("bandLowRuleSlider"))->isEnabled());
        dockChild<QDoubleSpinBox>(QStringLiteral("bandHighRuleSpin"))->setValue(high);
        dockChild<QDoubleSpinBox>(QStringLiteral("bandLowRuleSpin"))->setValue(low);
        QCOMPARE(canvas()->rule().bandLow, static_cast<float>(low));
        QCOMPARE(canvas()->rule().bandHigh, static_cast<float>(high));

        // Live: the mask is already the band's, pixel by pixel.
        const std::vector<std::uint8_t> band = canvas()->maskLabels();
        QVERIFY(band != threshold);
        QCOMPARE(band.size(), best.size());
        int ignored = 0;
        for (size_t i = 0; i < best.size(); ++i) {
            if (best[i] <= static_cast<float>(low))
                QCOMPARE(band[i], std::uint8_t(0));
            else if (best[i] <= static_cast<float>(high))
                QCOMPARE(band[i], std::uint8_t(255));
            else
                QVERIFY(band[i] != 0 && band[i] != 255);
            ignored += band[i] == 255;
        }
        QVERIFY(ignored > 0);
        // Drawn: ignored pixels are hatched white, semi-transparent; background stays clear.
        const QImage &mask = canvas()->maskImage();
        const int w = inspection().imageWidth;
        for (size_t i = 0; i < band.size(); ++i) {
            const QRgb px = mask.pixel(static_cast<int>(i % w), static_cast<int>(i / w));
            if (band[i] == 255) {
                QVERIFY(qAlpha(px) > 0 && qAlpha(px) < 255);
                QCOMPARE(qRed(qUnpremultiply(px)), 255);
            } else if (band[i] == 0) {
                QCOMPARE(qAlpha(px), 0);
            }
        }
        // The band stays ordered: β_l above β_h pushes β_h up.
        dockChild<QDoubleSpinBox>(QStringLiteral("bandLowRuleSpin"))->setValue(std::min(1.0, high + 0.1));
        QVERIFY(m_window->rule().bandLow <= m_window->rule().bandHigh);
        QCOMPARE(m_window->rule().bandHigh, m_window->rule().bandLow);
    }

    void hudShowsTheBandSlidersInBandMode()
    {
        canvas()->setHudVisible(true);
        auto *hud = canvas()->hud();
        QVERIFY(hud);
        QTRY_VERIFY(hud->frameCount() > 0);
        QTRY_VERIFY(!hud->sliderRect(QStringLiteral("bgThreshold")).isEmpty());
        QVERIFY(hud->sliderRect(QStringLiteral("bandLow")).isEmpty());
        wsss::vision::PseudoLabelRule band;
        band.background = wsss::vision::BackgroundRule::Band;
        m_window->setRule(band);
        QTRY_VERIFY(!hud->sliderRect(QStringLiteral("bandLow")).isEmpty());
        QVERIFY(!hud->sliderRect(QStringLiteral("bandHigh")).isEmpty());
        QTRY_VERIFY(hud->sliderRect(QStringLiteral("bgThreshold")).isEmpty());
        canvas()->setHudVisible(false);
    }

    void parIsRefinedByTheWorker()
    {
        const std::vector<std::uint8_t> plain = canvas()->maskLabels();
        QSignalSpy asked(canvas(), &CanvasWidget::refinementRequested);
        QSignalSpy ready(m_window->bridge(), &wsss::ui::EngineBridge::refinementReady);
        dockChild<QDoubleSpinBox>(QStringLiteral("parIterationsRuleSpin"))->setValue(10);
        QCOMPARE(m_window->rule().parIterations, 10);
        // Asked for, not computed here: the GUI thread went on with the unrefined mask.
        QCOMPARE(asked.count(), 1);
        QVERIFY(canvas()->refinementPending());
        QVERIFY(!canvas()->refinement());
        QCOMPARE(canvas()->maskLabels(), plain);
        // The result comes back through the event loop.
        QVERIFY2(ready.wait(30000), qPrintable(m_window->lastError()));
        QVERIFY(!canvas()->refinementPending());
        const auto refined = canvas()->refinement();
        QVERIFY(refined);
        QCOMPARE(refined->rule.parIterations, 10);
        const auto raw = inspection().labelledMaps(canvas()->mapKind().toStdString());
        QCOMPARE(refined->maps.size(), raw.size());
        QVERIFY(refined->maps.front().values != raw.front()->values);
        std::vector<const wsss::training::ClassMap *> maps;
        for (const auto &m : refined->maps)
            maps.push_back(&m);
        const size_t n = raw.front()->values.size();
        QCOMPARE(canvas()->maskLabels(), wsss::training::applyMaskRule(m_window->rule(), maps, n));

        // Thresholds apply live to the refined maps: no new request.
        asked.clear();
        m_window->setBgThreshold(0.2);
        QCOMPARE(asked.count(), 0);
        QCOMPARE(canvas()->maskLabels(), wsss::training::applyMaskRule(m_window->rule(), maps, n));
    }

    void crfIsRefinedByTheWorker()
    {
        QSignalSpy ready(m_window->bridge(), &wsss::ui::EngineBridge::refinementReady);
        dockChild<QCheckBox>(QStringLiteral("crfCheck"))->setChecked(true);
        QVERIFY(m_window->rule().crf);
        QVERIFY(canvas()->refinementPending());
        QVERIFY2(ready.wait(30000), qPrintable(m_window->lastError()));
        QVERIFY(!canvas()->refinementPending());
        const auto refined = canvas()->refinement();
        QVERIFY(refined && refined->rule.crf);
        QCOMPARE(refined->crfLabels.size(), static_cast<size_t>(inspection().imageWidth) * inspection().imageHeight);
        QCOMPARE(canvas()->maskLabels(), refined->crfLabels);
        // The CRF reads the background score: moving it asks again.
        QSignalSpy asked(canvas(), &CanvasWidget::refinementRequested);
        m_window->setBgThreshold(0.6);
        QCOMPARE(asked.count(), 1);
        QVERIFY2(ready.wait(30000), qPrintable(m_window->lastError()));
        QCOMPARE(canvas()->refinement()->rule.bgThreshold, 0.6f);
    }

    // The CRF's parameters are a preset of METHODS.md §8.3, chosen in the dock beside the switch:
    // the box is off with the CRF, a choice reaches the worker's refinement, and a rule set from
    // outside (a project's) shows its preset.
    void crfPresetReachesTheWorker()
    {
        PseudoLabelRule plain;
        plain.bgThreshold = 0.4f;
        m_window->setRule(plain);
        auto *combo = dockChild<QComboBox>(QStringLiteral("crfPresetCombo"));
        QVERIFY(!combo->isEnabled());
        QCOMPARE(combo->currentData().toString(), QStringLiteral("psa"));
        QVERIFY(combo->findData(QStringLiteral("afa")) >= 0 && combo->findData(QStringLiteral("vitpcm")) >= 0);
        QVERIFY(combo->itemData(combo->findData(QStringLiteral("vitpcm")), Qt::ToolTipRole).toString().contains(
            QStringLiteral("bilateral 67 px")));
        QSignalSpy ready(m_window->bridge(), &wsss::ui::EngineBridge::refinementReady);
        dockChild<QCheckBox>(QStringLiteral("crfCheck"))->setChecked(true);
        QVERIFY(combo->isEnabled());
        QVERIFY2(ready.wait(30000), qPrintable(m_window->lastError()));
        combo->setCurrentIndex(combo->findData(QStringLiteral("vitpcm")));
        QCOMPARE(m_window->rule().crfPreset, std::string("vitpcm"));
        QCOMPARE(canvas()->rule().crfPreset, std::string("vitpcm"));
        QVERIFY(canvas()->refinementPending());
        QVERIFY2(ready.wait(30000), qPrintable(m_window->lastError()));
        QCOMPARE(canvas()->refinement()->rule.crfPreset, std::string("vitpcm"));
        QCOMPARE(canvas()->maskLabels(), canvas()->refinement()->crfLabels);

        PseudoLabelRule project = plain;
        project.crf = true;
        project.crfPreset = "afa";
        m_window->setRule(project);
        QCOMPARE(combo->currentData().toString(), QStringLiteral("afa"));
        QVERIFY2(ready.wait(30000), qPrintable(m_window->lastError()));
        m_window->setRule(plain);
        QVERIFY(!combo->isEnabled());
    }

    void failedRefinementIsNotPendingForever()
    {
        // The CRF needs a positive background score: at 0 the worker reports an error.
        QSignalSpy failed(m_window->bridge(), &wsss::ui::EngineBridge::jobFailed);
        wsss::vision::PseudoLabelRule rule;
        rule.bgThreshold = 0.0f;
        rule.crf = true;
        m_window->setRule(rule);
        QVERIFY(canvas()->refinementPending());
        QVERIFY(failed.wait(30000));
        QVERIFY(!canvas()->refinementPending());
        QVERIFY(m_window->lastError().contains(QStringLiteral("background score")));
        // A new rule asks again.
        QSignalSpy asked(canvas(), &CanvasWidget::refinementRequested);
        m_window->setBgThreshold(0.4);
        QCOMPARE(asked.count(), 1);
        QSignalSpy ready(m_window->bridge(), &wsss::ui::EngineBridge::refinementReady);
        QVERIFY(ready.wait(30000));
    }

    void paperDefaultsResetEveryField()
    {
        wsss::vision::PseudoLabelRule edited;
        edited.bgThreshold = 0.8f;
        edited.background = wsss::vision::BackgroundRule::Band;
        edited.bandLow = 0.1f;
        edited.bandHigh = 0.9f;
        edited.parIterations = 3;
        edited.crf = true;
        m_window->setRule(edited);
        QCOMPARE(m_window->thresholdsDock()->rule(), edited);
        QCOMPARE(dockChild<QComboBox>(QStringLiteral("backgroundModeCombo"))->currentData().toString(), QStringLiteral("band"));
        QVERIFY(dockChild<QCheckBox>(QStringLiteral("crfCheck"))->isChecked());
        dockChild<QPushButton>(QStringLiteral("resetPaperButton"))->click();
        QCOMPARE(m_window->rule(), wsss::vision::PseudoLabelRule{});
        QCOMPARE(canvas()->rule(), wsss::vision::PseudoLabelRule{});
        QVERIFY(!dockChild<QCheckBox>(QStringLiteral("crfCheck"))->isChecked());
        QCOMPARE(dockChild<QDoubleSpinBox>(QStringLiteral("parIterationsRuleSpin"))->value(), 0.0);
        QVERIFY(!canvas()->refinementPending());
    }

    void rulePersists()
    {
        wsss::vision::PseudoLabelRule edited;
        edited.background = wsss::vision::BackgroundRule::Band;
        edited.bandLow = 0.25f;
        edited.bandHigh = 0.6f;
        edited.parIterations = 4;
        edited.crfPreset = "vitpcm";
        {
            MainWindow first;
            first.show();
            first.setRule(edited);
            QVERIFY(first.close());
        }
        MainWindow second;
        QCOMPARE(second.rule(), edited);
        QCOMPARE(second.thresholdsDock()->rule(), edited);
    }

    // A map that scores the background itself (supervised's seg here; ECA's CARMs alike): the
    // threshold controls are off, saying why, and PAR + CRF refine [background; maps] on the worker
    // into the mask shown. Last: it replaces the window's checkpoint.
    void ownBackgroundTurnsTheThresholdOff()
    {
        auto *threshold = dockChild<QSlider>(QStringLiteral("bgThresholdRuleSlider"));
        auto *mode = dockChild<QComboBox>(QStringLiteral("backgroundModeCombo"));
        auto *par = dockChild<QSlider>(QStringLiteral("parIterationsRuleSlider"));
        auto *toolbarThreshold = m_window->findChild<QSlider *>(QStringLiteral("bgThresholdSlider"));
        QVERIFY(threshold->isEnabled() && mode->isEnabled() && toolbarThreshold->isEnabled()); // cam: a threshold decides

        const auto data = QDir(m_dir.path()).filePath(QStringLiteral("data")).toStdString();
        const auto run = wsss::training::train(
            wsss::test::tinyRunOptions("supervised", data, m_dir.filePath(QStringLiteral("supervised")).toStdString(), 2, 2));
        QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
        m_window->openCheckpoint(QString::fromStdString(run.checkpointPath), QStringLiteral("cpu"));
        QVERIFY2(shown.wait(60000), qPrintable(m_window->lastError()));
        QVERIFY(inspection().ownBackground(canvas()->mapKind().toStdString()));
        QVERIFY(!threshold->isEnabled() && !mode->isEnabled() && !toolbarThreshold->isEnabled());
        QVERIFY(threshold->toolTip().contains(QStringLiteral("background itself")));
        QVERIFY(par->isEnabled());

        QSignalSpy ready(m_window->bridge(), &wsss::ui::EngineBridge::refinementReady);
        PseudoLabelRule rule;
        rule.parIterations = 10;
        rule.crf = true;
        m_window->setRule(rule);
        QVERIFY(canvas()->refinementPending());
        QVERIFY2(ready.wait(30000), qPrintable(m_window->lastError()));
        const auto refined = canvas()->refinement();
        QVERIFY(refined && refined->ownBackground);
        QCOMPARE(canvas()->maskLabels(), refined->ownBackgroundLabels);

        // Its evaluation names no threshold and sweeps none.
        QSignalSpy ended(m_window.get(), &MainWindow::evaluationEnded);
        QVERIFY(m_window->evaluateSplit() != 0);
        QVERIFY(ended.wait(120000));
        auto *evaluation = m_window->evaluationDock();
        QVERIFY(evaluation->result() && evaluation->result()->ownBackground);
        QCOMPARE(evaluation->sweepPointCount(), 0);
        const auto summary = evaluation->findChild<QLabel *>(QStringLiteral("evaluationSummary"))->text();
        QVERIFY2(summary.contains(QStringLiteral("with its own background")) && !summary.contains(QStringLiteral("t = ")),
                 qPrintable(summary));
    }
};

QTEST_MAIN(TestRuleControls)
#include "test_rule_controls.moc"
