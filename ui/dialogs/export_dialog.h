#pragma once
// ExportDialog: where and how to export the open project's pseudo-label dataset — an output
// folder, the format (a VOC folder of palette PNGs or COCO JSON with RLE masks) and a summary of
// what goes out. Export checks the folder and stays open, the message in red, while it is
// unusable; a non-empty folder is replaced only when the person says so (confirmReplace), which
// sets force(). The caller runs the export with outDir(), format() and force().
#include <QDialog>
#include <QString>

class QComboBox;
class QLabel;
class QLineEdit;

namespace wsss::ui {

class ExportDialog : public QDialog {
    Q_OBJECT
public:
    explicit ExportDialog(QWidget *parent = nullptr);

    // The folder as typed, made absolute ("~/" is the home folder); empty when none is typed.
    QString outDir() const;
    void setOutDir(const QString &dir);
    // training::exportFormatName's values: "voc" or "coco". setFormat ignores any other.
    QString format() const;
    void setFormat(const QString &format);
    // True when outDir() held files and the person agreed to replace them (`wsss export --force`).
    bool force() const { return m_force; }

    // What the export holds, as the caller counts it: the images of the project's split, those
    // corrected by hand and those rejected (left out).
    void setSummary(int images, int corrected, int rejected);
    QString summaryText() const;

    // Export: accepts only a usable folder; otherwise shows why and stays open.
    void accept() override;
    QString errorText() const; // the message shown; empty when none

protected:
    // Asks whether to replace the contents of an existing non-empty folder (Yes / No). Virtual so
    // tests can answer without a modal box.
    virtual bool confirmReplace(const QString &dir);

private:
    void browse();
    void showError(const QString &message);

    QLineEdit *m_out = nullptr;
    QComboBox *m_format = nullptr;
    QLabel *m_summary = nullptr;
    QLabel *m_error = nullptr;
    bool m_force = false;
};

} // namespace wsss::ui
