//! The chart of one key of a checked history: one lane per client, each operation a bar from
//! its invocation to its return, colored by outcome; the operations of the minimal failing
//! sub-history outlined in red; each operation of the longest linearization numbered in its
//! order; a red line where that linearization stopped. An operation that never returned is a
//! thin dashed line along the bottom of its lane to the end of the axis, so that the same
//! client's later operations stay visible above it.

use crate::model::{HistoryKey, HistoryOp, OpOutcome};
use crate::scene::{self, Anchor, Color, Scene, Shape, Stroke};

const LANE_HEIGHT_PX: f64 = 28.0;
const BAR_HEIGHT_PX: f64 = 18.0;
const LEFT_PX: f64 = 90.0;
const RIGHT_PX: f64 = 20.0;
const TOP_PX: f64 = 28.0;
const BOTTOM_PX: f64 = 10.0;
const TEXT_PX: f64 = 11.0;
const TICKS: usize = 5;

const OK: Color = Color::rgb(0x9c, 0xd3, 0x9f);
const FAIL: Color = Color::rgb(0xc8, 0xc8, 0xc8);
const UNKNOWN: Color = Color::rgb(0xf2, 0xa3, 0x4b);
const MINIMAL: Color = Color::rgb(0xd0, 0x1c, 0x1c);
const INK: Color = Color::rgb(0x33, 0x33, 0x33);
const GRID: Color = Color::rgb(0xe4, 0xe4, 0xe4);

/// The key's chart as SVG, `width_px` wide; `axis` names the x axis.
pub fn svg(key: &HistoryKey, axis: &str, width_px: u32) -> String {
    scene::to_svg(&scene(key, axis, width_px, None))
}

/// The window around the minimal failing sub-history (from the first of its invocations to
/// the last of its returns, and a tenth more on each side), if the key has one.
pub fn failure_window(key: &HistoryKey) -> Option<(f64, f64)> {
    let minimal = key.ops.iter().filter(|op| op.minimal);
    let (from, to) = minimal.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), op| {
        (lo.min(op.start), hi.max(op.end.unwrap_or(op.start)))
    });
    if !from.is_finite() {
        return None;
    }
    let pad = ((to - from) / 10.0).max(1e-6);
    Some((from - pad, to + pad))
}

/// The key's chart within `window` only: the operations that overlap it, cut at its edges.
pub fn svg_window(key: &HistoryKey, axis: &str, width_px: u32, window: (f64, f64)) -> String {
    scene::to_svg(&scene(key, axis, width_px, Some(window)))
}

/// The key's chart as a scene, of the whole key or of `window`.
pub fn scene(key: &HistoryKey, axis: &str, width_px: u32, window: Option<(f64, f64)>) -> Scene {
    let (from, to) = window.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
    let overlaps = |op: &&HistoryOp| op.start <= to && op.end.is_none_or(|e| e >= from);
    let shown: Vec<HistoryOp> = key
        .ops
        .iter()
        .filter(overlaps)
        .map(|op| HistoryOp {
            start: op.start.max(from),
            end: op.end.map(|e| e.min(to)),
            ..op.clone()
        })
        .collect();
    let key = &HistoryKey {
        ops: shown,
        stuck_at: key.stuck_at.filter(|at| (from..=to).contains(at)),
        ..key.clone()
    };
    let mut lanes: Vec<u64> = key.ops.iter().map(|op| op.process).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let height_px = TOP_PX + LANE_HEIGHT_PX * lanes.len().max(1) as f64 + BOTTOM_PX;
    let mut s = Scene::new(width_px, height_px.ceil() as u32);
    let x = match window {
        Some((from, to)) => Scale::window(from, to, width_px),
        None => Scale::of(key, width_px),
    };
    axis_and_lanes(&mut s, &x, &lanes, axis);
    for op in &key.ops {
        let lane = lanes.binary_search(&op.process).unwrap_or(0);
        operation(&mut s, &x, op, TOP_PX + LANE_HEIGHT_PX * lane as f64);
    }
    if let Some(at) = key.stuck_at {
        stuck_line(&mut s, &x, at, height_px);
    }
    s
}

/// Axis units to pixels.
struct Scale {
    min: f64,
    max: f64,
    width_px: f64,
}

