#include "training/loop/run_folder.h"

#include "training/checkpoint/checkpoint.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"
#include "vision/io/folder_lock.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

std::map<std::string, double> numbers(const nlohmann::json &object)
{
    std::map<std::string, double> out;
    if (object.is_object())
        for (const auto &[key, value] : object.items())
            if (value.is_number())
                out[key] = value.get<double>();
    return out;
}

} // namespace

void keepLinesUpToStep(const std::string &path, std::int64_t step)
{
    std::ifstream in(path);
    std::string kept, line;
    while (std::getline(in, line)) {
        try {
            if (nlohmann::json::parse(line).value("step", std::int64_t{0}) <= step)
                kept += line + "\n";
        } catch (const nlohmann::json::exception &) {
            break; // a torn last line
        }
    }
    vision::atomicWriteText(path, kept);
}

MetricsChunk readMetrics(const std::string &metricsPath, std::uint64_t offset)
{
    MetricsChunk chunk;
    chunk.nextOffset = offset;
    std::ifstream in(metricsPath, std::ios::binary);
    if (!in)
        return chunk; // not written yet
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::uint64_t>(in.tellg());
    if (size < offset) { // truncated (a resumed run rewrites its tail): read it all again
        offset = 0;
        chunk.nextOffset = 0;
    }
    in.seekg(static_cast<std::streamoff>(offset));
    std::string text(size - offset, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    std::size_t begin = 0;
    for (std::size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) {
        const std::string line = text.substr(begin, end - begin);
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        try {
            const auto j = nlohmann::json::parse(line);
            MetricsLine m;
            m.step = j.at("step").get<std::int64_t>();
            if (j.contains("lr") && j["lr"].is_number())
                m.lr = j["lr"].get<double>();
            if (j.contains("loss"))
                m.losses = numbers(j["loss"]);
            if (j.contains("logs"))
                m.logs = numbers(j["logs"]);
            if (j.contains("val"))
                m.val = numbers(j["val"]);
            chunk.lines.push_back(std::move(m));
        } catch (const std::exception &e) {
            chunk.warnings.push_back("\"" + metricsPath + "\" at byte " + std::to_string(offset + begin) +
                                     ": not a metrics line (" + e.what() + ")");
        }
    }
    chunk.nextOffset = offset + begin; // a line without its newline is still being written
    return chunk;
}

const char *runStateName(RunState state)
{
    switch (state) {
    case RunState::Training: return "training";
    case RunState::Finished: return "finished";
    case RunState::Stopped: return "stopped";
    case RunState::Empty: break;
    }
    return "empty";
}

RunDescription describeRun(const std::string &dir)
{
    const fs::path root(dir);
    const fs::path checkpoint = root / "checkpoint.wsss";
    const fs::path metrics = root / "metrics.jsonl";
    std::error_code ec;
    if (!fs::exists(checkpoint, ec) && !fs::exists(metrics, ec))
        throw Error("\"" + dir + "\" is not a run folder (it holds neither checkpoint.wsss nor metrics.jsonl)");
    RunDescription run;
    run.dir = dir;
    if (fs::exists(checkpoint, ec)) try {
        const auto header = readCheckpointHeader(checkpoint.string());
        run.method = header.method;
        run.backbone = header.backbone;
        run.step = header.step;
        run.data = header.train.value("data", std::string());
        run.total = header.train.value("iters", std::int64_t{0});
        if (header.metrics.contains("val_miou") && header.metrics["val_miou"].is_number())
            run.bestValMiou = header.metrics["val_miou"].get<double>();
        run.checkpoints.push_back({checkpoint.string(), header.step});
    } catch (const std::exception &e) {
        run.problem = e.what();
    }
    for (const auto &line : readMetrics(metrics.string()).lines)
        if (const auto it = line.val.find("val_miou"); it != line.val.end())
            run.bestValMiou = std::max(run.bestValMiou.value_or(it->second), it->second);

    static const std::regex kept(R"(checkpoint-step(\d+)\.wsss)");
    for (const auto &entry : fs::directory_iterator(root, ec)) {
        std::smatch m;
        const std::string name = entry.path().filename().string();
        if (std::regex_match(name, m, kept))
            run.checkpoints.push_back({entry.path().string(), std::stoll(m[1].str())});
    }
    std::stable_sort(run.checkpoints.begin(), run.checkpoints.end(),
                     [](const RunCheckpoint &a, const RunCheckpoint &b) { return a.step < b.step; });

    run.holder = vision::FolderLock::holder(root);
    if (!run.holder.empty())
        run.state = RunState::Training;
    else if (run.checkpoints.empty())
        run.state = RunState::Empty;
    else
        run.state = run.total > 0 && run.step >= run.total ? RunState::Finished : RunState::Stopped;
    return run;
}

std::vector<RunDescription> listRuns(const std::string &parent)
{
    std::vector<RunDescription> runs;
    auto isRun = [](const fs::path &p) {
        std::error_code ec;
        return fs::exists(p / "checkpoint.wsss", ec) || fs::exists(p / "metrics.jsonl", ec);
    };
    std::error_code ec;
    if (isRun(parent))
        runs.push_back(describeRun(parent));
    std::vector<fs::path> folders;
    for (const auto &entry : fs::directory_iterator(parent, ec))
        if (entry.is_directory(ec) && isRun(entry.path()))
            folders.push_back(entry.path());
    std::sort(folders.begin(), folders.end());
    for (const auto &folder : folders)
        runs.push_back(describeRun(folder.string()));
    return runs;
}

} // namespace wsss::training
