//! Each deliberately broken rule (`raft::Mutation`) read by `Node` changes behaviour where it
//! says, and only under it: every test runs the same inputs with and without the mutation and
//! checks that the two differ as the rule predicts. The simulator measures whether its
//! checkers notice; these tests show that there is something to notice.

use raft::{
    Body, Config, Entry, HardState, Index, Membership, Message, Mutation, Node, Payload, Ready,
    Role, Term,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const VOTERS: [u64; 3] = [1, 2, 3];
/// Later than any election deadline a node draws at time 0.
const LATE_NS: u64 = 10_000_000_000;

fn entry(index: Index, term: Term) -> Entry {
    Entry {
        term,
        index,
        payload: Payload::Command(vec![index as u8].into()),
    }
}

fn log(terms: &[Term]) -> Vec<Entry> {
    (1..).zip(terms).map(|(i, &t)| entry(i, t)).collect()
}

/// Node 1 of `VOTERS`, restored from `hard_state` and `entries`, with `mutation`.
fn node(mutation: Option<Mutation>, hard_state: HardState, entries: Vec<Entry>) -> Node {
    let mut config = Config::new(1, VOTERS.to_vec());
    config.mutation = mutation;
    let rng = Box::new(ChaCha8Rng::seed_from_u64(1));
    Node::restore(config, hard_state, None, entries, rng, 0).expect("valid")
}

fn hs(term: Term, vote: Option<u64>, commit: Index) -> HardState {
    HardState { term, vote, commit }
}

fn msg(from: u64, term: Term, body: Body) -> Message {
    Message {
        from,
        to: 1,
        term,
        body,
    }
}

fn append(term: Term, prev: (Index, Term), entries: Vec<Entry>, leader_commit: Index) -> Message {
    let body = Body::AppendEntries {
        prev_log_index: prev.0,
        prev_log_term: prev.1,
        entries,
        leader_commit,
    };
    msg(2, term, body)
}

fn append_ok(from: u64, term: Term, match_index: Index) -> Message {
    let body = Body::AppendEntriesResponse {
        success: true,
        match_index,
        conflict_index: 0,
        conflict_term: None,
    };
    msg(from, term, body)
}

fn snapshot_chunk(term: Term, index: Index, size_bytes: u64, offset: u64, data: &[u8]) -> Message {
    let body = Body::InstallSnapshot {
        last_included_index: index,
        last_included_term: 1,
        membership: Box::new(Membership::simple(&VOTERS)),
        size_bytes,
        offset,
        data: data.to_vec(),
    };
    msg(2, term, body)
}

/// Runs `input` on a node built by `make` with and without `mutation`; returns (real,
/// mutated) as `observe` sees them.
fn both<T>(
    mutation: Mutation,
    make: impl Fn(Option<Mutation>) -> Node,
    input: impl Fn(&mut Node) -> T,
) -> (T, T) {
    let mut real = make(None);
    let mut mutated = make(Some(mutation));
    (input(&mut real), input(&mut mutated))
}

fn step(node: &mut Node, message: Message) -> Ready {
    node.step(LATE_NS, message).expect("well-formed");
    node.take_ready()
}

fn vote_granted(ready: &Ready) -> Option<bool> {
    ready.messages.iter().find_map(|m| match m.body {
        Body::RequestVoteResponse { granted } => Some(granted),
        _ => None,
    })
}

/// Node 1 elected leader of term 2 over a log of one term-1 entry, its no-op (2/2) not yet
/// durable.
fn leader(mutation: Option<Mutation>) -> Node {
    let mut n = node(mutation, hs(1, None, 1), log(&[1]));
    n.tick(LATE_NS);
    let vote = msg(2, 2, Body::RequestVoteResponse { granted: true });
    n.step(LATE_NS, vote).expect("well-formed");
    assert_eq!(n.role(), Role::Leader);
    n.take_ready();
    n
}

// ---- Election (section 5.2) -----------------------------------------------------------------

#[test]
fn vote_twice_per_term_grants_a_second_candidate() {
    // Section 5.2: at most one vote per term; node 1 already voted for 2 in term 2.
    let request = Body::RequestVote {
        last_log_index: 1,
        last_log_term: 1,
    };
    let (real, mutated) = both(
        Mutation::VoteTwicePerTerm,
        |m| node(m, hs(2, Some(2), 0), log(&[1])),
        |n| vote_granted(&step(n, msg(3, 2, request.clone()))),
    );
    assert_eq!((real, mutated), (Some(false), Some(true)));
}

#[test]
fn count_stale_vote_responses_wins_with_an_old_terms_vote() {
    // Section 5.2 and the Students' Guide: a vote granted in term 1 is no vote in term 2.
    let (real, mutated) = both(
        Mutation::CountStaleVoteResponses,
        |m| node(m, hs(1, Some(1), 0), Vec::new()),
        |n| {
            n.tick(LATE_NS); // A candidate of term 2.
            step(n, msg(2, 1, Body::RequestVoteResponse { granted: true }));
            n.role()
        },
    );
    assert_eq!((real, mutated), (Role::Candidate, Role::Leader));
}

// ---- Replication (section 5.3) --------------------------------------------------------------

#[test]
fn truncate_on_stale_append_deletes_matching_entries() {
    // Figure 2, AppendEntries rule 3: only a conflicting entry is deleted; a reordered older
    // AppendEntries whose entries match leaves the longer log alone.
    let (real, mutated) = both(
        Mutation::TruncateOnStaleAppend,
        |m| node(m, hs(1, None, 0), log(&[1, 1, 1])),
        |n| {
            step(n, append(1, (1, 1), log(&[1, 1])[1..].to_vec(), 0));
            n.log().last_index()
        },
    );
    assert_eq!((real, mutated), (3, 2));
}

#[test]
fn skip_prev_term_check_appends_after_a_mismatch() {
    // Section 5.3: the follower's entry at prevLogIndex has term 1, the leader's term 2.
    let (real, mutated) = both(
        Mutation::SkipPrevTermCheck,
        |m| node(m, hs(2, None, 0), log(&[1, 1])),
        |n| {
            step(n, append(2, (2, 2), vec![entry(3, 2)], 0));
            n.log().last_index()
        },
    );
    assert_eq!((real, mutated), (2, 3));
}

#[test]
fn accept_stale_term_append_stores_a_deposed_leaders_entries() {
    // Figure 2, AppendEntries rule 1: reply false if term < currentTerm.
    let (real, mutated) = both(
        Mutation::AcceptStaleTermAppend,
        |m| node(m, hs(3, None, 0), log(&[1])),
        |n| {
            step(n, append(2, (1, 1), vec![entry(2, 2)], 0));
            n.log().last_index()
        },
    );
    assert_eq!((real, mutated), (1, 2));
}

// ---- Commitment (sections 5.3, 5.4) ---------------------------------------------------------

#[test]
fn commit_beyond_last_new_entry_commits_unchecked_entries() {
    // Figure 2, AppendEntries rule 5: commitIndex = min(leaderCommit, index of last new
    // entry); entries 2 and 3 were not checked against the leader's log.
    let (real, mutated) = both(
        Mutation::CommitBeyondLastNewEntry,
        |m| node(m, hs(2, None, 0), log(&[1, 1, 1])),
        |n| {
            step(n, append(2, (1, 1), Vec::new(), 3));
            n.commit_index()
        },
    );
    assert_eq!((real, mutated), (1, 3));
}

#[test]
fn match_index_from_next_index_counts_entries_in_flight() {
    // Figure 2: matchIndex is what the follower acknowledged, not what was sent to it.
    let (real, mutated) = both(Mutation::MatchIndexFromNextIndex, leader, |n| {
        step(n, append_ok(2, 2, 2)); // Streaming to 2 from here.
        n.propose(b"x".to_vec()).unwrap();
        n.propose(b"y".to_vec()).unwrap();
        step(n, append_ok(2, 2, 3));
        n.match_index(2)
    });
    assert_eq!((real, mutated), (Some(3), Some(4)));
}

// ---- Persistence ----------------------------------------------------------------------------

#[test]
fn vote_not_persisted_leaves_the_vote_out_of_the_hard_state() {
    // Figure 2: votedFor is persistent state, written before the vote is answered.
    let request = Body::RequestVote {
        last_log_index: 0,
        last_log_term: 0,
    };
    let (real, mutated) = both(
        Mutation::VoteNotPersisted,
        |m| node(m, hs(2, None, 0), Vec::new()),
        |n| {
            let ready = step(n, msg(2, 2, request.clone()));
            (vote_granted(&ready), ready.hard_state.map(|h| h.vote))
        },
    );
    assert_eq!(real, (Some(true), Some(Some(2))));
    assert_eq!(mutated, (Some(true), Some(None)));
}

#[test]
fn ack_before_sync_acknowledges_an_unsynced_write() {
    // Figure 2: a follower responds once the entries are stored.
    let (real, mutated) = both(
        Mutation::AckBeforeSync,
        |m| node(m, hs(1, None, 0), log(&[1])),
        |n| {
            let ready = step(n, append(1, (1, 1), vec![entry(2, 1)], 0));
            (
                ready.must_sync,
                ready.log_write.is_some(),
                ready.messages.len(),
            )
        },
    );
    assert_eq!(real, (true, true, 1));
    assert_eq!(mutated, (false, true, 1));
}

// ---- Snapshots (section 7) ------------------------------------------------------------------

#[test]
fn install_older_snapshot_rolls_the_commit_index_back() {
    // Section 7: a snapshot within the committed log carries nothing new.
    let (real, mutated) = both(
        Mutation::InstallOlderSnapshot,
        |m| node(m, hs(1, None, 3), log(&[1, 1, 1])),
        |n| {
            step(n, snapshot_chunk(1, 2, 1, 0, b"s"));
            n.commit_index()
        },
    );
    assert_eq!((real, mutated), (3, 2));
}

#[test]
fn snapshot_chunk_offset_ignored_assembles_a_corrupt_snapshot() {
    // Figure 13 step 4: data is written at the chunk's offset; a duplicate first chunk is
    // not more data.
    let (real, mutated) = both(
        Mutation::SnapshotChunkOffsetIgnored,
        |m| node(m, hs(1, None, 0), Vec::new()),
        |n| {
            for (offset, data) in [(0, b"ab"), (0, b"ab"), (2, b"cd")] {
                step(n, snapshot_chunk(1, 5, 4, offset, data));
            }
            n.snapshot().map(|s| s.data.clone())
        },
    );
    assert_eq!(real.as_deref(), Some(&b"abcd"[..]));
    assert_eq!(mutated.as_deref(), Some(&b"abab"[..]));
}

// ---- Membership (section 6, dissertation chapter 4) -----------------------------------------

fn with_learner_4() -> Membership {
    Membership {
        learners: vec![4],
        ..Membership::simple(&VOTERS)
    }
}

fn config_entry(index: Index, term: Term, m: Membership) -> Entry {
    Entry {
        term,
        index,
        payload: Payload::Config(Box::new(m)),
    }
}

#[test]
fn config_on_commit_ignores_an_uncommitted_configuration() {
    // Dissertation 4.1: a server uses the latest configuration in its log, committed or not.
    let (real, mutated) = both(
        Mutation::ConfigOnCommit,
        |m| node(m, hs(1, None, 0), log(&[1])),
        |n| {
            step(
                n,
                append(1, (1, 1), vec![config_entry(2, 1, with_learner_4())], 0),
            );
            n.membership().learners.clone()
        },
    );
    assert_eq!((real, mutated), (vec![4], vec![]));
}

#[test]
fn final_config_before_joint_commits_skips_the_joint_stage() {
    // Section 6: C(new) is appended only once C(old,new) is committed.
    let (real, mutated) = both(Mutation::FinalConfigBeforeJointCommits, leader, |n| {
        n.log_synced(2, 2);
        step(n, append_ok(2, 2, 2)); // The no-op commits.
        n.change_membership(&[], &[3]).expect("accepted");
        (n.membership().is_joint(), n.log().last_index())
    });
    assert_eq!((real, mutated), ((true, 3), (false, 4)));
}

#[test]
fn config_kept_after_truncation_uses_a_deleted_configuration() {
    // Dissertation 4.1: when a configuration entry is removed, the server falls back to the
    // previous configuration in its log.
    let (real, mutated) = both(
        Mutation::ConfigKeptAfterTruncation,
        |m| {
            let entries = vec![entry(1, 1), config_entry(2, 1, with_learner_4())];
            node(m, hs(2, None, 0), entries)
        },
        |n| {
            step(n, append(2, (1, 1), vec![entry(2, 2)], 0));
            n.membership().learners.clone()
        },
    );
    assert_eq!((real, mutated), (vec![], vec![4]));
}