impl Scale {
    fn of(key: &HistoryKey, width_px: u32) -> Scale {
        let ends = key
            .ops
            .iter()
            .flat_map(|op| [Some(op.start), op.end])
            .flatten();
        let (min, max) = ends.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let (min, max) = if min.is_finite() {
            (min, max)
        } else {
            (0.0, 1.0)
        };
        // A margin of a fiftieth on the right leaves room for the ops that never returned.
        let span = (max - min).max(1e-9);
        Scale {
            min,
            max: max + span / 50.0,
            width_px: f64::from(width_px) - LEFT_PX - RIGHT_PX,
        }
    }

    fn window(min: f64, max: f64, width_px: u32) -> Scale {
        Scale {
            min,
            max: max.max(min + 1e-9),
            width_px: f64::from(width_px) - LEFT_PX - RIGHT_PX,
        }
    }

    fn px(&self, v: f64) -> f64 {
        LEFT_PX + (v - self.min) / (self.max - self.min) * self.width_px
    }
}

fn axis_and_lanes(s: &mut Scene, x: &Scale, lanes: &[u64], axis: &str) {
    for i in 0..=TICKS {
        let v = x.min + (x.max - x.min) * i as f64 / TICKS as f64;
        let at = x.px(v);
        let bottom = TOP_PX + LANE_HEIGHT_PX * lanes.len() as f64;
        s.push(Shape::Line {
            from: (at, TOP_PX - 4.0),
            to: (at, bottom),
            stroke: Stroke::solid(GRID, 1.0),
        });
        s.push(text(
            (at, TOP_PX - 8.0),
            &format_tick(v),
            Anchor::Middle,
            INK,
        ));
    }
    s.push(text((LEFT_PX - 6.0, 12.0), axis, Anchor::End, INK))
        .class("axis-name");
    for (i, process) in lanes.iter().enumerate() {
        let y = TOP_PX + LANE_HEIGHT_PX * i as f64;
        s.push(Shape::Line {
            from: (LEFT_PX, y + LANE_HEIGHT_PX),
            to: (x.px(x.max), y + LANE_HEIGHT_PX),
            stroke: Stroke::solid(GRID, 1.0),
        });
        s.push(text(
            (LEFT_PX - 6.0, y + LANE_HEIGHT_PX / 2.0 + 4.0),
            &format!("client {process}"),
            Anchor::End,
            INK,
        ))
        .class("lane");
    }
}

fn operation(s: &mut Scene, x: &Scale, op: &HistoryOp, lane_top: f64) {
    let tooltip = tooltip(op);
    let class = match (op.minimal, op.linearized.is_some()) {
        (true, _) => "op minimal",
        (false, true) => "op linearized",
        (false, false) => "op",
    };
    let start = x.px(op.start);
    let Some(end) = op.end else {
        // Never returned: a thin dashed line to the end, below the lane's bars.
        let y = lane_top + LANE_HEIGHT_PX - 4.0;
        let stroke_color = if op.minimal { MINIMAL } else { UNKNOWN };
        s.push(Shape::Line {
            from: (start, y),
            to: (x.px(x.max), y),
            stroke: Stroke::dashed(stroke_color, 2.0),
        })
        .class(format!("{class} unknown"))
        .tooltip(tooltip.clone())
        .href(format!("#op-{}", op.id));
        s.push(Shape::Rect {
            x_px: start - 1.5,
            y_px: lane_top + 4.0,
            width_px: 3.0,
            height_px: BAR_HEIGHT_PX,
            fill: Some(stroke_color),
            stroke: None,
        })
        .tooltip(tooltip)
        .href(format!("#op-{}", op.id));
        return;
    };
    let width_px = (x.px(end) - start).max(2.0);
    let fill = match op.outcome {
        OpOutcome::Ok => OK,
        OpOutcome::Fail => FAIL,
        OpOutcome::Unknown => UNKNOWN,
    };
    let outline = if op.minimal {
        Stroke::solid(MINIMAL, 2.5)
    } else {
        Stroke::solid(INK.with_alpha(90), 0.8)
    };
    s.push(Shape::Rect {
        x_px: start,
        y_px: lane_top + 4.0,
        width_px,
        height_px: BAR_HEIGHT_PX,
        fill: Some(fill),
        stroke: Some(outline),
    })
    .class(class)
    .tooltip(tooltip)
    .href(format!("#op-{}", op.id));
    let label = match op.linearized {
        Some(n) => format!("{n}. {}", op.label),
        None => op.label.clone(),
    };
    if let Some(fitted) = scene::fit_text(&label, TEXT_PX, width_px - 4.0) {
        s.push(text(
            (start + 2.0, lane_top + 4.0 + BAR_HEIGHT_PX - 5.0),
            &fitted,
            Anchor::Start,
            INK,
        ));
    }
}

