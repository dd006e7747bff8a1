#pragma once
// PermutohedralLattice: Gaussian filtering in a d-dimensional feature space in time linear in
// the number of points (Adams, Baek & Davis 2010), as pydensecrf does it (methods/common.md §1.5).
// Build it once per feature set, then filter as many value arrays as needed; filter() is const
// and may run from several threads at once.
#include <cstdint>
#include <vector>

namespace wsss::vision {

class PermutohedralLattice {
public:
    // features: numPoints × dimensions floats, row-major, already divided by the kernel's
    // standard deviation per axis. Throws wsss::Error on non-finite features or a bad size.
    PermutohedralLattice(const float *features, std::int64_t numPoints, int dimensions);

    // out_i = add_i + outScale_i · Σ_j k(f_i, f_j) · inScale_j · in_j, k ≈ c·exp(−½‖f_i − f_j‖²)
    // with the self term included. in, out and add: numPoints × valueSize, row-major; in and out
    // not aliased; add may be out (accumulate) or null (0). A null scale means 1.
    void filter(const float *in, float *out, int valueSize, const float *inScale = nullptr,
                const float *outScale = nullptr, const float *add = nullptr) const;

    std::int64_t numPoints() const { return m_numPoints; }
    int dimensions() const { return m_dimensions; }
    std::int64_t numVertices() const { return m_numVertices; } // lattice points that received a splat

private:
    std::int64_t m_numPoints = 0;
    int m_dimensions = 0;
    std::int64_t m_numVertices = 0;
    // Per point, its d+1 enclosing simplex vertices (1-based: vertex 0 is the always-zero
    // "absent neighbour") and their barycentric weights; numPoints × (d+1).
    std::vector<std::int32_t> m_pointVertex;
    std::vector<float> m_pointWeight;
    // Splat as a gather: the (point, weight) pairs of vertex v, in point order, are
    // m_splatPoint/m_splatWeight[m_splatBegin[v-1] .. m_splatBegin[v]).
    std::vector<std::int64_t> m_splatBegin;
    std::vector<std::int32_t> m_splatPoint;
    std::vector<float> m_splatWeight;
    // Blur: for direction j and vertex v (1-based), the two neighbours (0 when absent) at
    // m_neighbour[(j·numVertices + v−1)·2 + {0, 1}].
    std::vector<std::int32_t> m_neighbour;
};

} // namespace wsss::vision
