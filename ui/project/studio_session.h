#pragma once
// StudioSession: what the studio remembers between runs (QSettings of the application's
// organisation and name): the project last open, else the dataset split, checkpoint and image,
// and the pseudo-label rule used without a project (a project keeps its own). Plain values read
// and written in one place, so MainWindow only says when.
#include "vision/labels/pseudo_label_rule.h"

#include <QString>

namespace wsss::ui {

struct StudioSession {
    QString project; // .wsssproj; when set, it names the rest
    QString data, split, checkpoint, image;

    static StudioSession load();
    // Writes the non-empty fields; an empty project clears the remembered one.
    void save() const;
    // Forgets `path` under `key` ("session/data", "session/checkpoint", "session/project") when
    // the last session left exactly that path (a file that failed to open), with what belongs to it.
    static void forget(const QString &key, const QString &path);

    // The rule as the last session without a project left it; `fallback`'s fields where unset.
    static wsss::vision::PseudoLabelRule loadRule(const wsss::vision::PseudoLabelRule &fallback);
    static void saveRule(const wsss::vision::PseudoLabelRule &rule);
};

} // namespace wsss::ui
