//! The protocol-timed nemeses fire at their moment, seen in the trace: a crash right after a
//! node produced a message (before its sync) or sent it (after), a message held until its
//! term is over, old messages delivered again to receivers in a later term, a follower
//! crashed in the middle of a snapshot transfer, a membership change asked for while a voter
//! is down, crashes at each I/O boundary. And their fields are checked when a file is read.

use super::{records, run, scenario, schedule, MS, S};
use sim::node::{MessageInfo, NodeId};
use sim::trace::{Event, Record};
use sim::{Outcome, RunOptions, Scenario};

/// The position of the first firing of nemesis `name` (the moment is part of the name).
fn fired(recs: &[Record], name: &str) -> usize {
    recs.iter()
        .position(|r| matches!(r.event, Event::Nemesis { name: n, fired: true, .. } if n == name))
        .unwrap_or_else(|| panic!("{name} never fired"))
}

/// The `nemesis-message` records of nemesis `name`: position, what, receiver, message.
fn acted_on(recs: &[Record], name: &str) -> Vec<(usize, &'static str, NodeId, MessageInfo)> {
    recs.iter()
        .enumerate()
        .filter_map(|(i, r)| match r.event {
            Event::NemesisMessage {
                name: n,
                what,
                to,
                msg,
            } if n == name => Some((i, what, to, msg)),
            _ => None,
        })
        .collect()
}

/// The term of `node` at trace position `at`, from its role changes.
fn term_at(recs: &[Record], node: NodeId, at: usize) -> u64 {
    recs[..=at]
        .iter()
        .rev()
        .find_map(|r| match r.event {
            Event::Role { node: n, term, .. } if n == node => Some(term),
            _ => None,
        })
        .unwrap_or(0)
}

/// The crash right after position `at`, at the same instant: (node, lost, torn).
fn crash_after(recs: &[Record], at: usize) -> (NodeId, u64, u64) {
    let r = &recs[at + 1];
    assert_eq!(r.time_ns, recs[at].time_ns, "at the same instant");
    match r.event {
        Event::Crash {
            node,
            writes_lost,
            writes_torn,
        } => (node, writes_lost, writes_torn),
        ref other => panic!("a crash follows the firing, found {other:?}"),
    }
}

/// Deliveries of `kind` from `from` sent at `sent_ns`.
fn delivered_sent_at(recs: &[Record], from: NodeId, kind: &str, sent_ns: u64) -> usize {
    recs.iter()
        .filter(|r| {
            matches!(&r.event, Event::Deliver { msg, sent_ns: s, .. }
                if msg.from == from && msg.kind == kind && *s == sent_ns)
        })
        .count()
}

#[test]
fn crash_after_send_before_sync_crashes_the_node_that_produced_the_message() {
    let fields = "kind = \"AppendEntriesResponse\"\nwhen = \"before-sync\"\nfor = \"500ms\"";
    let o = run(&scenario(&schedule("3s", "crash-after-send", fields)), 11);
    let recs = records(&o);
    let [(i, what, to, msg)] = acted_on(recs, "crash-after-send")[..] else {
        panic!("one firing");
    };
    assert_eq!((what, msg.kind), ("before-sync", "AppendEntriesResponse"));
    let f = fired(recs, "crash-after-send:before-sync");
    assert_eq!((f, recs[f].time_ns), (i + 1, recs[i].time_ns));
    let (node, lost, _) = crash_after(recs, f);
    assert_eq!(node, msg.from, "the node that produced it crashes");
    assert!(lost > 0, "its unsynced writes are lost");
    let t = recs[i].time_ns;
    assert!(t >= 3 * S);
    assert_eq!(
        delivered_sent_at(recs, node, msg.kind, t),
        0,
        "the message to {to} never went out"
    );
}

#[test]
fn crash_after_send_after_sync_crashes_once_the_vote_went_out() {
    let fields = "kind = \"RequestVoteResponse\"\nwhen = \"after-sync\"\nfor = \"500ms\"";
    let text = schedule("2s", "crash-after-send", fields)
        + &schedule("3s", "crash-leader", "for = \"1s\"");
    let o = run(&scenario(&text), 12);
    let recs = records(&o);
    let [(i, what, _, msg)] = acted_on(recs, "crash-after-send")[..] else {
        panic!("one firing");
    };
    assert_eq!((what, msg.kind), ("after-sync", "RequestVoteResponse"));
    let t = recs[i].time_ns;
    assert!(
        matches!(recs[i - 1].event, Event::Synced { node, .. } if node == msg.from)
            && recs[i - 1].time_ns == t,
        "right after the sync that released it: {}",
        recs[i - 1]
    );
    let f = fired(recs, "crash-after-send:after-sync");
    assert_eq!(f, i + 1);
    assert_eq!(crash_after(recs, f).0, msg.from);
    assert_eq!(
        delivered_sent_at(recs, msg.from, msg.kind, t),
        1,
        "the vote went out before the crash"
    );
}

