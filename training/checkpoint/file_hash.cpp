#include "training/checkpoint/file_hash.h"

#include "vision/core/error.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

namespace wsss::training {

std::string fileSha256(const std::filesystem::path &file)
{
    auto fail = [&](const std::string &why) {
        return Error("cannot hash \"" + file.string() + "\": " + why);
    };
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw fail(std::strerror(errno));
    const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1)
        throw fail("OpenSSL has no SHA-256");
    // 1 MiB at a time: a checkpoint of a large backbone is hundreds of MB.
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto count = static_cast<std::size_t>(in.gcount());
        if (count > 0 && EVP_DigestUpdate(context.get(), buffer.data(), count) != 1)
            throw fail("OpenSSL failed");
    }
    if (in.bad())
        throw fail("read error");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context.get(), digest, &length) != 1)
        throw fail("OpenSSL failed");
    static const char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 0xf];
    }
    return hex;
}

} // namespace wsss::training
