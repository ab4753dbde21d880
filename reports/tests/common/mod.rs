//! Pages like the simulator writes, made up here so that tests depend on nothing outside the
//! crate: five nodes, three clients, a few hundred operations, and for a failing run a
//! linearizability violation with its sub-history.

#![allow(dead_code)] // each test binary uses part of it

use reports::model::{
    ClientOp, Distribution, EventRow, Fault, FaultKind, HistoryKey, HistoryOp, HistoryPage,
    HistoryRow, OpOutcome, Role, RoleSpan, RunLink, RunPage, SituationRow, SweepPage, Timeline,
    ViolationMark, ViolationText,
};

/// A label a page must show as text, never run.
pub const HOSTILE: &str = "<script>alert('x')</script> & \"quotes\"";

const MS: u64 = 1_000_000;

/// The operations highlighted in a failing run (the minimal sub-history).
pub const HIGHLIGHTED: [usize; 3] = [41, 44, 47];
/// The events a failing run's violation names.
pub const NAMED_EVENTS: [u64; 3] = [120, 131, 150];

/// A run of `ops_total` operations; with `failing`, a violation on key k3.
pub fn run_page(ops_total: usize, failing: bool) -> RunPage {
    let history: Vec<HistoryRow> = (0..ops_total).map(|id| history_row(id, failing)).collect();
    let events: Vec<EventRow> = (0..200u64)
        .map(|seq| EventRow {
            seq,
            time_ns: seq * 25 * MS,
            text: match seq {
                7 => format!("node 3 proposes {HOSTILE}"),
                s if s % 40 == 0 => {
                    format!("node {} becomes leader in term {}", s % 5 + 1, s / 40 + 1)
                }
                s => format!("node {} appends entries {}..{}", s % 5 + 1, s, s + 3),
            },
        })
        .collect();
    let violations = if failing {
        vec![violation()]
    } else {
        Vec::new()
    };
    let verdict = if failing { "violation" } else { "pass" };
    RunPage {
        title: format!("figure8 · seed 7 · {verdict}"),
        verdict: verdict.to_string(),
        reproduce: "raftsim run scenarios/figure8.toml --seed 7 --mutation read-without-quorum"
            .to_string(),
        summary: vec![
            ("events".to_string(), "48,211".to_string()),
            ("simulated time".to_string(), "5.000 s".to_string()),
            ("leaders".to_string(), "4 (terms 1, 2, 4, 5)".to_string()),
            ("operations".to_string(), ops_total.to_string()),
            ("note".to_string(), HOSTILE.to_string()),
        ],
        timeline: timeline(&history, failing),
        violations,
        history,
        events,
        // A failing page also shows its last moments zoomed in, with every message.
        zoom: failing.then_some((1_000_000_000, 1_500_000_000)),
    }
}

fn history_row(id: usize, failing: bool) -> HistoryRow {
    let client = (id % 3) as u64 + 1;
    let key = id % 5;
    let invoke_ns = id as u64 * 17 * MS;
    let outcome = match id % 11 {
        3 => OpOutcome::Unknown,
        7 => OpOutcome::Fail,
        _ => OpOutcome::Ok,
    };
    let (call, result) = match id % 3 {
        0 => (format!("put k{key} {id}"), "ok".to_string()),
        1 => (
            format!("get k{key}"),
            format!("ok {}", id.saturating_sub(3)),
        ),
        _ => (format!("cas k{key} {} {id}", id - 1), "ok".to_string()),
    };
    let call = if id == 5 {
        format!("put k1 {HOSTILE}")
    } else {
        call
    };
    let (result, complete_ns) = match outcome {
        OpOutcome::Unknown => ("unknown".to_string(), None),
        OpOutcome::Fail => ("fail".to_string(), Some(invoke_ns + 40 * MS)),
        OpOutcome::Ok => (result, Some(invoke_ns + (3 + id as u64 % 9) * MS)),
    };
    HistoryRow {
        id,
        client,
        call,
        result,
        outcome,
        invoke_ns,
        complete_ns,
        highlighted: failing && HIGHLIGHTED.contains(&id),
    }
}

fn violation() -> ViolationText {
    ViolationText {
        title: "linearizability: key k3 is not linearizable".to_string(),
        detail:
            "get k3 returned 41 after put k3 44 completed.\nNo order of ops 41, 44, 47 explains it."
                .to_string(),
        time_ns: 4_200 * MS,
        events: NAMED_EVENTS.to_vec(),
        ops: HIGHLIGHTED.to_vec(),
    }
}

