// Metrics against a hand-computed confusion matrix, and the background-threshold sweep.
#include "vision/labels/pseudo_label_rule.h"
#include "vision/metrics/confusion_matrix.h"
#include "vision/metrics/pointing.h"

#include <QtTest/QtTest>

#include <cmath>

using namespace wsss::vision;

class TestMetrics : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void handComputedMatrix()
    {
        // 3 classes; GT / prediction pairs chosen so every cell is known:
        //            pred 0  pred 1  pred 2
        //   gt 0       3       1       0
        //   gt 1       1       2       0
        //   gt 2       0       0       0      (class 2 absent from GT, predicted nowhere)
        // plus one GT-255 pixel (ignored) and one prediction-255 pixel (dropped, coverage).
        const std::vector<std::uint8_t> gt = {0, 0, 0, 0, 1, 1, 1, 255, 1};
        const std::vector<std::uint8_t> pr = {0, 0, 0, 1, 0, 1, 1, 2, 255};
        ConfusionMatrix cm(3);
        cm.add(gt.data(), pr.data(), gt.size());
        QCOMPARE(cm.at(0, 0), 3u);
        QCOMPARE(cm.at(0, 1), 1u);
        QCOMPARE(cm.at(1, 0), 1u);
        QCOMPARE(cm.at(1, 1), 2u);
        const auto s = cm.scores();
        // IoU0 = 3/(3+1+1) = 0.6; IoU1 = 2/(2+1+1) = 0.5; class 2 not averaged.
        QCOMPARE(s.iou[0], 0.6);
        QCOMPARE(s.iou[1], 0.5);
        QVERIFY(std::isnan(s.iou[2]));
        QCOMPARE(s.miou, 0.55);
        // FPR0 = FP/(TP+FP+FN) = 1/5; FNR0 = 1/5; class 1: 1/4 and 1/4.
        QCOMPARE(s.fpr[0], 0.2);
        QCOMPARE(s.fnr[1], 0.25);
        QCOMPARE(s.meanFpr, (0.2 + 0.25) / 2);
        for (int c = 0; c < 2; ++c)
            QVERIFY(std::abs(s.iou[c] + s.fpr[c] + s.fnr[c] - 1.0) < 1e-12);
        QCOMPARE(s.coverage, 7.0 / 8.0);
    }

    void pointingGameLooksUpEachMapsPeak()
    {
        // 2×4 ground truth: class 1 at pixels 1, 2; class 2 at 4, 5; pixel 7 ignored. Three maps:
        // class 1 peaks on its own pixel 2, class 2 on the background pixel 0, class 3 (absent
        // from the ground truth) is not scored.
        const std::vector<std::uint8_t> gt = {0, 1, 1, 0, 2, 2, 0, 255};
        std::vector<float> maps(3 * 8, 0.0f);
        maps[0 * 8 + 2] = 0.9f;
        maps[1 * 8 + 0] = 0.8f;
        maps[2 * 8 + 5] = 1.0f;
        PointingGame game;
        game.add(gt.data(), maps.data(), 3, gt.size());
        QCOMPARE(game.onItem, std::int64_t{1});
        QCOMPARE(game.onBackground, std::int64_t{1});
        QCOMPARE(game.maps(), std::int64_t{2});
        // A second image: class 1 peaks on class 2's item, class 2 on the ignored pixel; a flat
        // map's peak is its first pixel (here background).
        std::vector<float> second(2 * 8, 0.0f);
        second[0 * 8 + 4] = 0.7f;
        second[1 * 8 + 7] = 0.6f;
        game.add(gt.data(), second.data(), 2, gt.size());
        QCOMPARE(game.onOtherItem, std::int64_t{1});
        QCOMPARE(game.onIgnored, std::int64_t{1});
        const std::vector<float> flat(8, 0.5f);
        game.add(gt.data(), flat.data(), 1, gt.size()); // only class 1 has a plane
        QCOMPARE(game.onBackground, std::int64_t{2});
        QCOMPARE(game.maps(), std::int64_t{5});
        QCOMPARE(game.share(game.onItem), 0.2);
        QVERIFY(std::isnan(PointingGame{}.share(0)));
    }

    void rejectsPredictionOutsideClasses()
    {
        ConfusionMatrix cm(3);
        const std::uint8_t gt = 0, pr = 7;
        QVERIFY_THROWS_EXCEPTION(std::exception, cm.add(&gt, &pr, 1));
    }

    void thresholdRuleTiesGoToBackground()
    {
        const std::vector<float> a = {0.2f, 0.5f, 0.9f, 0.3f};
        const std::vector<float> b = {0.1f, 0.6f, 0.4f, 0.3f};
        std::vector<std::uint8_t> out(4);
        applyBackgroundThreshold({a.data(), b.data()}, {2, 5}, 4, 0.3f, out.data());
        QCOMPARE(out, (std::vector<std::uint8_t>{0, 5, 2, 0}));
    }

    void sweepMatchesDirectScoring()
    {
        // Random scores: the sweep's confusion matrix at each t must equal scoring the rule.
        std::mt19937 rng(7);
        const int n = 500;
        std::vector<std::uint8_t> gt(n), arg(n);
        std::vector<float> score(n);
        for (int i = 0; i < n; ++i) {
            gt[i] = static_cast<std::uint8_t>(rng() % 3);
            arg[i] = static_cast<std::uint8_t>(1 + rng() % 2);
            score[i] = static_cast<float>(rng() % 101) / 100.0f; // many exactly on thresholds
        }
        ThresholdSweep sweep(3);
        sweep.add(gt.data(), score.data(), arg.data(), n);
        for (int t : {0, 1, 30, 45, 99}) {
            const float thr = static_cast<float>(t / 100.0);
            std::vector<std::uint8_t> pred(n);
            for (int i = 0; i < n; ++i)
                pred[i] = score[i] > thr ? arg[i] : 0;
            ConfusionMatrix direct(3);
            direct.add(gt.data(), pred.data(), n);
            const auto swept = sweep.matrixAt(t);
            for (int g = 0; g < 3; ++g)
                for (int p = 0; p < 3; ++p)
                    QCOMPARE(swept.at(g, p), direct.at(g, p));
        }
        const auto mious = sweep.mious();
        QCOMPARE(static_cast<int>(mious.size()), 100);
        QCOMPARE(ThresholdSweep::bestIndex(mious), static_cast<int>(std::max_element(mious.begin(), mious.end()) - mious.begin()));
    }
};

QTEST_APPLESS_MAIN(TestMetrics)
#include "test_metrics.moc"
