//! Plain tests, where a script would be clumsier: the `Log` helpers, `Node::restore` refusing
//! bad configurations and corrupt durable state, randomized election timeouts (section 5.2),
//! a leader counting its own entry only once durable, and replication flow control.

use raft::{
    Body, Config, Entry, HardState, Index, Log, Message, Node, NodeId, Payload, ProposeError,
    Ready, RestoreError, Role, Term,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const MS: u64 = 1_000_000;

fn entry(index: Index, term: Term) -> Entry {
    Entry {
        term,
        index,
        payload: Payload::Command(vec![index as u8].into()),
    }
}

fn entries(terms: &[Term]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(i, &t)| entry(i as Index + 1, t))
        .collect()
}

fn rng(seed: u64) -> Box<ChaCha8Rng> {
    Box::new(ChaCha8Rng::seed_from_u64(seed))
}

fn restore(config: Config, hs: HardState, log: Vec<Entry>) -> Result<Node, RestoreError> {
    Node::restore(config, hs, None, log, rng(7), 0)
}

fn fresh(id: NodeId, voters: &[NodeId], seed: u64, now_ns: u64) -> Node {
    Node::restore(
        Config::new(id, voters.to_vec()),
        HardState::default(),
        None,
        Vec::new(),
        rng(seed),
        now_ns,
    )
    .expect("valid")
}

// ---- Log ----------------------------------------------------------------------------------

#[test]
fn log_accepts_consecutive_entries_with_non_decreasing_terms() {
    let log = Log::from_entries(entries(&[1, 1, 2, 4, 4])).unwrap();
    assert_eq!((log.last_index(), log.last_term()), (5, 4));
    assert_eq!(log.term(0), Some(0));
    assert_eq!(log.term(3), Some(2));
    assert_eq!(log.term(6), None);
    assert_eq!(log.entry(4), Some(&entry(4, 4)));
    assert_eq!(log.entry(0), None);
    let empty = Log::from_entries(Vec::new()).unwrap();
    assert_eq!((empty.last_index(), empty.last_term()), (0, 0));
    assert_eq!(empty.term(0), Some(0));
    assert_eq!(empty.term(1), None);
}

#[test]
fn log_rejects_gaps_wrong_start_term_zero_and_decreasing_terms() {
    let gap = vec![entry(1, 1), entry(3, 1)];
    assert!(Log::from_entries(gap).is_err());
    let late_start = vec![entry(2, 1)];
    assert!(Log::from_entries(late_start).is_err());
    let repeated = vec![entry(1, 1), entry(1, 1)];
    assert!(Log::from_entries(repeated).is_err());
    assert!(Log::from_entries(entries(&[0])).is_err());
    assert!(Log::from_entries(entries(&[1, 2, 1])).is_err());
}

#[test]
fn log_slice_is_inclusive_and_clamped() {
    let log = Log::from_entries(entries(&[1, 1, 2, 3])).unwrap();
    let indexes = |s: &[Entry]| s.iter().map(|e| e.index).collect::<Vec<_>>();
    assert_eq!(indexes(log.slice(2, 3)), vec![2, 3]);
    assert_eq!(indexes(log.slice(0, 2)), vec![1, 2]);
    assert_eq!(indexes(log.slice(3, 99)), vec![3, 4]);
    assert_eq!(indexes(log.slice(4, 4)), vec![4]);
    assert!(log.slice(3, 2).is_empty());
    assert!(log.slice(5, 9).is_empty());
}

