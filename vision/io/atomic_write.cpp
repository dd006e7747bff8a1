#include "vision/io/atomic_write.h"
#include "vision/core/text.h"

#include "vision/core/error.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wsss::vision {
namespace {

[[noreturn]] void fail(const std::filesystem::path &target, const std::string &what, int err)
{
    throw Error("cannot write " + quoted(target) + ": " + what + " (" + std::strerror(err) + ")");
}

// Makes the rename itself durable; best effort (some file systems refuse fsync on folders).
void syncFolder(const std::filesystem::path &folder)
{
    const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

} // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : m_target(std::move(target))
{
    if (m_target.empty() || !m_target.has_filename())
        throw Error("cannot write " + quoted(m_target) + ": not a file path");
    const std::filesystem::path folder = m_target.parent_path();
    if (!folder.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(folder, ec);
        if (ec)
            throw Error("cannot write " + quoted(m_target) + ": cannot create folder " + quoted(folder) +
                        " (" + ec.message() + ")");
    }
    // Same folder as the target so rename() stays on one file system; a hidden name with the pid,
    // a counter and a random tag, created exclusively, so concurrent writers never share it.
    static std::atomic<unsigned> counter{0};
    std::random_device entropy;
    for (int attempt = 0; attempt < 16; ++attempt) {
        const std::string name = "." + m_target.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                                 "-" + std::to_string(counter++) + "-" + std::to_string(entropy() % 1000000);
        m_temp = folder / name;
        m_fd = ::open(m_temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (m_fd >= 0)
            return;
        if (errno != EEXIST)
            fail(m_target, "cannot create temporary " + quoted(m_temp), errno);
    }
    fail(m_target, "cannot create a unique temporary file", EEXIST);
}

AtomicFile::~AtomicFile()
{
    closeHandle(false);
    if (!m_committed && !m_temp.empty()) {
        std::error_code ec;
        std::filesystem::remove(m_temp, ec);
    }
}

void AtomicFile::closeHandle(bool check)
{
    if (m_fd < 0)
        return;
    const int rc = ::close(m_fd);
    const int err = errno;
    m_fd = -1;
    // close() can report a deferred write error (NFS, quota); a checked close must not lose it.
    if (check && rc != 0)
        fail(m_target, "closing the temporary failed", err);
}

void AtomicFile::write(const void *data, std::size_t size)
{
    if (m_committed)
        throw Error("cannot write " + quoted(m_target) + ": already committed");
    if (m_fd < 0)
        throw Error("cannot write " + quoted(m_target) + ": temporary file is closed");
    const char *p = static_cast<const char *>(data);
    while (size > 0) {
        const ssize_t n = ::write(m_fd, p, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail(m_target, "write failed", errno);
        }
        if (n == 0)
            fail(m_target, "write made no progress", ENOSPC);
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

void AtomicFile::commit()
{
    if (m_committed)
        return;
    closeHandle(true);
    // Reopen by name: a library may have written tempPath() itself (even replaced the file).
    const int fd = ::open(m_temp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail(m_target, "cannot reopen temporary " + quoted(m_temp), errno);
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        fail(m_target, "fsync failed", err);
    }
    if (::close(fd) != 0)
        fail(m_target, "closing the temporary failed", errno);
    if (::rename(m_temp.c_str(), m_target.c_str()) != 0)
        fail(m_target, "cannot rename " + quoted(m_temp) + " over it", errno);
    m_committed = true;
    syncFolder(m_target.parent_path());
}

std::vector<std::filesystem::path> removeStaleTemporaries(const std::filesystem::path &folder)
{
    std::vector<std::filesystem::path> removed;
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec))
        return removed;
    for (auto it = std::filesystem::recursive_directory_iterator(folder, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        // ".<target>.tmp-<pid>-<counter>-<tag>", as the constructor names them.
        const std::string name = it->path().filename().string();
        const auto mark = name.rfind(".tmp-");
        if (name.empty() || name[0] != '.' || mark == std::string::npos || !it->is_regular_file())
            continue;
        char *end = nullptr;
        const long pid = std::strtol(name.c_str() + mark + 5, &end, 10);
        if (pid <= 0 || end == nullptr || *end != '-')
            continue;
        if (pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
            continue; // a live writer's (or one we may not signal: alive too)
        std::error_code removeError;
        if (std::filesystem::remove(it->path(), removeError))
            removed.push_back(it->path());
    }
    return removed;
}

void atomicWriteText(const std::filesystem::path &path, std::string_view content)
{
    atomicWriteBytes(path, content.data(), content.size());
}

void atomicWriteBytes(const std::filesystem::path &path, const void *data, std::size_t size)
{
    AtomicFile file(path);
    file.write(data, size);
    file.commit();
}

} // namespace wsss::vision
