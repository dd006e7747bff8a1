#pragma once
// Test helpers for tensors and errors (after PyTorch's test/cpp/api/support.h).
#include <QtTest/QtTest>

#include <functional>
#include <string>

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