#[test]
fn log_term_runs_for_fast_backtracking() {
    // Terms by index:        1  2  3  4  5  6  7
    let log = Log::from_entries(entries(&[1, 1, 2, 2, 2, 4, 4])).unwrap();
    assert_eq!(log.first_index_of_term_at(5, 0), 3);
    assert_eq!(log.first_index_of_term_at(4, 0), 3);
    assert_eq!(log.first_index_of_term_at(2, 0), 1);
    assert_eq!(log.first_index_of_term_at(7, 0), 6);
    // Not below the floor (the first uncommitted index).
    assert_eq!(log.first_index_of_term_at(5, 4), 4);
    assert_eq!(log.first_index_of_term_at(5, 5), 5);
    // Past the end: the index itself.
    assert_eq!(log.first_index_of_term_at(9, 0), 9);
    assert_eq!(log.last_index_of_term(1), Some(2));
    assert_eq!(log.last_index_of_term(2), Some(5));
    assert_eq!(log.last_index_of_term(4), Some(7));
    assert_eq!(log.last_index_of_term(3), None);
    assert_eq!(log.last_index_of_term(5), None);
    assert_eq!(log.last_index_of_term(0), None);
    assert_eq!(Log::default().last_index_of_term(1), None);
}

// ---- Restore ------------------------------------------------------------------------------

#[test]
fn restore_accepts_consistent_durable_state() {
    let hs = HardState {
        term: 3,
        vote: Some(2),
        commit: 2,
    };
    let mut node = restore(Config::new(1, vec![1, 2, 3]), hs, entries(&[1, 2, 3])).unwrap();
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(
        (node.term(), node.vote(), node.leader()),
        (3, Some(2), None)
    );
    assert_eq!((node.commit_index(), node.log().last_index()), (2, 3));
    // Nothing to persist; the committed entries are handed over again for the state machine.
    let ready = node.take_ready();
    assert_eq!(ready.hard_state, None);
    assert_eq!(ready.log_write, None);
    assert!(!ready.must_sync && ready.messages.is_empty());
    assert_eq!(ready.committed, entries(&[1, 2]));
    assert!(node.take_ready().is_empty());
}

