#include "ui/dialogs/new_training_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleValidator>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <climits>
#include <utility>

namespace wsss::ui {

namespace tr_ = wsss::training;
using nlohmann::json;

namespace {

const QString kSettingsGroup = QStringLiteral("newTraining");
const QString kInvalidStyle = QStringLiteral("border: 1px solid #c62828;");
constexpr int kDefaultWidth = 130; // pixels of a config row's "default …" hint

QString jsonText(const json &value)
{
    if (value.is_string())
        return QString::fromStdString(value.get<std::string>());
    if (value.is_number_float())
        return QString::number(value.get<double>(), 'g', 12);
    return QString::fromStdString(value.dump());
}

// The value a `key=value` of TrainOptions::sets carries, as wsss train --set reads it: JSON, or
// else the bare word as a string.
json setValue(const std::string &text)
{
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    return value.is_discarded() ? json(text) : value;
}

// "20k" for 20000, "1500" otherwise: the iterations as run names spell them.
QString itersText(int iters)
{
    return iters >= 1000 && iters % 1000 == 0 ? QStringLiteral("%1k").arg(iters / 1000) : QString::number(iters);
}

QSpinBox *makeSpin(QWidget *parent, const QString &name, int minimum, int maximum, int value)
{
    auto *spin = new QSpinBox(parent);
    spin->setObjectName(name);
    spin->setRange(minimum, maximum);
    spin->setValue(value);
    spin->setAccelerated(true);
    return spin;
}

QWidget *withBrowse(QWidget *parent, QLineEdit *edit, const QString &buttonName, QPushButton **button)
{
    auto *row = new QWidget(parent);
    auto *layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(edit, 1);
    *button = new QPushButton(NewTrainingDialog::tr("Browse…"), row);
    (*button)->setObjectName(buttonName);
    layout->addWidget(*button);
    return row;
}

void selectData(QComboBox *combo, const QString &data, const QString &label)
{
    int index = combo->findData(data);
    if (index < 0) {
        combo->addItem(label.isEmpty() ? data : label, data);
        index = combo->count() - 1;
    }
    combo->setCurrentIndex(index);
}

} // namespace

NewTrainingDialog::NewTrainingDialog(std::vector<tr_::MethodDescription> methods, std::vector<std::string> backbones,
                                     std::vector<tr_::DeviceDescription> devices, Validator validator, QWidget *parent)
    : QDialog(parent), m_methods(std::move(methods)), m_validator(std::move(validator))
{
    setObjectName(QStringLiteral("NewTrainingDialog"));
    setWindowTitle(tr("New training run"));
    const tr_::TrainOptions defaults;

    auto *run = new QGroupBox(tr("Run"), this);
    auto *form = new QFormLayout(run);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);

    m_method = new QComboBox(run);
    m_method->setObjectName(QStringLiteral("methodCombo"));
    for (const auto &m : m_methods) {
        m_method->addItem(QString::fromStdString(m.name), QString::fromStdString(m.name));
        if (m.needsMasks)
            m_method->setItemData(m_method->count() - 1, tr("Trains on ground-truth masks (the supervised upper bound)"),
                                  Qt::ToolTipRole);
    }
    form->addRow(tr("Method"), m_method);

    m_backbone = new QComboBox(run);
    m_backbone->setObjectName(QStringLiteral("backboneCombo"));
    for (const auto &b : backbones)
        m_backbone->addItem(QString::fromStdString(b), QString::fromStdString(b));
    selectData(m_backbone, QString::fromStdString(defaults.backbone), {});
    form->addRow(tr("Backbone"), m_backbone);

    m_weights = new QLineEdit(run);
    m_weights->setObjectName(QStringLiteral("weightsEdit"));
    m_weights->setPlaceholderText(tr("empty: the preset's bundled weights · none: from scratch"));
    m_weights->setToolTip(tr("Pretrained backbone weights (.safetensors, timm or Hugging Face names)"));
    QPushButton *browseWeights = nullptr;
    form->addRow(tr("Pretrained weights"), withBrowse(run, m_weights, QStringLiteral("weightsBrowse"), &browseWeights));

    m_device = new QComboBox(run);
    m_device->setObjectName(QStringLiteral("deviceCombo"));
    m_device->addItem(tr("Automatic (the first GPU, else the CPU)"), QStringLiteral("auto"));
    for (const auto &d : devices)
        m_device->addItem(QString::fromStdString(d.label.empty() ? d.id : d.label), QString::fromStdString(d.id));
    // A GPU when there is one: training on the CPU is for tiny runs.
    m_device->setCurrentIndex(devices.size() > 1 ? 2 : 0);
    form->addRow(tr("Device"), m_device);

