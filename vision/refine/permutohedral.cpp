#include "vision/refine/permutohedral.h"

#include "vision/core/error.h"
#include "vision/core/vector_clones.h"

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace wsss::vision {

namespace {

constexpr int kMaxDimensions = 16;
// Keeps every lattice coordinate far inside int32 (|key| ≲ (d+1)·d·|f|).
constexpr float kMaxFeature = 1e6f;
constexpr std::int64_t kGrain = 2048;

// Where each point sits in the lattice (steps 1-6 of methods/common.md §1.5): the remainder-0
// point, the rank of every coordinate and the barycentric weights. numPoints × (d+1) each.
struct Simplices {
    std::vector<std::int32_t> remainder0;
    std::vector<std::uint8_t> rank;
    std::vector<float> weight;
};

Simplices locateSimplices(const float *features, std::int64_t n, int d)
{
    const int d1 = d + 1;
    // The lattice's axes are scaled so a blur step of (½, 1, ½) per direction approximates a
    // unit Gaussian: s_k = √(2/3)·(d+1)/√(k(k+1)).
    float scale[kMaxDimensions];
    for (int k = 1; k <= d; ++k)
        scale[k - 1] = static_cast<float>(std::sqrt(2.0 / 3.0) * d1 / std::sqrt(static_cast<double>(k * (k + 1))));

    Simplices s;
    s.remainder0.resize(static_cast<std::size_t>(n * d1));
    s.rank.resize(static_cast<std::size_t>(n * d1));
    s.weight.resize(static_cast<std::size_t>(n * d1));
    at::parallel_for(0, n, kGrain, [&](std::int64_t begin, std::int64_t end) {
        float elevated[kMaxDimensions + 1], residual[kMaxDimensions + 1], bary[kMaxDimensions + 2];
        int rem0[kMaxDimensions + 1], rank[kMaxDimensions + 1];
        for (std::int64_t i = begin; i < end; ++i) {
            const float *f = features + i * d;
            // Elevate onto the plane Σ e = 0 with a running suffix sum.
            float suffix = 0.0f;
            for (int j = d; j > 0; --j) {
                const float c = f[j - 1] * scale[j - 1];
                elevated[j] = suffix - static_cast<float>(j) * c;
                suffix += c;
            }
            elevated[0] = suffix;
            // Nearest remainder-0 point; nearbyint rounds half to even, like the SSE build.
            int sigma = 0;
            for (int j = 0; j <= d; ++j) {
                const int q = static_cast<int>(std::nearbyint(elevated[j] / static_cast<float>(d1)));
                rem0[j] = q * d1;
                sigma += q;
                residual[j] = elevated[j] - static_cast<float>(rem0[j]);
                rank[j] = 0;
            }
            for (int a = 0; a <= d; ++a)
                for (int b = a + 1; b <= d; ++b) {
                    if (residual[a] < residual[b])
                        ++rank[a];
                    else
                        ++rank[b];
                }
            // Re-project onto the plane when the rounded point is off it.
            for (int j = 0; j <= d; ++j) {
                rank[j] += sigma;
                if (rank[j] < 0) {
                    rank[j] += d1;
                    rem0[j] += d1;
                } else if (rank[j] > d) {
                    rank[j] -= d1;
                    rem0[j] -= d1;
                }
            }
            std::fill(bary, bary + d + 2, 0.0f);
            for (int j = 0; j <= d; ++j) {
                const float t = (elevated[j] - static_cast<float>(rem0[j])) / static_cast<float>(d1);
                bary[d - rank[j]] += t;
                bary[d - rank[j] + 1] -= t;
            }
            bary[0] += 1.0f + bary[d + 1];
            for (int j = 0; j <= d; ++j) {
                s.remainder0[static_cast<std::size_t>(i * d1 + j)] = rem0[j];
                s.rank[static_cast<std::size_t>(i * d1 + j)] = static_cast<std::uint8_t>(rank[j]);
                s.weight[static_cast<std::size_t>(i * d1 + j)] = bary[j];
            }
        }
    });
    return s;
}

// Open-addressing map from d integer coordinates to a 1-based vertex index. It starts at twice
// the number of points (vertices are usually fewer) and doubles whenever it is half full.
class VertexTable {
public:
    VertexTable(std::int64_t numPoints, int d) : m_d(d)
    {
        resize(static_cast<std::size_t>(std::max<std::int64_t>(2 * numPoints, 16)));
        m_keys.reserve(static_cast<std::size_t>(numPoints / 4 + 16) * d);
    }

    std::int32_t insert(const std::int32_t *key)
    {
        for (std::size_t slot = hash(key) & m_mask;; slot = (slot + 1) & m_mask) {
            const std::int32_t v = m_slots[slot];
            if (v == 0) {
                m_keys.insert(m_keys.end(), key, key + m_d);
                const auto vertex = static_cast<std::int32_t>(m_keys.size() / m_d);
                m_slots[slot] = vertex;
                if (static_cast<std::size_t>(vertex) * 2 > m_slots.size())
                    resize(m_slots.size() * 2);
                return vertex;
            }
            if (sameKey(key, v))
                return v;
        }
    }

    std::int32_t find(const std::int32_t *key) const // 0 when absent
    {
        for (std::size_t slot = hash(key) & m_mask;; slot = (slot + 1) & m_mask) {
            const std::int32_t v = m_slots[slot];
            if (v == 0 || sameKey(key, v))
                return v;
        }
    }

    std::int64_t size() const { return static_cast<std::int64_t>(m_keys.size() / m_d); }
    const std::int32_t *key(std::int32_t vertex) const { return m_keys.data() + static_cast<std::size_t>(vertex - 1) * m_d; }

private:
    void resize(std::size_t atLeast)
    {
        std::size_t capacity = 16;
        while (capacity < atLeast)
            capacity *= 2;
        m_slots.assign(capacity, 0);
        m_mask = capacity - 1;
        for (std::int32_t v = 1; v <= size(); ++v) {
            std::size_t slot = hash(key(v)) & m_mask;
            while (m_slots[slot] != 0)
                slot = (slot + 1) & m_mask;
            m_slots[slot] = v;
        }
    }

    // A plain loop: d is 2..5 here, too short for memcmp to pay off.
    bool sameKey(const std::int32_t *key, std::int32_t vertex) const
    {
        const std::int32_t *stored = m_keys.data() + static_cast<std::size_t>(vertex - 1) * m_d;
        for (int j = 0; j < m_d; ++j)
            if (key[j] != stored[j])
                return false;
        return true;
    }

    std::size_t hash(const std::int32_t *key) const
    {
        std::uint64_t h = 0;
        for (int j = 0; j < m_d; ++j)
            h = (h + static_cast<std::uint32_t>(key[j])) * 0x9E3779B97F4A7C15ull;
        return static_cast<std::size_t>(h ^ (h >> 29));
    }

    int m_d;
    std::size_t m_mask = 0;
    std::vector<std::int32_t> m_slots;
    std::vector<std::int32_t> m_keys;
};

// The filtering loops run over rows of valueSize floats; an AVX2 clone, picked at load time,
// doubles their vector width on CPUs that have it (vision/core/vector_clones.h).

struct SplatLists {
    const std::int64_t *begin;
    const std::int32_t *point;
    const float *weight;
};

struct SliceWeights {
    const std::int32_t *vertex;
    const float *weight;
    int perPoint;
};

// grid[v] = Σ over the points p of vertex v of weight · inScale_p · in_p, for v in [first, last).
// Lanes: 8 when vs is a multiple of 8 (each 8-label slice summed in one register, no tail), else 1.
// Always inlined, so each target clone below gets its own vector width.
template <int Lanes>
[[gnu::always_inline]] inline void splatRows(const SplatLists &lists, const float *__restrict in, const float *inScale,
                                             int vs, std::int64_t first, std::int64_t last, float *__restrict grid)
{
    for (std::int64_t v = first; v < last; ++v) {
        float *__restrict row = grid + v * vs;
        const std::int64_t e0 = lists.begin[v - 1], e1 = lists.begin[v];
        if constexpr (Lanes == 1) { // any vs: one pass over the points, the labels vectorised
            std::fill(row, row + vs, 0.0f);
            for (std::int64_t e = e0; e < e1; ++e) {
                const std::int32_t p = lists.point[e];
                const float w = lists.weight[e] * (inScale ? inScale[p] : 1.0f);
                const float *__restrict src = in + static_cast<std::int64_t>(p) * vs;
                for (int c = 0; c < vs; ++c)
                    row[c] += w * src[c];
            }
            continue;
        }
        for (int c0 = 0; c0 < vs; c0 += Lanes) {
            float acc[Lanes] = {};
            for (std::int64_t e = e0; e < e1; ++e) {
                const std::int32_t p = lists.point[e];
                const float w = lists.weight[e] * (inScale ? inScale[p] : 1.0f);
                const float *__restrict src = in + static_cast<std::int64_t>(p) * vs + c0;
                for (int c = 0; c < Lanes; ++c)
                    acc[c] += w * src[c];
            }
            for (int c = 0; c < Lanes; ++c)
                row[c0 + c] = acc[c];
        }
    }
}

WSSS_VECTOR_CLONES void splatRange(const SplatLists &lists, const float *__restrict in, const float *inScale, int vs,
                                   std::int64_t first, std::int64_t last, float *__restrict grid)
{
    if (vs % 8 == 0)
        splatRows<8>(lists, in, inScale, vs, first, last, grid);
    else
        splatRows<1>(lists, in, inScale, vs, first, last, grid);
}

// One blur direction: dst[v] = src[v] + ½·(src[n1(v)] + src[n2(v)]).
WSSS_VECTOR_CLONES void blurRange(const float *__restrict src, const std::int32_t *neighbours, int vs,
                                  std::int64_t first, std::int64_t last, float *__restrict dst)
{
    for (std::int64_t v = first; v < last; ++v) {
        const float *self = src + v * vs;
        const float *lo = src + static_cast<std::int64_t>(neighbours[(v - 1) * 2]) * vs;
        const float *hi = src + static_cast<std::int64_t>(neighbours[(v - 1) * 2 + 1]) * vs;
        float *row = dst + v * vs;
        for (int c = 0; c < vs; ++c)
            row[c] = self[c] + 0.5f * (lo[c] + hi[c]);
    }
}

// out_i = add_i + alpha · outScale_i · Σ_k b_k · grid[vertex_k], for points i in [first, last)
// (add null: 0). Lanes as for splatRows.
template <int Lanes>
[[gnu::always_inline]] inline void sliceRows(const SliceWeights &slice, const float *__restrict grid, float alpha,
                                             const float *outScale, const float *add, int vs, std::int64_t first,
                                             std::int64_t last, float *out)
{
    for (std::int64_t i = first; i < last; ++i) {
        const float scale = alpha * (outScale ? outScale[i] : 1.0f);
        float *dst = out + i * vs;
        const float *base = add ? add + i * vs : nullptr;
        const std::int32_t *vertex = slice.vertex + i * slice.perPoint;
        const float *weight = slice.weight + i * slice.perPoint;
        if constexpr (Lanes == 1) { // any vs: accumulate whole rows, the labels vectorised
            if (!base)
                std::fill(dst, dst + vs, 0.0f);
            else if (base != dst)
                std::copy_n(base, vs, dst);
            for (int k = 0; k < slice.perPoint; ++k) {
                const float w = scale * weight[k];
                const float *__restrict src = grid + static_cast<std::int64_t>(vertex[k]) * vs;
                for (int c = 0; c < vs; ++c)
                    dst[c] += w * src[c];
            }
            continue;
        }
        for (int c0 = 0; c0 < vs; c0 += Lanes) {
            float acc[Lanes] = {};
            for (int k = 0; k < slice.perPoint; ++k) {
                const float w = weight[k];
                const float *__restrict src = grid + static_cast<std::int64_t>(vertex[k]) * vs + c0;
                for (int c = 0; c < Lanes; ++c)
                    acc[c] += w * src[c];
            }
            if (base)
                for (int c = 0; c < Lanes; ++c)
                    dst[c0 + c] = base[c0 + c] + scale * acc[c];
            else
                for (int c = 0; c < Lanes; ++c)
                    dst[c0 + c] = scale * acc[c];
        }
    }
}

WSSS_VECTOR_CLONES void sliceRange(const SliceWeights &slice, const float *__restrict grid, float alpha,
                                   const float *outScale, const float *add, int vs, std::int64_t first,
                                   std::int64_t last, float *out)
{
    if (vs % 8 == 0)
        sliceRows<8>(slice, grid, alpha, outScale, add, vs, first, last, out);
    else
        sliceRows<1>(slice, grid, alpha, outScale, add, vs, first, last, out);
}

void checkFeatures(const float *features, std::int64_t n, int d)
{
    if (d < 1 || d > kMaxDimensions)
        throw Error("permutohedral lattice: " + std::to_string(d) + " feature dimensions (expected 1.." +
                    std::to_string(kMaxDimensions) + ")");
    if (n < 0 || n >= (std::int64_t{1} << 31) / (d + 1))
        throw Error("permutohedral lattice: " + std::to_string(n) + " points is out of range");
    for (std::int64_t i = 0; i < n * d; ++i)
        if (!(std::abs(features[i]) <= kMaxFeature))
            throw Error("permutohedral lattice: feature " + std::to_string(i % d) + " of point " +
                        std::to_string(i / d) + " is " + std::to_string(features[i]) + " (expected finite, |f| ≤ 1e6)");
}

} // namespace

PermutohedralLattice::PermutohedralLattice(const float *features, std::int64_t numPoints, int dimensions)
    : m_numPoints(numPoints), m_dimensions(dimensions)
{
    checkFeatures(features, numPoints, dimensions);
    const int d = dimensions, d1 = d + 1;
    Simplices s = locateSimplices(features, numPoints, d);
    m_pointWeight = std::move(s.weight);

    // Step 7: the d+1 vertices of each point's simplex, numbered in first-seen order.
    VertexTable table(numPoints, d);
    m_pointVertex.resize(static_cast<std::size_t>(numPoints * d1));
    std::int32_t key[kMaxDimensions];
    for (std::int64_t i = 0; i < numPoints; ++i) {
        const std::int32_t *rem0 = s.remainder0.data() + i * d1;
        const std::uint8_t *rank = s.rank.data() + i * d1;
        // Neighbouring pixels often fall in the same simplex: reuse the previous point's vertices.
        if (i > 0 && std::equal(rem0, rem0 + d1, rem0 - d1) && std::equal(rank, rank + d1, rank - d1)) {
            std::copy_n(m_pointVertex.data() + (i - 1) * d1, d1, m_pointVertex.data() + i * d1);
            continue;
        }
        for (int k = 0; k <= d; ++k) {
            for (int j = 0; j < d; ++j)
                key[j] = rem0[j] + (rank[j] <= d - k ? k : k - d1);
            m_pointVertex[static_cast<std::size_t>(i * d1 + k)] = table.insert(key);
        }
    }
    m_numVertices = table.size();
    const std::int64_t m = m_numVertices;

    // Splat as a gather, so it runs in parallel over vertices and sums in point order.
    m_splatBegin.assign(static_cast<std::size_t>(m + 1), 0);
    for (std::int32_t v : m_pointVertex)
        ++m_splatBegin[static_cast<std::size_t>(v)];
    for (std::int64_t v = 1; v <= m; ++v)
        m_splatBegin[static_cast<std::size_t>(v)] += m_splatBegin[static_cast<std::size_t>(v - 1)];
    std::vector<std::int64_t> cursor(m_splatBegin.begin(), m_splatBegin.end() - 1);
    m_splatPoint.resize(m_pointVertex.size());
    m_splatWeight.resize(m_pointVertex.size());
    for (std::int64_t i = 0; i < numPoints; ++i)
        for (int k = 0; k <= d; ++k) {
            const std::size_t e = static_cast<std::size_t>(i * d1 + k);
            const auto pos = static_cast<std::size_t>(cursor[static_cast<std::size_t>(m_pointVertex[e] - 1)]++);
            m_splatPoint[pos] = static_cast<std::int32_t>(i);
            m_splatWeight[pos] = m_pointWeight[e];
        }

    // Step 8: both neighbours of every vertex along each of the d+1 lattice directions.
    m_neighbour.assign(static_cast<std::size_t>(d1 * m * 2), 0);
    at::parallel_for(1, m + 1, kGrain, [&](std::int64_t begin, std::int64_t end) {
        std::int32_t minus[kMaxDimensions], plus[kMaxDimensions];
        for (std::int64_t v = begin; v < end; ++v) {
            const std::int32_t *key = table.key(static_cast<std::int32_t>(v));
            for (int j = 0; j <= d; ++j) {
                for (int a = 0; a < d; ++a) {
                    minus[a] = key[a] + (a == j ? d : -1);
                    plus[a] = key[a] + (a == j ? -d : 1);
                }
                const auto pos = static_cast<std::size_t>((j * m + v - 1) * 2);
                m_neighbour[pos] = table.find(minus);
                m_neighbour[pos + 1] = table.find(plus);
            }
        }
    });
}

void PermutohedralLattice::filter(const float *in, float *out, int valueSize, const float *inScale,
                                  const float *outScale, const float *add) const
{
    if (valueSize < 1)
        throw Error("permutohedral lattice: value size " + std::to_string(valueSize) + " (expected ≥ 1)");
    const int d = m_dimensions, vs = valueSize;
    const std::int64_t m = m_numVertices;
    // Row 0 of each buffer is the absent neighbour and stays zero; every other row is written
    // before it is read, so the buffers need no clearing. LibTorch's allocator, not new[]: the
    // CRF filters 20 times per image, and its block cache (vision/core/cpu_memory.h) hands the
    // same pages back each time instead of fresh ones the kernel must zero.
    const at::Tensor gridBuffer = at::empty({(m + 1) * vs}, at::TensorOptions(at::kFloat));
    const at::Tensor nextBuffer = at::empty({(m + 1) * vs}, at::TensorOptions(at::kFloat));
    float *grid = gridBuffer.data_ptr<float>(), *next = nextBuffer.data_ptr<float>();
    std::fill(grid, grid + vs, 0.0f);
    std::fill(next, next + vs, 0.0f);

    const SplatLists splat{m_splatBegin.data(), m_splatPoint.data(), m_splatWeight.data()};
    at::parallel_for(1, m + 1, kGrain / 4, [&](std::int64_t begin, std::int64_t end) {
        splatRange(splat, in, inScale, vs, begin, end, grid);
    });
    for (int j = 0; j <= d; ++j) {
        const std::int32_t *nb = m_neighbour.data() + static_cast<std::int64_t>(j) * m * 2;
        // A blur pass is light; below ~64k values per task, threads cost more than they give.
        at::parallel_for(1, m + 1, std::max<std::int64_t>(kGrain, 65536 / vs), [&](std::int64_t begin, std::int64_t end) {
            blurRange(grid, nb, vs, begin, end, next);
        });
        std::swap(grid, next);
    }
    // α = 1/(1 + 2^−d) is pydensecrf's constant (it cancels under normalisation).
    const float alpha = 1.0f / (1.0f + std::pow(2.0f, static_cast<float>(-d)));
    const SliceWeights slice{m_pointVertex.data(), m_pointWeight.data(), d + 1};
    at::parallel_for(0, m_numPoints, kGrain / 4, [&](std::int64_t begin, std::int64_t end) {
        sliceRange(slice, grid, alpha, outScale, add, vs, begin, end, out);
    });
}

} // namespace wsss::vision
