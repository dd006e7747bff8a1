#pragma once
// Methods by CLI name. An explicit list (method_registry.cpp), because self-registering
// statics in a static library are dropped by the linker.
#include "training/methods/method.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace wsss::training {

using MethodFactory = std::function<std::shared_ptr<Method>(const MethodSpec &)>;

// Builds the method of spec.method; throws wsss::Error listing the known names otherwise.
std::shared_ptr<Method> createMethod(const MethodSpec &spec);
std::vector<std::string> methodNames();

} // namespace wsss::training
