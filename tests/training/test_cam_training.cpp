// The `cam` and `supervised` methods end to end: a smoke training whose loss falls, the
// checkpoint round trip, and the engine's load + inspect jobs.
#include "support/tensor_compare.h"
#include "training/checkpoint/checkpoint.h"
#include "training/data/dataset.h"
#include "training/data/demo_generator.h"
#include "training/data/fashion_mnist.h"
#include "training/engine/engine.h"
#include "training/loop/trainer.h"
#include "training/methods/config_overrides.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"
#include "vision/io/voc_reader.h"

#include <QTemporaryDir>
#include <torch/torch.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

using namespace wsss;
using namespace wsss::training;

namespace {

// Collects engine events and lets the test wait for one of a kind.
class EventLog {
public:
    void push(const Event &e)
    {
        std::lock_guard lock(m_mutex);
        m_events.push_back(e);
        m_changed.notify_all();
    }
    template <typename T>
    std::optional<T> waitFor(JobId id, int seconds = 120)
    {
        std::unique_lock lock(m_mutex);
        std::optional<T> found;
        m_changed.wait_for(lock, std::chrono::seconds(seconds), [&] {
            for (const auto &e : m_events)
                if (const auto *t = std::get_if<T>(&e); t && t->id == id) {
                    found = *t;
                    return true;
                }
            return false;
        });
        return found;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<Event> m_events;
};

} // namespace

class TestCamTraining : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string m_data;

    TrainOptions tinyOptions(const std::string &method, const std::string &out) const
    {
        TrainOptions o;
        o.method = method;
        o.data = m_data;
        o.out = (std::filesystem::path(m_dir.path().toStdString()) / out).string();
        o.backbone = "vit_test_patch8";
        o.weights = "none";
        o.size = 64;
        o.batch = 8;
        o.lr = 1e-3;
        o.backboneLrScale = 1.0;
        o.warmup = 5;
        o.iters = 60;
        return o;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (!std::filesystem::exists(wsss::training::defaultFashionMnistDir()))
            QFAIL("Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed: packaging/install-deps.sh installs it");
        DemoDataOptions d;
        d.out = m_data = m_dir.filePath("data").toStdString();
        d.train = 64;
        d.val = 8;
        d.size = 64;
        d.seed = 11;
        generateDemoData(d);
    }

    void camLossFalls()
    {
        std::vector<double> losses;
        TrainCallbacks cb;
        cb.onStep = [&](const StepLog &log) { losses.push_back(log.losses.at("cls")); };
        auto result = train(tinyOptions("cam", "run_cam"), cb);
        QCOMPARE(static_cast<int>(losses.size()), 60);
        double first = 0, last = 0;
        for (int i = 0; i < 10; ++i) {
            first += losses[i] / 10;
            last += losses[losses.size() - 1 - i] / 10;
        }
        QVERIFY2(last < 0.85 * first, qPrintable(QString("loss %1 → %2").arg(first).arg(last)));
        QVERIFY(std::filesystem::exists(result.checkpointPath));
        QVERIFY(std::filesystem::file_size(std::filesystem::path(result.checkpointPath).parent_path() / "metrics.jsonl") > 0);
    }

    void checkpointRoundTrip_data()
    {
        QTest::addColumn<QString>("method");
        QTest::newRow("cam") << "cam";
        QTest::newRow("supervised") << "supervised";
    }

    void checkpointRoundTrip()
    {
        QFETCH(QString, method);
        CheckpointHeader header;
        header.method = method.toStdString();
        header.backbone = "vit_test_patch8";
        header.labelMap = demoLabelMap();
        header.inputSize = 64;
        header.step = 42;
        auto original = createMethod(header.spec());
        header.config = original->config();
        original->eval();
        const std::string path = m_dir.filePath(method + ".wsss").toStdString();
        saveCheckpoint(path, header, *original);

        auto loaded = loadCheckpoint(path);
        QCOMPARE(loaded.header.step, std::int64_t{42});
        QCOMPARE(loaded.header.labelMap.names(), header.labelMap.names());
        QCOMPARE(readCheckpointHeader(path).method, method.toStdString());
        torch::NoGradGuard noGrad;
        auto x = torch::randn({1, 3, 64, 64});
        auto a = original->infer(x, false, {}), b = loaded.method->infer(x, false, {});
        const auto kind = original->primaryMap();
        WSSS_VERIFY_CLOSE(a.maps.at(kind), b.maps.at(kind), 1e-6);
        WSSS_VERIFY_CLOSE(a.scores, b.scores, 1e-6);
    }

