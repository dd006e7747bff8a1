// `wsss inspect`: the .npy files a user gets for one image match the network's own tensors.
#include "support/tensor_compare.h"
#include "support/tiny_checkpoint.h"
#include "training/checkpoint/checkpoint.h"
#include "training/data/dataset.h"
#include "training/data/demo_generator.h"
#include "training/export/inspection_export.h"
#include "training/methods/method_registry.h"
#include "vision/io/image_io.h"
#include "vision/io/npy.h"

#include <QTemporaryDir>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

using namespace wsss;
using namespace wsss::training;

namespace {

torch::Tensor loadNpy(const std::string &path)
{
    auto a = vision::readNpy(path);
    return torch::from_blob(a.data.data(), a.shape, torch::kFloat).clone();
}

} // namespace

class TestInspectExport : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string m_image, m_checkpoint;

    std::string path(const std::string &name) const { return m_dir.filePath(QString::fromStdString(name)).toStdString(); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        cv::Mat rgb(48, 40, CV_8UC3);
        cv::randu(rgb, 0, 255);
        m_image = path("photo.jpg");
        vision::writeJpegRgb(m_image, rgb);

        m_checkpoint = path("cam.wsss");
        test::writeTinyCheckpoint(m_checkpoint, 3);
    }

    void checkpointFilesMatchTheNetwork()
    {
        InspectExportOptions o;
        o.checkpoint = m_checkpoint;
        o.image = m_image;
        o.out = path("inspect_cam");
        auto result = exportInspection(o);
        QCOMPARE(result.size, 64);
        QCOMPARE(result.gridHeight, std::int64_t{8});

        const auto input = loadNpy(o.out + "/input.npy");
        QCOMPARE(input.sizes().vec(), (std::vector<std::int64_t>{3, 64, 64}));
        // The same tensors straight from the reloaded model on the exported input.
        auto model = loadCheckpoint(m_checkpoint);
        model.method->eval();
        torch::NoGradGuard noGrad;
        auto out = model.method->backbone().forward(input.unsqueeze(0), vision::CaptureRequest::allAttention());
        WSSS_VERIFY_CLOSE(loadNpy(o.out + "/tokens.npy"), out.tokens[0], 1e-5);
        QCOMPARE(static_cast<int>(out.attention.size()), 2);
        for (int block = 0; block < 2; ++block) {
            const auto attn = loadNpy(o.out + "/attn_" + std::to_string(block) + ".npy");
            QCOMPARE(attn.sizes().vec(), (std::vector<std::int64_t>{2, 65, 65}));
            WSSS_VERIFY_CLOSE(attn, out.attention[block][0], 1e-5);
            WSSS_VERIFY_CLOSE(attn.sum(-1), torch::ones({2, 65}), 1e-4);
        }
        const auto cam = loadNpy(o.out + "/cam.npy");
        QCOMPARE(cam.sizes().vec(), (std::vector<std::int64_t>{10, 64, 64}));
        WSSS_VERIFY_CLOSE(cam, model.method->infer(input.unsqueeze(0), false, {}).maps.at("cam"), 1e-5);
        QCOMPARE(loadNpy(o.out + "/scores.npy").size(0), std::int64_t{10});

        std::ifstream in(o.out + "/inspection.json");
        const auto description = nlohmann::json::parse(in);
        QCOMPARE(description.at("maps"), nlohmann::json::array({"cam"}));
        QCOMPARE(description.at("classes").size(), std::size_t{11});
        QCOMPARE(description.at("image_size"), nlohmann::json::array({48, 40}));
    }

    void bareBackboneAtAnotherSize()
    {
        InspectExportOptions o;
        o.backbone = "vit_test_patch8";
        o.weights = "none";
        o.image = m_image;
        o.out = path("inspect_backbone");
        o.size = 32;
        auto result = exportInspection(o);
        QCOMPARE(result.gridWidth, std::int64_t{4});
        QCOMPARE(loadNpy(o.out + "/tokens.npy").sizes().vec(), (std::vector<std::int64_t>{17, 32}));
        QVERIFY(!std::filesystem::exists(o.out + "/scores.npy"));
    }

    void badInputIsNamed()
    {
        InspectExportOptions o;
        o.image = m_image;
        o.out = path("bad");
        WSSS_VERIFY_THROWS_WITH(exportInspection(o), "either --checkpoint or --backbone");
        o.checkpoint = m_checkpoint;
        o.size = 60;
        WSSS_VERIFY_THROWS_WITH(exportInspection(o), "multiple of the patch size");
        o.size = 0;
        const std::string broken = path("broken.jpg");
        std::ofstream(broken) << "not a jpeg";
        o.image = broken;
        WSSS_VERIFY_THROWS_WITH(exportInspection(o), "broken.jpg");
        o.image = m_image;
        o.checkpoint = m_image;
        WSSS_VERIFY_THROWS_WITH(exportInspection(o), "photo.jpg");
    }
};

QTEST_MAIN(TestInspectExport)
#include "test_inspect_export.moc"
