//! The timeline chart of one run: a lane per node (its roles, terms and commit index, and the
//! faults that hit it), a lane per client (its operations), the violation if there is one, and,
//! in a zoomed window, the messages between nodes.
//!
//! `layout` turns a [`Timeline`] into a [`Scene`]; [`svg`] and [`png`] render that scene. Only
//! what falls in the window is laid out, so zooming into a long run costs little; every loop
//! runs over the timeline's own lists once (or a sorted copy of a part of them) or has a
//! named limit.

use std::collections::BTreeMap;

use crate::model::{
    ClientOp, CommitPoint, Fault, FaultKind, Message, OpOutcome, Role, RoleSpan, Timeline,
    ViolationMark,
};
use crate::scene::{self, Anchor, Color, Head, Point, Scene, Shape, Stroke};

/// A window showing at most this many messages draws each as an arrow; with more, the chart
/// says how many there are instead.
pub const MESSAGES_DRAWN_MAX: usize = 2000;

/// The narrowest chart drawn: narrower, the lane labels and the legend no longer fit.
pub const WIDTH_PX_MIN: u32 = 400;

/// The widest chart drawn (which keeps a PNG's pixels in memory bounded).
pub const WIDTH_PX_MAX: u32 = 8192;

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
    let scene = layout(timeline, options)?;
    Ok(scene::to_svg(&scene))
}