    // inference_scales: [1] is the single-scale map; more scales add their maps at the image's
    // size (the order does not matter); a bad list is refused naming the key.
    void camInferenceScales()
    {
        const auto camWith = [&](const nlohmann::json &config) {
            CheckpointHeader header;
            header.method = "cam";
            header.backbone = "vit_test_patch8";
            header.labelMap = demoLabelMap();
            header.inputSize = 64;
            header.config = config;
            torch::manual_seed(5); // the same weights for every config
            auto method = createMethod(header.spec());
            method->eval();
            return method;
        };
        torch::NoGradGuard noGrad;
        torch::manual_seed(6);
        const auto x = torch::randn({1, 3, 64, 64});
        const auto single = camWith(nlohmann::json::object())->infer(x, false, {}).maps.at("cam");
        const auto one = camWith({{"inference_scales", {1.0}}})->infer(x, false, {}).maps.at("cam");
        QVERIFY(torch::equal(single, one));
        const auto two = camWith({{"inference_scales", {1.0, 1.5}}})->infer(x, false, {}).maps.at("cam");
        const auto swapped = camWith({{"inference_scales", {1.5, 1.0}}})->infer(x, false, {}).maps.at("cam");
        QCOMPARE(two.sizes().vec(), single.sizes().vec());
        WSSS_VERIFY_CLOSE(two, swapped, 1e-5);
        QVERIFY((two - single).abs().max().item<float>() > 1e-3); // the 1.5× pass changed the maps
        QVERIFY(two.min().item<float>() >= 0 && two.max().item<float>() <= 1 + 1e-6);
        for (const auto &bad : {nlohmann::json::array(), nlohmann::json({0.0}), nlohmann::json({1.0, 5.0})}) {
            try {
                camWith({{"inference_scales", bad}});
                QFAIL(qPrintable(QString("inference_scales %1 was accepted").arg(QString::fromStdString(bad.dump()))));
            } catch (const Error &e) {
                QVERIFY2(std::string(e.what()).find("inference_scale") != std::string::npos, e.what());
            }
        }
    }

    void engineLoadsAndInspects()
    {
        const std::string checkpoint = m_dir.filePath("run_cam/checkpoint.wsss").toStdString();
        if (!std::filesystem::exists(checkpoint))
            QFAIL("camLossFalls did not leave its checkpoint");
        auto dataset = vision::loadVocDataset(m_data, "val");
        QVERIFY(!dataset.items.empty());
        const auto &item = dataset.items.front();

        EventLog log;
        Engine engine([&](const Event &e) { log.push(e); });
        // A bad checkpoint fails with a message naming it, and the engine keeps working.
        const JobId bad = engine.submit(LoadModelJob{m_data + "/labelmap.txt", "cpu"});
        auto failed = log.waitFor<JobFailed>(bad);
        QVERIFY(failed);
        QVERIFY2(failed->message.find("labelmap.txt") != std::string::npos, failed->message.c_str());

        const JobId load = engine.submit(LoadModelJob{checkpoint, "cpu"});
        auto loaded = log.waitFor<ModelLoaded>(load);
        QVERIFY(loaded);
        QCOMPARE(loaded->info.method, std::string("cam"));
        QCOMPARE(loaded->info.patchSize, 8);

        const JobId inspect = engine.submit(InspectJob{item.id, item.imagePath, item.labels});
        auto ready = log.waitFor<InspectionReady>(inspect);
        QVERIFY(ready);
        const Inspection &ins = *ready->inspection;
        QCOMPARE(ins.imageWidth, 64);
        QCOMPARE(ins.gridWidth, 8);
        QCOMPARE(static_cast<int>(ins.attention.size()), 2);
        QCOMPARE(ins.attention.back().tokens, 65);
        auto row = ins.attention.back().row(ins.patchTokenAt(20, 30));
        double sum = 0;
        for (float v : row)
            sum += v;
        QVERIFY(std::abs(sum - 1.0) < 1e-4);
        QCOMPARE(ins.patchTokenAt(20, 30), 1 + 3 * 8 + 2);
        for (int c : item.labels) {
            const ClassMap *m = ins.map("cam", c);
            QVERIFY(m);
            QCOMPARE(m->values.size(), std::size_t{64 * 64});
        }
        // A higher threshold never adds foreground.
        auto loose = ins.pseudoMask("cam", 0.1f), strict = ins.pseudoMask("cam", 0.9f);
        std::size_t fgLoose = 0, fgStrict = 0;
        for (std::size_t i = 0; i < loose.size(); ++i) {
            fgLoose += loose[i] != 0;
            fgStrict += strict[i] != 0;
        }
        QVERIFY(fgStrict <= fgLoose);
        QVERIFY(fgLoose > 0);
    }

