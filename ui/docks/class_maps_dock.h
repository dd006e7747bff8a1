#pragma once
// ClassMapsDock: the current map kind's maps side by side — one small heatmap per class the
// image is labelled with, its name underneath, in the canvas's colour map; the class the canvas
// shows is framed, and clicking a tile asks for its class (classActivated). Kinds a method adds
// (gradient maps, CARMs) appear with no change here: the dock follows the canvas's map kind.
// Reads only the current inspection, never the model.
#include "training/methods/inspection.h"
#include "ui/canvas/color_map.h"

#include <QDockWidget>
#include <QImage>
#include <QString>

#include <memory>
#include <vector>

class QGridLayout;
class QLabel;

namespace wsss::ui {

class ClassMapTile;

class ClassMapsDock : public QDockWidget {
    Q_OBJECT
public:
    explicit ClassMapsDock(QWidget *parent = nullptr);

    void setInspection(std::shared_ptr<const wsss::training::Inspection> inspection);
    void setMapKind(const QString &kind); // "" = the inspection's first kind, as the canvas
    void setColorMap(ColorMap map);
    void setCurrentClass(int classIndex); // framed; -1 frames none

    int tileCount() const { return static_cast<int>(m_classes.size()); }
    int tileClass(int index) const; // class index of a tile, -1 when out of range
    QWidget *tile(int index) const; // the clickable widget, for tests
    QImage tileImage(int index) const; // the heatmap as drawn (at most kTileSide pixels a side)
    QString kind() const;           // the kind shown

    static constexpr int kTileSide = 160;

Q_SIGNALS:
    void classActivated(int classIndex);

private:
    void rebuild();

    std::shared_ptr<const wsss::training::Inspection> m_inspection;
    QString m_kind;
    ColorMap m_colorMap = ColorMap::Jet;
    int m_currentClass = -1;
    std::vector<int> m_classes;
    std::vector<ClassMapTile *> m_tiles;
    QGridLayout *m_layout = nullptr;
    QLabel *m_status = nullptr;
};

} // namespace wsss::ui