    m_precision = new QComboBox(run);
    m_precision->setObjectName(QStringLiteral("precisionCombo"));
    m_precision->addItem(tr("float32"), QStringLiteral("fp32"));
    m_precision->addItem(tr("bfloat16 (autocast; about twice as fast where the CPU or GPU has it)"),
                         QStringLiteral("bf16"));
    m_precision->setToolTip(tr("The steps' forward and losses under autocast to bfloat16; the weights stay "
                               "float32 (wsss train --precision)"));
    form->addRow(tr("Precision"), m_precision);

    m_data = new QLineEdit(run);
    m_data->setObjectName(QStringLiteral("dataEdit"));
    m_data->setPlaceholderText(tr("VOC-layout dataset folder"));
    QPushButton *browseData = nullptr;
    form->addRow(tr("Dataset"), withBrowse(run, m_data, QStringLiteral("dataBrowse"), &browseData));

    m_split = new QComboBox(run);
    m_split->setObjectName(QStringLiteral("splitCombo"));
    m_split->setEditable(true);
    m_split->setEditText(QString::fromStdString(defaults.split));
    form->addRow(tr("Training split"), m_split);
    m_valSplit = new QComboBox(run);
    m_valSplit->setObjectName(QStringLiteral("valSplitCombo"));
    m_valSplit->setEditable(true);
    m_valSplit->setEditText(QString::fromStdString(defaults.valSplit));
    m_valSplit->setToolTip(tr("Scored at each validation and at the end; \"none\" skips validation"));
    form->addRow(tr("Validation split"), m_valSplit);

    m_iters = makeSpin(run, QStringLiteral("itersSpin"), 1, 100'000'000, defaults.iters);
    form->addRow(tr("Iterations"), m_iters);
    m_batch = makeSpin(run, QStringLiteral("batchSpin"), 1, 4096, defaults.batch);
    form->addRow(tr("Batch size"), m_batch);
    m_size = makeSpin(run, QStringLiteral("sizeSpin"), 8, 8192, defaults.size);
    m_size->setSuffix(tr(" px"));
    m_size->setSingleStep(16);
    m_size->setToolTip(tr("Side of the square training crop"));
    form->addRow(tr("Crop size"), m_size);
    m_lr = new QLineEdit(run);
    m_lr->setObjectName(QStringLiteral("lrEdit"));
    auto *lrValidator = new QDoubleValidator(0, 10, 12, m_lr);
    lrValidator->setNotation(QDoubleValidator::ScientificNotation);
    lrValidator->setLocale(QLocale::c()); // "6e-05" as the CLI takes it, whatever the user's locale
    m_lr->setValidator(lrValidator);
    m_lr->setToolTip(tr("Peak learning rate of the heads; empty: the method's official recipe"));
    form->addRow(tr("Learning rate"), m_lr);
    m_saveEvery = makeSpin(run, QStringLiteral("saveEverySpin"), 1, 100'000'000, defaults.saveEvery);
    m_saveEvery->setToolTip(tr("Steps between checkpoints (a run stopped in between resumes from the last)"));
    form->addRow(tr("Save every"), m_saveEvery);
    m_valEvery = makeSpin(run, QStringLiteral("valEverySpin"), 0, 100'000'000, defaults.valEvery);
    m_valEvery->setSpecialValueText(tr("only at the end"));
    m_valEvery->setToolTip(tr("Steps between validations on the validation split"));
    form->addRow(tr("Validate every"), m_valEvery);
    m_keepCheckpoints = new QCheckBox(tr("Keep every checkpoint (checkpoint-step<N>.wsss per save)"), run);
    m_keepCheckpoints->setObjectName(QStringLiteral("keepCheckpointsCheck"));
    m_keepCheckpoints->setChecked(defaults.keepCheckpoints);
    form->addRow(QString(), m_keepCheckpoints);
    m_out = new QLineEdit(run);
    m_out->setObjectName(QStringLiteral("outEdit"));
    m_out->setToolTip(tr("The run's folder: checkpoint.wsss, metrics.jsonl; empty: the suggestion shown"));
    QPushButton *browseOut = nullptr;
    form->addRow(tr("Run folder"), withBrowse(run, m_out, QStringLiteral("outBrowse"), &browseOut));
    m_force = new QCheckBox(tr("Start over if the folder holds a run"), run);
    m_force->setObjectName(QStringLiteral("forceCheck"));
    m_force->setToolTip(tr("Replaces that run's checkpoint and metrics (wsss train --force)"));
    form->addRow(QString(), m_force);

