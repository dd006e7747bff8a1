// RunCurves, the series behind the training plots: live steps and metrics.jsonl lines land in
// step order, once per step, whatever order they come in.
#include "ui/training/run_curves.h"

#include <QtTest>

using wsss::ui::RunCurves;
namespace tr_ = wsss::training;

namespace {

tr_::MetricsLine line(std::int64_t step, double total)
{
    tr_::MetricsLine m;
    m.step = step;
    m.lr = 0.1 * double(step);
    m.losses = {{"total", total}, {"cls", total / 2}};
    return m;
}

} // namespace

class TestRunCurves : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void appendsInStepOrder()
    {
        RunCurves curves;
        QVERIFY(curves.isEmpty());
        QVERIFY(curves.addLines({line(10, 3), line(20, 2)}));
        tr_::TrainingStep step;
        step.step = 30;
        step.lr = 3;
        step.losses = {{"total", 1.0}, {"cls", 0.5}};
        QVERIFY(curves.addStep(step));
        QCOMPARE(curves.loss(QStringLiteral("total")).steps, (QVector<double>{10, 20, 30}));
        QCOMPARE(curves.loss(QStringLiteral("cls")).values, (QVector<double>{1.5, 1.0, 0.5}));
        QCOMPARE(curves.learningRate().values, (QVector<double>{1, 2, 3}));
        QCOMPARE(curves.lastStep(), 30);
        QVERIFY(curves.loss(QStringLiteral("absent")).isEmpty());
    }

    void aStepIsHeldOnce()
    {
        RunCurves curves;
        curves.addLines({line(10, 3), line(20, 2), line(30, 1)});
        // A resumed run writes the steps after its checkpoint (20) again, with its own values.
        QVERIFY(!curves.addLines({line(30, 0.9)}));
        QCOMPARE(curves.loss(QStringLiteral("total")).steps, (QVector<double>{10, 20, 30}));
        QCOMPARE(curves.loss(QStringLiteral("total")).values.back(), 0.9);
        // A step that comes late goes where it belongs.
        QVERIFY(!curves.addLines({line(15, 2.5)}));
        QCOMPARE(curves.loss(QStringLiteral("total")).steps, (QVector<double>{10, 15, 20, 30}));
        QCOMPARE(curves.loss(QStringLiteral("total")).values, (QVector<double>{3, 2.5, 2, 0.9}));
        QCOMPARE(curves.learningRate().steps, (QVector<double>{10, 15, 20, 30}));
    }

    void figuresAreNotCurves()
    {
        RunCurves curves;
        auto first = line(10, 3);
        first.logs = {{"ignored", 0.4}};
        auto second = line(20, 2);
        second.logs = {{"ignored", 0.3}};
        curves.addLines({first, second});
        QVERIFY(curves.loss(QStringLiteral("ignored")).isEmpty());
        QCOMPARE(curves.losses().size(), std::size_t{2}); // total and cls
        QCOMPARE(curves.figures().at(QStringLiteral("ignored")), 0.3);
        QCOMPARE(curves.figuresStep(), 20);
        tr_::TrainingStep step;
        step.step = 30;
        step.losses = {{"total", 1.0}};
        step.logs = {{"ignored", 0.2}};
        curves.addStep(step);
        QCOMPARE(curves.figures().at(QStringLiteral("ignored")), 0.2);
        curves.clear();
        QVERIFY(curves.figures().empty());
    }

    void validationLinesAreSeparate()
    {
        RunCurves curves;
        tr_::MetricsLine val;
        val.step = 20;
        val.val = {{"val_miou", 0.4}, {"val_fpr", 0.2}};
        QVERIFY(curves.addLines({line(10, 3), line(20, 2), val}));
        QCOMPARE(curves.loss(QStringLiteral("total")).size(), 2); // the validation line has no losses
        QCOMPARE(curves.learningRate().size(), 2);
        QCOMPARE(curves.validationScore(QStringLiteral("val_miou")).values, QVector<double>{0.4});
        QVERIFY(curves.addValidation(40, {{"val_miou", 0.5}}));
        QCOMPARE(curves.validationScore(QStringLiteral("val_miou")).steps, (QVector<double>{20, 40}));
        QCOMPARE(curves.lastStep(), 40);
        curves.clear();
        QVERIFY(curves.isEmpty());
        QCOMPARE(curves.lastStep(), 0);
    }
};

QTEST_MAIN(TestRunCurves)
#include "test_run_curves.moc"
