// Every test executable starts as the project's programs do (vision::prepareProcess: OpenBLAS's
// fastest kernels for this CPU, which may run the executable again, and huge pages for large
// tensors), before its main() and QTest's, so tests measure and exercise what users run. Linked
// into each test by tests/CMakeLists.txt; argv comes from /proc/self/cmdline since no main has it yet.
#include "vision/core/process_setup.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

struct PrepareTestProcess {
    PrepareTestProcess()
    {
        std::ifstream in("/proc/self/cmdline", std::ios::binary);
        m_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        for (std::size_t start = 0; start < m_text.size();) {
            m_argv.push_back(&m_text[start]);
            start = m_text.find('\0', start);
            if (start == std::string::npos)
                break;
            ++start;
        }
        if (m_argv.empty())
            return; // nothing to run again with: the test keeps the kernels it has
        m_argv.push_back(nullptr);
        wsss::vision::prepareProcess(m_argv.data());
    }
    std::string m_text;
    std::vector<char *> m_argv;
};

const PrepareTestProcess prepareTestProcess;

} // namespace
