// The new-training dialog over the real method catalog and option checks: a config form per
// method, only changed fields sent, bad options refused in the dialog, good ones accepted.
#include "training/engine/training_catalog.h"
#include "ui/dialogs/new_training_dialog.h"

#include <wsss/source_paths.h>

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include <algorithm>

using wsss::ui::NewTrainingDialog;
namespace tr_ = wsss::training;
using nlohmann::json;

namespace {

std::vector<std::string> sorted(std::vector<std::string> v)
{
    std::sort(v.begin(), v.end());
    return v;
}

// The first method with a config field of `type`, and that field; empty strings when none has one.
std::pair<QString, QString> fieldOfType(const std::vector<tr_::MethodDescription> &methods, json::value_t type)
{
    for (const auto &m : methods)
        for (const auto &[key, value] : m.config.items())
            if (value.type() == type)
                return {QString::fromStdString(m.name), QString::fromStdString(key)};
    return {};
}

void typeInto(QLineEdit *edit, const QString &text)
{
    edit->setFocus();
    edit->selectAll();
    QTest::keyClick(edit, Qt::Key_Backspace);
    QTest::keyClicks(edit, text);
}

} // namespace

class TestNewTrainingDialog : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_data;
    std::vector<tr_::MethodDescription> m_methods;

    std::unique_ptr<NewTrainingDialog> makeDialog(NewTrainingDialog::Validator validator = tr_::checkTrainOptions)
    {
        auto dialog = std::make_unique<NewTrainingDialog>(m_methods, tr_::backbonePresets(), tr_::availableDevices(),
                                                          std::move(validator));
        return dialog;
    }

    // Options that pass the checks: a 2-step run from scratch on the tiny dataset, on the CPU.
    void fillValid(NewTrainingDialog &d, const QString &out)
    {
        d.setMethod(QStringLiteral("cam"));
        d.setDataset(m_data, QStringLiteral("train"));
        d.findChild<QComboBox *>(QStringLiteral("valSplitCombo"))->setEditText(QStringLiteral("val"));
        d.findChild<QLineEdit *>(QStringLiteral("weightsEdit"))->setText(QStringLiteral("none"));
        auto *device = d.findChild<QComboBox *>(QStringLiteral("deviceCombo"));
        device->setCurrentIndex(device->findData(QStringLiteral("cpu")));
        d.findChild<QSpinBox *>(QStringLiteral("itersSpin"))->setValue(2);
        d.findChild<QSpinBox *>(QStringLiteral("batchSpin"))->setValue(2);
        d.findChild<QSpinBox *>(QStringLiteral("sizeSpin"))->setValue(64);
        d.findChild<QLineEdit *>(QStringLiteral("outEdit"))->setText(out);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
        QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("test_new_training_dialog"));
        QSettings().clear();

        m_methods = tr_::methodCatalog();
        QVERIFY(m_methods.size() >= 2);
        m_data = QStringLiteral(WSSS_SOURCE_DIR "/tests/fixtures/tiny_voc"); // 6 train and 3 val images
    }

    void init() { QSettings().clear(); }

    void configFormHasOneRowPerField_data()
    {
        QTest::addColumn<QString>("method");
        for (const auto &m : tr_::methodCatalog())
            QTest::newRow(m.name.c_str()) << QString::fromStdString(m.name);
    }

    void configFormHasOneRowPerField()
    {
        QFETCH(QString, method);
        auto d = makeDialog();
        d->setMethod(method);
        QCOMPARE(d->methodName(), method);
        const auto it = std::find_if(m_methods.begin(), m_methods.end(),
                                     [&](const auto &m) { return QString::fromStdString(m.name) == method; });
        QVERIFY(it != m_methods.end());
        QCOMPARE(d->configKeys().size(), static_cast<qsizetype>(it->config.size()));
        for (const auto &[key, value] : it->config.items()) {
            const QString k = QString::fromStdString(key);
            QWidget *editor = d->configEditor(k);
            QVERIFY2(editor, qPrintable(k));
            // An editor by type: a check box for a switch, a spin box for a count, text otherwise.
            if (value.is_boolean())
                QVERIFY2(qobject_cast<QCheckBox *>(editor), qPrintable(k));
            else if (value.is_number_integer())
                QVERIFY2(qobject_cast<QSpinBox *>(editor), qPrintable(k));
            else
                QVERIFY2(qobject_cast<QLineEdit *>(editor), qPrintable(k));
            QCOMPARE(d->configValue(k), value);
            QVERIFY2(!d->isConfigChanged(k), qPrintable(k));
            QVERIFY(!d->configResetButton(k)->isEnabled());
        }
        QVERIFY(d->options().sets.empty()); // the official config: nothing to send
    }

    void changeAndResetAField()
    {
        const auto [method, key] = fieldOfType(m_methods, json::value_t::number_float);
        if (key.isEmpty())
            QSKIP("no method has a real-valued config field");
        auto d = makeDialog();
        d->setMethod(method);
        d->show();
        QVERIFY(QTest::qWaitForWindowExposed(d.get()));
        auto *edit = qobject_cast<QLineEdit *>(d->configEditor(key));
        QVERIFY(edit);
        const QString defaultText = edit->text();
        QVERIFY(d->findChildren<QLabel *>().size() > 0);

        typeInto(edit, QStringLiteral("0.625"));
        QVERIFY(d->isConfigChanged(key));
        QVERIFY(d->configLabel(key)->font().bold());
        QCOMPARE(d->configValue(key), json(0.625));
        QCOMPARE(d->options().sets, std::vector<std::string>{key.toStdString() + "=0.625"});

        QTest::mouseClick(d->configResetButton(key), Qt::LeftButton);
        QVERIFY(!d->isConfigChanged(key));
        QVERIFY(!d->configLabel(key)->font().bold());
        QCOMPARE(edit->text(), defaultText);
        QVERIFY(d->options().sets.empty());
    }

    void onlyChangedFieldsAreSent()
    {
        // A method with a count and a switch, or whatever it has of the two.
        auto d = makeDialog();
        std::vector<std::string> expected;
        for (const auto &m : m_methods) {
            d->setMethod(QString::fromStdString(m.name));
            expected.clear();
            for (const auto &[key, value] : m.config.items()) {
                const QString k = QString::fromStdString(key);
                if (value.is_number_integer() && expected.size() < 2) {
                    auto *spin = qobject_cast<QSpinBox *>(d->configEditor(k));
                    spin->setValue(value.get<int>() + 3);
                    expected.push_back(key + "=" + std::to_string(value.get<int>() + 3));
                } else if (value.is_boolean() && expected.size() < 2) {
                    qobject_cast<QCheckBox *>(d->configEditor(k))->setChecked(!value.get<bool>());
                    expected.push_back(key + "=" + (value.get<bool>() ? "false" : "true"));
                }
            }
            if (expected.size() == 2)
                break;
        }
        QVERIFY2(!expected.empty(), "no method has an integer or boolean config field");
        QCOMPARE(sorted(d->options().sets), sorted(expected));

        // A field typed back to its default value is unchanged again, and not sent.
        const std::string first = expected.front().substr(0, expected.front().find('='));
        QWidget *editor = d->configEditor(QString::fromStdString(first));
        if (auto *spin = qobject_cast<QSpinBox *>(editor))
            spin->setValue(spin->value() - 3);
        else
            qobject_cast<QCheckBox *>(editor)->toggle();
        QVERIFY(!d->isConfigChanged(QString::fromStdString(first)));
        QCOMPARE(d->options().sets, std::vector<std::string>(expected.begin() + 1, expected.end()));
    }

    void arraysAreEditedAsJson()
    {
        const auto [method, key] = fieldOfType(m_methods, json::value_t::array);
        if (key.isEmpty())
            QSKIP("no method has an array config field");
        int validatorCalls = 0;
        auto d = makeDialog([&](const tr_::TrainOptions &) {
            ++validatorCalls;
            return std::vector<std::string>{};
        });
        d->setMethod(method);
        d->show();
        QVERIFY(QTest::qWaitForWindowExposed(d.get()));
        auto *edit = qobject_cast<QLineEdit *>(d->configEditor(key));
        QVERIFY(edit);
        typeInto(edit, QStringLiteral("[1, 2"));
        QVERIFY(d->isConfigChanged(key)); // marked, though not sent while it does not parse
        d->start();
        QVERIFY(d->isVisible());
        QVERIFY(d->isErrorShown());
        QVERIFY2(d->errorText().contains(key), qPrintable(d->errorText()));
        QCOMPARE(d->errorField(), edit);
        QCOMPARE(validatorCalls, 0); // refused before the checks run

        typeInto(edit, QStringLiteral("[1,2]"));
        QCOMPARE(d->configValue(key), json::parse("[1,2]"));
        QCOMPARE(d->options().sets, std::vector<std::string>{key.toStdString() + "=[1,2]"});
    }

    void invalidOptionsAreRefusedInTheDialog_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::newRow("missing weights") << QStringLiteral("weightsEdit") << QStringLiteral("/no/such/deit_s.safetensors");
        QTest::newRow("batch larger than the split") << QStringLiteral("batchSpin") << QStringLiteral("64");
        QTest::newRow("no dataset") << QStringLiteral("dataEdit") << QStringLiteral("/no/such/dataset");
    }

    void invalidOptionsAreRefusedInTheDialog()
    {
        QFETCH(QString, field);
        QFETCH(QString, value);
        auto d = makeDialog();
        fillValid(*d, m_dir.filePath(QStringLiteral("run-refused")));
        QWidget *widget = d->findChild<QWidget *>(field);
        QVERIFY(widget);
        if (auto *spin = qobject_cast<QSpinBox *>(widget))
            spin->setValue(value.toInt());
        else
            qobject_cast<QLineEdit *>(widget)->setText(value);
        const auto messages = tr_::checkTrainOptions(d->options());
        QVERIFY2(!messages.empty(), "the checks let this through");

        d->show();
        QVERIFY(QTest::qWaitForWindowExposed(d.get()));
        QTest::mouseClick(d->findChild<QPushButton *>(QStringLiteral("startTrainingButton")), Qt::LeftButton);
        QVERIFY(d->isVisible());
        QCOMPARE(d->result(), int(QDialog::Rejected));
        QVERIFY(d->isErrorShown());
        QVERIFY(d->findChild<QLabel *>(QStringLiteral("trainingOptionErrors"))->isVisible());
        QVERIFY2(d->errorText().contains(QString::fromStdString(messages.front())), qPrintable(d->errorText()));
        QCOMPARE(d->errorField(), widget);
        QCOMPARE(d->focusWidget(), widget); // the field to fix has the focus
    }

    void validOptionsAreAccepted()
    {
        auto d = makeDialog();
        const QString out = m_dir.filePath(QStringLiteral("run-ok"));
        fillValid(*d, out);
        auto *precision = d->findChild<QComboBox *>(QStringLiteral("precisionCombo"));
        QCOMPARE(precision->currentData().toString(), QStringLiteral("fp32")); // the default
        precision->setCurrentIndex(precision->findData(QStringLiteral("bf16")));
        d->show();
        QVERIFY(QTest::qWaitForWindowExposed(d.get()));
        const auto messages = tr_::checkTrainOptions(d->options());
        QVERIFY2(messages.empty(), messages.empty() ? "" : messages.front().c_str());
        d->start();
        QCOMPARE(d->result(), int(QDialog::Accepted));
        QVERIFY(!d->isVisible());
        const tr_::TrainOptions o = d->options();
        QCOMPARE(QString::fromStdString(o.method), QStringLiteral("cam"));
        QCOMPARE(QString::fromStdString(o.data), m_data);
        QCOMPARE(o.split, std::string("train"));
        QCOMPARE(o.valSplit, std::string("val"));
        QCOMPARE(o.device, std::string("cpu"));
        QCOMPARE(o.precision, std::string("bf16"));
        QCOMPARE(o.iters, 2);
        QCOMPARE(o.batch, 2);
        QCOMPARE(o.size, 64);
        QVERIFY(!o.lr); // empty: the method's recipe
        QCOMPARE(QString::fromStdString(o.out), out);

        // The next dialog starts from these values.
        auto next = makeDialog();
        QCOMPARE(next->methodName(), QStringLiteral("cam"));
        QCOMPARE(QString::fromStdString(next->options().data), m_data);
        QCOMPARE(next->options().iters, 2);
        QCOMPARE(next->options().device, std::string("cpu"));
        QCOMPARE(next->options().precision, std::string("bf16"));
        // Not the folder that now holds a run: a new one beside it.
        QVERIFY(next->findChild<QLineEdit *>(QStringLiteral("outEdit"))->text().isEmpty());
        QCOMPARE(QFileInfo(QString::fromStdString(next->options().out)).absolutePath(), QFileInfo(out).absolutePath());
    }

    void setOptionsForRunAgain()
    {
        const auto [method, key] = fieldOfType(m_methods, json::value_t::number_float);
        if (key.isEmpty())
            QSKIP("no method has a real-valued config field");
        tr_::TrainOptions o;
        o.method = method.toStdString();
        o.data = m_data.toStdString();
        o.split = "train";
        o.valSplit = "none";
        o.out = m_dir.filePath(QStringLiteral("again")).toStdString();
        o.backbone = "vit_demo_patch8";
        o.weights = "none";
        o.device = "cpu";
        o.precision = "bf16";
        o.iters = 30;
        o.batch = 3;
        o.size = 96;
        o.lr = 2.5e-4;
        o.saveEvery = 10;
        o.valEvery = 5;
        o.keepCheckpoints = true;
        o.seed = 17;
        o.warmup = 4;
        o.sets = {key.toStdString() + "=0.125"};
        auto d = makeDialog();
        d->setOptions(o);
        QVERIFY(d->isConfigChanged(key));
        QCOMPARE(d->configValue(key), json(0.125));
        const tr_::TrainOptions back = d->options();
        QCOMPARE(back.method, o.method);
        QCOMPARE(back.data, o.data);
        QCOMPARE(back.valSplit, o.valSplit);
        QCOMPARE(back.out, o.out);
        QCOMPARE(back.backbone, o.backbone);
        QCOMPARE(back.weights, o.weights);
        QCOMPARE(back.device, o.device);
        QCOMPARE(back.precision, o.precision);
        QCOMPARE(back.iters, o.iters);
        QCOMPARE(back.batch, o.batch);
        QCOMPARE(back.size, o.size);
        QCOMPARE(back.lr, o.lr);
        QCOMPARE(back.saveEvery, o.saveEvery);
        QCOMPARE(back.valEvery, o.valEvery);
        QCOMPARE(back.keepCheckpoints, o.keepCheckpoints);
        QCOMPARE(back.seed, o.seed);     // not shown, kept
        QCOMPARE(back.warmup, o.warmup); // not shown, kept
        QCOMPARE(back.sets, o.sets);
    }
};

QTEST_MAIN(TestNewTrainingDialog)
#include "test_new_training_dialog.moc"
