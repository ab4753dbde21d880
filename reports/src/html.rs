//! Self-contained HTML pages: one per run, one per sweep.
//!
//! A page is one file: its CSS is inline, its charts are inline SVG, it has no script and
//! names no external URL, so it reads the same from a disk, a CI artifact or a mail, with no
//! network. Every text taken from the model is escaped; the only markup not written here is
//! the SVG of this crate's own charts, inlined as it is because the timeline's links to
//! `#op-ID` and its classes must keep working.
//!
//! Long tables are cut: past [`TABLE_ROWS_MAX`] rows a page shows the first and last
//! [`TABLE_EDGE_ROWS`] and the rows something else on the page links to, and says how many
//! it left out. A link is only written to a row that is on the page.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use crate::charts;
use crate::model::{
    Distribution, EventRow, HistoryKey, HistoryPage, HistoryRow, OpOutcome, RunLink, RunPage,
    SituationRow, SweepPage, ViolationText,
};
use crate::timeline::{self, ChartError, ChartOptions};

/// Most rows a table shows.
pub const TABLE_ROWS_MAX: usize = 5000;
/// Rows shown from each end of a table that has more than [`TABLE_ROWS_MAX`].
pub const TABLE_EDGE_ROWS: usize = 1000;
/// Most links listed for one violation's events or operations.
pub const LINKS_MAX: usize = 200;

const CHART_WIDTH_PX: u32 = 640;
const CHART_HEIGHT_PX: u32 = 380;
const EMPTY_CHART_HEIGHT_PX: u32 = 160;

/// The width of a run page's timeline, in pixels.
pub const TIMELINE_WIDTH_PX: u32 = 1340;

/// The page about one run, with its timeline drawn by [`timeline::svg`] (or a short note
/// saying why it could not be).
pub fn run_page(page: &RunPage) -> String {
    // As wide as the page's content (1400 px less its padding): no sideways scrolling.
    let options = ChartOptions {
        width_px: TIMELINE_WIDTH_PX,
        ..ChartOptions::default()
    };
    let chart = timeline::svg(&page.timeline, &options);
    let zoom = page.zoom.map(|(from_ns, to_ns)| {
        let options = ChartOptions {
            from_ns: Some(from_ns),
            to_ns: Some(to_ns),
            width_px: TIMELINE_WIDTH_PX,
        };
        (from_ns, to_ns, timeline::svg(&page.timeline, &options))
    });
    render_run_page(page, chart, zoom)
}

/// The page about one run around a timeline drawn elsewhere (a zoomed window, say), or the
/// error that stopped it, which the page shows as a note.
pub fn run_page_with_timeline(page: &RunPage, timeline_svg: Result<String, ChartError>) -> String {
    render_run_page(page, timeline_svg, None)
}

/// A zoomed chart: its window and the chart (or why it could not be drawn).
type Zoom = (u64, u64, Result<String, ChartError>);

fn render_run_page(
    page: &RunPage,
    timeline_svg: Result<String, ChartError>,
    zoom: Option<Zoom>,
) -> String {
    let tables = RunTables::of(page);
    let mut out = String::with_capacity(64 * 1024);
    open_page(&mut out, &page.title);
    header(
        &mut out,
        &page.title,
        &page.verdict,
        verdict_class(&page.verdict),
    );
    run_nav(&mut out, page, &tables);
    command_section(&mut out, "reproduce", "Reproduce", &page.reproduce);
    summary_section(&mut out, &page.summary);
    if !page.violations.is_empty() {
        violations_section(&mut out, &page.violations, &tables);
    }
    timeline_section(&mut out, &timeline_svg, zoom.as_ref());
    if tables.highlighted > 0 {
        sub_history_section(&mut out, &page.history, &tables);
    }
    history_section(&mut out, &page.history, &tables);
    events_section(&mut out, &page.events, &tables);
    close_page(&mut out);
    out
}

/// The page about one sweep: its failing runs (linked to their pages), its distributions as
/// a histogram and a CDF each, failures per invariant, and the situations it reached.
pub fn sweep_page(page: &SweepPage) -> String {
    let mut out = String::with_capacity(64 * 1024);
    open_page(&mut out, &page.title);
    let (badge, class) = match page.failures.len() {
        0 => ("no failures".to_string(), "pass"),
        1 => ("1 failing run".to_string(), "violation"),
        n => (format!("{} failing runs", grouped(n)), "violation"),
    };
    header(&mut out, &page.title, &badge, class);
    sweep_nav(&mut out, page);
    command_section(&mut out, "command", "Command", &page.command);
    summary_section(&mut out, &page.summary);
    if !page.failures.is_empty() {
        failures_section(&mut out, &page.failures);
    }
    if !page.distributions.is_empty() || !page.failures_per_invariant.is_empty() {
        charts_section(&mut out, &page.distributions, &page.failures_per_invariant);
    }
    situations_section(&mut out, &page.situations);
    close_page(&mut out);
    out
}