/// The chart as PNG bytes.
pub fn png(timeline: &Timeline, options: &ChartOptions) -> Result<Vec<u8>, ChartError> {
    let scene = layout(timeline, options)?;
    scene::to_png(&scene).map_err(|e| ChartError::Draw(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Sizes and colors

const MARGIN_PX: f64 = 8.0;
const GUTTER_PX: f64 = 78.0;
const RIGHT_MARGIN_PX: f64 = 18.0;
const TITLE_BASELINE_PX: f64 = 21.0;
const LEGEND_TOP_PX: f64 = 31.0;
const LEGEND_ROW_PX: f64 = 17.0;
const SWATCH_PX: f64 = 16.0;
const AXIS_PX: f64 = 24.0;
const CLUSTER_LANE_PX: f64 = 16.0;
const NODE_LANE_PX: f64 = 34.0;
const CLIENT_LANE_PX: f64 = 22.0;
const LANE_GAP_PX: f64 = 4.0;
const SECTION_GAP_PX: f64 = 10.0;
const NOTE_ROW_PX: f64 = 16.0;
const MARKER_RADIUS_PX: f64 = 5.5;

// Font sizes, as plotters measures them (ascent to descent).
const TITLE_SIZE_PX: f64 = 18.0;
const LABEL_SIZE_PX: f64 = 14.0;
const SMALL_SIZE_PX: f64 = 13.0;
const TINY_SIZE_PX: f64 = 12.0;

/// Axis ticks drawn at most, whatever the width.
const TICKS_MAX: usize = 100;
/// The closest two tick labels come.
const TICK_SPACING_PX: f64 = 90.0;

const INK: Color = Color::rgb(34, 34, 34);
const MUTED: Color = Color::rgb(110, 110, 110);
const RED: Color = Color::rgb(214, 0, 0);
const NODE_LANE: Color = Color::rgb(242, 242, 242);
const CLIENT_LANE: Color = Color::rgb(247, 247, 247);
const GRID: Color = Color::rgb(0, 0, 0).with_alpha(28);
const COMMIT: Color = Color::rgb(0, 0, 0).with_alpha(190);
const MESSAGE: Color = Color::rgb(40, 60, 110).with_alpha(170);
const DROPPED: Color = Color::rgb(190, 40, 40).with_alpha(210);
const BAND_FILL_ALPHA: u8 = 56;
const BAND_EDGE_ALPHA: u8 = 200;

// ---------------------------------------------------------------------------------------------
// The window and the lanes

/// The time window and where it lies horizontally.
struct Frame {
    from_ns: u64,
    to_ns: u64,
    left_px: f64,
    right_px: f64,
    /// A window was asked for (only then are messages drawn).
    zoomed: bool,
}

impl Frame {
    fn new(timeline: &Timeline, options: &ChartOptions) -> Result<Frame, ChartError> {
        let width_px = options.width_px;
        if !(WIDTH_PX_MIN..=WIDTH_PX_MAX).contains(&width_px) {
            return Err(ChartError::Draw(format!(
                "width_px {width_px} is outside {WIDTH_PX_MIN}..={WIDTH_PX_MAX}"
            )));
        }
        let from_ns = options.from_ns.unwrap_or(0);
        let to_ns = options.to_ns.unwrap_or(timeline.end_ns);
        if from_ns >= timeline.end_ns {
            return Err(ChartError::BadWindow(format!(
                "from {} is not before the end of the run at {}",
                seconds(from_ns),
                seconds(timeline.end_ns)
            )));
        }
        if from_ns >= to_ns {
            return Err(ChartError::BadWindow(format!(
                "from {} is not before to {}",
                seconds(from_ns),
                seconds(to_ns)
            )));
        }
        Ok(Frame {
            from_ns,
            to_ns,
            left_px: GUTTER_PX,
            right_px: f64::from(width_px) - RIGHT_MARGIN_PX,
            zoomed: options.from_ns.is_some() || options.to_ns.is_some(),
        })
    }

    /// Where `time_ns` is, even outside the window (for lines that cross its edges).
    fn x_unclamped_px(&self, time_ns: u64) -> f64 {
        let share = (time_ns as f64 - self.from_ns as f64) / (self.to_ns - self.from_ns) as f64;
        self.left_px + share * (self.right_px - self.left_px)
    }

    /// Where `time_ns` is, held to the window's edges.
    fn x_px(&self, time_ns: u64) -> f64 {
        self.x_unclamped_px(time_ns.clamp(self.from_ns, self.to_ns))
    }

    /// The visible part of `[from_ns, to_ns)`, or `None` if it misses the window.
    fn span_px(&self, from_ns: u64, to_ns: u64) -> Option<(f64, f64)> {
        let visible = from_ns < to_ns && from_ns < self.to_ns && to_ns > self.from_ns;
        visible.then(|| (self.x_px(from_ns), self.x_px(to_ns)))
    }

    /// An instant is shown if it is in the window or on its right edge (a violation found at
    /// the end of the run is still drawn).
    fn shows(&self, time_ns: u64) -> bool {
        (self.from_ns..=self.to_ns).contains(&time_ns)
    }
}

#[derive(Clone, Copy, Debug)]
struct Lane {
    top_px: f64,
    height_px: f64,
}

impl Lane {
    fn bottom_px(&self) -> f64 {
        self.top_px + self.height_px
    }

    fn middle_px(&self) -> f64 {
        self.top_px + self.height_px * 0.5
    }
}

/// The lanes, top to bottom: one for cluster-wide events, one per node, one per client.
struct Lanes {
    cluster: Lane,
    nodes: Vec<(u64, Lane)>,
    clients: Vec<(u64, Lane)>,
    /// Lane positions in `nodes` and `clients` by id (the first lane of an id repeated).
    node_index: BTreeMap<u64, usize>,
    client_index: BTreeMap<u64, usize>,
    bottom_px: f64,
}

impl Lanes {
    fn new(timeline: &Timeline, top_px: f64) -> Lanes {
        let cluster = Lane {
            top_px,
            height_px: CLUSTER_LANE_PX,
        };
        let mut next_px = cluster.bottom_px() + LANE_GAP_PX;
        let nodes = stack(&timeline.nodes, NODE_LANE_PX, &mut next_px);
        next_px += SECTION_GAP_PX - LANE_GAP_PX;
        let clients = stack(&timeline.clients, CLIENT_LANE_PX, &mut next_px);
        Lanes {
            cluster,
            node_index: index_of(&nodes),
            client_index: index_of(&clients),
            nodes,
            clients,
            bottom_px: next_px - LANE_GAP_PX,
        }
    }

    fn node(&self, id: u64) -> Option<Lane> {
        self.node_index.get(&id).map(|&i| self.nodes[i].1)
    }

    fn client(&self, id: u64) -> Option<Lane> {
        self.client_index.get(&id).map(|&i| self.clients[i].1)
    }

    /// The rows a fault on `nodes` covers, as (top, bottom): its nodes' lanes, adjacent ones
    /// joined; all node lanes if `nodes` is empty (the whole cluster).
    fn rows_px(&self, nodes: &[u64]) -> Vec<(f64, f64)> {
        let (Some(first), Some(last)) = (self.nodes.first(), self.nodes.last()) else {
            return Vec::new();
        };
        if nodes.is_empty() {
            return vec![(first.1.top_px, last.1.bottom_px())];
        }
        let mut picked: Vec<usize> = nodes
            .iter()
            .filter_map(|id| self.node_index.get(id).copied())
            .collect();
        picked.sort_unstable();
        picked.dedup();
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for i in picked {
            match runs.last_mut() {
                Some(run) if run.1 + 1 == i => run.1 = i,
                _ => runs.push((i, i)),
            }
        }
        let row = |(a, b): (usize, usize)| (self.nodes[a].1.top_px, self.nodes[b].1.bottom_px());
        runs.into_iter().map(row).collect()
    }
}

fn stack(ids: &[u64], height_px: f64, next_px: &mut f64) -> Vec<(u64, Lane)> {
    let mut lanes = Vec::with_capacity(ids.len());
    for &id in ids {
        lanes.push((
            id,
            Lane {
                top_px: *next_px,
                height_px,
            },
        ));
        *next_px += height_px + LANE_GAP_PX;
    }
    lanes
}

fn index_of(lanes: &[(u64, Lane)]) -> BTreeMap<u64, usize> {
    let mut index = BTreeMap::new();
    for (i, (id, _)) in lanes.iter().enumerate() {
        index.entry(*id).or_insert(i);
    }
    index
}

// ---------------------------------------------------------------------------------------------
// The chart

fn layout(timeline: &Timeline, options: &ChartOptions) -> Result<Scene, ChartError> {
    let frame = Frame::new(timeline, options)?;
    let messages = MessagePlan::new(timeline, &frame);
    let mut scene = Scene::new(options.width_px, 0);
    title(&mut scene, timeline, &frame);
    let legend_bottom_px = legend(&mut scene, timeline, &messages, &frame);
    let lanes = Lanes::new(timeline, legend_bottom_px + AXIS_PX);
    lane_backgrounds(&mut scene, timeline, &lanes, &frame);
    let terms = roles(&mut scene, &timeline.roles, &lanes, &frame);
    fault_bands(&mut scene, timeline, &lanes, &frame);
    commits(&mut scene, &timeline.commits, &lanes, &frame);
    axis(&mut scene, &lanes, &frame);
    let mut notes = Vec::new();
    let drawn = draw_messages(&mut scene, &timeline.messages, &messages, &lanes, &frame);
    notes.extend(drawn);
    // Terms go over the commit line and the messages, which would hide them.
    for term in terms {
        scene.push(term).class("term");
    }
    fault_markers(&mut scene, &timeline.faults, &lanes, &frame);
    ops(&mut scene, timeline, &lanes, &frame);
    if let Some(violation) = &timeline.violation {
        notes.extend(violation_mark(&mut scene, violation, &lanes, &frame));
    }
    let notes_bottom_px = write_notes(&mut scene, &notes, lanes.bottom_px);
    scene.height_px = (notes_bottom_px + MARGIN_PX).ceil() as u32;
    Ok(scene)
}

fn title(scene: &mut Scene, timeline: &Timeline, frame: &Frame) {
    let mut text = timeline.title.clone();
    if frame.zoomed {
        if !text.is_empty() {
            text.push_str(" · ");
        }
        let window = format!("{} to {}", seconds(frame.from_ns), seconds(frame.to_ns));
        text.push_str(&window);
    }
    let width_px = f64::from(scene.width_px) - 2.0 * MARGIN_PX;
    if let Some(fitted) = scene::fit_text(&text, TITLE_SIZE_PX, width_px) {
        let fitted = fitted.into_owned();
        let at = (MARGIN_PX, TITLE_BASELINE_PX);
        scene
            .push(text_shape(at, fitted, TITLE_SIZE_PX, Anchor::Start, INK))
            .class("title");
    }
}

fn lane_backgrounds(scene: &mut Scene, timeline: &Timeline, lanes: &Lanes, frame: &Frame) {
    let involved: &[u64] = match &timeline.violation {
        Some(violation) => &violation.nodes,
        None => &[],
    };
    lane(scene, lanes.cluster, frame, NODE_LANE, "lane-cluster");
    lane_label(scene, lanes.cluster, "cluster", TINY_SIZE_PX, MUTED);
    for (id, node_lane) in &lanes.nodes {
        lane(scene, *node_lane, frame, NODE_LANE, "lane-node");
        let color = if involved.contains(id) { RED } else { INK };
        lane_label(
            scene,
            *node_lane,
            &format!("node {id}"),
            LABEL_SIZE_PX,
            color,
        );
    }
    for (id, client_lane) in &lanes.clients {
        lane(scene, *client_lane, frame, CLIENT_LANE, "lane-client");
        let label = format!("client {id}");
        lane_label(scene, *client_lane, &label, SMALL_SIZE_PX, INK);
    }
}

fn lane(scene: &mut Scene, lane: Lane, frame: &Frame, fill: Color, class: &'static str) {
    scene
        .push(rect(
            (frame.left_px, lane.top_px),
            frame.right_px - frame.left_px,
            lane.height_px,
            fill,
        ))
        .class(class);
}

fn lane_label(scene: &mut Scene, lane: Lane, label: &str, size_px: f64, color: Color) {
    let width_px = GUTTER_PX - MARGIN_PX - 6.0;
    if let Some(fitted) = scene::fit_text(label, size_px, width_px) {
        let at = (MARGIN_PX, baseline_px(lane.middle_px(), size_px));
        scene
            .push(text_shape(
                at,
                fitted.into_owned(),
                size_px,
                Anchor::Start,
                color,
            ))
            .class("lane-label");
    }
}

// ---------------------------------------------------------------------------------------------
// Node lanes: roles, terms, commit index

struct RoleLook {
    class: &'static str,
    name: &'static str,
    fill: Color,
    text: Color,
}

fn role_look(role: Role) -> RoleLook {
    let (class, name, fill, text) = match role {
        Role::Follower => ("role-follower", "follower", Color::rgb(200, 200, 200), INK),
        Role::Candidate => ("role-candidate", "candidate", Color::rgb(245, 180, 0), INK),
        Role::Leader => (
            "role-leader",
            "leader",
            Color::rgb(40, 140, 60),
            Color::WHITE,
        ),
        Role::Down => ("role-down", "down", Color::rgb(40, 40, 40), Color::WHITE),
        Role::Paused => (
            "role-paused",
            "paused",
            Color::rgb(60, 110, 210),
            Color::WHITE,
        ),
    };
    RoleLook {
        class,
        name,
        fill,
        text,
    }
}

/// Draws the role bands; returns the term labels, to be drawn on top of what else is in the
/// lanes.
fn roles(scene: &mut Scene, roles: &[RoleSpan], lanes: &Lanes, frame: &Frame) -> Vec<Shape> {
    let mut visible: Vec<&RoleSpan> = roles
        .iter()
        .filter(|s| lanes.node(s.node).is_some() && frame.span_px(s.from_ns, s.to_ns).is_some())
        .collect();
    visible.sort_by_key(|s| (s.node, s.from_ns));
    // The (node, term) last written: a term is written once, on its first span wide enough
    // (a short candidacy that wins leaves the number to the leader's band).
    let mut written: Option<(u64, u64)> = None;
    let mut terms = Vec::new();
    for span in visible {
        let (Some(lane), Some((x0, x1))) = (
            lanes.node(span.node),
            frame.span_px(span.from_ns, span.to_ns),
        ) else {
            continue;
        };
        let look = role_look(span.role);
        let tooltip = format!(
            "node {} · {} · term {} · {} to {}",
            span.node,
            look.name,
            span.term,
            seconds(span.from_ns),
            seconds(span.to_ns)
        );
        scene
            .push(rect((x0, lane.top_px), x1 - x0, lane.height_px, look.fill))
            .class(look.class)
            .tooltip(tooltip);
        if span.role == Role::Down || written == Some((span.node, span.term)) {
            continue;
        }
        if let Some(term) = term_label(span.term, lane, (x0, x1), look.text) {
            terms.push(term);
            written = Some((span.node, span.term));
        }
    }
    terms
}

/// `term N` (or just `N`) at the start of a band, if it fits.
fn term_label(term: u64, lane: Lane, (x0, x1): (f64, f64), color: Color) -> Option<Shape> {
    let room_px = x1 - x0 - 6.0;
    let long = format!("term {term}");
    let short = term.to_string();
    let text = [long, short]
        .into_iter()
        .find(|t| scene::text_width_px(t, SMALL_SIZE_PX) <= room_px)?;
    let at = (x0 + 3.0, baseline_px(lane.middle_px(), SMALL_SIZE_PX));
    Some(text_shape(at, text, SMALL_SIZE_PX, Anchor::Start, color))
}

fn commits(scene: &mut Scene, commits: &[CommitPoint], lanes: &Lanes, frame: &Frame) {
    let mut points: Vec<&CommitPoint> = commits
        .iter()
        .filter(|c| c.time_ns <= frame.to_ns && lanes.node(c.node).is_some())
        .collect();
    // One scale for every lane, so the lanes compare: the highest index reached by the end
    // of the window.
    let index_max = points.iter().map(|c| c.index).max().unwrap_or(0);
    if index_max == 0 {
        return;
    }
    points.sort_by_key(|c| (c.node, c.time_ns));
    for run in points.chunk_by(|a, b| a.node == b.node) {
        if let Some(lane) = lanes.node(run[0].node) {
            commit_line(scene, run, lane, frame, index_max);
        }
    }
}

/// One node's commit index over the window, as steps rising from the lane's bottom; steps
/// closer than half a pixel merge, so the line has at most four points per pixel.
fn commit_line(scene: &mut Scene, run: &[&CommitPoint], lane: Lane, frame: &Frame, max: u64) {
    let y_px = |index: u64| {
        let share = index as f64 / max as f64;
        lane.bottom_px() - 3.0 - share * (lane.height_px - 6.0)
    };
    let before = run.partition_point(|c| c.time_ns <= frame.from_ns);
    let first_index = before.checked_sub(1).map_or(0, |i| run[i].index);
    let mut index = first_index;
    let mut line: Vec<Point> = vec![(frame.left_px, y_px(index))];
    for point in &run[before..] {
        let x = frame.x_px(point.time_ns);
        let last = line[line.len() - 1];
        if x - last.0 < 0.5 {
            let end = line.len() - 1;
            line[end].1 = y_px(point.index);
        } else {
            line.push((x, last.1));
            line.push((x, y_px(point.index)));
        }
        index = point.index;
    }
    line.push((frame.right_px, y_px(index)));
    let tooltip = format!(
        "node {} · commit index {first_index} to {index} in the window (lanes scaled to {max})",
        run[0].node
    );
    scene
        .push(Shape::Polyline {
            points: line,
            stroke: Stroke::solid(COMMIT, 1.0),
        })
        .class("commit")
        .tooltip(tooltip);
}

// ---------------------------------------------------------------------------------------------
// Faults

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    Cross,
    TriangleUp,
    Diamond,
    Square,
    Circle,
    Star,
}

struct FaultLook {
    class: &'static str,
    name: &'static str,
    color: Color,
    /// Drawn as this marker at its start; `None`: as a band over its span.
    marker: Option<Marker>,
}

/// Every kind, in the order the legend lists them.
const FAULT_KINDS: [FaultKind; 11] = [
    FaultKind::Partition,
    FaultKind::OneWay,
    FaultKind::Bridge,
    FaultKind::Clog,
    FaultKind::Pause,
    FaultKind::Crash,
    FaultKind::Restart,
    FaultKind::ClockJump,
    FaultKind::Membership,
    FaultKind::Network,
    FaultKind::Nemesis,
];

fn fault_look(kind: FaultKind) -> FaultLook {
    use Marker::*;
    let (class, name, color, marker) = match kind {
        FaultKind::Partition => ("fault-partition", "partition", (120, 60, 170), None),
        FaultKind::OneWay => ("fault-one-way", "one-way", (150, 90, 60), None),
        FaultKind::Bridge => ("fault-bridge", "bridge", (20, 160, 180), None),
        FaultKind::Clog => ("fault-clog", "clog", (150, 150, 20), None),
        FaultKind::Pause => ("fault-pause", "pause", (40, 90, 200), None),
        FaultKind::Crash => ("fault-crash", "crash", (220, 30, 30), Some(Cross)),
        FaultKind::Restart => ("fault-restart", "restart", (20, 170, 120), Some(TriangleUp)),
        FaultKind::ClockJump => (
            "fault-clock-jump",
            "clock jump",
            (140, 60, 180),
            Some(Diamond),
        ),
        FaultKind::Membership => (
            "fault-membership",
            "membership",
            (0, 120, 150),
            Some(Square),
        ),
        FaultKind::Network => ("fault-network", "network", (100, 80, 60), Some(Circle)),
        FaultKind::Nemesis => ("fault-nemesis", "nemesis", (220, 60, 170), Some(Star)),
    };
    FaultLook {
        class,
        name,
        color: Color::rgb(color.0, color.1, color.2),
        marker,
    }
}

/// What a fault's band or marker says on hover; `to_ns` is the end of a band.
fn fault_tooltip(fault: &Fault, look: &FaultLook, to_ns: Option<u64>) -> String {
    let when = match to_ns {
        Some(to_ns) => format!("{} to {}", seconds(fault.from_ns), seconds(to_ns)),
        None => seconds(fault.from_ns),
    };
    let whom = if fault.nodes.is_empty() {
        "whole cluster".to_string()
    } else {
        let ids: Vec<String> = fault.nodes.iter().map(u64::to_string).collect();
        format!("nodes {}", ids.join(", "))
    };
    format!("{}: {} · {when} · {whom}", look.name, fault.label)
}

fn fault_bands(scene: &mut Scene, timeline: &Timeline, lanes: &Lanes, frame: &Frame) {
    for fault in &timeline.faults {
        let look = fault_look(fault.kind);
        if look.marker.is_some() {
            continue;
        }
        // A band that was never healed lasts to the end of the run.
        let to_ns = fault.to_ns.unwrap_or(timeline.end_ns);
        let Some((x0, x1)) = frame.span_px(fault.from_ns, to_ns) else {
            continue;
        };
        let tooltip = fault_tooltip(fault, &look, Some(to_ns));
        let rows = lanes.rows_px(&fault.nodes);
        for &(top_px, bottom_px) in &rows {
            scene
                .push(Shape::Rect {
                    x_px: x0,
                    y_px: top_px,
                    width_px: x1 - x0,
                    height_px: bottom_px - top_px,
                    fill: Some(look.color.with_alpha(BAND_FILL_ALPHA)),
                    stroke: Some(Stroke::solid(look.color.with_alpha(BAND_EDGE_ALPHA), 1.0)),
                })
                .class(look.class)
                .tooltip(tooltip.as_str());
        }
        if let Some(&(_, bottom_px)) = rows.first() {
            let label = if fault.label.is_empty() {
                look.name
            } else {
                &fault.label
            };
            band_label(scene, label, (x0, x1), bottom_px, look.color);
        }
    }
}

/// A band's label at its bottom left, on a pale ground so it reads over any role color.
fn band_label(scene: &mut Scene, label: &str, (x0, x1): (f64, f64), bottom_px: f64, color: Color) {
    let Some(text) = scene::fit_text(label, TINY_SIZE_PX, x1 - x0 - 8.0) else {
        return;
    };
    let text = text.into_owned();
    let width_px = scene::text_width_px(&text, TINY_SIZE_PX);
    let ground = Color::WHITE.with_alpha(210);
    scene.push(rect(
        (x0 + 2.0, bottom_px - 14.0),
        width_px + 4.0,
        12.0,
        ground,
    ));
    let at = (x0 + 4.0, bottom_px - 4.0);
    scene
        .push(text_shape(at, text, TINY_SIZE_PX, Anchor::Start, color))
        .class("fault-label");
}

fn fault_markers(scene: &mut Scene, faults: &[Fault], lanes: &Lanes, frame: &Frame) {
    for fault in faults {
        let look = fault_look(fault.kind);
        let Some(marker) = look.marker else {
            continue;
        };
        if !frame.shows(fault.from_ns) {
            continue;
        }
        let x = frame.x_px(fault.from_ns);
        let tooltip = fault_tooltip(fault, &look, None);
        let centres: Vec<Point> = if fault.nodes.is_empty() {
            vec![(x, lanes.cluster.middle_px())]
        } else {
            let lane_of = |id: &u64| lanes.node(*id);
            fault
                .nodes
                .iter()
                .filter_map(lane_of)
                .map(|l| (x, l.top_px + 7.5))
                .collect()
        };
        for centre in centres {
            scene
                .push(marker_shape(marker, centre, MARKER_RADIUS_PX, look.color))
                .class(look.class)
                .tooltip(tooltip.as_str());
        }
    }
}

fn marker_shape(marker: Marker, centre: Point, r: f64, fill: Color) -> Shape {
    Shape::Polygon {
        points: marker_points(marker, centre, r),
        fill,
        stroke: Some(Stroke::solid(Color::WHITE, 1.0)),
    }
}

fn marker_points(marker: Marker, (cx, cy): Point, r: f64) -> Vec<Point> {
    // Corners on a circle: (radius as a share of r, angle in turns from straight up).
    let polar = |corners: &[(f64, f64)]| -> Vec<Point> {
        let at = |&(share, turns): &(f64, f64)| {
            let angle = turns * std::f64::consts::TAU;
            (cx + share * r * angle.sin(), cy - share * r * angle.cos())
        };
        corners.iter().map(at).collect()
    };
    match marker {
        Marker::Cross => {
            // An X: a plus sign with arms a third of r thick, turned an eighth.
            let t = 0.35;
            let plus = [
                (t, 1.0),
                (t, t),
                (1.0, t),
                (1.0, -t),
                (t, -t),
                (t, -1.0),
                (-t, -1.0),
                (-t, -t),
                (-1.0, -t),
                (-1.0, t),
                (-t, t),
                (-t, 1.0),
            ];
            let s = std::f64::consts::FRAC_1_SQRT_2 * r;
            let turn = |&(x, y): &(f64, f64)| (cx + s * (x - y), cy - s * (x + y));
            plus.iter().map(turn).collect()
        }
        Marker::TriangleUp => polar(&[(1.1, 0.0), (1.1, 1.0 / 3.0), (1.1, 2.0 / 3.0)]),
        Marker::Diamond => polar(&[(1.1, 0.0), (1.1, 0.25), (1.1, 0.5), (1.1, 0.75)]),
        Marker::Square => polar(&[(1.0, 0.125), (1.0, 0.375), (1.0, 0.625), (1.0, 0.875)]),
        Marker::Circle => {
            let corners: Vec<(f64, f64)> = (0..12).map(|i| (1.0, f64::from(i) / 12.0)).collect();
            polar(&corners)
        }
        Marker::Star => {
            let star = |i: u32| {
                (
                    if i.is_multiple_of(2) { 1.2 } else { 0.5 },
                    f64::from(i) / 10.0,
                )
            };
            let corners: Vec<(f64, f64)> = (0..10).map(star).collect();
            polar(&corners)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client lanes

struct OpLook {
    class: &'static str,
    name: &'static str,
    fill: Color,
}

fn op_look(outcome: OpOutcome, highlighted: bool) -> OpLook {
    let (class, name, fill) = match (outcome, highlighted) {
        (OpOutcome::Ok, false) => ("op-ok", "ok", Color::rgb(110, 190, 110)),
        (OpOutcome::Ok, true) => ("op-ok op-highlighted", "ok", Color::rgb(110, 190, 110)),
        (OpOutcome::Fail, false) => ("op-fail", "fail", Color::rgb(175, 175, 175)),
        (OpOutcome::Fail, true) => ("op-fail op-highlighted", "fail", Color::rgb(175, 175, 175)),
        (OpOutcome::Unknown, false) => ("op-unknown", "unknown", Color::rgb(245, 145, 45)),
        (OpOutcome::Unknown, true) => (
            "op-unknown op-highlighted",
            "unknown",
            Color::rgb(245, 145, 45),
        ),
    };
    OpLook { class, name, fill }
}

/// Width of the bar of an op that never completed: a mark where it was invoked.
const UNKNOWN_MARK_PX: f64 = 4.0;

fn ops(scene: &mut Scene, timeline: &Timeline, lanes: &Lanes, frame: &Frame) {
    // First the tails of the ops that never completed, under everything: each is a dashed
    // line along the bottom of its lane to the end of the run, so the same client's later
    // ops stay visible above it.
    for op in timeline.ops.iter().filter(|op| op.complete_ns.is_none()) {
        let Some(lane) = lanes.client(op.client) else {
            continue;
        };
        if op.invoke_ns >= frame.to_ns || timeline.end_ns < frame.from_ns {
            continue;
        }
        let y = lane.top_px + lane.height_px - 2.0;
        let look = op_look(op.outcome, op.highlighted);
        let color = if op.highlighted { RED } else { look.fill };
        scene
            .push(Shape::Line {
                from: (frame.x_px(op.invoke_ns.max(frame.from_ns)), y),
                to: (frame.x_px(timeline.end_ns.min(frame.to_ns)), y),
                stroke: Stroke::dashed(color, 1.5),
            })
            .class("op-unknown-tail")
            .href(format!("#op-{}", op.id));
    }
    for op in &timeline.ops {
        let Some(lane) = lanes.client(op.client) else {
            continue;
        };
        let end_ns = op.complete_ns.unwrap_or(timeline.end_ns).max(op.invoke_ns);
        if op.invoke_ns >= frame.to_ns || end_ns < frame.from_ns {
            continue;
        }
        let x0 = frame.x_px(op.invoke_ns);
        if op.complete_ns.is_none() {
            // Its mark at the invocation; the tail above says it stays open.
            if op.invoke_ns >= frame.from_ns {
                op_bar(scene, op, lane, (x0, x0 + UNKNOWN_MARK_PX));
            }
            continue;
        }
        // Even an instant op gets a bar a pixel wide; a wider one leaves a pixel before the
        // next, so back-to-back ops stay apart.
        let x1 = frame.x_px(end_ns);
        let x1 = if x1 - x0 > 3.0 {
            x1 - 1.0
        } else {
            x1.max(x0 + 1.0)
        };
        op_bar(scene, op, lane, (x0, x1));
    }
}

fn op_bar(scene: &mut Scene, op: &ClientOp, lane: Lane, (x0, x1): (f64, f64)) {
    let look = op_look(op.outcome, op.highlighted);
    let completed = op.complete_ns.map_or_else(|| "never".to_string(), seconds);
    let tooltip = format!(
        "{} · client {} · {} to {completed} · {}",
        op.label,
        op.client,
        seconds(op.invoke_ns),
        look.name
    );
    let stroke = op.highlighted.then_some(Stroke::solid(RED, 2.5));
    scene
        .push(Shape::Rect {
            x_px: x0,
            y_px: lane.top_px + 2.0,
            width_px: x1 - x0,
            height_px: lane.height_px - 4.0,
            fill: Some(look.fill),
            stroke,
        })
        .class(look.class)
        .tooltip(tooltip)
        .href(format!("#op-{}", op.id));
    if let Some(label) = scene::fit_text(&op.label, TINY_SIZE_PX, x1 - x0 - 6.0) {
        let at = (x0 + 3.0, baseline_px(lane.middle_px(), TINY_SIZE_PX));
        scene
            .push(text_shape(
                at,
                label.into_owned(),
                TINY_SIZE_PX,
                Anchor::Start,
                INK,
            ))
            .class("op-label");
    }
}

// ---------------------------------------------------------------------------------------------
// Messages

/// Which messages a chart shows.
enum MessagePlan {
    /// None fall in the window.
    None,
    /// All of them, one arrow each.
    Drawn,
    /// This many fall in the window: too many to draw, or the whole run is shown.
    Counted(usize),
}

impl MessagePlan {
    fn new(timeline: &Timeline, frame: &Frame) -> MessagePlan {
        let count = timeline
            .messages
            .iter()
            .filter(|m| message_visible(m, frame))
            .count();
        // Messages left out can only be counted, and only a window that starts after them
        // is sure to hold none.
        let left_out = match frame.from_ns < timeline.messages_left_out_before_ns {
            true => usize::try_from(timeline.messages_left_out).unwrap_or(usize::MAX),
            false => 0,
        };
        match count.saturating_add(left_out) {
            0 => MessagePlan::None,
            n if frame.zoomed && left_out == 0 && n <= MESSAGES_DRAWN_MAX => MessagePlan::Drawn,
            n => MessagePlan::Counted(n),
        }
    }
}

fn message_visible(message: &Message, frame: &Frame) -> bool {
    message.sent_ns <= frame.to_ns && message.arrived_ns.max(message.sent_ns) >= frame.from_ns
}

/// Draws the messages, or returns the note that says why not.
fn draw_messages(
    scene: &mut Scene,
    messages: &[Message],
    plan: &MessagePlan,
    lanes: &Lanes,
    frame: &Frame,
) -> Option<String> {
    match plan {
        MessagePlan::None => None,
        MessagePlan::Counted(n) => Some(format!("{n} messages: zoom in (--from/--to) to see them")),
        MessagePlan::Drawn => {
            let visible = messages.iter().filter(|m| message_visible(m, frame));
            for message in visible.take(MESSAGES_DRAWN_MAX) {
                message_arrow(scene, message, lanes, frame);
            }
            None
        }
    }
}

fn message_arrow(scene: &mut Scene, message: &Message, lanes: &Lanes, frame: &Frame) {
    let (Some(from_lane), Some(to_lane)) = (lanes.node(message.from), lanes.node(message.to))
    else {
        return;
    };
    let start = (frame.x_unclamped_px(message.sent_ns), from_lane.middle_px());
    let end = (
        frame.x_unclamped_px(message.arrived_ns),
        to_lane.middle_px(),
    );
    let Some((from, to, end_shown)) = clip_to_columns(start, end, frame.left_px, frame.right_px)
    else {
        return;
    };
    let (stroke, head, class, fate) = if message.delivered {
        (
            Stroke::solid(MESSAGE, 1.0),
            Head::Arrow,
            "message",
            "arrived",
        )
    } else {
        (
            Stroke::dashed(DROPPED, 1.0),
            Head::Cross,
            "message-dropped",
            "dropped",
        )
    };
    let shape = if end_shown {
        Shape::Arrow {
            from,
            to,
            stroke,
            head,
        }
    } else {
        Shape::Line { from, to, stroke }
    };
    let tooltip = format!(
        "{} · node {} to node {} · sent {} · {fate} {}",
        message.kind,
        message.from,
        message.to,
        seconds(message.sent_ns),
        seconds(message.arrived_ns)
    );
    scene.push(shape).class(class).tooltip(tooltip);
}

/// The part of segment `a`–`b` between two x positions, and whether `b` itself is in it.
fn clip_to_columns(
    a: Point,
    b: Point,
    left_px: f64,
    right_px: f64,
) -> Option<(Point, Point, bool)> {
    let dx = b.0 - a.0;
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    if dx == 0.0 {
        if a.0 < left_px || a.0 > right_px {
            return None;
        }
    } else {
        let (ta, tb) = ((left_px - a.0) / dx, (right_px - a.0) / dx);
        t0 = t0.max(ta.min(tb));
        t1 = t1.min(ta.max(tb));
        if t0 > t1 {
            return None;
        }
    }
    let at = |t: f64| (a.0 + dx * t, a.1 + (b.1 - a.1) * t);
    Some((at(t0), at(t1), t1 >= 1.0))
}

// ---------------------------------------------------------------------------------------------
// Axis, violation, notes

fn axis(scene: &mut Scene, lanes: &Lanes, frame: &Frame) {
    let axis_y_px = lanes.cluster.top_px - 2.0;
    scene
        .push(Shape::Line {
            from: (frame.left_px, axis_y_px),
            to: (frame.right_px, axis_y_px),
            stroke: Stroke::solid(MUTED, 1.0),
        })
        .class("axis");
    let span_ns = frame.to_ns - frame.from_ns;
    let ticks_max = ((frame.right_px - frame.left_px) / TICK_SPACING_PX).max(1.0) as u64;
    let step_ns = tick_step_ns(span_ns, ticks_max);
    let first_ns = frame.from_ns.div_ceil(step_ns).saturating_mul(step_ns);
    for i in 0..TICKS_MAX as u64 {
        let time_ns = first_ns.saturating_add(i.saturating_mul(step_ns));
        if time_ns > frame.to_ns {
            break;
        }
        let x = frame.x_px(time_ns);
        scene
            .push(Shape::Line {
                from: (x, axis_y_px - 4.0),
                to: (x, lanes.bottom_px),
                stroke: Stroke::solid(GRID, 1.0),
            })
            .class("grid");
        let label = tick_label(time_ns, step_ns);
        let at = (x, axis_y_px - 7.0);
        scene
            .push(text_shape(at, label, TINY_SIZE_PX, Anchor::Middle, MUTED))
            .class("axis-label");
    }
}

/// The smallest of 1, 2 or 5 times a power of ten (in ns) that cuts `span_ns` into at most
/// `ticks_max` steps.
fn tick_step_ns(span_ns: u64, ticks_max: u64) -> u64 {
    let mut unit_ns: u64 = 1;
    // 10^19 is past u64::MAX: twenty decades try every unit.
    for _ in 0..20 {
        for multiple in [1, 2, 5] {
            let step_ns = unit_ns.saturating_mul(multiple);
            if span_ns / step_ns <= ticks_max {
                return step_ns;
            }
        }
        unit_ns = unit_ns.saturating_mul(10);
    }
    u64::MAX
}

/// `time_ns` in seconds, with as many decimals as the step needs.
fn tick_label(time_ns: u64, step_ns: u64) -> String {
    let (mut decimals, mut unit_ns) = (0usize, 1_000_000_000u64);
    while decimals < 9 && !step_ns.is_multiple_of(unit_ns) {
        decimals += 1;
        unit_ns /= 10;
    }
    format!("{:.decimals$} s", time_ns as f64 / 1e9)
}

/// Marks the violation and its nodes' lanes; returns a note if its time is not shown.
fn violation_mark(
    scene: &mut Scene,
    violation: &ViolationMark,
    lanes: &Lanes,
    frame: &Frame,
) -> Option<String> {
    for &id in &violation.nodes {
        if let Some(lane) = lanes.node(id) {
            scene
                .push(Shape::Rect {
                    x_px: frame.left_px,
                    y_px: lane.top_px,
                    width_px: frame.right_px - frame.left_px,
                    height_px: lane.height_px,
                    fill: None,
                    stroke: Some(Stroke::solid(RED, 2.0)),
                })
                .class("violation-lane");
        }
    }
    if !frame.shows(violation.time_ns) {
        let when = seconds(violation.time_ns);
        return Some(format!(
            "violation at {when}, outside the window: {}",
            violation.title
        ));
    }
    let x = frame.x_px(violation.time_ns);
    let tooltip = format!("{} · {}", violation.title, seconds(violation.time_ns));
    scene
        .push(Shape::Line {
            from: (x, lanes.cluster.top_px),
            to: (x, lanes.bottom_px),
            stroke: Stroke::solid(RED, 2.0),
        })
        .class("violation")
        .tooltip(tooltip);
    violation_title(scene, &violation.title, x, lanes.cluster, frame);
    None
}

/// The violation's title in the cluster lane, on whichever side of its line has more room.
fn violation_title(scene: &mut Scene, title: &str, x: f64, cluster: Lane, frame: &Frame) {
    let (left_room_px, right_room_px) = (x - frame.left_px - 4.0, frame.right_px - x - 4.0);
    let (anchor, at_x, room_px) = if right_room_px >= left_room_px {
        (Anchor::Start, x + 4.0, right_room_px)
    } else {
        (Anchor::End, x - 4.0, left_room_px)
    };
    if let Some(text) = scene::fit_text(title, SMALL_SIZE_PX, room_px) {
        let at = (at_x, baseline_px(cluster.middle_px(), SMALL_SIZE_PX));
        scene
            .push(text_shape(
                at,
                text.into_owned(),
                SMALL_SIZE_PX,
                anchor,
                RED,
            ))
            .class("violation-title");
    }
}

/// Writes one note a line under the lanes; returns where they end.
fn write_notes(scene: &mut Scene, notes: &[String], lanes_bottom_px: f64) -> f64 {
    let width_px = f64::from(scene.width_px) - 2.0 * MARGIN_PX;
    let mut bottom_px = lanes_bottom_px;
    for note in notes {
        bottom_px += NOTE_ROW_PX;
        if let Some(text) = scene::fit_text(note, SMALL_SIZE_PX, width_px) {
            let at = (GUTTER_PX, bottom_px - 3.0);
            scene
                .push(text_shape(
                    at,
                    text.into_owned(),
                    SMALL_SIZE_PX,
                    Anchor::Start,
                    MUTED,
                ))
                .class("note");
        }
    }
    bottom_px
}

// ---------------------------------------------------------------------------------------------
// Legend

enum Swatch {
    Fill(Color),
    Outlined(Color, Color),
    Band(Color),
    Marker(Marker, Color),
    Line(Stroke),
    Arrow(Stroke, Head),
}

/// What the chart can show, in a fixed order; fault kinds only if the run had them.
fn legend_entries(timeline: &Timeline, messages: &MessagePlan) -> Vec<(Swatch, &'static str)> {
    let mut entries = Vec::new();
    for role in [
        Role::Follower,
        Role::Candidate,
        Role::Leader,
        Role::Down,
        Role::Paused,
    ] {
        let look = role_look(role);
        entries.push((Swatch::Fill(look.fill), look.name));
    }
    entries.push((Swatch::Line(Stroke::solid(COMMIT, 1.5)), "commit index"));
    if !timeline.clients.is_empty() {
        for outcome in [OpOutcome::Ok, OpOutcome::Fail, OpOutcome::Unknown] {
            let look = op_look(outcome, false);
            let name = match outcome {
                OpOutcome::Ok => "op ok",
                OpOutcome::Fail => "op failed",
                OpOutcome::Unknown => "op unknown",
            };
            entries.push((Swatch::Fill(look.fill), name));
        }
        let outlined = Swatch::Outlined(op_look(OpOutcome::Ok, true).fill, RED);
        entries.push((outlined, "evidence"));
    }
    for kind in FAULT_KINDS {
        if timeline.faults.iter().any(|f| f.kind == kind) {
            let look = fault_look(kind);
            let swatch = match look.marker {
                Some(marker) => Swatch::Marker(marker, look.color),
                None => Swatch::Band(look.color),
            };
            entries.push((swatch, look.name));
        }
    }
    if matches!(messages, MessagePlan::Drawn) {
        entries.push((
            Swatch::Arrow(Stroke::solid(MESSAGE, 1.0), Head::Arrow),
            "message",
        ));
        entries.push((
            Swatch::Arrow(Stroke::dashed(DROPPED, 1.0), Head::Cross),
            "dropped",
        ));
    }
    if timeline.violation.is_some() {
        entries.push((Swatch::Line(Stroke::solid(RED, 2.0)), "violation"));
    }
    entries
}

/// Draws the legend in rows under the title; returns where it ends.
fn legend(scene: &mut Scene, timeline: &Timeline, messages: &MessagePlan, frame: &Frame) -> f64 {
    let right_px = frame.right_px;
    let (mut x, mut top_px) = (MARGIN_PX, LEGEND_TOP_PX);
    for (swatch, label) in legend_entries(timeline, messages) {
        let entry_px = SWATCH_PX + 5.0 + scene::text_width_px(label, SMALL_SIZE_PX) + 14.0;
        if x > MARGIN_PX && x + entry_px > right_px {
            x = MARGIN_PX;
            top_px += LEGEND_ROW_PX;
        }
        swatch_shape(scene, &swatch, (x, top_px + 2.0));
        let at = (x + SWATCH_PX + 5.0, top_px + 12.5);
        scene
            .push(text_shape(
                at,
                label.to_string(),
                SMALL_SIZE_PX,
                Anchor::Start,
                INK,
            ))
            .class("legend");
        x += entry_px;
    }
    top_px + LEGEND_ROW_PX
}

fn swatch_shape(scene: &mut Scene, swatch: &Swatch, (x, y): Point) {
    let (w, h) = (SWATCH_PX, 12.0);
    let middle = (x + w * 0.5, y + h * 0.5);
    let shape = match *swatch {
        Swatch::Fill(color) => rect((x, y), w, h, color),
        Swatch::Outlined(fill, stroke) => Shape::Rect {
            x_px: x,
            y_px: y,
            width_px: w,
            height_px: h,
            fill: Some(fill),
            stroke: Some(Stroke::solid(stroke, 2.0)),
        },
        Swatch::Band(color) => Shape::Rect {
            x_px: x,
            y_px: y,
            width_px: w,
            height_px: h,
            fill: Some(color.with_alpha(BAND_FILL_ALPHA * 2)),
            stroke: Some(Stroke::solid(color.with_alpha(BAND_EDGE_ALPHA), 1.0)),
        },
        Swatch::Marker(marker, color) => marker_shape(marker, middle, MARKER_RADIUS_PX, color),
        Swatch::Line(stroke) => Shape::Line {
            from: (x, middle.1),
            to: (x + w, middle.1),
            stroke,
        },
        Swatch::Arrow(stroke, head) => Shape::Arrow {
            from: (x, middle.1),
            to: (x + w - 5.0, middle.1),
            stroke,
            head,
        },
    };
    scene.push(shape).class("legend");
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn rect((x_px, y_px): Point, width_px: f64, height_px: f64, fill: Color) -> Shape {
    Shape::Rect {
        x_px,
        y_px,
        width_px,
        height_px,
        fill: Some(fill),
        stroke: None,
    }
}

fn text_shape(at: Point, text: String, size_px: f64, anchor: Anchor, color: Color) -> Shape {
    Shape::Text {
        at,
        text,
        size_px,
        anchor,
        color,
    }
}

/// The baseline that centres a line of text (its capitals) on `middle_px`: DejaVu's
/// capitals are about 0.63 of the size plotters measures.
fn baseline_px(middle_px: f64, size_px: f64) -> f64 {
    middle_px + size_px * 0.315
}

/// `ns` as seconds, exact to the nanosecond, without trailing zeros: `1.5 s`, `0.000002 s`.
fn seconds(ns: u64) -> String {
    let (whole, fraction) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if fraction == 0 {
        return format!("{whole} s");
    }
    let digits = format!("{fraction:09}");
    format!("{whole}.{} s", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact_and_short() {
        assert_eq!(seconds(0), "0 s");
        assert_eq!(seconds(1_500_000_000), "1.5 s");
        assert_eq!(seconds(60_000_000_001), "60.000000001 s");
    }

    #[test]
    fn ticks_are_round_and_few() {
        assert_eq!(tick_step_ns(60_000_000_000, 16), 5_000_000_000);
        assert_eq!(tick_step_ns(1_000_000_000, 16), 100_000_000);
        assert_eq!(tick_step_ns(1, 16), 1);
        assert_eq!(tick_step_ns(u64::MAX, 1), 10_000_000_000_000_000_000);
        assert_eq!(tick_label(1_500_000_000, 500_000_000), "1.5 s");
        assert_eq!(tick_label(20_000_000_000, 5_000_000_000), "20 s");
        assert_eq!(tick_label(1_234_000, 1_000), "0.001234 s");
    }

    #[test]
    fn segments_are_clipped_to_the_window() {
        let clip = |a, b| clip_to_columns(a, b, 10.0, 20.0);
        assert_eq!(clip((0.0, 0.0), (5.0, 5.0)), None);
        assert_eq!(
            clip((12.0, 0.0), (18.0, 6.0)),
            Some(((12.0, 0.0), (18.0, 6.0), true))
        );
        assert_eq!(
            clip((0.0, 0.0), (30.0, 30.0)),
            Some(((10.0, 10.0), (20.0, 20.0), false))
        );
        assert_eq!(
            clip((15.0, 0.0), (15.0, 9.0)),
            Some(((15.0, 0.0), (15.0, 9.0), true))
        );
    }

    #[test]
    fn a_fault_covers_its_nodes_lanes_joined_where_adjacent() {
        let timeline = Timeline {
            nodes: vec![1, 2, 3, 4],
            ..Timeline::default()
        };
        let lanes = Lanes::new(&timeline, 0.0);
        let top = |id| lanes.node(id).expect("a node lane").top_px;
        let bottom = |id| lanes.node(id).expect("a node lane").bottom_px();
        assert_eq!(lanes.rows_px(&[]), vec![(top(1), bottom(4))]);
        assert_eq!(
            lanes.rows_px(&[2, 1, 4, 9]),
            vec![(top(1), bottom(2)), (top(4), bottom(4))]
        );
    }
}
