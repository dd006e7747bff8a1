#pragma once
// ThresholdsDock: every field of the pseudo-label rule — the background mode (threshold or band),
// a slider and a spin box per number (rows that do not apply to the mode are disabled), the CRF
// switch and its parameter preset — with resets to the paper's defaults and to the checkpoint's best background threshold.
// Edits go out as ruleChanged on every slider step (the canvas redraws the mask live from the
// cached inspection); setRule() from outside updates the controls without echoing.
#include "ui/project/rule_fields.h"

#include <QDockWidget>

#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSlider;

namespace wsss::ui {

class ThresholdsDock : public QDockWidget {
    Q_OBJECT
public:
    explicit ThresholdsDock(QWidget *parent = nullptr);

    void setRule(const wsss::vision::PseudoLabelRule &rule); // no ruleChanged
    const wsss::vision::PseudoLabelRule &rule() const { return m_rule; }
    // The background threshold the checkpoint's validation found best; NaN = unknown.
    void setCheckpointBest(double threshold);
    double checkpointBest() const { return m_checkpointBest; }

    // The map on screen scores the background itself (ECA's CARMs, ViT-PCM, AFA's seg and aff,
    // supervised): its pseudo-mask is the argmax over that background and the classes, so the
    // mode, threshold and band are disabled (saying why); PAR and the CRF still apply.
    void setOwnBackground(bool own);
    bool ownBackground() const { return m_ownBackground; }

    void resetToPaper();      // wsss::vision::PseudoLabelRule{} (every field); emits ruleChanged if it differs
    void resetToCheckpoint(); // the paper's rule with the checkpoint's best background threshold

Q_SIGNALS:
    void ruleChanged(const wsss::vision::PseudoLabelRule &rule);

private:
    struct Row {
        const RuleField *field = nullptr;
        QLabel *label = nullptr;
        QSlider *slider = nullptr;
        QDoubleSpinBox *spin = nullptr;
    };
    void edit(const Row &row, double value);
    void showRule();
    void apply(const wsss::vision::PseudoLabelRule &rule);
    QString ownBackgroundNote() const;

    wsss::vision::PseudoLabelRule m_rule;
    double m_checkpointBest;
    bool m_ownBackground = false;
    QString m_modeToolTip;
    std::vector<Row> m_rows;
    QComboBox *m_modeCombo = nullptr;
    QCheckBox *m_crfCheck = nullptr;
    QLabel *m_crfPresetLabel = nullptr;
    QComboBox *m_crfPresetCombo = nullptr;
    QPushButton *m_paperButton = nullptr;
    QPushButton *m_checkpointButton = nullptr;
};

} // namespace wsss::ui