fn stuck_line(s: &mut Scene, x: &Scale, at: f64, height_px: f64) {
    let px = x.px(at);
    s.push(Shape::Line {
        from: (px, TOP_PX - 4.0),
        to: (px, height_px - BOTTOM_PX),
        stroke: Stroke::dashed(MINIMAL, 1.5),
    })
    .class("stuck")
    .tooltip("the longest linearization found stops here: the first operation to return that it could not take");
    s.push(text(
        (px + 3.0, 12.0),
        "search stuck",
        Anchor::Start,
        MINIMAL,
    ));
}

fn tooltip(op: &HistoryOp) -> String {
    let end = op.end.map_or("never returned".to_string(), format_tick);
    let mut t = format!(
        "client {}: {}\n{} .. {}\n{}",
        op.process,
        op.label,
        format_tick(op.start),
        end,
        op.lines
    );
    if op.minimal {
        t.push_str("\nin the minimal failing sub-history");
    }
    match op.linearized {
        Some(n) => t.push_str(&format!("\nnumber {n} of the longest linearization")),
        None => t.push_str("\nnot in the longest linearization"),
    }
    t
}

fn text(at: (f64, f64), text: &str, anchor: Anchor, color: Color) -> Shape {
    Shape::Text {
        at,
        text: text.to_string(),
        size_px: TEXT_PX,
        anchor,
        color,
    }
}

/// A tick's label: whole numbers as they are, others with three decimals at most.
fn format_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: usize, process: u64, start: f64, end: Option<f64>) -> HistoryOp {
        HistoryOp {
            id,
            process,
            label: format!("write {id} -> ok"),
            start,
            end,
            outcome: if end.is_some() {
                OpOutcome::Ok
            } else {
                OpOutcome::Unknown
            },
            minimal: id == 1,
            linearized: (id == 0).then_some(1),
            lines: format!("lines {}, {}", id * 2 + 1, id * 2 + 2),
        }
    }

    #[test]
    fn every_operation_is_drawn_in_its_lane_with_its_tooltip_and_link() {
        let key = HistoryKey {
            name: "key k1".into(),
            verdict: "not linearizable".into(),
            note: String::new(),
            stuck_at: Some(30.0),
            ops: vec![
                op(0, 1, 0.0, Some(10.0)),
                op(1, 2, 5.0, Some(30.0)),
                op(2, 1, 12.0, None),
            ],
            ops_left_out: 0,
        };
        let svg = svg(&key, "time (ms)", 800);
        assert_eq!(svg.matches("class=\"op minimal\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("class=\"op linearized\"").count(), 1);
        assert_eq!(
            svg.matches("class=\"op unknown\"").count(),
            1,
            "a thin line"
        );
        assert!(svg.contains("href=\"#op-2\""));
        assert!(svg.contains("in the minimal failing sub-history"));
        assert!(svg.contains("number 1 of the longest linearization"));
        assert!(svg.contains("client 2"));
        assert!(svg.contains("class=\"stuck\""));
        // Two lanes: the unknown op of client 1 does not make a third.
        assert!(svg.contains(&format!(
            "height=\"{}\"",
            (TOP_PX + 2.0 * LANE_HEIGHT_PX + BOTTOM_PX).ceil()
        )));

        // The window around the failure holds the minimal op and what overlaps it.
        let window = failure_window(&key).unwrap();
        assert!(window.0 < 5.0 && window.1 > 30.0, "{window:?}");
        let zoom = svg_window(&key, "time (ms)", 800, (20.0, 40.0));
        assert_eq!(
            zoom.matches("href=\"#op-0\"").count(),
            0,
            "op 0 ended before the window"
        );
        assert!(zoom.contains("href=\"#op-1\"") && zoom.contains("href=\"#op-2\""));
    }
}
