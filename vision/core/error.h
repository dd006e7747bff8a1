#pragma once
// wsss::Error: the one exception type of the core. Its message names the file, key or value
// at fault and what was expected; callers show it as is.
#include <stdexcept>
#include <string>

namespace wsss {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace wsss