    auto *config = new QGroupBox(tr("Method config"), this);
    auto *configLayout = new QVBoxLayout(config);
    auto *configTop = new QHBoxLayout;
    m_configTitle = new QLabel(config);
    m_configTitle->setWordWrap(true);
    auto *defaultsButton = new QPushButton(tr("All defaults"), config);
    defaultsButton->setObjectName(QStringLiteral("configDefaultsButton"));
    defaultsButton->setToolTip(tr("Every field back to the method's official value"));
    configTop->addWidget(m_configTitle, 1);
    configTop->addWidget(defaultsButton);
    configLayout->addLayout(configTop);
    m_configScroll = new QScrollArea(config);
    m_configScroll->setObjectName(QStringLiteral("configScroll"));
    m_configScroll->setWidgetResizable(true);
    m_configScroll->setMinimumWidth(480);
    m_configScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    configLayout->addWidget(m_configScroll, 1);

    m_errors = new QLabel(this);
    m_errors->setObjectName(QStringLiteral("trainingOptionErrors"));
    m_errors->setStyleSheet(QStringLiteral("color: #c62828; font-weight: bold;"));
    m_errors->setWordWrap(true);
    m_errors->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_errors->hide();

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    QPushButton *startButton = buttons->addButton(tr("Start training"), QDialogButtonBox::AcceptRole);
    startButton->setObjectName(QStringLiteral("startTrainingButton"));
    startButton->setDefault(true);

    auto *columns = new QHBoxLayout;
    columns->addWidget(run, 4);
    columns->addWidget(config, 5);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(columns, 1);
    layout->addWidget(m_errors);
    layout->addWidget(buttons);
    resize(1120, 680);

    connect(buttons, &QDialogButtonBox::accepted, this, &NewTrainingDialog::start);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(browseWeights, &QPushButton::clicked, this, &NewTrainingDialog::browseWeights);
    connect(browseData, &QPushButton::clicked, this, &NewTrainingDialog::browseData);
    connect(browseOut, &QPushButton::clicked, this, &NewTrainingDialog::browseOut);
    connect(defaultsButton, &QPushButton::clicked, this, [this] {
        for (size_t i = 0; i < m_rows.size(); ++i)
            resetConfigRow(i);
    });
    connect(m_method, &QComboBox::currentIndexChanged, this, [this] {
        buildConfigForm();
        refreshSuggestions();
    });
    connect(m_data, &QLineEdit::textChanged, this, [this] {
        refreshSplits();
        refreshSuggestions();
    });
    for (QSpinBox *spin : {m_iters, m_batch, m_size})
        connect(spin, &QSpinBox::valueChanged, this, &NewTrainingDialog::refreshSuggestions);
    connect(m_backbone, &QComboBox::currentIndexChanged, this, &NewTrainingDialog::refreshSuggestions);

    restoreSettings();
    buildConfigForm();
    refreshSplits();
    refreshSuggestions();
}

const tr_::MethodDescription *NewTrainingDialog::currentMethod() const
{
    const std::string name = methodName().toStdString();
    for (const auto &m : m_methods)
        if (m.name == name)
            return &m;
    return nullptr;
}

QString NewTrainingDialog::methodName() const
{
    return m_method->currentData().toString();
}

void NewTrainingDialog::setMethod(const QString &name)
{
    const int index = m_method->findData(name);
    if (index >= 0)
        m_method->setCurrentIndex(index);
}

void NewTrainingDialog::buildConfigForm()
{
    m_rows.clear();
    auto *body = new QWidget;
    m_configGrid = new QGridLayout(body);
    m_configGrid->setColumnStretch(1, 1);
    m_configGrid->setVerticalSpacing(3);
    const tr_::MethodDescription *method = currentMethod();
    if (method && method->config.is_object()) {
        m_configTitle->setText(tr("%1: the official values; changed fields are bold and sent as --set")
                                   .arg(QString::fromStdString(method->name)));
        for (const auto &[key, value] : method->config.items())
            addConfigRow(key, value);
        // The edits made to this method before a switch, or read from settings or setOptions().
        const auto edits = m_edits.find(method->name);
        if (edits != m_edits.end()) {
            const json saved = edits->second;
            for (size_t i = 0; i < m_rows.size(); ++i) {
                const auto edit = saved.find(m_rows[i].key.toStdString());
                if (edit != saved.end()) {
                    m_rows[i].value = *edit;
                    showConfigValue(m_rows[i]);
                    editConfig(i, *edit, true);
                }
            }
        }
    } else {
        m_configTitle->setText(tr("No method selected"));
    }
    m_configGrid->setRowStretch(static_cast<int>(m_rows.size()), 1);
    m_configScroll->setWidget(body); // deletes the previous method's form
}

