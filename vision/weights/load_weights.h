#pragma once
// Strict weight loading: every parameter and buffer of the module must be found, with its
// shape, or the load fails naming the key and both shapes. A position embedding of another
// grid is resized instead of rejected.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <functional>
#include <map>
#include <string>

namespace wsss::vision {

// The module's parameters and buffers by dotted name (the checkpoint keys).
std::map<std::string, torch::Tensor> stateDict(const torch::nn::Module &module);

// Copies tensors[prefix + name] into each parameter and buffer. `source` names the file in
// messages. Keys of `tensors` under prefix that the module lacks are errors too. `describe`, when
// given, turns a key of `tensors` into the name shown in messages (the file's own name of a
// tensor that a key map renamed).
void loadStateDict(torch::nn::Module &module, const std::map<std::string, torch::Tensor> &tensors,
                   const std::string &source, const std::string &prefix = "",
                   const std::function<std::string(const std::string &)> &describe = {});

} // namespace wsss::vision
