// The engine as the studio drives it: jobs in, events out on the worker thread. Every job ends
// with exactly one ending event, in order; latest-wins replaces queued inspections; cancel stops
// queued and running jobs; a failing job fails alone; a train job reports its steps, pauses,
// interleaves inspections without changing its curve, and a cancel keeps a loadable checkpoint.
// Data: the checked-in tests/fixtures/tiny_voc (no data package needed) and a checkpoint written
// here on the tiny test backbone.
#include "support/tiny_checkpoint.h"
#include "training/checkpoint/checkpoint.h"
#include "training/engine/engine.h"
#include "training/methods/inference.h"
#include "vision/io/image_io.h"
#include "vision/io/voc_reader.h"

#include <QTemporaryDir>
#include <QtTest>

#include <wsss/source_paths.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>

using namespace wsss;
using namespace wsss::training;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(WSSS_SOURCE_DIR) + "/tests/fixtures/tiny_voc";

bool isEnd(const Event &e)
{
    return std::holds_alternative<JobFinished>(e) || std::holds_alternative<JobFailed>(e) ||
           std::holds_alternative<JobCancelled>(e) || std::holds_alternative<JobReplaced>(e);
}

JobId idOf(const Event &e)
{
    return std::visit([](const auto &v) { return v.id; }, e);
}

// Records the engine's events; `hook` then runs on the worker thread for each one (a test can hold
// the worker there, or submit from there).
class Recorder {
public:
    std::function<void(const Event &)> hook;

    void operator()(const Event &e)
    {
        {
            std::lock_guard lock(m_mutex);
            m_events.push_back(e);
            m_changed.notify_all();
        }
        if (hook)
            hook(e);
    }

    std::vector<Event> events()
    {
        std::lock_guard lock(m_mutex);
        return m_events;
    }

    // Waits (up to `seconds`) until `id` has ended; its ending event.
    std::optional<Event> waitEnd(JobId id, int seconds = 120)
    {
        std::unique_lock lock(m_mutex);
        std::optional<Event> end;
        m_changed.wait_for(lock, std::chrono::seconds(seconds), [&] {
            for (const auto &e : m_events)
                if (idOf(e) == id && isEnd(e))
                    end = e;
            return end.has_value();
        });
        return end;
    }

    template <class T> std::vector<T> all(JobId id)
    {
        std::vector<T> out;
        for (const auto &e : events())
            if (const auto *v = std::get_if<T>(&e); v && v->id == id)
                out.push_back(*v);
        return out;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<Event> m_events;
};

// A one-shot gate the worker waits on until the test opens it.
class Gate {
public:
    void wait()
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait_for(lock, std::chrono::seconds(60), [&] { return m_open; });
    }
    void open()
    {
        std::lock_guard lock(m_mutex);
        m_open = true;
        m_cv.notify_all();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_open = false;
};

std::string image(const std::string &id)
{
    return kData + "/JPEGImages/" + id + ".jpg";
}

TrainOptions tinyRun(const std::string &out, int iters)
{
    TrainOptions o;
    o.method = "cam";
    o.backbone = "vit_test_patch8";
    o.weights = "none";
    o.data = kData;
    o.out = out;
    o.iters = iters;
    o.batch = 2;
    o.size = 64;
    o.seed = 3;
    o.logEvery = 1;
    o.saveEvery = 2;
    o.valSplit = "val";
    return o;
}

// step → total loss, as the job reported it.
std::map<std::int64_t, double> curve(const std::vector<TrainingStep> &steps)
{
    std::map<std::int64_t, double> out;
    for (const auto &s : steps)
        out[s.step] = s.losses.at("total");
    return out;
}

} // namespace

class TestEngine : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string m_checkpoint;

    // `checkpoint` loaded by the engine, then `item` inspected with its labels; null if either failed.
    static std::shared_ptr<const Inspection> loadAndInspect(Engine &engine, Recorder &rec, const std::string &checkpoint,
                                                            const vision::DatasetItem &item)
    {
        engine.submit(LoadModelJob{checkpoint, "cpu"});
        const JobId inspect = engine.submit(InspectJob{item.id, item.imagePath, item.labels});
        const auto end = rec.waitEnd(inspect);
        if (!end || !std::holds_alternative<JobFinished>(*end))
            return nullptr;
        return rec.all<InspectionReady>(inspect).at(0).inspection;
    }

