// Safetensors reading and writing, and strict weight loading with clear errors.
#include "support/tensor_compare.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"

#include <QTemporaryDir>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

using namespace wsss;

class TestSafetensors : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string path(const char *name) const { return m_dir.filePath(name).toStdString(); }

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void roundTripKeepsDtypesAndMetadata()
    {
        std::map<std::string, torch::Tensor> tensors = {
            {"a.f32", torch::randn({3, 4})},
            {"b.f16", torch::randn({5}).to(torch::kHalf)},
            {"c.bf16", torch::randn({2, 2}).to(torch::kBFloat16)},
            {"d.i64", torch::arange(6).reshape({2, 3})},
            {"e.scalar", torch::tensor(3.5f)},
        };
        vision::writeSafetensors(path("t.safetensors"), tensors, {{"note", "hello"}});
        auto file = vision::readSafetensors(path("t.safetensors"));
        QCOMPARE(file.metadata.at("note"), std::string("hello"));
        QCOMPARE(file.tensors.size(), tensors.size());
        for (const auto &[name, t] : tensors) {
            const auto &r = file.tensors.at(name);
            QCOMPARE(r.scalar_type(), t.scalar_type());
            QVERIFY(torch::equal(r, t));
        }
        // The first 8 bytes are the little-endian header length; the data section is 8-aligned.
        std::ifstream in(path("t.safetensors"), std::ios::binary);
        unsigned char len[8];
        in.read(reinterpret_cast<char *>(len), 8);
        QCOMPARE(len[0] % 8, 0);
    }

    void truncatedFileIsReported()
    {
        vision::writeSafetensors(path("full.safetensors"), {{"w", torch::randn({64, 64})}});
        const auto full = std::filesystem::file_size(path("full.safetensors"));
        std::filesystem::copy_file(path("full.safetensors"), path("cut.safetensors"));
        std::filesystem::resize_file(path("cut.safetensors"), full - 100);
        WSSS_VERIFY_THROWS_WITH(vision::readSafetensors(path("cut.safetensors")), "truncated");
        WSSS_VERIFY_THROWS_WITH(vision::readSafetensors(path("cut.safetensors")), "cut.safetensors");
    }

    void notSafetensorsIsReported()
    {
        std::ofstream(path("junk.safetensors")) << "this is a text file, not tensors";
        WSSS_VERIFY_THROWS_WITH(vision::readSafetensors(path("junk.safetensors")), "not a safetensors file");
        WSSS_VERIFY_THROWS_WITH(vision::readSafetensors(path("absent.safetensors")), "cannot open");
    }

    void folderAndPthAreNamed()
    {
        // A folder opens as a stream on Linux; its "header length" used to be read from nowhere.
        std::filesystem::create_directories(path("weights_dir"));
        WSSS_VERIFY_THROWS_WITH(vision::readSafetensors(path("weights_dir")), "is a folder");
        // torch.save's zip archive and the older bare pickle get the conversion to run.
        std::ofstream(path("model.pth"), std::ios::binary) << std::string("PK\3\4\0\0archive/data.pkl", 22);
        WSSS_VERIFY_THROWS_WITH(vision::readSafetensors(path("model.pth")), "is a PyTorch .pth file (zip)");
        WSSS_VERIFY_THROWS_WITH(vision::readSafetensors(path("model.pth")), "st.save_file");
        std::ofstream(path("old.pth"), std::ios::binary) << std::string("\x80\x02\x8a\x0a" "legacy", 10);
        WSSS_VERIFY_THROWS_WITH(vision::readSafetensors(path("old.pth")), "is a PyTorch .pth file (pickle)");
        // A safetensors header of 0x280 bytes begins 0x80 0x02, as a pickle does: it still loads.
        std::string header = "{}";
        header.resize(0x280, ' ');
        std::ofstream(path("pickle_like.safetensors"), std::ios::binary)
            << std::string("\x80\x02\0\0\0\0\0\0", 8) << header;
        QVERIFY(vision::readSafetensors(path("pickle_like.safetensors")).tensors.empty());
    }

    void strictLoadNamesTheKey()
    {
        vision::VisionTransformer vit(vision::vitPreset("vit_test_patch8"));
        auto state = vision::stateDict(*vit);

        auto wrongShape = state;
        wrongShape["blocks.1.attn.qkv.weight"] = torch::zeros({5, 5});
        WSSS_VERIFY_THROWS_WITH(vision::loadStateDict(*vit, wrongShape, "w.safetensors"),
                                "tensor \"blocks.1.attn.qkv.weight\" has shape [5, 5], expected [96, 32]");

        auto missing = state;
        missing.erase("norm.weight");
        WSSS_VERIFY_THROWS_WITH(vision::loadStateDict(*vit, missing, "w.safetensors"), "missing tensors: norm.weight");

        auto extra = state;
        extra["head.weight"] = torch::zeros({10, 32});
        WSSS_VERIFY_THROWS_WITH(vision::loadStateDict(*vit, extra, "w.safetensors"), "unexpected tensors: head.weight");
    }

    void loadCopiesValuesAndConvertsDtype()
    {
        vision::VisionTransformer a(vision::vitPreset("vit_test_patch8"));
        torch::manual_seed(1);
        vision::VisionTransformer b(vision::vitPreset("vit_test_patch8"));
        std::map<std::string, torch::Tensor> half;
        for (auto &[k, v] : vision::stateDict(*a))
            half[k] = v.to(torch::kHalf);
        vision::writeSafetensors(path("half.safetensors"), half);
        vision::loadStateDict(*b, vision::readSafetensors(path("half.safetensors")).tensors, "half.safetensors");
        torch::NoGradGuard noGrad;
        auto x = torch::randn({1, 3, 64, 64});
        WSSS_VERIFY_CLOSE(a(x).tokens, b(x).tokens, 2e-2); // fp16 storage rounding
        WSSS_VERIFY_CLOSE(vision::stateDict(*b).at("pos_embed"), half.at("pos_embed").to(torch::kFloat), 0.0);
    }

    void positionEmbeddingIsResizedOnLoad()
    {
        auto small = vision::vitPreset("vit_test_patch8"); // 8×8 grid
        auto large = small;
        large.imgSize = 96; // 12×12 grid
        vision::VisionTransformer a(small), b(large);
        vision::loadStateDict(*b, vision::stateDict(*a), "a");
        QCOMPARE(vision::stateDict(*b).at("pos_embed").size(1), 1 + 144);
    }
};

QTEST_APPLESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
