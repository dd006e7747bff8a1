#include "training/methods/method_registry.h"

#include "training/methods/acr/acr_method.h"
#include "training/methods/afa/afa_method.h"
#include "training/methods/cam/cam_method.h"
#include "training/methods/dino/dino_method.h"
#include "training/methods/eca/eca_method.h"
#include "training/methods/supervised/supervised_method.h"
#include "training/methods/usage/usage_method.h"
#include "training/methods/vitpcm/vitpcm_method.h"
#include "vision/core/error.h"

#include <map>

namespace wsss::training {

namespace {

const std::map<std::string, MethodFactory> &registry()
{
    static const std::map<std::string, MethodFactory> table = {
        {"acr", [](const MethodSpec &s) { return std::make_shared<AcrMethod>(s); }},
        {"afa", [](const MethodSpec &s) { return std::make_shared<AfaMethod>(s); }},
        {"cam", [](const MethodSpec &s) { return std::make_shared<CamMethod>(s); }},
        {"dino", [](const MethodSpec &s) { return std::make_shared<DinoMethod>(s); }},
        {"eca", [](const MethodSpec &s) { return std::make_shared<EcaMethod>(s); }},
        {"supervised", [](const MethodSpec &s) { return std::make_shared<SupervisedMethod>(s); }},
        {"usage", [](const MethodSpec &s) { return std::make_shared<UsageMethod>(s); }},
        {"vitpcm", [](const MethodSpec &s) { return std::make_shared<VitPcmMethod>(s); }},
    };
    return table;
}

} // namespace

std::shared_ptr<Method> createMethod(const MethodSpec &spec)
{
    auto it = registry().find(spec.method);
    if (it == registry().end()) {
        std::string known;
        for (const auto &[name, f] : registry())
            known += (known.empty() ? "" : ", ") + name;
        throw Error("unknown method \"" + spec.method + "\" (known: " + known + ")");
    }
    if (spec.numClasses <= 0)
        throw Error("method \"" + spec.method + "\": the dataset has no foreground classes");
    return it->second(spec);
}

std::vector<std::string> methodNames()
{
    std::vector<std::string> names;
    for (const auto &[name, f] : registry())
        names.push_back(name);
    return names;
}

} // namespace wsss::training
