#pragma once
// Test helpers for tensors and errors (after PyTorch's test/cpp/api/support.h).
#include <QtTest/QtTest>

#include <functional>
#include <map>
#include <string>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace wsss::test {

inline bool verifyClose(const torch::Tensor &actual, const torch::Tensor &expected, double atol,
                        std::string *why = nullptr)
{
    if (actual.sizes() != expected.sizes()) {
        if (why)
            *why = "shape differs";
        return false;
    }
    const double diff = (actual.to(torch::kDouble) - expected.to(torch::kDouble)).abs().max().item<double>();
    if (diff > atol) {
        if (why)
            *why = "max abs difference " + std::to_string(diff);
        return false;
    }
    return true;
}

// Copies of a module's parameters by name: what a later state is compared with.
inline std::map<std::string, torch::Tensor> parameterSnapshot(const torch::nn::Module &m)
{
    std::map<std::string, torch::Tensor> out;
    for (const auto &p : m.named_parameters(true))
        out[p.key()] = p.value().detach().clone();
    return out;
}

// Gives `to` the parameters of `from` by name (two methods built alike that differ in config only).
inline void copyParameters(torch::nn::Module &from, torch::nn::Module &to)
{
    torch::NoGradGuard noGrad;
    auto target = to.named_parameters(true);
    for (const auto &p : from.named_parameters(true))
        target[p.key()].copy_(p.value());
}

// The first parameter or buffer of `a` that `b` lacks or holds with another value, with what is
// wrong; "" when both hold the same tensors under the same names (a checkpoint round trip).
inline std::string firstDifferentTensor(const torch::nn::Module &a, const torch::nn::Module &b)
{
    const auto check = [](const auto &mine, const auto &theirs, const char *what) -> std::string {
        if (mine.size() != theirs.size())
            return std::string(what) + " count " + std::to_string(mine.size()) + " vs " + std::to_string(theirs.size());
        for (const auto &t : mine) {
            const torch::Tensor *other = theirs.find(t.key());
            if (!other)
                return t.key() + " missing";
            if (!torch::equal(t.value(), *other))
                return t.key() + " differs";
        }
        return {};
    };
    const std::string parameters = check(a.named_parameters(true), b.named_parameters(true), "parameter");
    return parameters.empty() ? check(a.named_buffers(true), b.named_buffers(true), "buffer") : parameters;
}

} // namespace wsss::test

#define WSSS_VERIFY_CLOSE(a, b, atol)                                                    \
    do {                                                                                 \
        std::string why_;                                                                \
        QVERIFY2(wsss::test::verifyClose((a), (b), (atol), &why_), why_.c_str());        \
    } while (0)

// Checks that `expr` throws an exception whose message contains `substring`.
#define WSSS_VERIFY_THROWS_WITH(expr, substring)                                          \
    do {                                                                                  \
        bool thrown_ = false;                                                             \
        try {                                                                             \
            expr;                                                                         \
        } catch (const std::exception &e_) {                                              \
            thrown_ = true;                                                               \
            const std::string msg_ = e_.what();                                           \
            QVERIFY2(msg_.find(substring) != std::string::npos, msg_.c_str());            \
        }                                                                                 \
        QVERIFY2(thrown_, "expected an exception: " #expr);                               \
    } while (0)