void NewTrainingDialog::addConfigRow(const std::string &key, const json &defaultValue)
{
    QWidget *body = m_configGrid->parentWidget();
    const size_t index = m_rows.size();
    ConfigRow row;
    row.key = QString::fromStdString(key);
    row.defaultValue = defaultValue;
    row.value = defaultValue;
    row.label = new QLabel(row.key, body);
    const QString name = row.key + QStringLiteral("ConfigEdit");
    if (defaultValue.is_boolean()) {
        auto *check = new QCheckBox(body);
        connect(check, &QCheckBox::toggled, this, [this, index](bool on) { editConfig(index, on, true); });
        row.editor = check;
    } else if (defaultValue.is_number_integer()) {
        auto *spin = new QSpinBox(body);
        const auto v = defaultValue.get<long long>();
        spin->setRange(static_cast<int>(std::min<long long>(v, -1'000'000)), INT_MAX);
        connect(spin, &QSpinBox::valueChanged, this, [this, index](int v) { editConfig(index, v, true); });
        row.editor = spin;
    } else {
        auto *edit = new QLineEdit(body);
        if (defaultValue.is_number_float()) {
            auto *validator = new QDoubleValidator(edit);
            validator->setNotation(QDoubleValidator::ScientificNotation);
            validator->setLocale(QLocale::c());
            edit->setValidator(validator);
            connect(edit, &QLineEdit::textEdited, this, [this, index](const QString &text) {
                bool ok = false;
                const double v = QLocale::c().toDouble(text.trimmed(), &ok);
                editConfig(index, ok ? json(v) : json(), ok);
            });
        } else if (defaultValue.is_string()) {
            connect(edit, &QLineEdit::textEdited, this,
                    [this, index](const QString &text) { editConfig(index, text.toStdString(), true); });
        } else {
            // Arrays and objects: compact JSON of the same kind as the default.
            edit->setToolTip(tr("JSON, e.g. %1").arg(QString::fromStdString(defaultValue.dump())));
            const json::value_t kind = defaultValue.type();
            connect(edit, &QLineEdit::textEdited, this, [this, index, kind](const QString &text) {
                json v = json::parse(text.toStdString(), nullptr, /*allow_exceptions=*/false);
                const bool ok = !v.is_discarded() && (kind == json::value_t::null || v.type() == kind);
                editConfig(index, ok ? v : json(), ok);
            });
        }
        row.editor = edit;
    }
    row.editor->setObjectName(name);
    row.label->setBuddy(row.editor);
    // Greyed: a hint, not a value; a long array is cut short here and shown whole in the tooltip.
    const QString defaultText = tr("default %1").arg(jsonText(defaultValue));
    row.defaultLabel = new QLabel(body);
    row.defaultLabel->setText(row.defaultLabel->fontMetrics().elidedText(defaultText, Qt::ElideRight, kDefaultWidth));
    row.defaultLabel->setToolTip(defaultText);
    row.defaultLabel->setEnabled(false);
    row.reset = new QToolButton(body);
    row.reset->setObjectName(row.key + QStringLiteral("ConfigReset"));
    row.reset->setText(tr("Reset"));
    row.reset->setToolTip(tr("Back to the default, %1").arg(jsonText(defaultValue)));
    connect(row.reset, &QToolButton::clicked, this, [this, index] { resetConfigRow(index); });
    const int r = static_cast<int>(index);
    m_configGrid->addWidget(row.label, r, 0);
    m_configGrid->addWidget(row.editor, r, 1);
    m_configGrid->addWidget(row.defaultLabel, r, 2);
    m_configGrid->addWidget(row.reset, r, 3);
    m_rows.push_back(row);
    showConfigValue(m_rows.back());
    markConfigRow(m_rows.back());
}

