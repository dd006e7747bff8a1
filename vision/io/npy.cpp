#include "vision/io/npy.h"

#include "vision/core/error.h"
#include "vision/io/atomic_write.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

namespace wsss::vision {
namespace {

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float sizes expected");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.cpp reads and writes little-endian data by memcpy; add byte swapping for this platform"
#endif

constexpr char kMagic[] = "\x93NUMPY";

std::string npyLabel(const std::string &path)
{
    return "npy \"" + path + "\"";
}

std::int64_t elementCount(const std::vector<std::int64_t> &shape, const std::string &path)
{
    std::int64_t n = 1;
    for (std::int64_t d : shape) {
        if (d < 0)
            throw Error(npyLabel(path) + ": negative dimension " + std::to_string(d));
        if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d)
            throw Error(npyLabel(path) + ": shape too large");
        n *= d;
    }
    return n;
}

// The value after 'key': in the header dict, up to the end of that value.
std::string dictValue(const std::string &header, const std::string &key, const std::string &path)
{
    std::size_t pos = header.find("'" + key + "'");
    if (pos == std::string::npos)
        pos = header.find("\"" + key + "\"");
    if (pos == std::string::npos)
        throw Error(npyLabel(path) + ": header has no '" + key + "'");
    pos = header.find(':', pos);
    if (pos == std::string::npos)
        throw Error(npyLabel(path) + ": malformed header near '" + key + "'");
    ++pos;
    while (pos < header.size() && header[pos] == ' ')
        ++pos;
    if (pos >= header.size())
        throw Error(npyLabel(path) + ": malformed header near '" + key + "'");
    std::size_t end;
    if (header[pos] == '(') {
        end = header.find(')', pos);
        if (end == std::string::npos)
            throw Error(npyLabel(path) + ": unterminated shape tuple");
        return header.substr(pos, end - pos + 1);
    }
    if (header[pos] == '\'' || header[pos] == '"') {
        end = header.find(header[pos], pos + 1);
        if (end == std::string::npos)
            throw Error(npyLabel(path) + ": unterminated string for '" + key + "'");
        return header.substr(pos + 1, end - pos - 1);
    }
    end = header.find_first_of(",}", pos);
    std::string v = header.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    while (!v.empty() && v.back() == ' ')
        v.pop_back();
    return v;
}

std::vector<std::int64_t> parseShape(const std::string &tuple, const std::string &path)
{
    std::vector<std::int64_t> shape;
    std::size_t i = 1; // past '('
    while (i < tuple.size()) {
        const char c = tuple[i];
        if (c >= '0' && c <= '9') {
            std::int64_t v = 0;
            while (i < tuple.size() && tuple[i] >= '0' && tuple[i] <= '9') {
                if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10)
                    throw Error(npyLabel(path) + ": shape value too large in " + tuple);
                v = v * 10 + (tuple[i] - '0');
                ++i;
            }
            shape.push_back(v);
        } else if (c == ',' || c == ' ' || c == ')' || c == 'L') {
            ++i;
        } else {
            throw Error(npyLabel(path) + ": cannot parse shape " + tuple);
        }
    }
    return shape;
}

} // namespace

void writeNpy(const std::string &path, const float *data, const std::vector<std::int64_t> &shape)
{
    const std::int64_t count = elementCount(shape, path);
    if (count > 0 && data == nullptr)
        throw Error(npyLabel(path) + ": no data for a non-empty shape");
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        dict += std::to_string(shape[i]);
        if (i + 1 < shape.size() || shape.size() == 1)
            dict += ","; // a 1-tuple needs its comma: (5,)
        if (i + 1 < shape.size())
            dict += " ";
    }
    dict += "), }";
    // magic (6) + version (2) + header length (2) + dict + spaces + '\n' is a multiple of 64.
    const std::size_t unpadded = 10 + dict.size() + 1;
    const std::size_t padded = (unpadded + 63) / 64 * 64;
    dict.append(padded - unpadded, ' ');
    dict += '\n';
    if (dict.size() > 65535)
        throw Error(npyLabel(path) + ": header too long for format 1.0");

    std::string bytes(kMagic, 6);
    bytes += '\x01';
    bytes += '\x00';
    const auto headerLength = static_cast<std::uint16_t>(dict.size());
    bytes += static_cast<char>(headerLength & 0xFF);
    bytes += static_cast<char>(headerLength >> 8);
    bytes += dict;
    AtomicFile file(path);
    file.write(bytes);
    if (count > 0)
        file.write(data, static_cast<std::size_t>(count) * sizeof(float));
    file.commit();
}