    void supervisedTrainsOnMasks()
    {
        auto o = tinyOptions("supervised", "run_supervised");
        o.iters = 30;
        std::vector<double> losses;
        TrainCallbacks cb;
        cb.onStep = [&](const StepLog &log) { losses.push_back(log.losses.at("seg")); };
        train(o, cb);
        QVERIFY2(losses.back() < losses.front(), qPrintable(QString("%1 → %2").arg(losses.front()).arg(losses.back())));
    }

    void supervisedKeepsToTheImageLabels()
    {
        // A labelled image's pseudo-mask, as the weak methods make theirs: a class the image is
        // not labelled with gets probability 0 and wins no pixel. Without labels, or with
        // restrict_to_labels false, every class competes.
        CheckpointHeader header;
        header.method = "supervised";
        header.backbone = "vit_test_patch8";
        header.labelMap = demoLabelMap();
        header.inputSize = 64;
        torch::manual_seed(0);
        auto method = createMethod(header.spec());
        header.config = {{"restrict_to_labels", false}};
        auto unrestricted = createMethod(header.spec());
        wsss::test::copyParameters(*method, *unrestricted);
        method->eval();
        unrestricted->eval();
        torch::NoGradGuard noGrad;
        const auto x = torch::randn({1, 3, 64, 64});
        auto labels = torch::zeros({10});
        labels[3] = 1; // class 4 of the label map
        const auto restricted = method->infer(x, false, labels);
        const auto &maps = restricted.maps.at("seg");
        const auto plain = method->infer(x, false, {}).maps.at("seg");
        WSSS_VERIFY_CLOSE(maps[3], plain[3], 1e-6);
        for (int k = 0; k < 10; ++k)
            if (k != 3) {
                QCOMPARE(maps[k].abs().max().item<float>(), 0.0f);
                QVERIFY(plain[k].min().item<float>() > 0.0f); // a softmax: every class competes
            }
        const auto winners = torch::cat({restricted.backgrounds.at("seg").unsqueeze(0), maps}).argmax(0);
        QVERIFY(((winners == 0) | (winners == 4)).all().item<bool>());
        WSSS_VERIFY_CLOSE(unrestricted->infer(x, false, labels).maps.at("seg"), plain, 1e-6);
    }

    void augmentationLeavesStoredImagesIntact()
    {
        // Augmented batches must be drawn from copies: the stored images (and masks) stay as
        // loaded, so a plain pass over the set gives the same sum before and after.
        auto dataset = vision::loadVocDataset(m_data, "val");
        TrainingSet set(dataset, 64, true);
        const int n = static_cast<int>(set.size());
        std::mt19937_64 rng(1);
        const vision::Normalization norm;
        auto before = set.next(rng, n, norm, false);
        for (int epoch = 0; epoch < 3; ++epoch)
            set.next(rng, n, norm, true);
        auto after = set.next(rng, n, norm, false);
        WSSS_VERIFY_CLOSE(after.images.sum(0), before.images.sum(0), 1e-3);
        QVERIFY(torch::equal(after.masks.sum(0), before.masks.sum(0)));
    }

