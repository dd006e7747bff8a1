#include "vision/core/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

namespace wsss::vision {

namespace {

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

// OpenBLAS's x86 core names by generation of their single-precision kernels; -1 for the others.
int generation(const std::string &core)
{
    static const std::map<std::string, int> known = {
        {"katmai", 0},      {"coppermine", 0}, {"northwood", 0},  {"prescott", 0},   {"banias", 0},
        {"core2", 0},       {"penryn", 0},     {"dunnington", 0}, {"nehalem", 0},    {"atom", 0},
        {"opteron", 0},     {"barcelona", 0},  {"bobcat", 0},     {"sandybridge", 1}, {"bulldozer", 1},
        {"piledriver", 1},  {"steamroller", 1}, {"excavator", 1}, {"haswell", 2},    {"zen", 2},
        {"skylakex", 3},    {"cooperlake", 3}, {"sapphirerapids", 3}};
    const auto it = known.find(lower(core));
    return it == known.end() ? -1 : it->second;
}

} // namespace

std::string blasCoreName()
{
    // Exported by every OpenBLAS; looked up at run time so another BLAS links as well.
    using CoreName = char *(*)();
    const auto corename = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    const char *name = corename ? corename() : nullptr;
    return name ? std::string(name) : std::string();
}

std::string fastestBlasCoreForThisCpu()
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return "";
}

bool isSlowerBlasCore(const std::string &current, const std::string &fastest)
{
    const int have = generation(current), best = generation(fastest);
    return have >= 0 && best >= 0 && have < best;
}

void useFastestBlasKernels(char **argv)
{
    if (std::getenv("OPENBLAS_CORETYPE"))
        return; // the user's choice, or this is already the second start
    const std::string fastest = fastestBlasCoreForThisCpu();
    if (!isSlowerBlasCore(blasCoreName(), fastest))
        return;
    if (setenv("OPENBLAS_CORETYPE", fastest.c_str(), 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); // execv failed: carry on with the kernels already loaded
}

} // namespace wsss::vision
