//! Self-contained HTML pages: one per run, one per sweep. (Being written.)
