//! The timeline chart through its public API: what the SVG contains (counted by class), that
//! the same timeline gives the same bytes, zooming, the PNG, and escaping.

use reports::model::{
    ClientOp, Fault, FaultKind, Message, OpOutcome, Role, RoleSpan, Timeline, ViolationMark,
};
use reports::timeline::{self, ChartError, ChartOptions, MESSAGES_DRAWN_MAX};

const S: u64 = 1_000_000_000;

fn span(node: u64, role: Role, term: u64, from_s: f64, to_s: f64) -> RoleSpan {
    RoleSpan {
        node,
        role,
        term,
        from_ns: (from_s * S as f64) as u64,
        to_ns: (to_s * S as f64) as u64,
    }
}

fn fault(kind: FaultKind, from_s: u64, to_s: Option<u64>, nodes: &[u64], label: &str) -> Fault {
    Fault {
        kind,
        from_ns: from_s * S,
        to_ns: to_s.map(|t| t * S),
        nodes: nodes.to_vec(),
        label: label.into(),
    }
}

fn op(id: usize, client: u64, from_s: f64, to_s: Option<f64>, outcome: OpOutcome) -> ClientOp {
    ClientOp {
        id,
        client,
        invoke_ns: (from_s * S as f64) as u64,
        complete_ns: to_s.map(|t| (t * S as f64) as u64),
        outcome,
        label: format!("put k{id} {id}"),
        highlighted: false,
    }
}

fn message(from: u64, to: u64, sent_ms: u64, arrived_ms: u64, delivered: bool) -> Message {
    Message {
        from,
        to,
        sent_ns: sent_ms * 1_000_000,
        arrived_ns: arrived_ms * 1_000_000,
        kind: "AppendEntries".into(),
        delivered,
    }
}

/// Three nodes and two clients over ten seconds: node 1 leads, crashes at 2 s and restarts;
/// node 2 leads term 2, crashes at 6 s; a partition cuts node 3 off from 4 s to 7 s; five
/// operations of every outcome; two leaders are seen at 8 s.
fn run() -> Timeline {
    use Role::*;
    Timeline {
        title: "three nodes · seed 7".into(),
        nodes: vec![1, 2, 3],
        clients: vec![10, 11],
        end_ns: 10 * S,
        roles: vec![
            span(1, Leader, 1, 0.0, 2.0),
            span(1, Down, 1, 2.0, 3.0),
            span(1, Follower, 2, 3.0, 10.0),
            span(2, Follower, 1, 0.0, 2.3),
            span(2, Candidate, 2, 2.3, 2.4),
            span(2, Leader, 2, 2.4, 6.0),
            span(2, Down, 2, 6.0, 10.0),
            span(3, Follower, 1, 0.0, 6.2),
            span(3, Leader, 3, 6.2, 10.0),
        ],
        commits: vec![
            reports::model::CommitPoint {
                node: 1,
                time_ns: S,
                index: 3,
            },
            reports::model::CommitPoint {
                node: 2,
                time_ns: 4 * S,
                index: 9,
            },
        ],
        faults: vec![
            fault(FaultKind::Crash, 2, None, &[1], "crash"),
            fault(FaultKind::Restart, 3, None, &[1], "restart"),
            fault(FaultKind::Partition, 4, Some(7), &[3], "{1,2} | {3}"),
            fault(FaultKind::Crash, 6, None, &[2], "crash"),
        ],
        ops: vec![
            op(0, 10, 0.5, Some(1.0), OpOutcome::Ok),
            op(1, 10, 1.5, Some(2.5), OpOutcome::Fail),
            op(2, 11, 0.2, Some(4.0), OpOutcome::Unknown),
            ClientOp {
                highlighted: true,
                ..op(3, 11, 5.0, Some(6.5), OpOutcome::Ok)
            },
            op(4, 10, 7.0, None, OpOutcome::Unknown),
        ],
        messages: vec![
            message(1, 2, 100, 101, true),
            message(1, 3, 100, 103, false),
            message(2, 1, 2_500, 2_502, true),
            message(2, 3, 4_200, 4_210, false),
        ],
        messages_left_out: 0,
        messages_left_out_before_ns: 0,
        violation: Some(ViolationMark {
            time_ns: 8 * S,
            title: "election safety: two leaders in term 2".into(),
            nodes: vec![2, 3],
        }),
    }
}