private Q_SLOTS:
    void initTestCase()
    {
        // The fixture must be there: a missing one fails here rather than skipping the suite.
        QVERIFY2(fs::exists(kData + "/ImageSets/Segmentation/train.txt"), kData.c_str());
        QVERIFY(m_dir.isValid());
        m_checkpoint = (fs::path(m_dir.path().toStdString()) / "cam.wsss").string();
        test::writeTinyCheckpoint(m_checkpoint, 1);
    }

    // Jobs run in submission order; each one starts before it ends and ends exactly once.
    void jobsRunInOrderAndEndOnce()
    {
        Recorder rec;
        std::vector<JobId> ids;
        {
            Engine engine(std::ref(rec));
            ids.push_back(engine.submit(LoadModelJob{m_checkpoint, "cpu"}));
            ids.push_back(engine.submit(EvaluateJob{kData, "val", 0.45f, 10}));
            ids.push_back(engine.submit(InspectJob{"train_000001", image("train_000001"), {}}));
            QVERIFY(rec.waitEnd(ids.back()).has_value());
        }
        std::vector<JobId> ended;
        std::map<JobId, int> endings;
        std::map<JobId, bool> started;
        for (const auto &e : rec.events()) {
            if (std::holds_alternative<JobStarted>(e))
                started[idOf(e)] = true;
            if (isEnd(e)) {
                QVERIFY2(started[idOf(e)], "a job ended before it started");
                ended.push_back(idOf(e));
                ++endings[idOf(e)];
            }
        }
        QCOMPARE(ended, ids);
        for (const auto id : ids)
            QCOMPARE(endings[id], 1);
        for (const auto id : ids)
            QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(id)));
        QCOMPARE(rec.all<ModelLoaded>(ids[0]).size(), std::size_t{1});
        QCOMPARE(rec.all<EvaluationReady>(ids[1]).size(), std::size_t{1});
        QCOMPARE(rec.all<InspectionReady>(ids[2]).size(), std::size_t{1});
    }

    // Under the rule's PAR and CRF the evaluation scores the refined masks, and its sweep is of
    // refined masks: at the job's threshold the sweep (refined once per image, a CRF per grid
    // point) gives the figure of the masks scored directly.
    void evaluationScoresTheRefinedMasks()
    {
        Recorder rec;
        Engine engine(std::ref(rec));
        engine.submit(LoadModelJob{m_checkpoint, "cpu"});
        const JobId plain = engine.submit(EvaluateJob{kData, "val", 0.45f, 100});
        const JobId refined = engine.submit(EvaluateJob{kData, "val", 0.45f, 100, 10, true});
        QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(refined)));
        const auto p = rec.all<EvaluationReady>(plain).at(0).result;
        const auto r = rec.all<EvaluationReady>(refined).at(0).result;
        QCOMPARE(r->parIterations, 10);
        QVERIFY(r->crf);
        QCOMPARE(p->parIterations, 0);
        QVERIFY(!p->ownBackground && !r->ownBackground); // cam: the threshold decides
        QCOMPARE(r->thresholds.size(), std::size_t{20}); // 0.05 … 1: the CRF's background above 0
        QCOMPARE(r->thresholds.front(), 0.05f);
        const auto at = static_cast<std::size_t>(std::find_if(r->thresholds.begin(), r->thresholds.end(),
                                                              [](double t) { return std::abs(t - 0.45) < 1e-6; }) -
                                                 r->thresholds.begin());
        QVERIFY(at < r->thresholds.size());
        QCOMPARE(r->sweepMiou[at], r->miou);
        QCOMPARE(r->images.size(), p->images.size());
        QVERIFY2(r->miou != p->miou, "the refinement changed no mask");
        QCOMPARE(r->crfPreset, std::string("psa"));
    }

    // The studio's CRF preset box reaches the evaluation: another method's CRF parameters score
    // other masks, and a name the CRF does not know fails before any image, listing the known ones.
    void evaluationUsesTheRulesCrfPreset()
    {
        Recorder rec;
        Engine engine(std::ref(rec));
        engine.submit(LoadModelJob{m_checkpoint, "cpu"});
        EvaluateJob job{kData, "val", 0.45f, 100, 0, true};
        const JobId psa = engine.submit(job);
        job.crfPreset = "vitpcm";
        const JobId vitpcm = engine.submit(job);
        job.crfPreset = "pydensecrf";
        const JobId unknown = engine.submit(job);
        const auto end = rec.waitEnd(unknown);
        QVERIFY(end && std::holds_alternative<JobFailed>(*end));
        const std::string message = std::get<JobFailed>(*end).message;
        QVERIFY2(message.find("pydensecrf") != std::string::npos && message.find("vitpcm") != std::string::npos,
                 message.c_str());
        QVERIFY(rec.all<JobProgress>(unknown).empty());
        const auto a = rec.all<EvaluationReady>(psa).at(0).result;
        const auto b = rec.all<EvaluationReady>(vitpcm).at(0).result;
        QCOMPARE(b->crfPreset, std::string("vitpcm"));
        QVERIFY2(a->miou != b->miou, "ViT-PCM's CRF parameters scored the same masks as PSA's");
    }

    // The studio's refinement (a RefineJob on the inspection's labelled maps) is the mask
    // `wsss infer` writes under the same rule: PAR's maps decided by the threshold, and the CRF's
    // labels, with a preset other than the default.
    void refinementIsWhatInferWrites()
    {
        const auto item = vision::loadVocDataset(kData, "train").items.at(0);
        QVERIFY(!item.labels.empty());
        Recorder rec;
        Engine engine(std::ref(rec));
        const auto inspection = loadAndInspect(engine, rec, m_checkpoint, item);
        QVERIFY(inspection);

        auto model = loadCheckpoint(m_checkpoint);
        const cv::Mat rgb = vision::readImageRgb(item.imagePath);
        const auto output = inferImage(model, rgb, false, torch::kCPU, item.labels);
        vision::PseudoLabelRule par;
        par.bgThreshold = 0.3f;
        par.parIterations = 10;
        vision::PseudoLabelRule crf = par;
        crf.crf = true;
        crf.crfPreset = "afa";
        for (const auto &rule : {par, crf}) {
            const JobId refine = engine.submit(RefineJob{inspection, inspection->primaryKind, rule});
            QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(refine)));
            const auto refined = rec.all<RefinementReady>(refine).at(0).refined;
            std::vector<std::uint8_t> studio = refined->crfLabels;
            if (!rule.crf) {
                std::vector<const ClassMap *> maps;
                for (const auto &m : refined->maps)
                    maps.push_back(&m);
                studio = applyMaskRule(rule, maps, rgb.total());
            }
            const cv::Mat written = pseudoMask(model, output, item.labels, rule, rgb);
            const std::vector<std::uint8_t> cli(written.data, written.data + written.total());
            QVERIFY(std::count(cli.begin(), cli.end(), 0) < static_cast<std::ptrdiff_t>(cli.size())); // not all background
            QCOMPARE(studio, cli);
        }
        // No kind named: the primary one, as for an inspection.
        const JobId primary = engine.submit(RefineJob{inspection, "", par});
        QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(primary)));
        const auto refined = rec.all<RefinementReady>(primary).at(0).refined;
        QCOMPARE(refined->kind, inspection->primaryKind);
        QCOMPARE(refined->maps.size(), inspection->labelledMaps(inspection->primaryKind).size());
    }

    // The same for a method that scores the background itself (supervised's seg here; ECA's
    // CARMs, ViT-PCM, AFA's seg and aff alike): the studio refines [background; maps] with PAR and
    // the CRF and takes the argmax, as an export writes; the threshold does not enter.
    void ownBackgroundRefinementIsWhatInferWrites()
    {
        const auto checkpoint = (fs::path(m_dir.path().toStdString()) / "supervised.wsss").string();
        test::writeTinyCheckpoint(checkpoint, 3, "supervised");
        const auto item = vision::loadVocDataset(kData, "train").items.at(0);
        Recorder rec;
        Engine engine(std::ref(rec));
        const auto inspection = loadAndInspect(engine, rec, checkpoint, item);
        QVERIFY(inspection);
        const std::string kind = inspection->primaryKind;
        QVERIFY2(inspection->ownBackground(kind), kind.c_str());

        auto model = loadCheckpoint(checkpoint);
        const cv::Mat rgb = vision::readImageRgb(item.imagePath);
        const auto output = inferImage(model, rgb, false, torch::kCPU, item.labels);
        vision::PseudoLabelRule par;
        par.parIterations = 10;
        vision::PseudoLabelRule crf = par;
        crf.crf = true;
        const auto plain = inspection->pseudoMask(kind, vision::PseudoLabelRule{});
        for (const auto &rule : {par, crf}) {
            const JobId refine = engine.submit(RefineJob{inspection, kind, rule});
            QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(refine)));
            const auto refined = rec.all<RefinementReady>(refine).at(0).refined;
            QVERIFY(refined->ownBackground);
            const cv::Mat written = pseudoMask(model, output, item.labels, rule, rgb);
            const std::vector<std::uint8_t> cli(written.data, written.data + written.total());
            QCOMPARE(refined->ownBackgroundLabels, cli);
            if (rule.crf)
                QVERIFY(cli != plain); // the refinement changed the mask: the test compares refined masks
            // Another threshold is served by the same refinement: the method's background decides.
            auto moved = rule;
            moved.bgThreshold = 0.9f;
            QVERIFY(refined->serves(moved));
        }
        // Its evaluation says so: no threshold decided the masks, none is swept.
        const JobId evaluate = engine.submit(EvaluateJob{kData, "val", 0.45f, 10, 10, true});
        QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(evaluate)));
        const auto result = rec.all<EvaluationReady>(evaluate).at(0).result;
        QVERIFY(result->ownBackground);
        QVERIFY(result->thresholds.empty() && result->bestIndex == -1);
        QVERIFY(!result->images.empty());
    }

    // Inspections queued behind a busy worker: only the newest runs; the others end as replaced by it.
    void latestInspectionReplacesQueuedOnes()
    {
        Recorder rec;
        Gate gate;
        Engine engine(std::ref(rec));
        const JobId load = engine.submit(LoadModelJob{m_checkpoint, "cpu"});
        rec.hook = [&](const Event &e) {
            if (std::holds_alternative<JobStarted>(e) && idOf(e) == load)
                gate.wait(); // the worker is held until the inspections are queued
        };
        const JobId a = engine.submit(InspectJob{"train_000001", image("train_000001"), {}});
        const JobId b = engine.submit(InspectJob{"train_000002", image("train_000002"), {}});
        const JobId c = engine.submit(InspectJob{"train_000003", image("train_000003"), {}});
        gate.open();
        const auto endC = rec.waitEnd(c);
        QVERIFY(endC && std::holds_alternative<JobFinished>(*endC));
        for (const JobId replaced : {a, b}) {
            const auto end = rec.waitEnd(replaced);
            QVERIFY(end && std::holds_alternative<JobReplaced>(*end));
            QCOMPARE(std::get<JobReplaced>(*end).by, c);
            QVERIFY(rec.all<JobStarted>(replaced).empty());
            QVERIFY(rec.all<InspectionReady>(replaced).empty());
        }
        const auto shown = rec.all<InspectionReady>(c);
        QCOMPARE(shown.size(), std::size_t{1});
        QCOMPARE(shown[0].inspection->imageId, std::string("train_000003"));
    }

    // Cancel: a queued job ends cancelled without starting; a running evaluation stops between images.
    void cancelQueuedAndRunningJobs()
    {
        Recorder rec;
        Gate gate;
        Engine engine(std::ref(rec));
        const JobId load = engine.submit(LoadModelJob{m_checkpoint, "cpu"});
        JobId evaluate = 0;
        rec.hook = [&](const Event &e) {
            if (const auto *p = std::get_if<JobProgress>(&e); p && p->id == evaluate && p->done == 1)
                gate.wait(); // the evaluation holds after its first image until cancelled
        };
        evaluate = engine.submit(EvaluateJob{kData, "val", 0.45f, 10});
        const JobId queued = engine.submit(InspectJob{"train_000001", image("train_000001"), {}});
        engine.cancel(queued);
        QVERIFY(rec.waitEnd(load).has_value());
        QTRY_VERIFY_WITH_TIMEOUT(!rec.all<JobProgress>(evaluate).empty() && rec.all<JobProgress>(evaluate).back().done >= 1,
                                 60000);
        engine.cancel(evaluate);
        gate.open();
        const auto evalEnd = rec.waitEnd(evaluate);
        QVERIFY(evalEnd && std::holds_alternative<JobCancelled>(*evalEnd));
        QVERIFY(rec.all<EvaluationReady>(evaluate).empty());
        const auto queuedEnd = rec.waitEnd(queued);
        QVERIFY(queuedEnd && std::holds_alternative<JobCancelled>(*queuedEnd));
        QVERIFY(rec.all<JobStarted>(queued).empty());
    }

    // A failing job reports its cause and the worker goes on with the next.
    void failingJobFailsAlone()
    {
        Recorder rec;
        Engine engine(std::ref(rec));
        auto failure = [&](JobId id) {
            const auto end = rec.waitEnd(id);
            return end && std::holds_alternative<JobFailed>(*end) ? std::get<JobFailed>(*end).message : std::string();
        };
        const std::string noModel = failure(engine.submit(InspectJob{"train_000001", image("train_000001"), {}}));
        QVERIFY2(noModel.find("no model is loaded") != std::string::npos, noModel.c_str());
        const std::string missing = failure(engine.submit(LoadModelJob{m_dir.path().toStdString() + "/missing.wsss", "cpu"}));
        QVERIFY2(missing.find("missing.wsss") != std::string::npos, missing.c_str());
        QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(engine.submit(LoadModelJob{m_checkpoint, "cpu"}))));
        const std::string badImage = failure(engine.submit(InspectJob{"nope", m_dir.path().toStdString() + "/nope.jpg", {}}));
        QVERIFY2(badImage.find("nope.jpg") != std::string::npos, badImage.c_str());
        const JobId next = engine.submit(InspectJob{"train_000002", image("train_000002"), {}});
        QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(next)));
        QCOMPARE(rec.all<InspectionReady>(next).size(), std::size_t{1});
    }

    // A train job: one TrainingStep per step, a checkpoint per save and at the end, validation at
    // the end, and the run folder `wsss train` writes.
    void trainJobReportsStepsAndCheckpoints()
    {
        Recorder rec;
        Engine engine(std::ref(rec));
        const std::string out = m_dir.path().toStdString() + "/train_plain";
        TrainOptions o = tinyRun(out, 4);
        o.keepCheckpoints = true;
        o.valEvery = 2;
        const JobId id = engine.submit(TrainJob{o});
        const auto end = rec.waitEnd(id, 300);
        QVERIFY(end);
        if (const auto *failed = std::get_if<JobFailed>(&*end))
            QFAIL(failed->message.c_str());
        QVERIFY(std::holds_alternative<JobFinished>(*end));
        const auto steps = rec.all<TrainingStep>(id);
        QCOMPARE(steps.size(), std::size_t{4});
        for (std::size_t i = 0; i < steps.size(); ++i) {
            QCOMPARE(steps[i].step, std::int64_t(i + 1));
            QCOMPARE(steps[i].total, std::int64_t{4});
            QVERIFY(steps[i].losses.count("total"));
            QVERIFY(steps[i].stepsPerSecond > 0);
        }
        QCOMPARE(steps.back().secondsLeft, 0.0);
        const auto saved = rec.all<CheckpointSaved>(id);
        QCOMPARE(saved.size(), std::size_t{2}); // step 2 (save-every) and the end
        QCOMPARE(saved[0].step, std::int64_t{2});
        QCOMPARE(saved[1].step, std::int64_t{4});
        for (const auto &s : saved) {
            QVERIFY2(fs::exists(s.path), s.path.c_str());
            QCOMPARE(readCheckpointHeader(s.path).step, s.step);
        }
        const auto validations = rec.all<TrainingValidated>(id);
        QCOMPARE(validations.size(), std::size_t{2}); // val-every 2, and the end
        QVERIFY(validations.back().scores.count("val_miou"));
        QVERIFY(fs::exists(out + "/metrics.jsonl"));
    }

    // Pause holds the run between two steps (no step is lost or repeated); inspections submitted
    // meanwhile run, and the run's loss curve is the one it has alone.
    void pauseAndInterleavedInspectionsKeepTheCurve()
    {
        // Alone.
        std::map<std::int64_t, double> alone;
        {
            Recorder rec;
            Engine engine(std::ref(rec));
            const JobId id = engine.submit(TrainJob{tinyRun(m_dir.path().toStdString() + "/alone", 5)});
            QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(id, 300)));
            alone = curve(rec.all<TrainingStep>(id));
        }
        // Paused after step 2; a load and an inspection run while it waits; then resumed.
        Recorder rec;
        Engine engine(std::ref(rec));
        JobId id = 0;
        rec.hook = [&](const Event &e) {
            if (const auto *s = std::get_if<TrainingStep>(&e); s && s->id == id && s->step == 2)
                engine.pause(id);
        };
        id = engine.submit(TrainJob{tinyRun(m_dir.path().toStdString() + "/paused", 5)});
        QTRY_VERIFY_WITH_TIMEOUT(!rec.all<TrainingPaused>(id).empty(), 120000);
        QCOMPARE(rec.all<TrainingPaused>(id).front().paused, true);
        QCOMPARE(rec.all<TrainingPaused>(id).front().step, std::int64_t{2});
        const JobId load = engine.submit(LoadModelJob{m_checkpoint, "cpu"});
        const JobId inspect = engine.submit(InspectJob{"train_000001", image("train_000001"), {}});
        const auto inspected = rec.waitEnd(inspect);
        QVERIFY(inspected && std::holds_alternative<JobFinished>(*inspected));
        QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(load)));
        QCOMPARE(rec.all<TrainingStep>(id).size(), std::size_t{2}); // still paused
        engine.resume(id);
        QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(id, 300)));
        const auto pauses = rec.all<TrainingPaused>(id);
        QCOMPARE(pauses.size(), std::size_t{2});
        QCOMPARE(pauses.back().paused, false);
        const auto withInspections = curve(rec.all<TrainingStep>(id));
        QCOMPARE(withInspections.size(), alone.size());
        for (const auto &[step, loss] : alone)
            QCOMPARE(withInspections.at(step), loss); // exactly: the random state was kept
    }

    // Cancel mid-run saves the step reached; the checkpoint loads and the run resumes to its end.
    void cancelKeepsALoadableCheckpoint()
    {
        Recorder rec;
        Engine engine(std::ref(rec));
        const std::string out = m_dir.path().toStdString() + "/cancelled";
        JobId id = 0;
        rec.hook = [&](const Event &e) {
            if (const auto *s = std::get_if<TrainingStep>(&e); s && s->id == id && s->step == 3)
                engine.cancel(id);
        };
        TrainOptions o = tinyRun(out, 8);
        o.saveEvery = 100; // no periodic save before the cancel
        id = engine.submit(TrainJob{o});
        const auto end = rec.waitEnd(id, 300);
        QVERIFY(end && std::holds_alternative<JobCancelled>(*end));
        const auto saved = rec.all<CheckpointSaved>(id);
        QCOMPARE(saved.size(), std::size_t{1});
        QCOMPARE(saved[0].step, std::int64_t{3});
        const auto loaded = loadCheckpoint(out + "/checkpoint.wsss");
        QCOMPARE(loaded.header.step, std::int64_t{3});

        TrainOptions resume;
        resume.out = out;
        resume.resume = true;
        const JobId resumed = engine.submit(TrainJob{resume});
        QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(resumed, 300)));
        const auto steps = rec.all<TrainingStep>(resumed);
        QCOMPARE(steps.front().step, std::int64_t{4});
        QCOMPARE(steps.back().step, std::int64_t{8});
    }

    // A step that cannot allocate (here a 4096-px input: its attention matrix would take
    // hundreds of GB) fails the job with the cause and what to change; the engine goes on.
    void trainJobOutOfMemorySaysWhatToChange()
    {
        Recorder rec;
        Engine engine(std::ref(rec));
        TrainOptions o = tinyRun(m_dir.path().toStdString() + "/train_oom", 2);
        o.size = 4096;
        const JobId id = engine.submit(TrainJob{o});
        const auto end = rec.waitEnd(id, 300);
        QVERIFY(end && std::holds_alternative<JobFailed>(*end));
        const std::string message = std::get<JobFailed>(*end).message;
        for (const char *part : {"out of memory on cpu at step 1", "batch 2 at 4096 px", "--batch or --size"})
            QVERIFY2(message.find(part) != std::string::npos, message.c_str());
        QVERIFY(rec.all<TrainingStep>(id).empty());
        const JobId load = engine.submit(LoadModelJob{m_checkpoint, "cpu"});
        QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(load)));
    }

    // A train job that cannot start (a folder that holds a run) fails with the reason, and the
    // worker takes the next job.
    void trainJobThatCannotStartFails()
    {
        Recorder rec;
        Engine engine(std::ref(rec));
        const std::string out = m_dir.path().toStdString() + "/train_plain"; // finished above
        const JobId id = engine.submit(TrainJob{tinyRun(out, 4)});
        const auto end = rec.waitEnd(id);
        QVERIFY(end && std::holds_alternative<JobFailed>(*end));
        QVERIFY(std::get<JobFailed>(*end).message.find("already holds") != std::string::npos);
        const JobId load = engine.submit(LoadModelJob{m_checkpoint, "cpu"});
        QVERIFY(std::holds_alternative<JobFinished>(*rec.waitEnd(load)));
    }
};

QTEST_GUILESS_MAIN(TestEngine)
#include "test_engine.moc"