void NewTrainingDialog::showConfigValue(ConfigRow &row)
{
    const QSignalBlocker block(row.editor);
    if (auto *check = qobject_cast<QCheckBox *>(row.editor))
        check->setChecked(row.value.is_boolean() && row.value.get<bool>());
    else if (auto *spin = qobject_cast<QSpinBox *>(row.editor))
        spin->setValue(row.value.is_number() ? row.value.get<int>() : 0);
    else if (auto *edit = qobject_cast<QLineEdit *>(row.editor))
        edit->setText(jsonText(row.value));
}

void NewTrainingDialog::editConfig(size_t index, const json &value, bool valid)
{
    ConfigRow &row = m_rows[index];
    row.valid = valid;
    if (valid)
        row.value = value;
    const tr_::MethodDescription *method = currentMethod();
    if (method) {
        json &edits = m_edits[method->name];
        if (!edits.is_object())
            edits = json::object();
        if (valid && row.value != row.defaultValue)
            edits[row.key.toStdString()] = row.value;
        else if (valid)
            edits.erase(row.key.toStdString());
    }
    markConfigRow(row);
}

void NewTrainingDialog::markConfigRow(ConfigRow &row)
{
    const bool changed = !row.valid || row.value != row.defaultValue;
    QFont font = row.label->font();
    font.setBold(changed);
    row.label->setFont(font);
    row.reset->setEnabled(changed);
    row.editor->setStyleSheet(row.valid ? QString() : kInvalidStyle);
}

void NewTrainingDialog::resetConfigRow(size_t index)
{
    ConfigRow &row = m_rows[index];
    row.value = row.defaultValue;
    showConfigValue(row);
    editConfig(index, row.defaultValue, true);
}

QStringList NewTrainingDialog::configKeys() const
{
    QStringList keys;
    for (const auto &row : m_rows)
        keys << row.key;
    return keys;
}

QWidget *NewTrainingDialog::configEditor(const QString &key) const
{
    for (const auto &row : m_rows)
        if (row.key == key)
            return row.editor;
    return nullptr;
}

QToolButton *NewTrainingDialog::configResetButton(const QString &key) const
{
    for (const auto &row : m_rows)
        if (row.key == key)
            return row.reset;
    return nullptr;
}

QLabel *NewTrainingDialog::configLabel(const QString &key) const
{
    for (const auto &row : m_rows)
        if (row.key == key)
            return row.label;
    return nullptr;
}

bool NewTrainingDialog::isConfigChanged(const QString &key) const
{
    for (const auto &row : m_rows)
        if (row.key == key)
            return !row.valid || row.value != row.defaultValue;
    return false;
}

json NewTrainingDialog::configValue(const QString &key) const
{
    for (const auto &row : m_rows)
        if (row.key == key)
            return row.value;
    return {};
}

void NewTrainingDialog::setDataset(const QString &root, const QString &split)
{
    m_data->setText(root);
    if (!split.isEmpty())
        m_split->setEditText(split);
}

void NewTrainingDialog::setOptions(const tr_::TrainOptions &options)
{
    m_base = options;
    json edits = json::object();
    for (const auto &assignment : options.sets) {
        const auto eq = assignment.find('=');
        if (eq != std::string::npos)
            edits[assignment.substr(0, eq)] = setValue(assignment.substr(eq + 1));
    }
    m_edits[options.method] = edits;
    m_data->setText(QString::fromStdString(options.data));
    m_split->setEditText(QString::fromStdString(options.split));
    m_valSplit->setEditText(QString::fromStdString(options.valSplit));
    selectData(m_backbone, QString::fromStdString(options.backbone), {});
    m_weights->setText(QString::fromStdString(options.weights));
    selectData(m_device, QString::fromStdString(options.device), {});
    selectData(m_precision, QString::fromStdString(options.precision), {});
    m_iters->setValue(options.iters);
    m_batch->setValue(options.batch);
    m_size->setValue(options.size);
    m_lr->setText(options.lr ? QString::number(*options.lr, 'g', 12) : QString());
    m_saveEvery->setValue(options.saveEvery);
    m_valEvery->setValue(options.valEvery);
    m_keepCheckpoints->setChecked(options.keepCheckpoints);
    m_out->setText(QString::fromStdString(options.out));
    m_force->setChecked(options.force);
    {
        const QSignalBlocker block(m_method); // one rebuild below, with the edits in place
        selectData(m_method, QString::fromStdString(options.method), {});
    }
    buildConfigForm();
    refreshSuggestions();
}