/// Writes [`run_page`] to `dir/index.html`, creating `dir` if needed; returns that path.
pub fn write_run_report(dir: impl AsRef<Path>, page: &RunPage) -> io::Result<PathBuf> {
    write_index(dir.as_ref(), &run_page(page))
}

/// Writes [`sweep_page`] to `dir/index.html`, creating `dir` if needed; returns that path.
pub fn write_sweep_report(dir: impl AsRef<Path>, page: &SweepPage) -> io::Result<PathBuf> {
    write_index(dir.as_ref(), &sweep_page(page))
}

/// Writes [`history_page`] to `dir/index.html`, creating `dir` if needed; returns that path.
pub fn write_history_report(dir: impl AsRef<Path>, page: &HistoryPage) -> io::Result<PathBuf> {
    write_index(dir.as_ref(), &history_page(page))
}

/// The width of a history page's charts, in pixels.
pub const HISTORY_CHART_WIDTH_PX: u32 = 1340;

/// The page about one checked history: its summary, then per key (failing keys first) its
/// chart ([`crate::history_chart`]), what the search found, and the table of its operations
/// with the minimal failing sub-history and the longest linearization marked.
pub fn history_page(page: &HistoryPage) -> String {
    let mut out = String::with_capacity(64 * 1024);
    open_page(&mut out, &page.title);
    let badge_class = match page.verdict.as_str() {
        "linearizable" => "pass",
        "not linearizable" => "violation",
        _ => "other",
    };
    header(&mut out, &page.title, &page.verdict, badge_class);
    let mut sections = vec![("summary".to_string(), "Summary".to_string())];
    for (i, key) in page.keys.iter().enumerate() {
        sections.push((format!("key-{i}"), key.name.clone()));
    }
    let refs: Vec<(&str, &str)> = sections
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    nav(&mut out, &refs[..refs.len().min(LINKS_MAX)]);
    summary_section(&mut out, &page.summary);
    out.push_str(
        "<p class=\"legend\">Each bar is an operation, from its invocation to its return, in its \
         client's lane: <span class=\"swatch ok\"></span> ok, <span class=\"swatch fail\"></span> \
         failed, <span class=\"swatch unknown\"></span> unknown (a dashed line to the end: it \
         may take effect at any time after its invocation, or never). A red outline marks the \
         minimal failing sub-history; numbers give the order of the longest linearization \
         found; the red dashed line is where it stopped. Hover for details; click for the \
         table row.</p>\n",
    );
    for (i, key) in page.keys.iter().enumerate() {
        history_key_section(&mut out, i, key, &page.axis);
    }
    close_page(&mut out);
    out
}

