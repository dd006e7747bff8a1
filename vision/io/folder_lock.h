#pragma once
// An exclusive claim on an output folder (a run folder while it trains, an inference output while it
// is written), so two processes never mix their files under one manifest or checkpoint. The claim is
// an flock() on FOLDER/.wsss.lock: the kernel drops it when the process ends, killed or not, so a
// crash never leaves a folder locked. The file names its holder, for the message the next one gets.
#include <filesystem>
#include <string>

namespace wsss::vision {

class FolderLock {
public:
    // Creates the folder if needed and claims it for `purpose` (e.g. "wsss infer"); throws
    // wsss::Error naming the folder and the holder's pid, purpose and start time when another
    // process holds it.
    FolderLock(const std::filesystem::path &folder, const std::string &purpose);
    // Removes the lock file and releases the claim; a folder the lock created that is still empty
    // goes too (a run that failed before writing anything leaves nothing behind).
    ~FolderLock();

    FolderLock(const FolderLock &) = delete;
    FolderLock &operator=(const FolderLock &) = delete;

    const std::filesystem::path &folder() const { return m_folder; }

    // Who holds `folder` now ("pid 4242, wsss train, since …"), or "" when nobody does. Takes no
    // claim and creates nothing; a holder in this process counts too.
    static std::string holder(const std::filesystem::path &folder);

    static constexpr const char *kFileName = ".wsss.lock";

private:
    std::filesystem::path m_folder;
    std::filesystem::path m_path;
    int m_fd = -1;
    bool m_created = false; // the folder did not exist before the claim
};

} // namespace wsss::vision