fn timeline(history: &[HistoryRow], failing: bool) -> Timeline {
    let end_ns = 5_000 * MS;
    let roles = (1..=5u64)
        .flat_map(|node| {
            let leader = node == 2;
            [
                RoleSpan {
                    node,
                    role: Role::Follower,
                    term: 1,
                    from_ns: 0,
                    to_ns: 1_000 * MS,
                },
                RoleSpan {
                    node,
                    role: if leader { Role::Leader } else { Role::Follower },
                    term: 2,
                    from_ns: 1_000 * MS,
                    to_ns: end_ns,
                },
            ]
        })
        .collect();
    let ops = history
        .iter()
        .map(|row| ClientOp {
            id: row.id,
            client: row.client,
            invoke_ns: row.invoke_ns,
            complete_ns: row.complete_ns,
            outcome: row.outcome,
            label: row.call.clone(),
            highlighted: row.highlighted,
        })
        .collect();
    Timeline {
        title: "figure8 · seed 7".to_string(),
        nodes: (1..=5).collect(),
        clients: (1..=3).collect(),
        end_ns,
        roles,
        commits: Vec::new(),
        faults: vec![Fault {
            kind: FaultKind::Partition,
            from_ns: 2_000 * MS,
            to_ns: Some(3_000 * MS),
            nodes: vec![1, 2],
            label: "{1,2} | {3,4,5}".to_string(),
        }],
        ops,
        messages: Vec::new(),
        messages_left_out: 0,
        messages_left_out_before_ns: 0,
        violation: failing.then(|| ViolationMark {
            time_ns: 4_200 * MS,
            title: "linearizability: key k3".to_string(),
            nodes: Vec::new(),
        }),
    }
}

/// A sweep of 200 seeds with three failing runs.
pub fn sweep_page() -> SweepPage {
    let failures = [
        (7u64, Some("runs/seed-7/index.html")),
        (19, None),
        (23, Some("javascript:alert(1)")),
    ]
    .into_iter()
    .map(|(seed, page)| RunLink {
        scenario: if seed == 19 {
            HOSTILE.to_string()
        } else {
            "figure8".to_string()
        },
        seed,
        verdict: "violation".to_string(),
        failure: Some("linearizability: key k3 is not linearizable".to_string()),
        page: page.map(str::to_string),
        reproduce: format!("raftsim run scenarios/figure8.toml --seed {seed}"),
    })
    .collect();
    // A skewed sample, like election times: most quick, a long tail.
    let election_ms = (0..200)
        .map(|i| {
            let x = (i as f64 * 0.618_034).fract();
            150.0 + 300.0 * x * x * x
        })
        .collect();
    SweepPage {
        title: "sweep · figure8 · seeds 1..200".to_string(),
        command: "raftsim sweep scenarios/figure8.toml --seeds 1..200".to_string(),
        summary: vec![
            ("runs".to_string(), "200".to_string()),
            ("failing".to_string(), "3".to_string()),
        ],
        failures,
        distributions: vec![
            Distribution {
                title: "time to a new leader after a leader crash".to_string(),
                unit: "ms".to_string(),
                values: election_ms,
            },
            Distribution {
                title: format!("empty: {HOSTILE}"),
                unit: "ms".to_string(),
                values: Vec::new(),
            },
        ],
        failures_per_invariant: vec![
            ("linearizability".to_string(), 2),
            ("election safety".to_string(), 1),
        ],
        situations: vec![
            SituationRow {
                name: "leader-stepped-down".to_string(),
                runs: 187,
                times: 402,
            },
            SituationRow {
                name: "vote-refused-log-behind".to_string(),
                runs: 120,
                times: 355,
            },
        ],
    }
}

/// A checked history of two keys: `k1` not linearizable (a read of a value never written,
/// the minimal failing sub-history) and `k2` linearizable; one operation of `k1` never
/// returned and one label needs escaping.
pub fn history_page() -> HistoryPage {
    let op = |id: usize, process: u64, start: f64, end: Option<f64>, label: &str| HistoryOp {
        id,
        process,
        label: label.to_string(),
        start,
        end,
        outcome: if end.is_some() {
            OpOutcome::Ok
        } else {
            OpOutcome::Unknown
        },
        minimal: false,
        linearized: None,
        lines: format!("lines {}, {}", 2 * id + 1, 2 * id + 2),
    };
    let mut k1 = vec![
        op(0, 1, 0.0, Some(10.0), "write \"a\" -> ok"),
        op(
            1,
            2,
            12.0,
            Some(20.0),
            "read -> ok \"<script>alert('x')</script>\"",
        ),
        op(2, 3, 5.0, None, "write \"b\" -> info"),
        op(3, 1, 22.0, Some(30.0), "write \"c\" -> ok"),
    ];
    k1[0].linearized = Some(1);
    k1[1].minimal = true;
    let mut k2 = vec![
        op(4, 1, 31.0, Some(35.0), "write 1 -> ok"),
        op(5, 2, 36.0, Some(40.0), "read -> ok 1"),
    ];
    k2[0].linearized = Some(1);
    k2[1].linearized = Some(2);
    HistoryPage {
        title: "h.jsonl".into(),
        verdict: "not linearizable".into(),
        summary: vec![("model".into(), "kv (the file's header)".into())],
        axis: "time (ms)".into(),
        keys: vec![
            HistoryKey {
                name: "key k1".into(),
                verdict: "not linearizable".into(),
                note: "Not linearizable: the longest linearization found orders 1 of 3.".into(),
                stuck_at: Some(20.0),
                ops: k1,
                ops_left_out: 0,
            },
            HistoryKey {
                name: "key k2".into(),
                verdict: "linearizable".into(),
                note: "Linearizable.".into(),
                stuck_at: None,
                ops: k2,
                ops_left_out: 0,
            },
        ],
    }
}