NpyArray readNpy(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(npyLabel(path) + ": cannot open (" + std::strerror(errno) + ")");
    char prefix[8];
    if (!in.read(prefix, 8) || std::memcmp(prefix, kMagic, 6) != 0)
        throw Error(npyLabel(path) + ": not a NumPy .npy file (bad magic)");
    const int major = static_cast<unsigned char>(prefix[6]);
    std::size_t headerLength = 0;
    if (major == 1) {
        unsigned char len[2];
        if (!in.read(reinterpret_cast<char *>(len), 2))
            throw Error(npyLabel(path) + ": truncated header");
        headerLength = len[0] | (std::size_t(len[1]) << 8);
    } else if (major == 2 || major == 3) {
        unsigned char len[4];
        if (!in.read(reinterpret_cast<char *>(len), 4))
            throw Error(npyLabel(path) + ": truncated header");
        headerLength = len[0] | (std::size_t(len[1]) << 8) | (std::size_t(len[2]) << 16) |
                       (std::size_t(len[3]) << 24);
    } else {
        throw Error(npyLabel(path) + ": unsupported format version " + std::to_string(major));
    }
    std::string header(headerLength, '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(headerLength)))
        throw Error(npyLabel(path) + ": truncated header");

    const std::string descr = dictValue(header, "descr", path);
    const std::string fortran = dictValue(header, "fortran_order", path);
    const std::string shapeText = dictValue(header, "shape", path);
    if (fortran != "False")
        throw Error(npyLabel(path) + ": Fortran-order arrays are not supported (save with C order)");
    std::size_t itemSize;
    if (descr == "<f4")
        itemSize = 4;
    else if (descr == "<f8")
        itemSize = 8;
    else
        throw Error(npyLabel(path) + ": dtype '" + descr + "' is not supported (expected '<f4' or '<f8')");
    if (shapeText.empty() || shapeText.front() != '(')
        throw Error(npyLabel(path) + ": shape is not a tuple");

    NpyArray array;
    array.dtype = descr;
    array.shape = parseShape(shapeText, path);
    const std::int64_t count = elementCount(array.shape, path);
    const auto dataStart = in.tellg();
    in.seekg(0, std::ios::end);
    const auto fileEnd = in.tellg();
    in.seekg(dataStart);
    const std::uint64_t need = static_cast<std::uint64_t>(count) * itemSize;
    const std::uint64_t have = static_cast<std::uint64_t>(fileEnd - dataStart);
    if (have < need)
        throw Error(npyLabel(path) + ": truncated data (" + std::to_string(have) + " bytes, expected " +
                    std::to_string(need) + ")");
    array.data.resize(static_cast<std::size_t>(count));
    if (itemSize == 4) {
        if (count > 0 && !in.read(reinterpret_cast<char *>(array.data.data()), static_cast<std::streamsize>(need)))
            throw Error(npyLabel(path) + ": read error");
    } else {
        std::vector<double> wide(static_cast<std::size_t>(count));
        if (count > 0 && !in.read(reinterpret_cast<char *>(wide.data()), static_cast<std::streamsize>(need)))
            throw Error(npyLabel(path) + ": read error");
        for (std::size_t i = 0; i < wide.size(); ++i)
            array.data[i] = static_cast<float>(wide[i]);
    }
    return array;
}

} // namespace wsss::vision