fn svg(timeline: &Timeline, from_s: Option<f64>, to_s: Option<f64>) -> String {
    let options = ChartOptions {
        from_ns: from_s.map(|t| (t * S as f64) as u64),
        to_ns: to_s.map(|t| (t * S as f64) as u64),
        ..ChartOptions::default()
    };
    timeline::svg(timeline, &options).expect("the chart draws")
}

fn count(svg: &str, class: &str) -> usize {
    svg.matches(&format!("class=\"{class}\"")).count()
}

/// Checks the elements the classes name, counted in the SVG, against the expected counts.
fn check(svg: &str, expected: &[(&str, usize)]) {
    let found: Vec<(&str, usize)> = expected.iter().map(|(c, _)| (*c, count(svg, c))).collect();
    assert_eq!(found, expected, "in\n{svg}");
}

#[test]
fn the_chart_has_a_lane_per_node_and_client_and_a_mark_per_event() {
    let chart = svg(&run(), None, None);
    check(
        &chart,
        &[
            ("lane-node", 3),
            ("lane-client", 2),
            ("role-leader", 3),
            ("role-candidate", 1),
            ("role-down", 2),
            ("fault-crash", 2),
            ("fault-restart", 1),
            ("fault-partition", 1),
            ("op-ok", 1),
            ("op-ok op-highlighted", 1),
            ("op-fail", 1),
            ("op-unknown", 2),
            ("op-unknown-tail", 1),
            ("commit", 2),
            ("violation", 1),
            ("violation-lane", 2),
            ("message", 0),
        ],
    );
    for id in 0..5 {
        // Op 4 never completed: its mark and its tail both link to it.
        assert_eq!(
            chart.matches(&format!("href=\"#op-{id}\"")).count(),
            if id == 4 { 2 } else { 1 },
            "op {id}"
        );
    }
    // The tail of the op that never completed is drawn first, under the client's other ops.
    let tail = chart.find("op-unknown-tail").unwrap();
    assert!(chart.find("class=\"op-ok\"").is_some_and(|bar| tail < bar));
    assert!(chart.contains(">node 3</text>") && chart.contains(">client 11</text>"));
    assert!(chart.contains("4 messages: zoom in (--from/--to) to see them"));
}

#[test]
fn without_a_violation_there_is_no_violation_mark() {
    let timeline = Timeline {
        messages_left_out: 0,
        messages_left_out_before_ns: 0,
        violation: None,
        ..run()
    };
    let chart = svg(&timeline, None, None);
    check(
        &chart,
        &[
            ("violation", 0),
            ("violation-lane", 0),
            ("violation-title", 0),
        ],
    );
    assert!(!chart.contains("election safety"));
}

#[test]
fn a_violation_outside_the_window_is_a_note() {
    let chart = svg(&run(), Some(0.0), Some(5.0));
    check(&chart, &[("violation", 0), ("violation-lane", 2)]);
    assert!(chart.contains("violation at 8 s, outside the window: election safety"));
}

#[test]
fn the_same_timeline_gives_the_same_bytes() {
    let options = ChartOptions::default();
    let first = timeline::svg(&run(), &options).expect("svg");
    assert_eq!(first, timeline::svg(&run(), &options).expect("svg"));
    let first = timeline::png(&run(), &options).expect("png");
    assert_eq!(first, timeline::png(&run(), &options).expect("png"));
}

#[test]
fn a_window_shows_only_what_falls_in_it_and_its_messages() {
    // 2.4 s to 5 s: node 2's leadership, the partition's start, op 2's end.
    let chart = svg(&run(), Some(2.4), Some(5.0));
    check(
        &chart,
        &[
            ("fault-crash", 0),
            ("fault-restart", 1),
            ("fault-partition", 1),
            ("op-ok", 0),
            ("op-fail", 1),
            ("op-unknown", 1),
            ("message", 1),
            ("message-dropped", 1),
        ],
    );
    assert!(!chart.contains("zoom in"));
    let early = svg(&run(), Some(0.0), Some(1.0));
    check(&early, &[("message", 1), ("message-dropped", 1)]);
}