tr_::TrainOptions NewTrainingDialog::options() const
{
    tr_::TrainOptions o = m_base;
    o.method = methodName().toStdString();
    o.backbone = m_backbone->currentData().toString().toStdString();
    o.weights = m_weights->text().trimmed().toStdString();
    o.device = m_device->currentData().toString().toStdString();
    o.precision = m_precision->currentData().toString().toStdString();
    o.data = m_data->text().trimmed().toStdString();
    o.split = m_split->currentText().trimmed().toStdString();
    o.valSplit = m_valSplit->currentText().trimmed().toStdString();
    o.iters = m_iters->value();
    o.batch = m_batch->value();
    o.size = m_size->value();
    bool ok = false;
    const double lr = QLocale::c().toDouble(m_lr->text().trimmed(), &ok);
    o.lr = ok ? std::optional<double>(lr) : std::nullopt;
    o.saveEvery = m_saveEvery->value();
    o.valEvery = m_valEvery->value();
    o.keepCheckpoints = m_keepCheckpoints->isChecked();
    const QString out = m_out->text().trimmed();
    o.out = (out.isEmpty() ? suggestedRunFolder() : out).toStdString();
    o.force = m_force->isChecked();
    o.sets.clear();
    for (const auto &row : m_rows)
        if (row.valid && row.value != row.defaultValue)
            o.sets.push_back(row.key.toStdString() + "=" + row.value.dump());
    return o;
}

void NewTrainingDialog::start()
{
    QStringList problems;
    QWidget *firstLocal = nullptr;
    for (const auto &row : m_rows) {
        if (row.valid)
            continue;
        problems << tr("Config field %1: \"%2\" is not a valid %3")
                        .arg(row.key, qobject_cast<QLineEdit *>(row.editor) ? qobject_cast<QLineEdit *>(row.editor)->text()
                                                                           : QString(),
                             row.defaultValue.is_number() ? tr("number") : tr("JSON value like %1").arg(jsonText(row.defaultValue)));
        if (!firstLocal)
            firstLocal = row.editor;
    }
    bool lrOk = true;
    if (!m_lr->text().trimmed().isEmpty())
        QLocale::c().toDouble(m_lr->text().trimmed(), &lrOk);
    if (!lrOk) {
        problems << tr("Learning rate \"%1\" is not a number (leave it empty for the method's)").arg(m_lr->text());
        if (!firstLocal)
            firstLocal = m_lr;
    }
    if (!problems.isEmpty()) {
        showErrors(problems);
        m_errorField = firstLocal;
        m_errorField->setFocus();
        return;
    }
    QStringList messages;
    if (m_validator)
        for (const auto &m : m_validator(options()))
            messages << QString::fromStdString(m);
    if (!messages.isEmpty()) {
        showErrors(messages);
        return;
    }
    showErrors({});
    accept();
}

void NewTrainingDialog::showErrors(const QStringList &messages)
{
    m_errorField = nullptr;
    m_errors->setText(messages.join(QLatin1Char('\n')));
    m_errors->setVisible(!messages.isEmpty());
    for (const QString &message : messages) {
        if ((m_errorField = fieldForMessage(message)))
            break;
    }
    if (m_errorField) {
        m_errorField->setFocus();
        if (m_configScroll->widget()->isAncestorOf(m_errorField))
            m_configScroll->ensureWidgetVisible(m_errorField);
    }
}

