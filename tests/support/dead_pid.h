#pragma once
// A pid no process has now: the name of a temporary left by a writer that was killed.
#include <cerrno>

#include <signal.h>

namespace wsss::test {

inline int deadPid()
{
    for (int pid = 4000000;; --pid)
        if (::kill(pid, 0) != 0 && errno == ESRCH)
            return pid;
}

} // namespace wsss::test
