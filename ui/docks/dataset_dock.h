#pragma once
// DatasetDock: the "Browse" panel — every image of the open split as a row with its thumbnail,
// id, label chips and review badge, filtered by class, by review state and by an id search,
// sorted by id, by the classifier's confidence or by the pseudo-mask's IoU (worst first, from the
// last evaluation). Making an image current emits imageSelected(); the main window turns that
// into an inspection. Filtering and sorting never change the image on screen; next/previous
// (N/P, PgDown/PgUp, Up/Down in the list) walk the rows in the order shown, and from an image
// that has just left the list (accepted while only unreviewed images are shown) they go to the
// row that followed it or preceded it.
#include "ui/models/image_filter_proxy.h"

#include <QDockWidget>
#include <QString>
#include <QVector>

#include <map>
#include <memory>
#include <string>
#include <vector>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QListView;

namespace wsss::vision {
struct VocDataset;
}
namespace wsss::training {
struct EvaluationResult;
enum class ReviewState; // training/project/studio_project.h
}

namespace wsss::ui {

class ImageItemDelegate;
class ImageListModel;

class DatasetDock : public QDockWidget {
    Q_OBJECT
public:
    using SortKey = ImageFilterProxy::SortKey;

    explicit DatasetDock(QWidget *parent = nullptr);

    void setDataset(const wsss::vision::VocDataset &dataset);
    ImageListModel *model() const { return m_model; }
    ImageFilterProxy *proxy() const { return m_proxy; }
    QListView *listView() const { return m_list; }
    ImageItemDelegate *delegate() const { return m_delegate; }

    // Makes an image current (clearing the filters if they hide it); false if the id is unknown.
    bool selectImage(const QString &id);
    QString currentId() const { return m_shownId; } // the image last announced
    // The next / previous row in the order shown; when the filters hide the current image, the
    // row that would follow / precede it (the first / last row when no image was shown yet);
    // false at either end or when nothing is listed.
    bool nextImage();
    bool previousImage();
    QAction *nextAction() const { return m_nextAction; }
    QAction *previousAction() const { return m_previousAction; }

    // The filters and the order, as the panel's controls set them.
    void setClassFilter(int classIndex); // 1..K, -1 = all
    void setSearchText(const QString &text);
    // Only images in this review state (an int of training::ReviewState), -1 = all.
    void setReviewFilter(int state);
    int reviewFilter() const { return m_proxy->reviewFilter(); }
    // False (and nothing changes) when that order has no data yet: IoU needs an evaluation of
    // this split, confidence the classifier's scores.
    bool setSortKey(SortKey key);
    bool isSortAvailable(SortKey key) const;
    // The tooltip of a sort item: what it sorts by, or why it is disabled.
    QString sortToolTip(SortKey key) const;

    // Per-image IoU and classifier scores from an evaluation of the open split (results of
    // another folder or split are ignored).
    void setEvaluation(const std::shared_ptr<const wsss::training::EvaluationResult> &result);
    // The classifier's scores of one image (from its inspection).
    void setImageScores(const std::string &id, const std::vector<float> &scores);
    // The open project's review states (ImageListModel::setReviewStates: call after setDataset)
    // and one image's change. Under the review filter the image joins or leaves the list at
    // once, without announcing another image; the next nextImage() goes on from its place.
    void setReviewStates(const std::map<std::string, wsss::training::ReviewState> &states);
    void setReviewState(const std::string &id, wsss::training::ReviewState state);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

Q_SIGNALS:
    void imageSelected(const QString &id, const QString &imagePath, const QVector<int> &labels);

private:
    void emitCurrent();
    void updateCount();
    void updateSortItems();
    bool stepImage(int delta);
    // Runs a filter or order change without announcing a new image; the shown one stays current
    // while listed.
    template <typename Change> void refilter(Change change);
    // After rows came or went: the shown image current while listed, else no row; announces nothing.
    void keepShownCurrent();

    ImageListModel *m_model = nullptr;
    ImageFilterProxy *m_proxy = nullptr;
    ImageItemDelegate *m_delegate = nullptr;
    QLineEdit *m_search = nullptr;
    QComboBox *m_classCombo = nullptr;
    QComboBox *m_sortCombo = nullptr;
    QComboBox *m_reviewCombo = nullptr;
    QListView *m_list = nullptr;
    QLabel *m_count = nullptr;
    QAction *m_nextAction = nullptr;
    QAction *m_previousAction = nullptr;
    std::string m_root, m_split; // of the open dataset, to match evaluation results
    QString m_shownId;        // the last id announced by imageSelected
    bool m_filtering = false; // current-row changes caused by a filter announce nothing
    bool m_rowsLeaving = false; // nor those the view makes while rows are being removed
};

} // namespace wsss::ui
