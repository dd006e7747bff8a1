// Devices: names resolve or fail clearly; on a CUDA machine a checkpoint runs there in float32
// and float16 with the same maps as on the CPU (skipped where CUDA is absent).
#include "support/tensor_compare.h"
#include "support/tiny_checkpoint.h"
#include "training/checkpoint/checkpoint.h"
#include "training/data/demo_generator.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"

#include <QTemporaryDir>
#include <opencv2/core.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

using namespace wsss;
using namespace wsss::training;

class TestDevices : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string m_checkpoint;
    cv::Mat m_image;

private Q_SLOTS:
    void initTestCase()
    {
        m_checkpoint = m_dir.filePath("cam.wsss").toStdString();
        test::writeTinyCheckpoint(m_checkpoint, 5);
        m_image = cv::Mat(72, 80, CV_8UC3);
        cv::randu(m_image, 0, 255);
    }

    void namesResolveOrFailClearly()
    {
        QVERIFY(resolveDevice("cpu").is_cpu());
        QCOMPARE(resolveDevice("auto").is_cuda(), torch::cuda::is_available());
        WSSS_VERIFY_THROWS_WITH(resolveDevice("gpu"), "unknown device \"gpu\"");
        if (!torch::cuda::is_available()) {
            WSSS_VERIFY_THROWS_WITH(resolveDevice("cuda:0"), "CUDA is not available");
        } else {
            const auto count = std::to_string(torch::cuda::device_count());
            WSSS_VERIFY_THROWS_WITH(resolveDevice("cuda:" + count), "only " + count);
        }
        auto model = loadCheckpoint(m_checkpoint);
        WSSS_VERIFY_THROWS_WITH(useHalfPrecision(model, torch::kCPU), "needs a CUDA device");
    }

    void cudaMatchesCpuInFloat32AndFloat16()
    {
        if (!torch::cuda::is_available())
            QSKIP("no CUDA device on this machine");
        auto cpuModel = loadCheckpoint(m_checkpoint);
        const auto reference = inferImage(cpuModel, m_image, true, torch::kCPU);

        const torch::Device cuda(torch::kCUDA);
        auto gpuModel = loadCheckpoint(m_checkpoint, cuda);
        const auto fp32 = inferImage(gpuModel, m_image, true, cuda);
        QVERIFY(fp32.maps.at("cam").is_cpu());
        WSSS_VERIFY_CLOSE(fp32.maps.at("cam"), reference.maps.at("cam"), 1e-4);
        WSSS_VERIFY_CLOSE(fp32.attention.back(), reference.attention.back(), 1e-5);

        useHalfPrecision(gpuModel, cuda);
        const auto fp16 = inferImage(gpuModel, m_image, true, cuda);
        QCOMPARE(fp16.maps.at("cam").scalar_type(), torch::kFloat);
        WSSS_VERIFY_CLOSE(fp16.maps.at("cam"), reference.maps.at("cam"), 3e-2);
        WSSS_VERIFY_CLOSE(fp16.scores, reference.scores, 1e-2);
    }
};

QTEST_MAIN(TestDevices)
#include "test_devices.moc"
