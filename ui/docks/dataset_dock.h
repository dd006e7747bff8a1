#pragma once
// DatasetDock: the image list of the open dataset with a search field that filters by id.
// Making an image current emits imageSelected(); the main window turns that into an inspection.
#include <QDockWidget>
#include <QString>
#include <QVector>

class QLabel;
class QLineEdit;
class QListView;
class QSortFilterProxyModel;

namespace wsss::vision {
struct VocDataset;
}

namespace wsss::ui {

class ImageListModel;

class DatasetDock : public QDockWidget {
    Q_OBJECT
public:
    explicit DatasetDock(QWidget *parent = nullptr);

    void setDataset(const wsss::vision::VocDataset &dataset);
    ImageListModel *model() const { return m_model; }

    // Makes an image current (clearing the filter if it hides it); false if the id is unknown.
    bool selectImage(const QString &id);
    QString currentId() const { return m_shownId; } // the image last announced

Q_SIGNALS:
    void imageSelected(const QString &id, const QString &imagePath, const QVector<int> &labels);

private:
    void emitCurrent();
    void updateCount();

    ImageListModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QLineEdit *m_search = nullptr;
    QListView *m_list = nullptr;
    QLabel *m_count = nullptr;
    QString m_shownId;       // the last id announced by imageSelected
    bool m_filtering = false; // current-row changes caused by the filter announce nothing
};

} // namespace wsss::ui
