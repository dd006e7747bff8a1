// MaskPreview without a widget: the rule's decision over an inspection's cached maps (threshold and
// band), refined maps replacing the raw ones once they arrive, a refinement asked for once per
// change, and the palette image the canvas draws (background see-through, 255 hatched).
#include "ui/canvas/mask_preview.h"
#include "vision/core/labels.h"

#include <QtTest>

using wsss::training::Inspection;
using wsss::training::RefinedMaps;
using wsss::ui::MaskPreview;

namespace {

// A 4×1 image labelled with classes 1 and 2; map values per pixel.
std::shared_ptr<Inspection> inspection()
{
    auto ins = std::make_shared<Inspection>();
    ins->imageId = "img";
    ins->imageWidth = 4;
    ins->imageHeight = 1;
    ins->rgb.assign(12, 128);
    ins->classNames = {"background", "a", "b"};
    ins->imageLabels = {1, 2};
    ins->maps.push_back({"cam", 1, {0.9f, 0.5f, 0.40f, 0.1f}});
    ins->maps.push_back({"cam", 2, {0.2f, 0.6f, 0.42f, 0.1f}});
    return ins;
}

// A refinement of the 4×1 image's "cam" maps under `rule`, still empty.
std::shared_ptr<RefinedMaps> refinedFor(const std::string &imageId, const wsss::vision::PseudoLabelRule &rule)
{
    auto refined = std::make_shared<RefinedMaps>();
    refined->imageId = imageId;
    refined->kind = "cam";
    refined->rule = rule;
    refined->imageWidth = 4;
    refined->imageHeight = 1;
    return refined;
}

} // namespace

class TestMaskPreview : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void thresholdAndBand()
    {
        MaskPreview preview;
        preview.setInspection(inspection());
        wsss::vision::PseudoLabelRule rule; // threshold 0.45
        preview.setRule(rule);
        preview.rebuild();
        QCOMPARE(preview.kind(), std::string("cam"));
        QCOMPARE(preview.labels(), (std::vector<std::uint8_t>{1, 2, 0, 0}));
        rule.background = wsss::vision::BackgroundRule::Band; // 0.35 / 0.55
        preview.setRule(rule);
        preview.rebuild();
        QCOMPARE(preview.labels(), (std::vector<std::uint8_t>{1, 2, 255, 0}));
        const QImage image = preview.image();
        QCOMPARE(image.size(), QSize(4, 1));
        QCOMPARE(qAlpha(image.pixel(3, 0)), 0); // background: see-through
        const auto c = wsss::vision::vocPaletteColor(2);
        QCOMPARE(image.pixel(1, 0), qRgb(c[0], c[1], c[2]));
        QVERIFY(qAlpha(image.pixel(2, 0)) > 0 && qRed(image.pixel(2, 0)) == qGreen(image.pixel(2, 0))); // hatched white
    }

    void ownBackgroundIsTheArgmax()
    {
        auto ins = inspection();
        ins->maps.push_back({"cam", 0, {0.5f, 0.7f, 0.1f, 0.95f}}); // the method's own background
        MaskPreview preview;
        preview.setInspection(ins);
        wsss::vision::PseudoLabelRule rule;
        rule.bgThreshold = 0.0f; // ignored: the argmax decides
        preview.setRule(rule);
        preview.rebuild();
        QCOMPARE(preview.labels(), (std::vector<std::uint8_t>{1, 0, 2, 0}));
        QVERIFY(!preview.refinementPending(true)); // nothing to refine without PAR or the CRF

        // With the CRF the worker refines [background; maps]: the plain argmax until it arrives.
        rule.crf = true;
        preview.setRule(rule);
        QVERIFY(preview.takeRefinementRequest(true));
        preview.rebuild();
        QCOMPARE(preview.labels(), (std::vector<std::uint8_t>{1, 0, 2, 0}));
        auto refined = refinedFor("img", rule);
        refined->ownBackground = true;
        refined->ownBackgroundLabels = {1, 1, 0, 0};
        QVERIFY(preview.setRefinement(refined));
        preview.rebuild();
        QCOMPARE(preview.labels(), (std::vector<std::uint8_t>{1, 1, 0, 0}));
        // The threshold does not enter the method's own decision: the refinement still serves.
        rule.bgThreshold = 0.8f;
        preview.setRule(rule);
        QVERIFY(!preview.refinementPending(true));
        preview.rebuild();
        QCOMPARE(preview.labels(), (std::vector<std::uint8_t>{1, 1, 0, 0}));
    }

    void refinementIsAskedOnceAndUsed()
    {
        MaskPreview preview;
        const auto ins = inspection();
        preview.setInspection(ins);
        wsss::vision::PseudoLabelRule rule;
        rule.parIterations = 10;
        preview.setRule(rule);
        QVERIFY(!preview.refinementPending(false)); // the mask is not shown: nothing to refine
        QVERIFY(preview.takeRefinementRequest(true));
        QVERIFY(!preview.takeRefinementRequest(true)); // on its way
        QVERIFY(preview.refinementPending(true));

        auto refined = refinedFor("other", rule);
        refined->maps.push_back({"cam", 1, {0.1f, 0.1f, 0.1f, 0.9f}});
        refined->maps.push_back({"cam", 2, {0.1f, 0.1f, 0.1f, 0.1f}});
        QVERIFY(!preview.setRefinement(refined)); // another image's
        refined->imageId = "img";
        QVERIFY(preview.setRefinement(refined));
        QVERIFY(!preview.refinementPending(true));
        preview.rebuild();
        QCOMPARE(preview.labels(), (std::vector<std::uint8_t>{0, 0, 0, 1})); // the refined maps decide

        rule.parIterations = 5; // another refinement: asked again
        preview.setRule(rule);
        QVERIFY(preview.refinementPending(true));
        QVERIFY(preview.takeRefinementRequest(true));
        preview.refinementFailed();
        QVERIFY(!preview.refinementPending(true)); // failed: the unrefined mask stays, no new request
        preview.setInspection(inspection());       // a new inspection drops the old refinement
        QVERIFY(!preview.refinement());
    }
};

QTEST_MAIN(TestMaskPreview)
#include "test_mask_preview.moc"