QWidget *NewTrainingDialog::fieldForMessage(const QString &message) const
{
    const QString text = message.toLower();
    // The CLI's flag names first: the validator's messages say what to change in its terms.
    const std::vector<std::pair<QString, QWidget *>> flags = {
        {QStringLiteral("--weights"), m_weights},      {QStringLiteral("--batch"), m_batch},
        {QStringLiteral("--size"), m_size},            {QStringLiteral("--device"), m_device},
        {QStringLiteral("--out"), m_out},              {QStringLiteral("--force"), m_out},
        {QStringLiteral("--val-split"), m_valSplit},   {QStringLiteral("--split"), m_split},
        {QStringLiteral("--data"), m_data},            {QStringLiteral("--iters"), m_iters},
        {QStringLiteral("--lr"), m_lr},                {QStringLiteral("--save-every"), m_saveEvery},
        {QStringLiteral("--val-every"), m_valEvery},   {QStringLiteral("--method"), m_method},
        {QStringLiteral("--backbone"), m_backbone},   {QStringLiteral("--precision"), m_precision}};
    QWidget *earliest = nullptr;
    qsizetype at = -1;
    for (const auto &[flag, field] : flags) {
        const QRegularExpression pattern(QRegularExpression::escape(flag) + QStringLiteral("(?![-\\w])"));
        const auto match = pattern.match(text);
        if (match.hasMatch() && (at < 0 || match.capturedStart() < at)) {
            at = match.capturedStart();
            earliest = field;
        }
    }
    if (earliest)
        return earliest;
    // A config field named in a message about the config (a word such as "preset" may also be a
    // field's name, so other messages are not searched for field names).
    if (text.contains(QStringLiteral("config")))
        for (const auto &row : m_rows) {
            const QRegularExpression pattern(QStringLiteral("\\b") + QRegularExpression::escape(row.key.toLower())
                                             + QStringLiteral("\\b"));
            if (pattern.match(text).hasMatch())
                return row.editor;
        }
    const std::vector<std::pair<QString, QWidget *>> words = {
        {QStringLiteral("weights"), m_weights},   {QStringLiteral("batch"), m_batch},
        {QStringLiteral("crop"), m_size},         {QStringLiteral("cuda"), m_device},
        {QStringLiteral("device"), m_device},     {QStringLiteral("run folder"), m_out},
        {QStringLiteral("val split"), m_valSplit}, {QStringLiteral("dataset"), m_data},
        {QStringLiteral("split"), m_split},       {QStringLiteral("iterations"), m_iters},
        {QStringLiteral("learning rate"), m_lr},  {QStringLiteral("backbone"), m_backbone},
        {QStringLiteral("method"), m_method}};
    for (const auto &[word, field] : words)
        if (text.contains(word))
            return field;
    return nullptr;
}

QString NewTrainingDialog::errorText() const
{
    return m_errors->text();
}

bool NewTrainingDialog::isErrorShown() const
{
    return !m_errors->isHidden() && !m_errors->text().isEmpty();
}

void NewTrainingDialog::refreshSplits()
{
    const QDir lists(QDir(m_data->text().trimmed()).filePath(QStringLiteral("ImageSets/Segmentation")));
    QStringList splits;
    for (const QFileInfo &file : lists.entryInfoList({QStringLiteral("*.txt")}, QDir::Files, QDir::Name))
        splits << file.completeBaseName();
    for (QComboBox *combo : {m_split, m_valSplit}) {
        const QString current = combo->currentText();
        const QSignalBlocker block(combo);
        combo->clear();
        combo->addItems(splits);
        if (combo == m_valSplit)
            combo->addItem(QStringLiteral("none"));
        combo->setEditText(current);
    }
}

void NewTrainingDialog::refreshSuggestions()
{
    const tr_::MethodDescription *method = currentMethod();
    if (method && method->recipe.is_object() && method->recipe.contains("lr") && method->recipe["lr"].is_number())
        m_lr->setPlaceholderText(tr("the method's: %1").arg(method->recipe["lr"].get<double>(), 0, 'g', 6));
    else
        m_lr->setPlaceholderText(tr("the method's"));
    const QString suggestion = suggestedRunFolder();
    m_out->setPlaceholderText(suggestion.isEmpty() ? tr("folder for checkpoint.wsss and metrics.jsonl")
                                                   : QDir::toNativeSeparators(suggestion));
}

QString NewTrainingDialog::suggestedRunFolder() const
{
    const QString data = QDir::cleanPath(m_data->text().trimmed());
    QString parent = m_runsFolder;
    if (parent.isEmpty() && !m_data->text().trimmed().isEmpty())
        parent = QFileInfo(data).absoluteDir().filePath(QStringLiteral("runs")); // beside the dataset
    if (parent.isEmpty())
        return {};
    // Named after what was run, as mmseg names its configs: method, backbone, batch and schedule, data and crop.
    const QString dataName = data.isEmpty() ? QStringLiteral("data") : QFileInfo(data).fileName();
    const QString name = QStringLiteral("%1_%2_b%3-%4_%5-%6")
                             .arg(methodName(), m_backbone->currentData().toString())
                             .arg(m_batch->value())
                             .arg(itersText(m_iters->value()), dataName)
                             .arg(m_size->value());
    const QDir dir(parent);
    QString candidate = name;
    for (int n = 2; dir.exists(candidate); ++n)
        candidate = QStringLiteral("%1-%2").arg(name).arg(n); // never a folder that holds a run
    return dir.filePath(candidate);
}

void NewTrainingDialog::browseWeights()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Pretrained weights"), m_weights->text(),
                                                      tr("Weights (*.safetensors *.wsss);;All files (*)"));
    if (!path.isEmpty())
        m_weights->setText(path);
}