fn history_key_section(out: &mut String, index: usize, key: &HistoryKey, axis: &str) {
    open_section(
        out,
        &format!("key-{index}"),
        &format!("{}: {}", key.name, key.verdict),
    );
    out.push_str(&format!("<p class=\"note\">{}</p>\n", escape(&key.note)));
    out.push_str("<div class=\"chart history\">\n");
    out.push_str(&crate::history_chart::svg(
        key,
        axis,
        HISTORY_CHART_WIDTH_PX,
    ));
    out.push_str("</div>\n");
    if let Some(window) = crate::history_chart::failure_window(key) {
        out.push_str(&format!(
            "<h3>Around the failure: {:.3} to {:.3}</h3>\n<div class=\"chart history zoom\">\n",
            window.0, window.1
        ));
        out.push_str(&crate::history_chart::svg_window(
            key,
            axis,
            HISTORY_CHART_WIDTH_PX,
            window,
        ));
        out.push_str("</div>\n");
    }
    if key.ops_left_out > 0 {
        out.push_str(&format!(
            "<p class=\"note\">{} more operations of this key are left out of the chart and the table.</p>\n",
            grouped(key.ops_left_out)
        ));
    }
    out.push_str(
        "<table class=\"history-ops\">\n<thead><tr><th>op</th><th>client</th><th>operation</th>\
         <th>from</th><th>to</th><th>minimal</th><th>linearized</th><th>source</th></tr></thead>\n<tbody>\n",
    );
    for op in key.ops.iter().take(TABLE_ROWS_MAX) {
        let class = match (op.minimal, op.outcome) {
            (true, _) => "minimal",
            (false, OpOutcome::Ok) => "ok",
            (false, OpOutcome::Fail) => "fail",
            (false, OpOutcome::Unknown) => "unknown",
        };
        let end = op.end.map_or("never".to_string(), |e| format!("{e}"));
        let linearized = op.linearized.map_or(String::new(), |n| n.to_string());
        out.push_str(&format!(
            "<tr id=\"op-{}\" class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            op.id,
            op.id,
            op.process,
            escape(&op.label),
            op.start,
            end,
            if op.minimal { "yes" } else { "" },
            linearized,
            escape(&op.lines)
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    close_section(out);
}

fn write_index(dir: &Path, html: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("index.html");
    std::fs::write(&path, html)?;
    Ok(path)
}

/// Which rows of a run's two tables are shown, and so which anchors exist.
struct RunTables {
    history: Shown,
    events: Shown,
    /// Ids of the operations whose rows are shown.
    op_anchors: BTreeSet<usize>,
    /// Sequence numbers of the events whose rows are shown.
    event_anchors: BTreeSet<u64>,
    /// Events some violation names: their rows are marked.
    named_events: BTreeSet<u64>,
    /// Rows of the failing sub-history.
    highlighted: usize,
}

impl RunTables {
    fn of(page: &RunPage) -> RunTables {
        let named_ops: BTreeSet<usize> = page
            .violations
            .iter()
            .flat_map(|v| v.ops.iter().copied())
            .collect();
        let named_events: BTreeSet<u64> = page
            .violations
            .iter()
            .flat_map(|v| v.events.iter().copied())
            .collect();
        let history = Shown::rows(page.history.len(), |i| {
            page.history[i].highlighted || named_ops.contains(&page.history[i].id)
        });
        let events = Shown::rows(page.events.len(), |i| {
            named_events.contains(&page.events[i].seq)
        });
        let op_anchors = history
            .indexes
            .iter()
            .map(|&i| page.history[i].id)
            .collect();
        let event_anchors = events.indexes.iter().map(|&i| page.events[i].seq).collect();
        RunTables {
            history,
            events,
            op_anchors,
            event_anchors,
            named_events,
            highlighted: page.history.iter().filter(|row| row.highlighted).count(),
        }
    }
}

/// The rows of one table that a page shows, by index, ascending.
struct Shown {
    indexes: Vec<usize>,
    total: usize,
}

impl Shown {
    /// All rows of a short table; of a long one, the first and last [`TABLE_EDGE_ROWS`] and
    /// as many rows that `must_keep` as fit in [`TABLE_ROWS_MAX`].
    fn rows(total: usize, must_keep: impl Fn(usize) -> bool) -> Shown {
        if total <= TABLE_ROWS_MAX {
            return Shown {
                indexes: (0..total).collect(),
                total,
            };
        }
        let middle = TABLE_EDGE_ROWS..total - TABLE_EDGE_ROWS;
        let kept: Vec<usize> = middle
            .clone()
            .filter(|&i| must_keep(i))
            .take(TABLE_ROWS_MAX - 2 * TABLE_EDGE_ROWS)
            .collect();
        let indexes = (0..middle.start)
            .chain(kept)
            .chain(middle.end..total)
            .collect();
        Shown { indexes, total }
    }

    fn left_out(&self) -> usize {
        self.total - self.indexes.len()
    }

    /// For each shown row: how many rows were left out just before it (0 if none).
    fn with_gaps(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let mut next = 0;
        self.indexes.iter().map(move |&index| {
            let gap = index - next;
            next = index + 1;
            (index, gap)
        })
    }

    /// Rows left out after the last one shown.
    fn tail_gap(&self) -> usize {
        self.indexes
            .last()
            .map_or(self.total, |&last| self.total - last - 1)
    }

    /// One sentence on what the table shows, for a table that was cut.
    fn cut_note(&self, noun: &str, kept: &str) -> Option<String> {
        if self.left_out() == 0 {
            return None;
        }
        Some(format!(
            "Showing {} of {} {noun}: the first and last {}, and {kept}; {} left out.",
            grouped(self.indexes.len()),
            grouped(self.total),
            grouped(TABLE_EDGE_ROWS),
            grouped(self.left_out()),
        ))
    }
}

fn gap_row(out: &mut String, columns: usize, left_out: usize) {
    if left_out > 0 {
        out.push_str(&format!(
            "<tr class=\"gap\"><td colspan=\"{columns}\">… {} rows left out …</td></tr>\n",
            grouped(left_out)
        ));
    }
}

fn open_page(out: &mut String, title: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"raftsim reports\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(title)));
    out.push_str("<style>\n");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n");
}

fn close_page(out: &mut String) {
    out.push_str(
        "<footer>Written by raftsim. The page is self-contained: no script, no network.</footer>\n",
    );
    out.push_str("</body>\n</html>\n");
}

fn header(out: &mut String, title: &str, badge: &str, class: &str) {
    out.push_str(&format!(
        "<header>\n<h1>{}</h1>\n<span class=\"badge {class}\">{}</span>\n</header>\n",
        escape(title),
        escape(badge)
    ));
}

/// Green for a pass, red for a violation, grey for anything else.
fn verdict_class(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "pass",
        "violation" => "violation",
        _ => "other",
    }
}

fn nav(out: &mut String, sections: &[(&str, &str)]) {
    out.push_str("<nav>");
    for (id, name) in sections {
        out.push_str(&format!("<a href=\"#{id}\">{name}</a>"));
    }
    out.push_str("</nav>\n");
}

fn run_nav(out: &mut String, page: &RunPage, tables: &RunTables) {
    let mut sections = vec![("reproduce", "Reproduce"), ("summary", "Summary")];
    if !page.violations.is_empty() {
        sections.push(("violations", "Violations"));
    }
    sections.push(("timeline", "Timeline"));
    if tables.highlighted > 0 {
        sections.push(("failing-history", "Failing sub-history"));
    }
    sections.push(("history", "History"));
    sections.push(("events", "Events"));
    nav(out, &sections);
}

fn sweep_nav(out: &mut String, page: &SweepPage) {
    let mut sections = vec![("command", "Command"), ("summary", "Summary")];
    if !page.failures.is_empty() {
        sections.push(("failures", "Failing runs"));
    }
    if !page.distributions.is_empty() || !page.failures_per_invariant.is_empty() {
        sections.push(("charts", "Charts"));
    }
    sections.push(("situations", "Situations"));
    nav(out, &sections);
}

fn open_section(out: &mut String, id: &str, heading: &str) {
    out.push_str(&format!(
        "<section id=\"{id}\">\n<h2>{}</h2>\n",
        escape(heading)
    ));
}

fn close_section(out: &mut String) {
    out.push_str("</section>\n");
}

/// A command in a `<pre>` that one click selects whole, ready to copy.
fn command_section(out: &mut String, id: &str, heading: &str, command: &str) {
    open_section(out, id, heading);
    out.push_str(&format!(
        "<pre class=\"command\" title=\"one click selects it all\">{}</pre>\n",
        escape(command)
    ));
    close_section(out);
}

fn summary_section(out: &mut String, summary: &[(String, String)]) {
    open_section(out, "summary", "Summary");
    out.push_str("<table class=\"summary\">\n<tbody>\n");
    for (name, value) in summary.iter().take(TABLE_ROWS_MAX) {
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>\n",
            escape(name),
            escape(value)
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    close_section(out);
}

fn violations_section(out: &mut String, violations: &[ViolationText], tables: &RunTables) {
    open_section(out, "violations", "Violations");
    for violation in violations.iter().take(TABLE_ROWS_MAX) {
        out.push_str("<article class=\"violation\">\n");
        out.push_str(&format!(
            "<h3>{}</h3>\n<p class=\"when\">Detected at {} s.</p>\n",
            escape(&violation.title),
            seconds(violation.time_ns)
        ));
        if !violation.detail.is_empty() {
            out.push_str(&format!(
                "<pre class=\"detail\">{}</pre>\n",
                escape(&violation.detail)
            ));
        }
        let events = violation.events.iter().map(|&seq| {
            let present = tables.event_anchors.contains(&seq);
            (format!("event-{seq}"), format!("event {seq}"), present)
        });
        link_list(
            out,
            "The events that led to it",
            events,
            violation.events.len(),
        );
        let ops = violation.ops.iter().map(|&id| {
            let present = tables.op_anchors.contains(&id);
            (format!("op-{id}"), format!("op {id}"), present)
        });
        link_list(out, "The operations that show it", ops, violation.ops.len());
        out.push_str("</article>\n");
    }
    close_section(out);
}

/// A labelled list of (anchor, text, present) links; an absent target is named, not linked.
fn link_list(
    out: &mut String,
    label: &str,
    links: impl Iterator<Item = (String, String, bool)>,
    total: usize,
) {
    if total == 0 {
        return;
    }
    out.push_str(&format!("<p class=\"links\">{label}: "));
    for (anchor, text, present) in links.take(LINKS_MAX) {
        if present {
            out.push_str(&format!("<a href=\"#{anchor}\">{text}</a> "));
        } else {
            out.push_str(&format!(
                "<span class=\"absent\" title=\"not in the tables on this page\">{text}</span> "
            ));
        }
    }
    if total > LINKS_MAX {
        out.push_str(&format!("and {} more", grouped(total - LINKS_MAX)));
    }
    out.push_str("</p>\n");
}

fn timeline_section(out: &mut String, chart: &Result<String, ChartError>, zoom: Option<&Zoom>) {
    open_section(out, "timeline", "Timeline");
    timeline_chart(out, chart);
    if let Some((from_ns, to_ns, chart)) = zoom {
        out.push_str(&format!(
            "<p class=\"explain\">Zoomed in on {} s to {} s, just before the violation: each \
             message is an arrow from its sender's lane to its recipient's, dashed with a cross \
             where it was dropped.</p>\n",
            seconds(*from_ns),
            seconds(*to_ns)
        ));
        timeline_chart(out, chart);
    }
    close_section(out);
}

fn timeline_chart(out: &mut String, chart: &Result<String, ChartError>) {
    match chart.as_ref().map(|svg| inline_svg(svg)) {
        Ok(Some(svg)) => {
            out.push_str("<div class=\"chart-scroll\">\n");
            out.push_str(svg);
            out.push_str("\n</div>\n");
        }
        Ok(None) => note(
            out,
            "The timeline could not be drawn: the chart is not an SVG document.",
        ),
        Err(error) => note(out, &format!("The timeline could not be drawn: {error}.")),
    }
}

/// The `<svg>` element of an SVG document, without an XML declaration before it (which an
/// HTML page must not contain); `None` if the text is not one.
fn inline_svg(document: &str) -> Option<&str> {
    let mut rest = document.trim();
    if rest.starts_with("<?xml") {
        rest = rest[rest.find("?>")? + 2..].trim_start();
    }
    (rest.starts_with("<svg") && rest.ends_with("</svg>")).then_some(rest)
}

fn note(out: &mut String, text: &str) {
    out.push_str(&format!("<p class=\"note\">{}</p>\n", escape(text)));
}

const HISTORY_COLUMNS: usize = 8;

fn history_head(out: &mut String) {
    out.push_str(
        "<table class=\"history\">\n<thead><tr><th>op</th><th>client</th><th>call</th>\
         <th>result</th><th>outcome</th><th>invoked (s)</th><th>completed (s)</th>\
         <th>took (ms)</th></tr></thead>\n<tbody>\n",
    );
}

fn sub_history_section(out: &mut String, history: &[HistoryRow], tables: &RunTables) {
    open_section(out, "failing-history", "Failing sub-history");
    out.push_str(&format!(
        "<p class=\"explain\">The smallest set of operations that is still not linearizable: \
         no order of these {} operations, each taking effect at one instant between its call \
         and its completion, gives every one of them the result it got. Take any one away and \
         the rest can be ordered. An operation whose outcome is unknown may or may not have \
         taken effect. Each row links to its place in the full history below.</p>\n",
        grouped(tables.highlighted)
    ));
    history_head(out);
    let rows = history.iter().filter(|row| row.highlighted);
    for row in rows.take(TABLE_ROWS_MAX) {
        let anchor = if tables.op_anchors.contains(&row.id) {
            RowAnchor::LinkTo
        } else {
            RowAnchor::None
        };
        history_row(out, row, anchor);
    }
    out.push_str("</tbody>\n</table>\n");
    close_section(out);
}

fn history_section(out: &mut String, history: &[HistoryRow], tables: &RunTables) {
    open_section(out, "history", "Client history");
    out.push_str(
        "<p class=\"explain\">Every client operation, in the order the history holds them. \
         <span class=\"hl-key\">◆ Marked</span> rows belong to the failing sub-history. \
         Times are simulated seconds from the start of the run.</p>\n",
    );
    let kept = "every operation a violation names or the failing sub-history holds";
    if let Some(cut) = tables.history.cut_note("operations", kept) {
        note(out, &cut);
    }
    if history.is_empty() {
        note(out, "No client operations in this run.");
        close_section(out);
        return;
    }
    history_head(out);
    let mut defined = BTreeSet::new();
    for (index, gap) in tables.history.with_gaps() {
        gap_row(out, HISTORY_COLUMNS, gap);
        let row = &history[index];
        // Ids should be unique; if not, only the first row gets the anchor, so that the
        // page's ids stay unique and every link goes to one place.
        let anchor = if defined.insert(row.id) {
            RowAnchor::Define
        } else {
            RowAnchor::None
        };
        history_row(out, row, anchor);
    }
    gap_row(out, HISTORY_COLUMNS, tables.history.tail_gap());
    out.push_str("</tbody>\n</table>\n");
    close_section(out);
}

/// How a history row refers to the row anchor `op-ID`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RowAnchor {
    /// The row is the anchor (the full history).
    Define,
    /// The row's id links to the anchor (the failing sub-history).
    LinkTo,
    /// Neither: the anchor is elsewhere, or not on the page.
    None,
}

fn history_row(out: &mut String, row: &HistoryRow, anchor: RowAnchor) {
    let id_attr = match anchor {
        RowAnchor::Define => format!(" id=\"op-{}\"", row.id),
        _ => String::new(),
    };
    let class_attr = if row.highlighted { " class=\"hl\"" } else { "" };
    let marker = if row.highlighted { "◆ " } else { "" };
    let op = match anchor {
        RowAnchor::LinkTo => format!("<a href=\"#op-{0}\">{marker}{0}</a>", row.id),
        _ => format!("{marker}{}", row.id),
    };
    let (outcome_class, outcome_text) = outcome(row.outcome);
    let completed = row.complete_ns.map_or("—".to_string(), seconds);
    let took = row.complete_ns.map_or("—".to_string(), |complete_ns| {
        milliseconds(complete_ns.saturating_sub(row.invoke_ns))
    });
    out.push_str(&format!(
        "<tr{id_attr}{class_attr}><td class=\"num\">{op}</td><td class=\"num\">{}</td>\
         <td class=\"mono\">{}</td><td class=\"mono\">{}</td>\
         <td><span class=\"outcome {outcome_class}\">{outcome_text}</span></td>\
         <td class=\"num\">{}</td><td class=\"num\">{completed}</td><td class=\"num\">{took}</td></tr>\n",
        row.client,
        escape(&row.call),
        escape(&row.result),
        seconds(row.invoke_ns),
    ));
}

fn outcome(outcome: OpOutcome) -> (&'static str, &'static str) {
    match outcome {
        OpOutcome::Ok => ("ok", "ok"),
        OpOutcome::Fail => ("fail", "fail"),
        OpOutcome::Unknown => ("unknown", "unknown"),
    }
}

fn events_section(out: &mut String, events: &[EventRow], tables: &RunTables) {
    open_section(out, "events", "Events");
    out.push_str(
        "<p class=\"explain\">The trace events worth reading, by sequence number. \
         <span class=\"named-key\">▶ Marked</span> events are named by a violation.</p>\n",
    );
    if let Some(cut) = tables
        .events
        .cut_note("events", "every event a violation names")
    {
        note(out, &cut);
    }
    if events.is_empty() {
        note(out, "No events listed.");
        close_section(out);
        return;
    }
    out.push_str(
        "<table class=\"events\">\n<thead><tr><th>seq</th><th>time (s)</th><th>event</th>\
         </tr></thead>\n<tbody>\n",
    );
    let mut defined = BTreeSet::new();
    for (index, gap) in tables.events.with_gaps() {
        gap_row(out, 3, gap);
        let event = &events[index];
        let id_attr = if defined.insert(event.seq) {
            format!(" id=\"event-{}\"", event.seq)
        } else {
            String::new()
        };
        let named = tables.named_events.contains(&event.seq);
        let (class_attr, marker) = if named {
            (" class=\"named\"", "▶ ")
        } else {
            ("", "")
        };
        out.push_str(&format!(
            "<tr{id_attr}{class_attr}><td class=\"num\">{marker}{}</td><td class=\"num\">{}</td>\
             <td class=\"mono\">{}</td></tr>\n",
            event.seq,
            seconds(event.time_ns),
            escape(&event.text)
        ));
    }
    gap_row(out, 3, tables.events.tail_gap());
    out.push_str("</tbody>\n</table>\n");
    close_section(out);
}

fn failures_section(out: &mut String, failures: &[RunLink]) {
    open_section(out, "failures", "Failing runs");
    if failures.len() > TABLE_ROWS_MAX {
        note(
            out,
            &format!(
                "Showing the first {} of {} failing runs.",
                grouped(TABLE_ROWS_MAX),
                grouped(failures.len())
            ),
        );
    }
    out.push_str(
        "<table class=\"failures\">\n<thead><tr><th>scenario</th><th>seed</th><th>verdict</th>\
         <th>first failure</th><th>page</th><th>reproduce</th></tr></thead>\n<tbody>\n",
    );
    for run in failures.iter().take(TABLE_ROWS_MAX) {
        let page = match run.page.as_deref().and_then(relative_link) {
            Some(href) => format!("<a href=\"{}\">open</a>", escape(href)),
            None => "—".to_string(),
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td><span class=\"outcome {}\">{}</span></td>\
             <td>{}</td><td>{page}</td><td><code class=\"command\">{}</code></td></tr>\n",
            escape(&run.scenario),
            run.seed,
            verdict_outcome_class(&run.verdict),
            escape(&run.verdict),
            escape(run.failure.as_deref().unwrap_or("—")),
            escape(&run.reproduce),
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    close_section(out);
}

fn verdict_outcome_class(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "ok",
        "violation" => "fail",
        _ => "unknown",
    }
}

/// A run's page link if it is a relative path: no scheme (`javascript:`, `https:`), not
/// absolute, not protocol-relative, so that a page never leads off the report.
fn relative_link(page: &str) -> Option<&str> {
    let before_path = page.split(['/', '?', '#']).next().unwrap_or("");
    let absolute = page.starts_with('/') || page.starts_with('\\');
    let control = page.chars().any(char::is_control);
    (!page.is_empty() && !absolute && !control && !before_path.contains(':')).then_some(page)
}

fn charts_section(
    out: &mut String,
    distributions: &[Distribution],
    per_invariant: &[(String, u64)],
) {
    open_section(out, "charts", "Charts");
    for distribution in distributions.iter().take(TABLE_ROWS_MAX) {
        // A sample with nothing to draw gets a short chart that only says so.
        let drawable = distribution.values.iter().any(|value| value.is_finite());
        let height_px = if drawable {
            CHART_HEIGHT_PX
        } else {
            EMPTY_CHART_HEIGHT_PX
        };
        let title = &distribution.title;
        out.push_str("<div class=\"chart-row\">\n");
        let histogram = charts::histogram_svg(distribution, CHART_WIDTH_PX, height_px);
        chart(out, title, histogram);
        chart(
            out,
            title,
            charts::cdf_svg(distribution, CHART_WIDTH_PX, height_px),
        );
        out.push_str("</div>\n");
    }
    if !per_invariant.is_empty() {
        let bars = per_invariant.len().min(charts::BARS_MAX) as u32;
        let height_px = (110 + 34 * bars).clamp(charts::SIDE_PX_MIN, charts::SIDE_PX_MAX);
        let title = "Failing runs per invariant";
        out.push_str("<div class=\"chart-row\">\n");
        chart(
            out,
            title,
            charts::bars_svg(title, per_invariant, 2 * CHART_WIDTH_PX, height_px),
        );
        out.push_str("</div>\n");
    }
    close_section(out);
}

/// One chart inline, or a note naming it and why it is missing.
fn chart(out: &mut String, title: &str, svg: Result<String, ChartError>) {
    match svg.as_ref().map(|svg| inline_svg(svg)) {
        Ok(Some(svg)) => {
            out.push_str("<figure class=\"chart\">\n");
            out.push_str(svg);
            out.push_str("\n</figure>\n");
        }
        Ok(None) => note(
            out,
            &format!("The chart of {title} is not an SVG document."),
        ),
        Err(error) => note(
            out,
            &format!("The chart of {title} could not be drawn: {error}."),
        ),
    }
}

fn situations_section(out: &mut String, situations: &[SituationRow]) {
    open_section(out, "situations", "Situations");
    if situations.is_empty() {
        note(out, "No situations were counted.");
        close_section(out);
        return;
    }
    out.push_str(
        "<p class=\"explain\">How many runs reached each protocol situation, and how many \
         times in all.</p>\n<table class=\"situations\">\n<thead><tr><th>situation</th>\
         <th>runs</th><th>times</th></tr></thead>\n<tbody>\n",
    );
    for situation in situations.iter().take(TABLE_ROWS_MAX) {
        out.push_str(&format!(
            "<tr><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            escape(&situation.name),
            situation.runs,
            situation.times
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    close_section(out);
}

/// Text made safe for HTML content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Simulated nanoseconds as seconds with millisecond precision (truncated, like a clock).
fn seconds(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000_000_000, ns / 1_000_000 % 1000)
}

/// A duration in milliseconds with a tenth of a millisecond.
fn milliseconds(ns: u64) -> String {
    format!("{}.{}", ns / 1_000_000, ns / 100_000 % 10)
}

/// A count with thousands separated: `12,345`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const CSS: &str = r#"
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa;
  --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --accent: #0969da; --mark: #fff8c5; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 20px 28px 40px; color: var(--fg);
  background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
header { display: flex; align-items: center; gap: 18px; flex-wrap: wrap;
  border-bottom: 1px solid var(--line); padding-bottom: 12px; }
h1 { font-size: 26px; margin: 0; font-weight: 600; overflow-wrap: anywhere; }
h2 { font-size: 20px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 0 0 6px; color: var(--fail); }
.badge { display: inline-block; padding: 6px 16px; border-radius: 999px; color: #fff;
  font-size: 18px; font-weight: 700; letter-spacing: .04em; text-transform: uppercase; }
.badge.pass { background: var(--pass); }
.badge.violation { background: var(--fail); }
.badge.other { background: var(--muted); }
.legend .swatch { display: inline-block; width: 14px; height: 10px; border: 1px solid #999; }
.legend .swatch.ok { background: #9cd39f; } .legend .swatch.fail { background: #c8c8c8; }
.legend .swatch.unknown { background: #f2a34b; }
table.history-ops tr.minimal td { background: #ffecec; font-weight: 600; }
nav { margin: 10px 0 0; display: flex; gap: 6px; flex-wrap: wrap; }
nav a { padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--soft);
  text-decoration: none; color: var(--accent); font-size: 14px; }
a { color: var(--accent); }
pre, code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
pre { margin: 0; padding: 10px 14px; background: var(--soft); border: 1px solid var(--line);
  border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.command, code.command { user-select: all; }
code.command { white-space: nowrap; }
.explain, .note { color: var(--muted); margin: 4px 0 10px; max-width: 70em; }
.note { font-style: italic; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #fff; border-bottom: 2px solid var(--line); z-index: 1; }
tbody tr:nth-child(even) { background: #fafbfc; }
table.summary th { font-weight: 600; color: var(--muted); padding-right: 28px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.hl, tbody tr.hl:nth-child(even) { background: var(--mark); }
tr.hl td:first-child, tr.named td:first-child { box-shadow: inset 4px 0 0 var(--fail); }
tr.named, tbody tr.named:nth-child(even) { background: #ffebe9; }
tr.gap td { text-align: center; color: var(--muted); font-style: italic; background: var(--soft); }
tr:target, tbody tr:target:nth-child(even) { outline: 2px solid var(--accent); background: #ddf4ff; }
.outcome { display: inline-block; padding: 0 8px; border-radius: 4px; font-size: 13px; font-weight: 600; }
.outcome.ok { color: var(--pass); background: #dafbe1; }
.outcome.fail { color: var(--fail); background: #ffebe9; }
.outcome.unknown { color: var(--warn); background: #fff8c5; }
.hl-key { background: var(--mark); padding: 0 4px; }
.named-key { background: #ffebe9; padding: 0 4px; }
article.violation { border: 1px solid #ffcecb; border-left: 5px solid var(--fail); border-radius: 6px;
  padding: 12px 16px; margin: 0 0 14px; background: #fffafa; }
article.violation .when { margin: 0 0 8px; color: var(--muted); }
.links { margin: 8px 0 0; }
.links a, .links .absent { margin-right: 4px; }
.absent { color: var(--muted); text-decoration: line-through; }
.chart-scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 6px; }
.chart-scroll svg { display: block; max-width: none; }
.chart-row { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 12px; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 4px; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--line); padding-top: 8px; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn times_read_as_seconds_and_milliseconds() {
        assert_eq!(seconds(1_234_567_890), "1.234");
        assert_eq!(seconds(5_000_000), "0.005");
        assert_eq!(milliseconds(6_250_000), "6.2");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(1234), "1,234");
        assert_eq!(grouped(123_456_789), "123,456,789");
    }

    #[test]
    fn only_relative_links_lead_off_a_sweep_page() {
        assert_eq!(
            relative_link("runs/seed-7/index.html"),
            Some("runs/seed-7/index.html")
        );
        assert_eq!(
            relative_link("../a:b/index.html"),
            Some("../a:b/index.html")
        );
        for bad in [
            "javascript:alert(1)",
            "https://x.org/",
            "//x.org/",
            "/etc/passwd",
            "",
            "a\nb",
        ] {
            assert_eq!(relative_link(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_svg_document_is_inlined_without_its_xml_declaration() {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>";
        assert_eq!(
            inline_svg(&format!("<?xml version=\"1.0\"?>\n{svg}\n")),
            Some(svg)
        );
        assert_eq!(inline_svg(svg), Some(svg));
        assert_eq!(inline_svg("<script>x</script>"), None);
        assert_eq!(inline_svg("<?xml"), None);
    }

    #[test]
    fn a_long_table_keeps_its_ends_and_the_rows_that_must_stay() {
        let total = TABLE_ROWS_MAX * 3;
        let shown = Shown::rows(total, |i| i == 7000 || i == 9000);
        assert_eq!(shown.indexes.len(), 2 * TABLE_EDGE_ROWS + 2);
        assert_eq!(shown.left_out(), total - 2 * TABLE_EDGE_ROWS - 2);
        let gaps: Vec<usize> = shown
            .with_gaps()
            .map(|(_, gap)| gap)
            .filter(|&g| g > 0)
            .collect();
        assert_eq!(
            gaps,
            vec![
                7000 - TABLE_EDGE_ROWS,
                9000 - 7001,
                total - TABLE_EDGE_ROWS - 9001
            ]
        );
        assert_eq!(shown.tail_gap(), 0);
        let short = Shown::rows(10, |_| false);
        assert_eq!(
            (short.indexes.len(), short.left_out(), short.tail_gap()),
            (10, 0, 0)
        );
        assert_eq!(Shown::rows(0, |_| true).tail_gap(), 0);
    }
}
