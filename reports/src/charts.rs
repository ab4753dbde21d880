//! A sweep's charts: histograms, CDFs and bar charts, as SVG. (Being written.)
