//! The timeline chart of one run. (Being written: the API below is what callers use.)

use crate::model::Timeline;

/// What part of the run to draw, and how wide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartOptions {
    /// Start of the window drawn (default: 0).
    pub from_ns: Option<u64>,
    /// End of the window drawn (default: the end of the run).
    pub to_ns: Option<u64>,
    /// Width of the chart in pixels.
    pub width_px: u32,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            from_ns: None,
            to_ns: None,
            width_px: 1600,
        }
    }
}

/// Why a chart could not be drawn.
#[derive(Debug)]
pub enum ChartError {
    /// The window is empty or outside the run.
    BadWindow(String),
    /// Drawing or encoding failed.
    Draw(String),
}

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChartError::BadWindow(m) => write!(f, "bad window: {m}"),
            ChartError::Draw(m) => write!(f, "drawing failed: {m}"),
        }
    }
}

impl std::error::Error for ChartError {}

/// The chart as an SVG document.
pub fn svg(timeline: &Timeline, options: &ChartOptions) -> Result<String, ChartError> {
    let _ = (timeline, options);
    Err(ChartError::Draw("not written yet".into()))
}

/// The chart as PNG bytes.
pub fn png(timeline: &Timeline, options: &ChartOptions) -> Result<Vec<u8>, ChartError> {
    let _ = (timeline, options);
    Err(ChartError::Draw("not written yet".into()))
}