void NewTrainingDialog::browseData()
{
    const QString path = QFileDialog::getExistingDirectory(this, tr("Dataset folder"), m_data->text());
    if (!path.isEmpty())
        m_data->setText(path);
}

void NewTrainingDialog::browseOut()
{
    const QString start = m_out->text().isEmpty() ? QFileInfo(suggestedRunFolder()).path() : m_out->text();
    const QString path = QFileDialog::getExistingDirectory(this, tr("Run folder"), start);
    if (!path.isEmpty())
        m_out->setText(path);
}

void NewTrainingDialog::done(int result)
{
    if (result == QDialog::Accepted)
        saveSettings();
    QDialog::done(result);
}

void NewTrainingDialog::restoreSettings()
{
    QSettings settings;
    settings.beginGroup(kSettingsGroup);
    auto text = [&](const char *key, QLineEdit *edit) {
        if (settings.contains(QLatin1String(key)))
            edit->setText(settings.value(QLatin1String(key)).toString());
    };
    auto number = [&](const char *key, QSpinBox *spin) {
        if (settings.contains(QLatin1String(key)))
            spin->setValue(settings.value(QLatin1String(key)).toInt());
    };
    auto choice = [&](const char *key, QComboBox *combo) {
        const int index = combo->findData(settings.value(QLatin1String(key)).toString());
        if (index >= 0)
            combo->setCurrentIndex(index);
    };
    {
        const QSignalBlocker block(m_method); // the constructor builds the form once, after this
        choice("method", m_method);
    }
    choice("backbone", m_backbone);
    choice("device", m_device);
    choice("precision", m_precision);
    text("weights", m_weights);
    text("data", m_data);
    if (settings.contains(QStringLiteral("split")))
        m_split->setEditText(settings.value(QStringLiteral("split")).toString());
    if (settings.contains(QStringLiteral("valSplit")))
        m_valSplit->setEditText(settings.value(QStringLiteral("valSplit")).toString());
    number("iters", m_iters);
    number("batch", m_batch);
    number("size", m_size);
    text("lr", m_lr);
    number("saveEvery", m_saveEvery);
    number("valEvery", m_valEvery);
    m_keepCheckpoints->setChecked(settings.value(QStringLiteral("keepCheckpoints"), m_keepCheckpoints->isChecked()).toBool());
    m_runsFolder = settings.value(QStringLiteral("runsFolder")).toString();
    settings.beginGroup(QStringLiteral("config"));
    for (const auto &m : m_methods) {
        const json edits = json::parse(settings.value(QString::fromStdString(m.name)).toString().toStdString(), nullptr,
                                       /*allow_exceptions=*/false);
        if (edits.is_object())
            m_edits[m.name] = edits;
    }
}

void NewTrainingDialog::saveSettings() const
{
    QSettings settings;
    settings.beginGroup(kSettingsGroup);
    settings.setValue(QStringLiteral("method"), methodName());
    settings.setValue(QStringLiteral("backbone"), m_backbone->currentData());
    settings.setValue(QStringLiteral("device"), m_device->currentData());
    settings.setValue(QStringLiteral("precision"), m_precision->currentData());
    settings.setValue(QStringLiteral("weights"), m_weights->text().trimmed());
    settings.setValue(QStringLiteral("data"), m_data->text().trimmed());
    settings.setValue(QStringLiteral("split"), m_split->currentText().trimmed());
    settings.setValue(QStringLiteral("valSplit"), m_valSplit->currentText().trimmed());
    settings.setValue(QStringLiteral("iters"), m_iters->value());
    settings.setValue(QStringLiteral("batch"), m_batch->value());
    settings.setValue(QStringLiteral("size"), m_size->value());
    settings.setValue(QStringLiteral("lr"), m_lr->text().trimmed());
    settings.setValue(QStringLiteral("saveEvery"), m_saveEvery->value());
    settings.setValue(QStringLiteral("valEvery"), m_valEvery->value());
    settings.setValue(QStringLiteral("keepCheckpoints"), m_keepCheckpoints->isChecked());
    // The run folder itself now holds a run: remember where runs go, not the folder.
    const QString out = QString::fromStdString(options().out);
    if (!out.isEmpty())
        settings.setValue(QStringLiteral("runsFolder"), QFileInfo(QDir::cleanPath(out)).absolutePath());
    settings.beginGroup(QStringLiteral("config"));
    for (const auto &[method, edits] : m_edits)
        settings.setValue(QString::fromStdString(method), QString::fromStdString(edits.dump()));
}

} // namespace wsss::ui
