//! raftsim's pictures: a run's timeline (SVG or PNG), a sweep's distributions, and one
//! self-contained HTML page per run or sweep.
//!
//! This crate only draws. What it draws is plain data ([`model`]) that the simulator fills
//! in from a run or a trace file, so the same trace always gives the same bytes.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod charts;
pub mod font;
pub mod history_chart;
pub mod html;
pub mod model;
pub mod scene;
pub mod timeline;
