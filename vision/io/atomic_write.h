#pragma once
// Atomic file replacement: write a temporary next to the target, then rename it over the target,
// so a crash or a full disk never leaves a half-written checkpoint, project, mask or manifest.
#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

namespace wsss::vision {

// A temporary file that becomes `target` on commit(). Write through write(), or let a library
// write to tempPath() by name (e.g. torch::save); either way commit() flushes, fsyncs and renames.
// Without commit() the destructor removes the temporary and the target stays as it was.
class AtomicFile {
public:
    // Creates the parent folders and the (empty) temporary; throws wsss::Error naming the target.
    explicit AtomicFile(std::filesystem::path target);
    ~AtomicFile();

    AtomicFile(const AtomicFile &) = delete;
    AtomicFile &operator=(const AtomicFile &) = delete;

    const std::filesystem::path &target() const { return m_target; }
    const std::filesystem::path &tempPath() const { return m_temp; }
    bool committed() const { return m_committed; }

    // Appends to the temporary; throws wsss::Error naming the target on a short write (full disk).
    void write(const void *data, std::size_t size);
    void write(std::string_view text) { write(text.data(), text.size()); }

    // Makes the content durable and replaces the target; throws wsss::Error naming the target.
    void commit();

private:
    void closeHandle(bool check);

    std::filesystem::path m_target;
    std::filesystem::path m_temp;
    int m_fd = -1;
    bool m_committed = false;
};

void atomicWriteText(const std::filesystem::path &path, std::string_view content);
// Removes the temporaries that AtomicFile left under `folder` (and its subfolders) in processes that
// are gone (killed mid-write, or stopped by a full disk); a live process's are kept. Returns the
// paths removed.
std::vector<std::filesystem::path> removeStaleTemporaries(const std::filesystem::path &folder);
void atomicWriteBytes(const std::filesystem::path &path, const void *data, std::size_t size);

} // namespace wsss::vision
