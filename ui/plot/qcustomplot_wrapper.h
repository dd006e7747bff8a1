#pragma once
// The one include of QCustomPlot. Its header uses the `signals` and `foreach` keywords, which
// QT_NO_KEYWORDS switches off (they clash with LibTorch); map them for the include only.
#define signals Q_SIGNALS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef foreach
#undef signals