#[test]
fn crash_after_send_can_pause_instead() {
    let fields = "when = \"before-sync\"\nfor = \"300ms\"\npause = true";
    let o = run(&scenario(&schedule("3s", "crash-after-send", fields)), 13);
    let recs = records(&o);
    let f = fired(recs, "crash-after-send:before-sync");
    let (_, _, _, msg) = acted_on(recs, "crash-after-send")[0];
    assert!(
        matches!(recs[f + 1].event, Event::Pause { node, until_ns } if node == msg.from && until_ns == recs[f].time_ns + 300 * MS),
        "{}",
        recs[f + 1]
    );
    assert!(msg.kind.ends_with("Response"), "any response by default");
    assert_eq!(o.stats.crashes, 0);
}

#[test]
fn hold_stale_delivers_the_message_only_once_its_senders_term_is_over() {
    let fields = "kind = \"AppendEntries\"\nuntil = \"sender-term\"";
    let text =
        schedule("3s", "hold-stale", fields) + &schedule("3500ms", "crash-leader", "for = \"1s\"");
    let o = run(&scenario(&text), 14);
    let recs = records(&o);
    let acts = acted_on(recs, "hold-stale");
    let [(held, "held", to, msg), (released, "released", to2, msg2)] = acts[..] else {
        panic!("held then released: {acts:?}");
    };
    assert_eq!((to, msg), (to2, msg2));
    assert!(term_at(recs, msg.from, held) <= msg.term);
    assert!(
        term_at(recs, msg.from, released) > msg.term,
        "the sender's term moved on"
    );
    assert!(
        recs[released].time_ns > 4 * S,
        "not before the old leader came back"
    );
    let late = recs[released..]
        .iter()
        .find(|r| matches!(&r.event, Event::Deliver { to: t, msg: m, .. } if *t == to && *m == msg))
        .expect("delivered after its release");
    assert!(late.time_ns == recs[released].time_ns);
    let Event::Deliver { sent_ns, .. } = late.event else {
        unreachable!()
    };
    assert!(
        sent_ns < recs[held].time_ns,
        "it is the message sent before the hold"
    );
}

#[test]
fn hold_stale_gives_up_at_its_limit() {
    let fields = "until = \"receiver-term\"\nfor = \"700ms\"";
    let o = run(&scenario(&schedule("3s", "hold-stale", fields)), 15);
    let recs = records(&o);
    let acts = acted_on(recs, "hold-stale");
    let [(held, "held", _, _), (released, "released-at-limit", _, _)] = acts[..] else {
        panic!("held then let go at the limit: {acts:?}");
    };
    assert_eq!(recs[released].time_ns - recs[held].time_ns, 700 * MS);
}

#[test]
fn replay_old_delivers_messages_of_older_terms_when_a_leader_is_elected() {
    let text = schedule("2s", "replay-old", "") + &schedule("3s", "crash-leader", "for = \"1s\"");
    let o = run(&scenario(&text), 16);
    let recs = records(&o);
    let f = fired(recs, "replay-old");
    let t = recs[f].time_ns;
    assert!(t > 3 * S);
    let replayed = acted_on(recs, "replay-old");
    assert!((1..=8).contains(&replayed.len()), "{replayed:?}");
    for &(i, _, to, msg) in &replayed {
        assert_eq!(recs[i].time_ns, t);
        assert!(
            msg.term < term_at(recs, to, i),
            "older than the receiver's term"
        );
        let delivered = recs[i..].iter().any(|r| {
            r.time_ns == t
                && matches!(&r.event, Event::Deliver { to: d, msg: m, sent_ns } if *d == to && *m == msg && *sent_ns < t)
        });
        assert!(delivered, "{to} gets {msg:?} again");
    }
}

/// Three nodes that compact every 20 entries and send snapshots in 64-byte chunks; node 3 is
/// down from 2 s to 5 s, so it needs one.
fn snapshot_scenario(extra: &str) -> Scenario {
    let text = format!(
        "[raft]\nsnapshot_entries = 20\nsnapshot_catch_up_entries = 5\nsnapshot_chunk_bytes = 64\n{}{}{extra}",
        schedule("2s", "crash", "node = 3"),
        schedule("5s", "restart", "node = 3"),
    );
    scenario(&text)
}