/// A host whose state machine is durable (etcd's consistent index; raft-rs's `Config::applied`)
/// tells the restored node how far it got: the committed entries after that are handed over,
/// and none before. Section 7 allows any durable state machine state that a snapshot could
/// hold, so the index lies between the snapshot's and the commit index.
#[test]
fn s7_a_restored_applied_index_hands_over_only_the_entries_after_it() {
    let hs = HardState {
        term: 3,
        vote: Some(2),
        commit: 4,
    };
    let config = || Config::new(1, vec![1, 2, 3]);
    let mut node = restore(config(), hs, entries(&[1, 2, 3, 3, 3])).unwrap();
    node.restore_applied(2).unwrap();
    let ready = node.take_ready();
    assert_eq!(ready.committed, entries(&[1, 2, 3, 3])[2..].to_vec());
    assert!(node.take_ready().is_empty());
    // All of the committed entries applied: nothing to hand over.
    let mut node = restore(config(), hs, entries(&[1, 2, 3, 3, 3])).unwrap();
    node.restore_applied(4).unwrap();
    assert!(node.take_ready().committed.is_empty());
    // Beyond the commit index: the state machine holds what the log does not know committed.
    let mut node = restore(config(), hs, entries(&[1, 2, 3, 3, 3])).unwrap();
    match node.restore_applied(5) {
        Err(RestoreError::Corrupt(m)) => assert!(m.contains("applied index 5"), "{m}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn restore_rejects_corrupt_durable_state() {
    let config = || Config::new(1, vec![1, 2, 3]);
    let hs = |term, vote, commit| HardState { term, vote, commit };
    let corrupt = |r: Result<Node, RestoreError>| match r {
        Err(RestoreError::Corrupt(m)) => m,
        Err(e) => panic!("expected Corrupt, got {e:?}"),
        Ok(_) => panic!("expected Corrupt, got a node"),
    };
    let gap = vec![entry(1, 1), entry(3, 1)];
    corrupt(restore(config(), hs(1, None, 0), gap));
    let late_start = vec![entry(2, 1), entry(3, 1)];
    corrupt(restore(config(), hs(1, None, 0), late_start));
    corrupt(restore(config(), hs(2, None, 0), entries(&[1, 2, 1])));
    corrupt(restore(config(), hs(2, None, 0), entries(&[0, 1])));
    let m = corrupt(restore(config(), hs(2, None, 0), entries(&[1, 3])));
    assert!(m.contains("above current term"), "{m}");
    let m = corrupt(restore(config(), hs(2, None, 3), entries(&[1, 2])));
    assert!(m.contains("commit index 3"), "{m}");
    let m = corrupt(restore(config(), hs(2, Some(0), 0), entries(&[1, 2])));
    assert!(m.contains("node 0"), "{m}");
    let m = corrupt(restore(config(), hs(0, Some(2), 0), Vec::new()));
    assert!(m.contains("term 0"), "{m}");
    // The boundaries are allowed: log term equal to the term, commit at the last index.
    assert!(restore(config(), hs(2, Some(3), 2), entries(&[1, 2])).is_ok());
}

#[test]
fn restore_rejects_invalid_configurations() {
    let good = Config::new(1, vec![1, 2, 3]);
    let cases: Vec<(&str, Config)> = vec![
        (
            "id 0",
            Config {
                id: 0,
                voters: vec![0, 1],
                ..good.clone()
            },
        ),
        (
            "duplicate voter",
            Config {
                voters: vec![1, 2, 2],
                ..good.clone()
            },
        ),
        (
            "voter 0",
            Config {
                voters: vec![0, 1, 2],
                ..good.clone()
            },
        ),
        (
            "empty timeout range",
            Config {
                election_timeout_max_ns: 150 * MS,
                ..good.clone()
            },
        ),
        (
            "timeout min 0",
            Config {
                election_timeout_min_ns: 0,
                ..good.clone()
            },
        ),
        (
            "heartbeat 0",
            Config {
                heartbeat_interval_ns: 0,
                ..good.clone()
            },
        ),
        (
            "heartbeat = min timeout",
            Config {
                heartbeat_interval_ns: 150 * MS,
                ..good.clone()
            },
        ),
        (
            "entries max 0",
            Config {
                msg_entries_max: 0,
                ..good.clone()
            },
        ),
        (
            "inflight max 0",
            Config {
                inflight_msgs_max: 0,
                ..good.clone()
            },
        ),
        (
            "uncommitted max 0",
            Config {
                uncommitted_entries_max: 0,
                ..good.clone()
            },
        ),
    ];
    for (what, config) in cases {
        match restore(config, HardState::default(), Vec::new()) {
            Err(RestoreError::Config(_)) => {}
            Err(e) => panic!("{what}: expected a config error, got {e:?}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    }
    assert!(restore(good, HardState::default(), Vec::new()).is_ok());
    // Section 6: a server that joins later starts outside the first configuration, or with
    // none, and learns the configuration from the leader's log.
    let joining = restore(
        Config::new(4, vec![1, 2, 3]),
        HardState::default(),
        Vec::new(),
    )
    .unwrap();
    assert!(!joining.membership().is_member(4));
    let blank = restore(Config::new(4, Vec::new()), HardState::default(), Vec::new()).unwrap();
    assert!(blank.membership().voters.is_empty());
}

// ---- Randomized election timeouts (section 5.2) -------------------------------------------

/// "Raft uses randomized election timeouts ... chosen randomly from a fixed interval (e.g.,
/// 150-300ms)." Each timeout must lie in [min, max) of the time it was drawn, and the draws
/// must spread over the interval rather than repeat.
#[test]
fn election_timeouts_are_random_within_the_range() {
    let (min, max) = (150 * MS, 300 * MS);
    let mut timeouts = Vec::new();
    for seed in 0..500 {
        let start = 1_000 * MS + seed;
        let node = fresh(1, &[1, 2, 3], seed, start);
        timeouts.push(node.next_deadline_ns() - start);
    }
    check_spread(&timeouts, min, max);
}

#[test]
fn each_new_election_draws_a_new_timeout() {
    let (min, max) = (150 * MS, 300 * MS);
    let mut node = fresh(1, &[1, 2, 3], 42, 0);
    let mut timeouts = Vec::new();
    for _ in 0..500 {
        // A candidate that hears nothing times out and campaigns again in a new term.
        let now = node.next_deadline_ns();
        let term = node.term();
        node.tick(now - 1);
        assert_eq!(node.term(), term, "campaigned before its deadline");
        node.tick(now);
        assert_eq!((node.role(), node.term()), (Role::Candidate, term + 1));
        let _ = node.take_ready();
        timeouts.push(node.next_deadline_ns() - now);
    }
    check_spread(&timeouts, min, max);
}

#[test]
fn granting_a_vote_resets_the_election_timer() {
    let mut node = fresh(1, &[1, 2, 3], 3, 0);
    let first = node.next_deadline_ns();
    let now = first - 1;
    let vote = Message {
        from: 2,
        to: 1,
        term: 1,
        body: Body::RequestVote {
            last_log_index: 0,
            last_log_term: 0,
        },
    };
    node.step(now, vote).unwrap();
    let timeout = node.next_deadline_ns() - now;
    assert!((150 * MS..300 * MS).contains(&timeout), "{timeout}");
    node.tick(first);
    assert_eq!(
        node.role(),
        Role::Follower,
        "campaigned despite a vote granted just now"
    );
}

/// A leader's message restarts the timeout a follower drew for its term, without a new draw
/// (section 5.2: "If a follower receives no communication over a period of time called the
/// election timeout..."): the span is the same after every heartbeat, and a new term draws
/// anew. How many heartbeats arrived never moves a later draw, which keeps a host's run
/// stable when one message is removed from it.
#[test]
fn heartbeats_restart_the_terms_timeout_and_a_new_term_draws_another() {
    let mut node = fresh(1, &[1, 2, 3], 5, 0);
    let heartbeat = |term| Message {
        from: 2,
        to: 1,
        term,
        body: Body::AppendEntries {
            prev_log_index: 0,
            prev_log_term: 0,
            entries: Vec::new(),
            leader_commit: 0,
        },
    };
    let mut spans = Vec::new();
    for k in 1..=20u64 {
        let now = k * 37 * MS;
        node.step(now, heartbeat(1)).unwrap();
        let _ = node.take_ready();
        spans.push(node.next_deadline_ns() - now);
    }
    assert!(spans.windows(2).all(|w| w[0] == w[1]), "{spans:?}");
    assert!((150 * MS..300 * MS).contains(&spans[0]), "{}", spans[0]);
    let mut later_terms = Vec::new();
    for term in 2..=21u64 {
        let now = 1_000 * MS + term * 37 * MS;
        node.step(now, heartbeat(term)).unwrap();
        let _ = node.take_ready();
        later_terms.push(node.next_deadline_ns() - now);
    }
    assert!(
        later_terms.iter().any(|&span| span != spans[0]),
        "each new term draws a timeout: {later_terms:?}"
    );
    check_spread(&later_terms, 150 * MS, 300 * MS);
}

/// Servers started at the same moment get different timeouts (etcd's
/// TestFollowersElectionTimeoutNonconflict): with five servers and random draws, a tie is
/// rare.
#[test]
fn servers_started_together_time_out_at_different_moments() {
    let mut ties = 0;
    for trial in 0..200u64 {
        let mut deadlines: Vec<u64> = (1..=5)
            .map(|id| fresh(id, &[1, 2, 3, 4, 5], trial * 10 + id, 0).next_deadline_ns())
            .collect();
        deadlines.sort_unstable();
        let distinct = deadlines.windows(2).all(|w| w[0] != w[1]);
        if !distinct {
            ties += 1;
        }
    }
    assert!(
        ties <= 2,
        "{ties} of 200 trials had two servers with the same timeout"
    );
}

fn check_spread(timeouts: &[u64], min: u64, max: u64) {
    for &t in timeouts {
        assert!(
            (min..max).contains(&t),
            "timeout {t} outside [{min}, {max})"
        );
    }
    let lowest = *timeouts.iter().min().unwrap();
    let highest = *timeouts.iter().max().unwrap();
    let tenth = (max - min) / 10;
    assert!(
        lowest < min + tenth,
        "no timeout near the minimum: lowest {lowest}"
    );
    assert!(
        highest >= max - tenth,
        "no timeout near the maximum: highest {highest}"
    );
    let mut distinct = timeouts.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > timeouts.len() * 9 / 10, "timeouts repeat");
}

// ---- Driving a few nodes by hand -----------------------------------------------------------

/// Makes node 1 of `voters` the leader of term 1 with the votes of all others, and returns it
/// with its Ready (campaign and election together; the no-op not yet reported durable).
fn leader(voters: &[NodeId], config: impl Fn(&mut Config)) -> (Node, Ready) {
    let mut c = Config::new(1, voters.to_vec());
    config(&mut c);
    let mut node = Node::restore(c, HardState::default(), None, Vec::new(), rng(1), 0).unwrap();
    node.tick(node.next_deadline_ns());
    for &peer in &voters[1..] {
        let grant = Message {
            from: peer,
            to: 1,
            term: 1,
            body: Body::RequestVoteResponse { granted: true },
        };
        node.step(0, grant).unwrap();
    }
    assert_eq!(node.role(), Role::Leader);
    let ready = node.take_ready();
    (node, ready)
}

fn ack(from: NodeId, match_index: Index) -> Message {
    Message {
        from,
        to: 1,
        term: 1,
        body: Body::AppendEntriesResponse {
            success: true,
            match_index,
            conflict_index: 0,
            conflict_term: None,
        },
    }
}

/// A single server is its own majority, but only once its entry is durable: the leader
/// counts its own copy from `log_synced` on, not from the append.
#[test]
fn a_leader_counts_its_own_entry_only_once_durable() {
    let (mut node, ready) = leader(&[1], |_| {});
    assert!(ready.must_sync);
    assert_eq!(node.commit_index(), 0);
    assert!(node.take_ready().committed.is_empty());
    // A report for a write the log no longer holds (another term at index 1) does nothing.
    node.log_synced(1, 7);
    assert_eq!(node.commit_index(), 0);
    node.log_synced(1, 1);
    assert_eq!(node.commit_index(), 1);
    let index = node.propose(b"x".to_vec()).unwrap();
    assert_eq!(index, 2);
    assert_eq!(node.commit_index(), 1);
    node.log_synced(2, 1);
    assert_eq!(node.commit_index(), 2);
    let committed = node.take_ready().committed;
    assert_eq!(
        committed.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![1, 2]
    );
}

/// Three servers: without its own durable copy the leader needs both followers.
#[test]
fn a_leader_without_a_durable_copy_needs_two_followers_of_three() {
    let (mut node, _) = leader(&[1, 2, 3], |_| {});
    node.step(0, ack(2, 1)).unwrap();
    assert_eq!(
        node.commit_index(),
        0,
        "committed with one durable copy of three"
    );
    node.step(0, ack(3, 1)).unwrap();
    assert_eq!(node.commit_index(), 1);
}

#[test]
fn proposals_to_a_follower_name_the_leader() {
    let mut node = fresh(2, &[1, 2, 3], 5, 0);
    assert_eq!(
        node.propose(b"x".to_vec()),
        Err(ProposeError::NotLeader {
            leader_hint: None,
            term: 0
        })
    );
    let heartbeat = Message {
        from: 1,
        to: 2,
        term: 4,
        body: Body::AppendEntries {
            prev_log_index: 0,
            prev_log_term: 0,
            entries: Vec::new(),
            leader_commit: 0,
        },
    };
    node.step(0, heartbeat).unwrap();
    assert_eq!(
        node.propose(b"x".to_vec()),
        Err(ProposeError::NotLeader {
            leader_hint: Some(1),
            term: 4
        })
    );
    assert_eq!(
        node.log().last_index(),
        0,
        "a refused proposal was appended"
    );
}

/// Flow control through the public API: before a follower's first answer the leader sends it
/// one AppendEntries (probe); once it answered, at most `inflight_msgs_max` AppendEntries with
/// entries are unacknowledged, each with at most `msg_entries_max` entries; every
/// acknowledgement lets one more go.
#[test]
fn replication_respects_the_probe_and_inflight_limits() {
    let (mut node, ready) = leader(&[1, 2], |c| {
        c.msg_entries_max = 3;
        c.inflight_msgs_max = 2;
    });
    let to_2 = |r: &Ready| -> Vec<(Index, Index)> {
        r.messages
            .iter()
            .filter_map(|m| match &m.body {
                Body::AppendEntries { entries, .. } if m.to == 2 && !entries.is_empty() => {
                    Some((entries[0].index, entries[entries.len() - 1].index))
                }
                _ => None,
            })
            .collect()
    };
    assert_eq!(to_2(&ready), vec![(1, 1)], "the no-op");
    // Probing: nothing more until node 2 answers.
    for i in 2..=6u8 {
        assert_eq!(node.propose(vec![i]), Ok(i as Index));
    }
    assert!(to_2(&node.take_ready()).is_empty(), "sent while probing");
    // The answer to the probe: streaming, at most three entries per message.
    node.step(0, ack(2, 1)).unwrap();
    assert_eq!(to_2(&node.take_ready()), vec![(2, 4)]);
    // The second slot: the next message starts after the last one sent.
    node.propose(vec![7]).unwrap();
    assert_eq!(to_2(&node.take_ready()), vec![(5, 7)]);
    // Both slots in use: proposals wait.
    for i in 8..=10u8 {
        node.propose(vec![i]).unwrap();
    }
    assert!(
        to_2(&node.take_ready()).is_empty(),
        "sent beyond inflight_msgs_max"
    );
    // An acknowledgement frees one slot.
    node.step(0, ack(2, 4)).unwrap();
    assert_eq!(to_2(&node.take_ready()), vec![(8, 10)]);
    // A rejection sends the leader back to probing: one message, then nothing until an answer.
    let reject = Message {
        from: 2,
        to: 1,
        term: 1,
        body: Body::AppendEntriesResponse {
            success: false,
            match_index: 7,
            conflict_index: 6,
            conflict_term: None,
        },
    };
    node.step(0, reject).unwrap();
    assert_eq!(to_2(&node.take_ready()), vec![(6, 8)]);
    node.propose(vec![11]).unwrap();
    assert!(to_2(&node.take_ready()).is_empty(), "sent a second probe");
}

/// Section 5.1: a leader that learns of a higher term becomes a follower. Its election timer
/// must start afresh then, or the deposed leader would campaign at once and depose the new
/// leader in turn.
#[test]
fn a_deposed_leader_waits_a_full_election_timeout() {
    let (mut node, _) = leader(&[1, 2, 3], |_| {});
    let now = 10_000 * MS;
    // A rejection that carries a higher term: nothing else in it resets a timer.
    let rejection = Message {
        from: 2,
        to: 1,
        term: 5,
        body: Body::AppendEntriesResponse {
            success: false,
            match_index: 1,
            conflict_index: 1,
            conflict_term: None,
        },
    };
    node.step(now, rejection).unwrap();
    assert_eq!((node.role(), node.term()), (Role::Follower, 5));
    let config = node.config().clone();
    let deadline = node.next_deadline_ns();
    assert!(
        deadline >= now + config.election_timeout_min_ns,
        "deadline {deadline} too early"
    );
    assert!(deadline < now + config.election_timeout_max_ns);
    node.tick(now + config.election_timeout_min_ns - 1);
    assert_eq!(
        node.role(),
        Role::Follower,
        "no campaign before the timeout"
    );
}

// ---- Snapshots (section 7) ----------------------------------------------------------------

fn follower_with_six_entries() -> Node {
    let hs = HardState {
        term: 1,
        vote: None,
        commit: 2,
    };
    let mut node = restore(Config::new(2, vec![1, 2, 3]), hs, entries(&[1; 6])).unwrap();
    node.take_ready();
    node
}

fn chunk(term: Term, last: (Index, Term), size_bytes: u64, offset: u64, data: &[u8]) -> Message {
    Message {
        from: 1,
        to: 2,
        term,
        body: Body::InstallSnapshot {
            last_included_index: last.0,
            last_included_term: last.1,
            membership: Box::new(raft::Membership::simple(&[1, 2, 3])),
            size_bytes,
            offset,
            data: data.to_vec(),
        },
    }
}

/// Figure 13, step 6: a follower that holds the snapshot's last entry keeps what follows it.
#[test]
fn s7_an_installed_snapshot_keeps_the_entries_after_its_matching_last_entry() {
    let mut node = follower_with_six_entries();
    node.step(0, chunk(1, (4, 1), 3, 0, b"abc")).unwrap();
    let log = node.log();
    assert_eq!(
        (log.compacted_index(), log.last_index(), node.commit_index()),
        (4, 6, 4)
    );
    assert_eq!(log.entry(5), Some(&entry(5, 1)), "entry 5 kept");
    let ready = node.take_ready();
    assert!(ready.snapshot_from_leader && ready.must_sync);
    assert_eq!(ready.snapshot.map(|s| s.data), Some(b"abc".to_vec()));
    assert_eq!(
        ready.log_write, None,
        "the entries after it are already written"
    );
    assert!(
        ready.committed.is_empty(),
        "entries 3 and 4 come from the snapshot, not from the log"
    );
    assert!(matches!(
        ready.messages[0].body,
        Body::AppendEntriesResponse {
            success: true,
            match_index: 4,
            ..
        }
    ));
}

/// Figure 13, step 7: a follower whose entry at the snapshot's index is of another term
/// discards its whole log.
#[test]
fn s7_an_installed_snapshot_replaces_a_conflicting_log() {
    let mut node = follower_with_six_entries();
    node.step(0, chunk(2, (4, 2), 3, 0, b"abc")).unwrap();
    let log = node.log();
    assert_eq!(
        (
            log.compacted_index(),
            log.compacted_term(),
            log.last_index()
        ),
        (4, 2, 4)
    );
    let ready = node.take_ready();
    let write = ready
        .log_write
        .expect("the entries after the snapshot are dropped");
    assert_eq!((write.from_index, write.entries.len()), (5, 0));
}

/// A snapshot within the committed log teaches the follower nothing: it answers with its
/// commit index and keeps its log.
#[test]
fn s7_a_snapshot_of_committed_entries_is_acknowledged_without_installing() {
    let mut node = follower_with_six_entries();
    node.step(0, chunk(1, (2, 1), 3, 0, b"abc")).unwrap();
    assert_eq!(node.log().compacted_index(), 0);
    let ready = node.take_ready();
    assert_eq!(ready.snapshot, None);
    assert!(matches!(
        ready.messages[0].body,
        Body::AppendEntriesResponse {
            success: true,
            match_index: 2,
            ..
        }
    ));
}

/// A malformed chunk is rejected and changes nothing: no panic, whatever the network sends.
#[test]
fn s7_malformed_snapshot_chunks_are_rejected() {
    let max = Config::new(2, vec![1, 2, 3]).snapshot_chunk_bytes_max as usize;
    let big = vec![0u8; max + 1];
    let cases = [
        ("last index 0", chunk(1, (0, 1), 3, 0, b"abc")),
        ("last term 0", chunk(1, (4, 0), 3, 0, b"abc")),
        (
            "last term above the message's",
            chunk(1, (4, 2), 3, 0, b"abc"),
        ),
        ("chunk past the size", chunk(1, (4, 1), 3, 1, b"abc")),
        (
            "offset overflows",
            chunk(1, (4, 1), u64::MAX, u64::MAX, b"abc"),
        ),
        (
            "chunk above the limit",
            chunk(1, (4, 1), big.len() as u64, 0, &big),
        ),
        (
            "size above the limit",
            chunk(1, (4, 1), u64::MAX, 0, b"abc"),
        ),
    ];
    for (what, msg) in cases {
        let mut node = follower_with_six_entries();
        assert!(node.step(0, msg).is_err(), "{what}: accepted");
        assert_eq!(
            (node.term(), node.log().last_index(), node.commit_index()),
            (1, 6, 2),
            "{what}: changed the node"
        );
        assert!(node.take_ready().is_empty(), "{what}: produced output");
    }
}

/// The host compacts only what it applied, and never backwards.
#[test]
fn s7_compaction_needs_applied_entries() {
    let mut node = follower_with_six_entries();
    assert!(matches!(
        node.compact(3, Vec::new()),
        Err(raft::CompactError::NotApplied {
            index: 3,
            applied: 2
        })
    ));
    node.compact(2, b"state".to_vec()).unwrap();
    assert!(matches!(
        node.compact(1, Vec::new()),
        Err(raft::CompactError::AlreadyCompacted { .. })
    ));
    let ready = node.take_ready();
    let snapshot = ready.snapshot.expect("persist the snapshot");
    assert!(!ready.snapshot_from_leader && !ready.must_sync);
    assert_eq!((snapshot.index, snapshot.term), (2, 1));
    assert_eq!(node.log().first_index(), 3);
}

// ---- Findings of the `messages` fuzz target -------------------------------------------------

/// Terms and indexes near `u64::MAX` come from no real cluster; a node refuses them rather
/// than overflow on `+ 1` (the fuzzer found three such overflows).
#[test]
fn terms_and_indexes_beyond_any_real_log_are_refused() {
    let huge = u64::MAX - 1;
    let hs = HardState {
        term: huge,
        vote: None,
        commit: 0,
    };
    assert!(restore(Config::new(2, vec![1, 2, 3]), hs, Vec::new()).is_err());
    let mut node = follower_with_six_entries();
    let cases = [
        Message {
            from: 1,
            to: 2,
            term: huge,
            body: Body::RequestVoteResponse { granted: true },
        },
        Message {
            from: 1,
            to: 2,
            term: 1,
            body: Body::AppendEntriesResponse {
                success: false,
                match_index: u64::MAX,
                conflict_index: 1,
                conflict_term: None,
            },
        },
        chunk(1, (u64::MAX, 1), 3, 0, b"abc"),
    ];
    for msg in cases {
        assert!(node.step(0, msg.clone()).is_err(), "accepted {msg:?}");
    }
    assert_eq!((node.term(), node.log().last_index()), (1, 6));
}

/// A configuration entry on disk is checked like one from the network: a voter 0 would make
/// the node send messages to node 0.
#[test]
fn restore_refuses_a_configuration_entry_with_node_zero() {
    let bad = raft::Membership {
        voters: vec![0, 1],
        ..raft::Membership::default()
    };
    let entries = vec![Entry {
        term: 1,
        index: 1,
        payload: Payload::Config(Box::new(bad)),
    }];
    let hs = HardState {
        term: 1,
        vote: None,
        commit: 0,
    };
    assert!(restore(Config::new(1, vec![1]), hs, entries).is_err());
}

/// A server that joined with no voters and compacted before any configuration entry reached
/// it persists a snapshot with the empty configuration, and restarts from it.
#[test]
fn a_snapshot_with_the_empty_configuration_restores() {
    let snapshot = raft::Snapshot {
        index: 3,
        term: 1,
        membership: raft::Membership::default(),
        data: Vec::new(),
    };
    let hs = HardState {
        term: 1,
        vote: None,
        commit: 3,
    };
    let node = Node::restore(
        Config::new(4, Vec::new()),
        hs,
        Some(snapshot),
        Vec::new(),
        rng(1),
        0,
    );
    assert!(node.is_ok(), "{:?}", node.err());
}