    void paddedAreaIsIgnored()
    {
        // Scaled to half the crop side, an image fills a quarter of the crop: the rest is black
        // padding, 255 in the masks and false in Batch::valid, and nowhere else.
        auto dataset = vision::loadVocDataset(m_data, "val");
        Augmentation half;
        half.scaleLow = half.scaleHigh = 0.5;
        TrainingSet set(dataset, 64, true, {}, half);
        std::mt19937_64 rng(3);
        const vision::Normalization norm;
        const auto batch = set.next(rng, 4, norm, true);
        QCOMPARE(batch.valid.sizes().vec(), (std::vector<std::int64_t>{4, 64, 64}));
        QCOMPARE(batch.valid.sum().item<std::int64_t>(), std::int64_t{4 * 32 * 32});
        const auto padding = batch.valid.logical_not();
        QVERIFY((batch.masks.masked_select(padding) == 255).all().item<bool>());
        QVERIFY((batch.masks.masked_select(batch.valid) != 255).any().item<bool>());
        for (int c = 0; c < 3; ++c) { // black: (0 − mean) / std
            const float black = -norm.mean[c] / norm.std[c];
            const auto channel = batch.images.select(1, c);
            QVERIFY(((channel.masked_select(padding) - black).abs() < 1e-5).all().item<bool>());
        }
        // The real image is one 32×32 block per sample.
        for (int b = 0; b < 4; ++b) {
            const auto v = batch.valid[b];
            const auto rows = v.any(1).nonzero(), cols = v.any(0).nonzero();
            QCOMPARE(rows.size(0), std::int64_t{32});
            QCOMPARE(cols.size(0), std::int64_t{32});
            QCOMPARE(rows.max().item<std::int64_t>() - rows.min().item<std::int64_t>(), std::int64_t{31});
        }
        // Scaled up, the crop is all image; without augmentation the stored image, all valid.
        Augmentation twice;
        twice.scaleLow = twice.scaleHigh = 2.0;
        TrainingSet big(dataset, 64, true, {}, twice);
        QVERIFY(big.next(rng, 4, norm, true).valid.all().item<bool>());
        QVERIFY(big.next(rng, 4, norm, false).valid.all().item<bool>());
        Augmentation bad;
        bad.scaleLow = 0;
        WSSS_VERIFY_THROWS_WITH(TrainingSet(dataset, 64, true, {}, bad), "scale low");
    }

    void setAssignmentsParse()
    {
        QCOMPARE(parseSetAssignment("pooling=gap"), nlohmann::json({{"pooling", "gap"}}));
        QCOMPARE(parseSetAssignment(" topk_fraction = 0.5 "), nlohmann::json({{"topk_fraction", 0.5}}));
        QCOMPARE(parseSetAssignment("flip_inference=false"), nlohmann::json({{"flip_inference", false}}));
        QCOMPARE(parseSetAssignment("loss.weights=[1,0.1]"),
                 nlohmann::json({{"loss", {{"weights", {1, 0.1}}}}}));
        WSSS_VERIFY_THROWS_WITH(parseSetAssignment("pooling"), "expected key=value");
        WSSS_VERIFY_THROWS_WITH(parseSetAssignment("a..b=1"), "empty key component");
    }

    void configFileThenSetsReachTheCheckpoint()
    {
        const QString file = m_dir.filePath("cam_config.json");
        {
            std::ofstream out(file.toStdString());
            out << R"({"pooling": "topk", "topk_fraction": 0.5})";
        }
        auto o = tinyOptions("cam", "run_config");
        o.iters = 2;
        o.valSplit = "none";
        o.configFile = file.toStdString();
        o.sets = {"topk_fraction=0.25", "flip_inference=false"};
        auto result = train(o);
        const auto config = readCheckpointHeader(result.checkpointPath).config;
        QCOMPARE(config.at("pooling").get<std::string>(), std::string("topk"));
        QCOMPARE(config.at("topk_fraction").get<double>(), 0.25); // the later --set wins
        QCOMPARE(config.at("flip_inference").get<bool>(), false);

        o.out = m_dir.filePath("run_config_bad").toStdString(); // run_config holds the run above
        o.sets = {"pooling=average"};
        WSSS_VERIFY_THROWS_WITH(train(o), "average");
        o.sets = {"pool=gap"};
        WSSS_VERIFY_THROWS_WITH(train(o), "unknown config key \"pool\"");
        // A value of the wrong type names the key and the value.
        o.sets = {"flip_inference=maybe"};
        WSSS_VERIFY_THROWS_WITH(train(o), "config key \"flip_inference\": \"maybe\" is not true or false");
        o.sets = {"topk_fraction=half"};
        WSSS_VERIFY_THROWS_WITH(train(o), "config key \"topk_fraction\": \"half\" is not a number");
        o.sets = {};
        o.configFile = m_dir.filePath("absent.json").toStdString();
        WSSS_VERIFY_THROWS_WITH(train(o), "absent.json");
    }

    void badOptionsAreReported()
    {
        auto o = tinyOptions("cam", "run_bad");
        o.size = 60;
        WSSS_VERIFY_THROWS_WITH(train(o), "must be a positive multiple of 8");
        o = tinyOptions("nomethod", "run_bad");
        WSSS_VERIFY_THROWS_WITH(train(o), "unknown method \"nomethod\"");
        o = tinyOptions("cam", "run_bad");
        o.data = m_dir.filePath("absent").toStdString();
        WSSS_VERIFY_THROWS_WITH(train(o), "absent");
    }
};

QTEST_MAIN(TestCamTraining)
#include "test_cam_training.moc"