/// The delivery that `node` was handling when the nemesis fired at `at`.
fn delivery_before(recs: &[Record], at: usize, node: NodeId) -> MessageInfo {
    recs[..at]
        .iter()
        .rev()
        .find_map(|r| match r.event {
            Event::Deliver { to, msg, .. } if to == node => Some((r.time_ns, msg)),
            _ => None,
        })
        .filter(|(t, _)| *t == recs[at].time_ns)
        .expect("a delivery at the same instant")
        .1
}

#[test]
fn crash_during_snapshot_transfer_follows_a_chunk_that_is_not_the_last() {
    let arm = schedule(
        "2s",
        "crash-during-snapshot",
        "stage = \"transfer\"\nnode = 3\nfor = \"300ms\"",
    );
    let o = run(&snapshot_scenario(&arm), 17);
    let recs = records(&o);
    let f = fired(recs, "crash-during-snapshot:transfer");
    let chunk = delivery_before(recs, f, 3);
    assert_eq!(
        (chunk.kind, chunk.snapshot_last),
        ("InstallSnapshot", Some(false))
    );
    assert_eq!(crash_after(recs, f).0, 3);
    assert!(recs[f].time_ns > 5 * S);
    let again = recs[f..].iter().any(
        |r| matches!(&r.event, Event::Deliver { to: 3, msg, .. } if msg.kind == "InstallSnapshot"),
    );
    assert!(again, "the transfer begins again after the restart");
    assert!(o.situations.snapshot_installed > 0);
}

#[test]
fn crash_during_snapshot_install_comes_before_the_sync() {
    let arm = schedule(
        "2s",
        "crash-during-snapshot",
        "stage = \"install\"\nfor = \"300ms\"",
    );
    let o = run(&snapshot_scenario(&arm), 18);
    let recs = records(&o);
    let f = fired(recs, "crash-during-snapshot:install");
    let chunk = delivery_before(recs, f, 3);
    assert_eq!(
        (chunk.kind, chunk.snapshot_last),
        ("InstallSnapshot", Some(true))
    );
    let (node, lost, _) = crash_after(recs, f);
    assert_eq!(node, 3);
    assert!(lost > 0, "the installed snapshot was not synced");
}

/// (time, node) of each crash and restart of `node`, and the membership events.
fn membership_lines(recs: &[Record]) -> Vec<(u64, String)> {
    recs.iter()
        .filter_map(|r| match &r.event {
            Event::Membership { what } => Some((r.time_ns, what.clone())),
            _ => None,
        })
        .collect()
}

fn restart_of(recs: &[Record], node: NodeId, after: usize) -> u64 {
    recs[after..]
        .iter()
        .find_map(|r| match r.event {
            Event::Restart { node: n } if n == node => Some(r.time_ns),
            _ => None,
        })
        .expect("restarted")
}

#[test]
fn change_while_down_removes_and_adds_back_while_a_voter_is_down() {
    let o = run(
        &scenario(&schedule("3s", "change-while-down", "for = \"1s\"")),
        19,
    );
    let recs = records(&o);
    let f = fired(recs, "change-while-down");
    let Event::Nemesis {
        node: Some(down), ..
    } = recs[f].event
    else {
        unreachable!()
    };
    assert_eq!(crash_after(recs, f).0, down);
    let back = restart_of(recs, down, f);
    let lines = membership_lines(recs);
    let accepted = lines
        .iter()
        .find(|(t, what)| *t >= recs[f].time_ns && what.contains("accepts: add [], remove"))
        .expect("a removal accepted");
    assert!(
        accepted.0 < back,
        "asked for while node {down} was down: {lines:?}"
    );
    assert!(!accepted.1.contains(&format!("remove [{down}]")));
    assert_eq!(
        o.membership.completed, 2,
        "removed, then added back: {lines:?}"
    );
}

#[test]
fn change_while_down_adds_a_spare_when_there_is_one() {
    let text = "seed = 1\nnodes = 4\nduration = \"12s\"\n[membership]\ninitial = 3\n\
                [clients]\ncount = 2\noperations = 2000\nkeys = 2\nstart = \"500ms\"\n"
        .to_string()
        + &schedule("3s", "change-while-down", "for = \"1s\"\nisolate = true");
    let s = sim::scenario::parse("spare.toml", &text).unwrap();
    let o = run(&s, 20);
    let recs = records(&o);
    let f = fired(recs, "change-while-down");
    assert!(
        matches!(recs[f + 1].event, Event::Partition { .. }),
        "cut off"
    );
    let lines = membership_lines(recs);
    let accepted = lines
        .iter()
        .find(|(_, what)| what.contains("accepts: add [4]"))
        .expect("the spare added");
    assert!(
        accepted.0 < recs[f].time_ns + S,
        "while the voter is cut off"
    );
    assert_eq!(o.membership.completed, 1);
}