#[test]
fn too_many_messages_in_a_window_are_counted_not_drawn() {
    let mut timeline = run();
    let many = (0..=MESSAGES_DRAWN_MAX as u64).map(|i| message(1, 2, 100 + i % 50, 160, true));
    timeline.messages = many.collect();
    let chart = svg(&timeline, Some(0.0), Some(1.0));
    check(&chart, &[("message", 0)]);
    let note = format!("{} messages: zoom in", MESSAGES_DRAWN_MAX + 1);
    assert!(chart.contains(&note), "{chart}");
}

#[test]
fn an_empty_or_late_window_is_refused() {
    let refused = |from_ns, to_ns| {
        let options = ChartOptions {
            from_ns,
            to_ns,
            ..ChartOptions::default()
        };
        match timeline::svg(&run(), &options) {
            Err(ChartError::BadWindow(m)) => m,
            other => panic!("{from_ns:?}..{to_ns:?} gave {other:?}"),
        }
    };
    assert_eq!(
        refused(Some(3 * S), Some(3 * S)),
        "from 3 s is not before to 3 s"
    );
    assert_eq!(
        refused(Some(4 * S), Some(S)),
        "from 4 s is not before to 1 s"
    );
    let late = refused(Some(10 * S), None);
    assert_eq!(late, "from 10 s is not before the end of the run at 10 s");
    assert!(timeline::png(&Timeline::default(), &ChartOptions::default()).is_err());
}

#[test]
fn a_width_outside_the_limits_is_refused() {
    for width_px in [timeline::WIDTH_PX_MIN - 1, timeline::WIDTH_PX_MAX + 1] {
        let options = ChartOptions {
            width_px,
            ..ChartOptions::default()
        };
        match timeline::svg(&run(), &options) {
            Err(ChartError::Draw(m)) => {
                assert!(m.starts_with(&format!("width_px {width_px} ")), "{m}")
            }
            other => panic!("width {width_px} gave {other:?}"),
        }
    }
    let narrowest = ChartOptions {
        width_px: timeline::WIDTH_PX_MIN,
        ..ChartOptions::default()
    };
    assert!(timeline::png(&run(), &narrowest).is_ok());
}

#[test]
fn the_png_decodes_to_the_chart_size_and_is_not_blank() {
    let options = ChartOptions {
        width_px: 900,
        ..ChartOptions::default()
    };
    let bytes = timeline::png(&run(), &options).expect("png");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG header");
    let mut rgb = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut rgb).expect("one frame");
    let chart = timeline::svg(&run(), &options).expect("svg");
    let height = format!("height=\"{}\"", frame.height);
    assert_eq!(frame.width, 900);
    assert!(chart.starts_with(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" {height}"
    )));
    let mut colors: Vec<&[u8]> = rgb.chunks(3).collect();
    colors.sort_unstable();
    colors.dedup();
    assert!(colors.len() > 20, "{} colors", colors.len());
}

#[test]
fn labels_are_escaped_into_well_formed_xml() {
    let mut timeline = run();
    timeline.title = "a <b> & \"c\" 'd'".into();
    timeline.ops[0].label = "<&>\"".into();
    timeline.faults[2].label = "</svg>".into();
    let chart = svg(&timeline, None, None);
    well_formed(&chart);
    assert!(
        chart.contains("<title>&lt;&amp;&gt;&quot; · client 10"),
        "{chart}"
    );
}

/// Fails unless `xml` is a tree of matched tags whose text and quoted attribute values hold
/// no raw `<` and only the five entities the escaping writes.
fn well_formed(xml: &str) {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        text_is_escaped(&rest[..start]);
        let end = start + rest[start..].find('>').expect("every tag closes");
        let tag = &rest[start + 1..end];
        assert!(
            tag.matches('"').count().is_multiple_of(2) && !tag.contains('<'),
            "tag {tag}"
        );
        text_is_escaped(tag);
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or("");
        if tag.starts_with('/') {
            assert_eq!(open.pop(), Some(name), "closing {tag}");
        } else if !tag.ends_with('/') {
            open.push(name);
        }
        rest = &rest[end + 1..];
    }
    text_is_escaped(rest);
    assert!(open.is_empty(), "left open: {open:?}");
}

fn text_is_escaped(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"];
        assert!(
            entity.iter().any(|e| text[i..].starts_with(e)),
            "raw & in {text}"
        );
    }
    assert!(!text.contains('>'), "raw > in {text}");
}
