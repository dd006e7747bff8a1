#include "vision/io/folder_lock.h"
#include "vision/core/text.h"

#include "vision/core/error.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wsss::vision {
namespace {

std::string readHolder(int fd)
{
    char buffer[512];
    const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    std::string text = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

std::string nowText()
{
    const std::time_t t = std::time(nullptr);
    std::tm local{};
    localtime_r(&t, &local);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
    return text;
}

} // namespace

FolderLock::FolderLock(const std::filesystem::path &folder, const std::string &purpose)
    : m_folder(folder), m_path(folder / kFileName)
{
    std::error_code ec;
    m_created = std::filesystem::create_directories(folder, ec) && !ec;
    if (ec)
        throw Error("cannot write to " + quoted(folder) + ": cannot create the folder (" + ec.message() + ")");
    // A holder that finishes unlinks the file it locked; a claim on that unlinked file would claim
    // nothing, so the claim counts only while the path still names the locked file.
    for (int attempt = 0; attempt < 8; ++attempt) {
        m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (m_fd < 0)
            throw Error("cannot write to " + quoted(folder) + ": " + std::strerror(errno));
        if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            const std::string holder = readHolder(m_fd);
            ::close(m_fd);
            m_fd = -1;
            if (err == EWOULDBLOCK)
                throw Error(quoted(folder) + " is in use by another process (" +
                            (holder.empty() ? std::string("starting") : holder) +
                            "); wait for it to finish or choose another folder");
            throw Error("cannot lock " + quoted(folder) + ": " + std::strerror(err));
        }
        struct stat held {}, named {};
        if (::fstat(m_fd, &held) == 0 && ::stat(m_path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev) {
            const std::string text = "pid " + std::to_string(::getpid()) + ", " + purpose + ", since " + nowText() + "\n";
            if (::ftruncate(m_fd, 0) != 0 || ::pwrite(m_fd, text.data(), text.size(), 0) < 0) {
                const int err = errno;
                ::close(m_fd);
                m_fd = -1;
                throw Error("cannot write to " + quoted(folder) + ": " + std::strerror(err));
            }
            return;
        }
        ::close(m_fd);
        m_fd = -1;
    }
    throw Error("cannot lock " + quoted(folder) + ": its lock file keeps changing");
}

std::string FolderLock::holder(const std::filesystem::path &folder)
{
    const std::filesystem::path path = folder / kFileName;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return {};
    std::string text;
    // flock() locks belong to the open file, so this probe conflicts with a holder in this process too.
    if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        text = readHolder(fd);
        if (text.empty())
            text = "starting";
    }
    ::close(fd);
    return text;
}

FolderLock::~FolderLock()
{
    if (m_fd < 0)
        return;
    ::unlink(m_path.c_str()); // while still held, so nobody claims the file being removed
    ::close(m_fd);
    std::error_code ec;
    if (m_created)
        std::filesystem::remove(m_folder, ec); // only when empty: anything written keeps the folder
}

} // namespace wsss::vision