fn io_run(boundary: &str, seed: u64) -> Outcome {
    let fields = format!("boundary = \"{boundary}\"\nfor = \"300ms\"");
    // Slow syncs leave a wide window in the middle of each.
    let text = "[disk]\nsync_latency = [\"5ms\", \"10ms\"]\n".to_string()
        + &schedule("3s", "crash-at-io", &fields);
    run(&scenario(&text), seed)
}

#[test]
fn crash_at_io_after_write_loses_the_write() {
    let o = io_run("after-write", 21);
    let recs = records(&o);
    let f = fired(recs, "crash-at-io:after-write");
    let (_, lost, torn) = crash_after(recs, f);
    assert!(lost > 0 && torn == 0, "nothing of it synced");
}

#[test]
fn crash_at_io_mid_sync_comes_while_the_sync_is_in_flight() {
    let o = io_run("mid-sync", 22);
    let recs = records(&o);
    let f = fired(recs, "crash-at-io:mid-sync");
    let (node, lost, torn) = crash_after(recs, f);
    assert!(lost + torn > 0, "unsynced writes at the crash");
    // The node's last input (the one whose write the sync covers) came less than a sync's
    // latest latency before, not at the same instant.
    let input_to_node = |r: &&Record| match r.event {
        Event::Deliver { to, .. } => to == node,
        Event::Timer { node: n } | Event::Synced { node: n, .. } => n == node,
        Event::ClientRequest { node: n, .. } => n == node,
        Event::Propose { node: n, .. } => n == Some(node),
        _ => false,
    };
    let last_input = recs[..f]
        .iter()
        .rev()
        .find(input_to_node)
        .expect("an input");
    let gap = recs[f].time_ns - last_input.time_ns;
    assert!(
        gap > 0 && gap < 10 * MS,
        "between the write and its sync: {gap}"
    );
    let synced_between = recs[..f]
        .iter()
        .rev()
        .take_while(|r| r.seq > last_input.seq)
        .any(|r| matches!(r.event, Event::Synced { node: n, .. } if n == node));
    assert!(!synced_between, "the sync had not completed");
}

#[test]
fn crash_at_io_after_sync_comes_before_the_node_hears_of_it() {
    let o = io_run("after-sync", 23);
    let recs = records(&o);
    let f = fired(recs, "crash-at-io:after-sync");
    let (node, _, _) = crash_after(recs, f);
    assert!(
        matches!(recs[f - 1].event, Event::Synced { node: n, .. } if n == node)
            && recs[f - 1].time_ns == recs[f].time_ns,
        "{}",
        recs[f - 1]
    );
}

#[test]
fn each_knob_arms_its_nemesis_at_random() {
    let knobs = [
        ("crash_after_send_every", "crash-after-send:"),
        ("hold_stale_every", "hold-stale"),
        ("replay_old_every", "replay-old"),
        ("crash_at_io_every", "crash-at-io:"),
        ("change_while_down_every", "change-while-down"),
        ("crash_during_snapshot_every", "crash-during-snapshot:"),
    ];
    for (knob, name) in knobs {
        let text = format!(
            "[raft]\nsnapshot_entries = 20\nsnapshot_catch_up_entries = 5\nsnapshot_chunk_bytes = 64\n\
             [faults]\n{knob} = \"700ms\"\ncrash_every = \"2s\"\ndown_for = [\"300ms\", \"2s\"]\nmax_down = 1\nuntil = \"10s\"\n\
             [liveness]\nleader_within = \"2s\"\n"
        );
        let s = scenario(&text);
        let fired = (1..=3).any(|seed| {
            let o = run(&s, seed);
            records(&o).iter().any(|r| {
                matches!(r.event, Event::Nemesis { name: n, fired: true, .. } if n.starts_with(name))
            })
        });
        assert!(fired, "{knob} never fired");
    }
}

#[test]
fn a_scenario_without_the_new_faults_keeps_its_trace() {
    // The hash of `churn` seed 42 as the nemeses found it
    // (`raftsim run scenarios/churn.toml --seed 42 --json`); it moved twice since, when
    // client replies came to name their session as well as their seq, and when the
    // network's, disks' and election timeouts' draws came to be keyed by what they are for.
    let o = sim::run(&crate::scenario("churn"), 42, RunOptions::default()).unwrap();
    assert_eq!(format!("{:016x}", o.trace.hash()), "35a1a9807e1a4109");
}

