#pragma once
// NewTrainingDialog: the options of a training run — method, backbone and weights, device,
// dataset and splits, schedule, checkpoints, run folder — and, below, the selected method's
// config as a form made from its JSON: one row per field with an editor by type, the default
// beside it, a reset, and changed fields in bold. Only changed fields go out (as `sets`). Start
// runs the validator it was given and stays open, the messages in red, until they are none.
// Remembers the last values in QSettings; setDataset() and setOptions() prefill over them.
#include "training/engine/training_catalog.h"
#include "training/loop/trainer.h"

#include <QDialog>
#include <QString>
#include <QStringList>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QScrollArea;
class QSpinBox;
class QToolButton;

namespace wsss::ui {

class NewTrainingDialog : public QDialog {
    Q_OBJECT
public:
    // The messages that stop a run (training::checkTrainOptions); empty when it can start.
    using Validator = std::function<std::vector<std::string>(const wsss::training::TrainOptions &)>;

    NewTrainingDialog(std::vector<wsss::training::MethodDescription> methods, std::vector<std::string> backbones,
                      std::vector<wsss::training::DeviceDescription> devices, Validator validator,
                      QWidget *parent = nullptr);

    // The dataset open in the studio: its folder and the split to train on.
    void setDataset(const QString &root, const QString &split);
    // Every field from `options` ("run again"); its `sets` that name no field of the method's
    // config are dropped, since the form cannot show them.
    void setOptions(const wsss::training::TrainOptions &options);
    // The run as the fields say. Fields the dialog does not show (seed, log interval, optimiser
    // overrides other than the learning rate, config file, resume) come from setOptions().
    wsss::training::TrainOptions options() const;

    // Start: checks the fields and runs the validator; accepts only when nothing is wrong.
    void start();

    // For tests.
    QString methodName() const;
    void setMethod(const QString &name);
    QStringList configKeys() const;                     // the rows of the config form, in order
    QWidget *configEditor(const QString &key) const;    // nullptr when no such row
    QToolButton *configResetButton(const QString &key) const;
    QLabel *configLabel(const QString &key) const;
    bool isConfigChanged(const QString &key) const;
    nlohmann::json configValue(const QString &key) const; // the field's current value
    QString errorText() const;                           // the messages shown, one per line
    bool isErrorShown() const;
    QWidget *errorField() const { return m_errorField; } // the field the first message is about

protected:
    void done(int result) override; // an accepted dialog remembers its values

private:
    struct ConfigRow {
        QString key;
        nlohmann::json defaultValue;
        nlohmann::json value;
        bool valid = true; // the editor's text parses as the field's type
        QLabel *label = nullptr;
        QWidget *editor = nullptr;
        QLabel *defaultLabel = nullptr;
        QToolButton *reset = nullptr;
    };

    const wsss::training::MethodDescription *currentMethod() const;
    void buildConfigForm();
    void addConfigRow(const std::string &key, const nlohmann::json &defaultValue);
    void editConfig(size_t row, const nlohmann::json &value, bool valid);
    void showConfigValue(ConfigRow &row);
    void markConfigRow(ConfigRow &row);
    void resetConfigRow(size_t row);
    void refreshSplits();
    void refreshSuggestions();
    QString suggestedRunFolder() const;
    QWidget *fieldForMessage(const QString &message) const;
    void showErrors(const QStringList &messages);
    void restoreSettings();
    void saveSettings() const;
    void browseWeights();
    void browseData();
    void browseOut();

    std::vector<wsss::training::MethodDescription> m_methods;
    Validator m_validator;
    wsss::training::TrainOptions m_base; // the fields this dialog does not show
    // Changed config fields per method, so switching methods back and forth keeps the edits.
    std::map<std::string, nlohmann::json> m_edits;
    std::vector<ConfigRow> m_rows;
    QString m_runsFolder; // the folder the last run was made in: where the next one is suggested

    QComboBox *m_method = nullptr;
    QComboBox *m_backbone = nullptr;
    QLineEdit *m_weights = nullptr;
    QComboBox *m_device = nullptr;
    QComboBox *m_precision = nullptr;
    QLineEdit *m_data = nullptr;
    QComboBox *m_split = nullptr;
    QComboBox *m_valSplit = nullptr;
    QSpinBox *m_iters = nullptr;
    QSpinBox *m_batch = nullptr;
    QSpinBox *m_size = nullptr;
    QLineEdit *m_lr = nullptr;
    QSpinBox *m_saveEvery = nullptr;
    QSpinBox *m_valEvery = nullptr;
    QCheckBox *m_keepCheckpoints = nullptr;
    QLineEdit *m_out = nullptr;
    QCheckBox *m_force = nullptr;
    QLabel *m_configTitle = nullptr;
    QScrollArea *m_configScroll = nullptr; // holds one grid per method, made anew on a switch
    QGridLayout *m_configGrid = nullptr;
    QLabel *m_errors = nullptr;
    QWidget *m_errorField = nullptr;
};

} // namespace wsss::ui