#[test]
fn the_new_scenarios_are_deterministic() {
    for name in ["protocol-crashes", "stale-messages", "change-while-down"] {
        let s = crate::scenario(name);
        for seed in 1..=3 {
            let a = sim::run(&s, seed, RunOptions::default()).unwrap();
            let b = sim::run(&s, seed, RunOptions::default()).unwrap();
            assert_eq!(a.trace.hash(), b.trace.hash(), "{name} seed {seed}");
            assert_eq!(a.recovery, b.recovery, "{name} seed {seed}");
        }
    }
}

/// The error for a schedule entry of `action` with `fields`.
fn parse_error(action: &str, fields: &str) -> sim::scenario::ScenarioError {
    let text = format!(
        "seed = 1\nnodes = 3\nduration = \"10s\"\n{}",
        schedule("1s", action, fields)
    );
    sim::scenario::parse("bad.toml", &text).expect_err("refused")
}

#[test]
fn bad_fields_of_the_new_actions_name_the_file_line_and_field() {
    let cases = [
        (
            "crash-after-send",
            "kind = \"request-vote\"\nwhen = \"before-sync\"\nfor = \"1s\"",
            "schedule[0].kind",
            "CamelCase",
        ),
        (
            "crash-after-send",
            "when = \"during-sync\"\nfor = \"1s\"",
            "schedule[0].when",
            "before-sync",
        ),
        (
            "crash-after-send",
            "for = \"1s\"",
            "schedule[0].when",
            "missing required field `when`",
        ),
        (
            "hold-stale",
            "until = \"forever\"",
            "schedule[0].until",
            "sender-term",
        ),
        (
            "hold-stale",
            "until = \"sender-term\"\nfor = \"2m\"",
            "schedule[0].for",
            "at most 1m",
        ),
        (
            "crash-during-snapshot",
            "stage = \"download\"\nfor = \"1s\"",
            "schedule[0].stage",
            "transfer",
        ),
        (
            "crash-at-io",
            "boundary = \"before-write\"\nfor = \"1s\"",
            "schedule[0].boundary",
            "after-write",
        ),
        (
            "crash-at-io",
            "boundary = \"mid-sync\"\nfor = \"1s\"\nnode = 7",
            "schedule[0].node",
            "node 7 does not exist",
        ),
        (
            "change-while-down",
            "for = \"1s\"\nkind = \"AppendEntries\"",
            "schedule[0].kind",
            "does not belong",
        ),
        (
            "replay-old",
            "for = \"1s\"",
            "schedule[0].for",
            "does not belong",
        ),
    ];
    for (action, fields, field, message) in cases {
        let e = parse_error(action, fields);
        assert_eq!(e.file, "bad.toml");
        assert!(e.line.is_some_and(|l| l >= 4), "{action}: {e}");
        assert_eq!(e.field.as_deref(), Some(field), "{action}: {e}");
        assert!(e.message.contains(message), "{action}: {e}");
    }
}

#[test]
fn a_kind_the_implementation_never_sends_is_refused_at_the_start() {
    let s = scenario(&schedule(
        "1s",
        "hold-stale",
        "kind = \"RequestVoat\"\nuntil = \"sender-term\"",
    ));
    let e = sim::run(&s, 1, RunOptions::default()).expect_err("refused");
    assert!(
        e.contains("line") && e.contains("RequestVoat") && e.contains("RequestVote,"),
        "{e}"
    );
}

#[test]
fn the_new_actions_survive_a_round_trip_through_a_file() {
    let text = schedule("1s", "crash-after-send", "kind = \"RequestVoteResponse\"\nwhen = \"after-sync\"\nfor = \"1s\"\nnode = 2\npause = true")
        + &schedule("1s", "hold-stale", "until = \"receiver-term\"")
        + &schedule("1s", "replay-old", "")
        + &schedule("1s", "crash-during-snapshot", "stage = \"install\"\nfor = \"1s\"")
        + &schedule("1s", "change-while-down", "for = \"1s\"\nisolate = true")
        + &schedule("1s", "crash-at-io", "boundary = \"mid-sync\"\nfor = \"1s\"\nnode = 1")
        + "[faults]\ncrash_at_io_every = \"3s\"\nhold_stale_every = \"4s\"\n";
    let s = scenario(&text);
    let again = sim::scenario::parse("again.toml", &s.to_toml()).unwrap_or_else(|e| panic!("{e}"));
    let actions = |s: &Scenario| -> Vec<sim::scenario::Action> {
        s.schedule.iter().map(|a| a.action.clone()).collect()
    };
    assert_eq!(actions(&again), actions(&s));
    assert_eq!(again.faults, s.faults);
}
