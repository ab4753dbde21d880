//! Tests of reading scenario files: what [`parse`] accepts, the defaults it applies, and
//! the line, field and message of every kind of mistake.

use super::duration::{NS_PER_MS, NS_PER_S, NS_PER_US};
use super::*;

/// Parse `text` and return the error; panics if it parses.
fn error(text: &str) -> ScenarioError {
    match parse("dir/test.toml", text) {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e,
    }
}

/// Assert the error's line, field and a phrase of its message.
fn check(text: &str, line: usize, field: Option<&str>, phrase: &str) -> ScenarioError {
    let e = error(text);
    assert_eq!(e.file, "dir/test.toml", "{e}");
    assert_eq!(e.line, Some(line), "{e}");
    assert_eq!(e.field.as_deref(), field, "{e}");
    assert!(e.message.contains(phrase), "{e} lacks {phrase:?}");
    e
}

const HEAD: &str = "seed = 1\nnodes = 5\nduration = \"60s\"\n";

#[test]
fn syntax_error() {
    let e = check("seed = 1\nnodes = = 5\n", 2, None, "invalid TOML");
    assert!(
        e.to_string().starts_with("dir/test.toml:2: invalid TOML"),
        "{e}"
    );
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    check("seed = 1\nseed = 2\n", 2, None, "invalid TOML");
}

#[test]
fn unknown_top_level_field() {
    let e = check(
        &format!("{HEAD}\ncolour = \"red\"\n"),
        5,
        Some("colour"),
        "unknown field `colour`",
    );
    assert_eq!(
        e.to_string(),
        format!("dir/test.toml:5: field `colour`: {}", e.message)
    );
}

#[test]
fn unknown_field_in_network() {
    check(
        &format!("{HEAD}[network]\nloss = 0.1\njitter = \"1ms\"\n"),
        6,
        Some("network.jitter"),
        "unknown field `jitter`, expected one of `latency`, `loss`",
    );
}

#[test]
fn unknown_field_in_schedule_entry() {
    check(
        &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"heal\"\nwhenever = 3\n"),
        7,
        Some("schedule[0].whenever"),
        "unknown field `whenever`",
    );
}

#[test]
fn wrong_type() {
    check(
        "seed = 1\nnodes = \"five\"\nduration = \"60s\"\n",
        2,
        Some("nodes"),
        "invalid type: string \"five\", expected a non-negative integer",
    );
}

#[test]
fn section_of_wrong_type() {
    check(
        &format!("{HEAD}raft = 3\n"),
        4,
        Some("raft"),
        "expected a table",
    );
}

#[test]
fn missing_required_field() {
    check(
        "nodes = 5\nduration = \"60s\"\n",
        1,
        Some("seed"),
        "missing field `seed`",
    );
}

#[test]
fn bad_duration_string() {
    check(
        "seed = 1\nnodes = 5\n\nduration = \"150 parsecs\"\n",
        4,
        Some("duration"),
        "not a valid duration",
    );
}

#[test]
fn bare_integer_duration() {
    check(
        "seed = 1\nnodes = 5\nduration = 60\n",
        3,
        Some("duration"),
        "durations are strings with a unit, such as \"150ms\"",
    );
}

#[test]
fn duration_out_of_bounds() {
    check(
        "seed = 1\nnodes = 5\nduration = \"0s\"\n",
        3,
        Some("duration"),
        "greater than 0",
    );
    check(
        "seed = 1\nnodes = 5\nduration = \"25h\"\n",
        3,
        Some("duration"),
        "at most 24h",
    );
}

#[test]
fn min_greater_than_max() {
    check(
        &format!("{HEAD}[network]\nlatency = [\"10ms\", \"1ms\"]\n"),
        5,
        Some("network.latency"),
        "must not be greater than max",
    );
}

#[test]
fn bad_range_element() {
    check(
        &format!("{HEAD}[disk]\nsync_latency = [\n  \"1ms\",\n  \"2 ms\",\n]\n"),
        7,
        Some("disk.sync_latency"),
        "spaces are not allowed",
    );
}

#[test]
fn loss_out_of_range() {
    check(
        &format!("{HEAD}[network]\nloss = 1.5\n"),
        5,
        Some("network.loss"),
        "less than 1.0",
    );
}

#[test]
fn zero_nodes() {
    check(
        "seed = 1\nnodes = 0\nduration = \"60s\"\n",
        2,
        Some("nodes"),
        "between 1 and 64",
    );
}

#[test]
fn heartbeat_not_below_election_min() {
    check(
        &format!(
            "{HEAD}[raft]\nelection_timeout = [\"100ms\", \"200ms\"]\nheartbeat_interval = \"100ms\"\n"
        ),
        6,
        Some("raft.heartbeat_interval"),
        "must be less than the election timeout minimum",
    );
    // With the default heartbeat, the election timeout is blamed.
    check(
        &format!("{HEAD}[raft]\nelection_timeout = [\"40ms\", \"200ms\"]\n"),
        5,
        Some("raft.election_timeout"),
        "heartbeat_interval (50ms)",
    );
}

fn partition(groups: &str) -> String {
    format!("{HEAD}\n[[schedule]]\nat = \"5s\"\naction = \"partition\"\ngroups = {groups}\n")
}

#[test]
fn partition_naming_missing_node() {
    check(
        &partition("[[1, 2], [3, 9]]"),
        8,
        Some("schedule[0].groups"),
        "node 9 does not exist: the cluster has nodes 1..=5",
    );
}

#[test]
fn node_in_two_groups() {
    check(
        &partition("[\n  [1, 2],\n  [2, 3],\n]"),
        10,
        Some("schedule[0].groups"),
        "node 2 is named more than once",
    );
}

#[test]
fn empty_group() {
    check(
        &partition("[[1, 2], []]"),
        8,
        Some("schedule[0].groups"),
        "group 2 is empty",
    );
}

#[test]
fn partition_that_does_not_split() {
    check(
        &partition("[[1, 2, 3, 4, 5]]"),
        8,
        Some("schedule[0].groups"),
        "does not split the cluster",
    );
    check(
        &partition("[]"),
        8,
        Some("schedule[0].groups"),
        "does not split the cluster",
    );
}

#[test]
fn crash_without_node() {
    check(
        &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"heal\"\n\n[[schedule]]\nat = \"2s\"\naction = \"crash\"\n"),
        8,
        Some("schedule[1].node"),
        "missing required field `node`",
    );
}

#[test]
fn groups_on_crash() {
    check(
        &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"crash\"\nnode = 1\ngroups = [[1]]\n"),
        8,
        Some("schedule[0].groups"),
        "does not belong to action \"crash\"",
    );
}

#[test]
fn node_on_partition() {
    check(
        &format!("{}node = 2\n", partition("[[1]]")),
        9,
        Some("schedule[0].node"),
        "only allowed with \"crash\", \"restart\", \"bridge\"",
    );
}

#[test]
fn fault_actions_and_knobs_say_what_is_wrong() {
    let at = |body: &str| format!("{HEAD}[[schedule]]\nat = \"1s\"\n{body}");
    check(
        &at("action = \"bridge\"\ngroups = [[1], [2], [3]]\nnode = 4\n"),
        7,
        Some("schedule[0].groups"),
        "exactly two groups",
    );
    check(
        &at("action = \"bridge\"\ngroups = [[1], [2, 3]]\nnode = 3\n"),
        7,
        Some("schedule[0].groups"),
        "the sides and the bridge are disjoint",
    );
    check(
        &at("action = \"one-way\"\nfrom = [1, 2]\nto = [2]\n"),
        8,
        Some("schedule[0].to"),
        "in both `from` and `to`",
    );
    check(
        &at("action = \"one-way\"\nfrom = []\nto = [2]\n"),
        7,
        Some("schedule[0].from"),
        "the list is empty",
    );
    check(
        &at("action = \"clog\"\nfrom = [1]\nto = [2]\n"),
        4,
        Some("schedule[0].for"),
        "missing required field `for`",
    );
    check(
        &at("action = \"pause\"\nnode = 9\nfor = \"1s\"\n"),
        7,
        Some("schedule[0].node"),
        "node 9 does not exist",
    );
    check(
        &at("action = \"clock-jump\"\nnode = 1\nby = \"0s\"\n"),
        8,
        Some("schedule[0].by"),
        "greater than 0",
    );
    check(
        &at("action = \"drop-quorum-ack\"\nfor = \"1s\"\n"),
        7,
        Some("schedule[0].for"),
        "does not belong to action \"drop-quorum-ack\"",
    );
    check(
        &format!("{HEAD}[disk]\ntorn_writes = 1.5\n"),
        5,
        Some("disk.torn_writes"),
        "at most 1.0",
    );
    check(
        &format!("{HEAD}[network]\nduplicate = 1.0\n"),
        5,
        Some("network.duplicate"),
        "less than 1.0",
    );
    check(
        &format!("{HEAD}[network]\nlatency_distribution = \"pareto\"\n"),
        5,
        Some("network.latency_distribution"),
        "unknown variant `pareto`",
    );
    check(
        &format!("{HEAD}[clocks]\ndrift_ppm_max = 2000000\n"),
        5,
        Some("clocks.drift_ppm_max"),
        "between 0 and 100000",
    );
    check(
        &format!("{HEAD}[liveness]\nleader_within = \"0s\"\n"),
        5,
        Some("liveness.leader_within"),
        "greater than 0",
    );
    check(
        &format!("{HEAD}[swarm]\nenabled = \"yes\"\n"),
        5,
        Some("swarm.enabled"),
        "invalid type",
    );
}

#[test]
fn unknown_action() {
    check(
        &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"explode\"\n"),
        6,
        Some("schedule[0].action"),
        "unknown variant `explode`, expected one of `partition`, `heal`, `crash`, `restart`, `one-way`",
    );
}

#[test]
fn schedule_at_beyond_duration() {
    check(
        &format!("{HEAD}[[schedule]]\nat = \"61s\"\naction = \"heal\"\n"),
        5,
        Some("schedule[0].at"),
        "after the end of the run",
    );
}

#[test]
fn until_beyond_duration() {
    check(
        &format!("{HEAD}[faults]\ncrash_every = \"5s\"\nuntil = \"2m\"\n"),
        6,
        Some("faults.until"),
        "2m is after the end of the run (duration = 1m)",
    );
}

#[test]
fn max_down_must_be_below_nodes() {
    check(
        &format!("{HEAD}[faults]\nmax_down = 5\n"),
        5,
        Some("faults.max_down"),
        "less than nodes (5)",
    );
}

#[test]
fn unreadable_file() {
    let e = match load(Path::new("/nonexistent/dir/x.toml")) {
        Ok(s) => panic!("loaded {s:?}"),
        Err(e) => e,
    };
    assert_eq!(e.line, None);
    assert_eq!(e.field, None);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/dir/x.toml: cannot read"),
        "{e}"
    );
}

pub(super) const FULL: &str = r#"# a full scenario
name = "churn"
seed = 7
nodes = 5
duration = "60s"

[raft]
election_timeout = ["200ms", "400ms"]
heartbeat_interval = "40ms"
msg_entries_max = 32
inflight_msgs_max = 8
uncommitted_entries_max = 100

[network]
latency = ["2ms", "20ms"]
loss = 0.05

[disk]
sync_latency = ["50us", "2ms"]

[faults]
crash_every = "5s"
down_for = ["1s", "4s"]
max_down = 2
partition_every = "8s"
partition_for = ["1s", "5s"]
until = "50s"

[workload]
rate = 20
count = 1000
start = "1.5s"

[[schedule]]
at = "9s"
action = "crash"
node = 3

[[schedule]]
at = "5s"
action = "partition"
groups = [[1, 2], [3, 4, 5]]

[[schedule]]
at = "9s"
action = "restart"
node = 3

[[schedule]]
at = "20s"
action = "heal"
"#;

#[test]
fn full_file() {
    let s = match parse("scenarios/churn.toml", FULL) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let expected = Scenario {
        implementation: crate::implementation::Implementation::Raftsim,
        implementation_options: Default::default(),
        name: "churn".into(),
        seed: 7,
        nodes: 5,
        duration_ns: 60 * NS_PER_S,
        raft: RaftSettings {
            election_timeout_min_ns: 200 * NS_PER_MS,
            election_timeout_max_ns: 400 * NS_PER_MS,
            heartbeat_interval_ns: 40 * NS_PER_MS,
            msg_entries_max: 32,
            inflight_msgs_max: 8,
            uncommitted_entries_max: 100,
            session_timeout_ns: 30 * NS_PER_S,
            sessions_max: 1024,
            value_bytes_max: 65_536,
            learner_lag_entries_max: 64,
            snapshot_entries: 0,
            snapshot_bytes: 0,
            snapshot_chunk_bytes: 65_536,
            snapshot_catch_up_entries: 64,
            checkpoint_entries: 1000,
        },
        network: NetworkSettings {
            loss: 0.05,
            ..NetworkSettings::uniform(2 * NS_PER_MS, 20 * NS_PER_MS)
        },
        disk: DiskSettings {
            sync_latency_min_ns: 50 * NS_PER_US,
            sync_latency_max_ns: 2 * NS_PER_MS,
            torn_writes: 0.0,
        },
        faults: FaultSettings {
            crash_every_ns: Some(5 * NS_PER_S),
            max_down: 2,
            partition_every_ns: Some(8 * NS_PER_S),
            ..default_faults(50 * NS_PER_S)
        },
        clocks: default_clocks(),
        liveness: LivenessSettings {
            leader_within_ns: None,
            clients_within_ns: None,
        },
        swarm: SwarmSettings { enabled: false },
        membership: MembershipSettings {
            initial: 5,
            churn_every_ns: None,
            voters_min: 3,
            voters_max: 5,
        },
        expect: Vec::new(),
        workload: Workload {
            rate_per_s: 20.0,
            count: 1000,
            start_ns: 1_500 * NS_PER_MS,
            at_ns: Vec::new(),
        },
        clients: default_clients(),
        operations: Vec::new(),
        schedule: vec![
            ScheduledAction {
                at_ns: 5 * NS_PER_S,
                action: Action::Partition {
                    groups: vec![vec![1, 2], vec![3, 4, 5]],
                },
                line: 39,
            },
            ScheduledAction {
                at_ns: 9 * NS_PER_S,
                action: Action::Crash {
                    node: 3,
                    torn: false,
                },
                line: 34,
            },
            ScheduledAction {
                at_ns: 9 * NS_PER_S,
                action: Action::Restart { node: 3 },
                line: 44,
            },
            ScheduledAction {
                at_ns: 20 * NS_PER_S,
                action: Action::Heal,
                line: 49,
            },
        ],
    };
    assert_eq!(s, expected);
}

#[test]
fn inline_tables_and_dotted_keys() {
    let text = format!(
        "{HEAD}network.loss = 0\nraft = {{ heartbeat_interval = \"10ms\" }}\n\
         schedule = [{{ at = \"1s\", action = \"crash\", node = 2 }}]\n"
    );
    let s = match parse("x.toml", &text) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(s.network.loss, 0.0);
    assert_eq!(s.raft.heartbeat_interval_ns, 10 * NS_PER_MS);
    assert_eq!(s.schedule.len(), 1);
    assert_eq!(s.schedule.first().map(|a| a.line), Some(6));
    check(
        &format!("{HEAD}network.lost = 0\n"),
        4,
        Some("network.lost"),
        "unknown field",
    );
}

#[test]
fn defaults_are_applied() {
    let s = match parse(
        "some/dir/quiet.toml",
        "seed = 3\nnodes = 4\nduration = \"10s\"\n",
    ) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let expected = Scenario {
        implementation: crate::implementation::Implementation::Raftsim,
        implementation_options: Default::default(),
        name: "quiet".into(),
        seed: 3,
        nodes: 4,
        duration_ns: 10 * NS_PER_S,
        raft: RaftSettings {
            election_timeout_min_ns: 150 * NS_PER_MS,
            election_timeout_max_ns: 300 * NS_PER_MS,
            heartbeat_interval_ns: 50 * NS_PER_MS,
            msg_entries_max: 64,
            inflight_msgs_max: 16,
            uncommitted_entries_max: 4096,
            session_timeout_ns: 30 * NS_PER_S,
            sessions_max: 1024,
            value_bytes_max: 65_536,
            learner_lag_entries_max: 64,
            snapshot_entries: 0,
            snapshot_bytes: 0,
            snapshot_chunk_bytes: 65_536,
            snapshot_catch_up_entries: 64,
            checkpoint_entries: 1000,
        },
        network: NetworkSettings::uniform(NS_PER_MS, 10 * NS_PER_MS),
        disk: DiskSettings {
            sync_latency_min_ns: 100 * NS_PER_US,
            sync_latency_max_ns: NS_PER_MS,
            torn_writes: 0.0,
        },
        faults: default_faults(10 * NS_PER_S),
        clocks: default_clocks(),
        liveness: LivenessSettings {
            leader_within_ns: None,
            clients_within_ns: None,
        },
        swarm: SwarmSettings { enabled: false },
        membership: MembershipSettings {
            initial: 4,
            churn_every_ns: None,
            voters_min: 3,
            voters_max: 4,
        },
        expect: Vec::new(),
        workload: Workload {
            rate_per_s: 0.0,
            count: 0,
            start_ns: NS_PER_S,
            at_ns: Vec::new(),
        },
        clients: default_clients(),
        operations: Vec::new(),
        schedule: Vec::new(),
    };
    assert_eq!(s, expected);
    // Empty sections keep the defaults too.
    let with_sections =
        "seed = 3\nnodes = 4\nduration = \"10s\"\n[raft]\n[network]\n[disk]\n[faults]\n[workload]\n";
    assert_eq!(parse("quiet.toml", with_sections), Ok(expected));
}

fn default_faults(until_ns: u64) -> FaultSettings {
    FaultSettings {
        crash_every_ns: None,
        down_for_min_ns: NS_PER_S,
        down_for_max_ns: 4 * NS_PER_S,
        max_down: 1,
        partition_every_ns: None,
        partition_for_min_ns: NS_PER_S,
        partition_for_max_ns: 5 * NS_PER_S,
        until_ns,
        pause_every_ns: None,
        pause_for_min_ns: 100 * NS_PER_MS,
        pause_for_max_ns: 2 * NS_PER_S,
        clog_every_ns: None,
        clog_for_min_ns: 100 * NS_PER_MS,
        clog_for_max_ns: NS_PER_S,
        one_way_every_ns: None,
        bridge_every_ns: None,
        isolate_leader_every_ns: None,
        crash_leader_every_ns: None,
        partition_after_append_every_ns: None,
        drop_quorum_ack_every_ns: None,
        crash_before_sync_every_ns: None,
        crash_after_send_every_ns: None,
        hold_stale_every_ns: None,
        replay_old_every_ns: None,
        crash_during_snapshot_every_ns: None,
        change_while_down_every_ns: None,
        crash_at_io_every_ns: None,
    }
}

fn default_clocks() -> ClockSettings {
    ClockSettings {
        offset_max_ns: 0,
        drift_ppm_max: 0,
        jump_every_ns: None,
        jump_min_ns: 100 * NS_PER_MS,
        jump_max_ns: 2 * NS_PER_S,
    }
}

fn default_clients() -> Clients {
    Clients {
        count: 0,
        operations: 0,
        keys: 5,
        key_distribution: KeyDistribution::Uniform,
        mix: OpMix {
            get: 0.4,
            put: 0.2,
            append: 0.2,
            cas: 0.2,
        },
        think_time_min_ns: 0,
        think_time_max_ns: 20 * NS_PER_MS,
        timeout_ns: 500 * NS_PER_MS,
        attempts_max: 8,
        start_ns: NS_PER_S,
    }
}

#[test]
fn clients_section() {
    let text = "seed = 1\nnodes = 3\nduration = \"10s\"\n[raft]\nsession_timeout = \"5s\"\nsessions_max = 7\n\
                [clients]\ncount = 4\noperations = 100\nkeys = 9\nkey_distribution = \"zipf\"\n\
                zipf_exponent = 1.5\nmix = { get = 1, cas = 3 }\nthink_time = [\"1ms\", \"2ms\"]\n\
                timeout = \"200ms\"\nattempts_max = 3\nstart = \"2s\"\n";
    let s = parse("c.toml", text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.raft.session_timeout_ns, 5 * NS_PER_S);
    assert_eq!(s.raft.sessions_max, 7);
    let expected = Clients {
        count: 4,
        operations: 100,
        keys: 9,
        key_distribution: KeyDistribution::Zipf { exponent: 1.5 },
        mix: OpMix {
            get: 1.0,
            put: 0.0,
            append: 0.0,
            cas: 3.0,
        },
        think_time_min_ns: NS_PER_MS,
        think_time_max_ns: 2 * NS_PER_MS,
        timeout_ns: 200 * NS_PER_MS,
        attempts_max: 3,
        start_ns: 2 * NS_PER_S,
    };
    assert_eq!(s.clients, expected);
    let back = parse("c.toml", &s.to_toml()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.clients, expected);
}

#[test]
fn explicit_workload_mistakes() {
    let base = "seed = 1\nnodes = 3\nduration = \"10s\"\n[clients]\ncount = 2\n";
    let op = |body: &str| format!("{base}[[operation]]\n{body}");
    check(
        &op("client = 3\nat = \"1s\"\nf = \"get\"\nkey = \"k1\"\n"),
        7,
        Some("operation[0].client"),
        "client 3 does not exist",
    );
    check(
        &op("client = 1\nat = \"11s\"\nf = \"get\"\nkey = \"k1\"\n"),
        8,
        Some("operation[0].at"),
        "after the end of the run",
    );
    check(
        &op("client = 1\nat = \"1s\"\nf = \"put\"\nkey = \"k1\"\n"),
        6,
        Some("operation[0].value"),
        "missing required field `value`",
    );
    check(
        &op("client = 1\nat = \"1s\"\nf = \"register\"\nkey = \"k1\"\n"),
        10,
        Some("operation[0].key"),
        "does not belong to f = \"register\"",
    );
    check(
        &op("client = 1\nat = \"1s\"\nf = \"scan\"\nkey = \"k1\"\n"),
        9,
        Some("operation[0].f"),
        "register",
    );
    check(
        &format!(
            "{base}operations = 4\n[[operation]]\nclient = 1\nat = \"1s\"\nf = \"register\"\n"
        ),
        6,
        Some("clients.operations"),
        "must be 0 or left out",
    );
    check(
        "seed = 1\nnodes = 3\nduration = \"10s\"\n[workload]\nrate = 5.0\nat = [\"1s\"]\n",
        6,
        Some("workload.at"),
        "leave out `rate` and `count`",
    );
    check(
        "seed = 1\nnodes = 3\nduration = \"10s\"\n[workload]\nat = [\"1s\", \"12s\"]\n",
        5,
        Some("workload.at"),
        "12s is after the end of the run",
    );
    let ok =
        op("client = 2\nat = \"2s\"\nf = \"cas\"\nkey = \"k1\"\nexpected = \"\"\nnew = \"x\"\n");
    let s = parse("ok.toml", &ok).unwrap();
    assert_eq!(s.clients.operations, 1);
    assert_eq!(s.operations.len(), 1);
    assert_eq!(
        parse("again.toml", &s.to_toml()).unwrap().operations[0].op,
        s.operations[0].op
    );
}

#[test]
fn clients_mistakes() {
    let base = "seed = 1\nnodes = 3\nduration = \"10s\"\n[clients]\n";
    check(
        &format!("{base}mix = {{ get = 0, put = 0 }}\n"),
        5,
        Some("clients.mix"),
        "weight above 0",
    );
    check(
        &format!("{base}mix = {{ get = -1 }}\n"),
        5,
        Some("clients.mix.get"),
        ">= 0",
    );
    check(
        &format!("{base}mix = {{ scan = 1 }}\n"),
        5,
        Some("clients.mix.scan"),
        "unknown field",
    );
    check(
        &format!("{base}key_distribution = \"pareto\"\n"),
        5,
        Some("clients.key_distribution"),
        "uniform",
    );
    check(
        &format!("{base}zipf_exponent = 0.0\n"),
        5,
        Some("clients.zipf_exponent"),
        "above 0",
    );
    check(
        &format!("{base}count = 5000\n"),
        5,
        Some("clients.count"),
        "between 0 and 1000",
    );
    check(
        &format!("{base}timeout = \"0s\"\n"),
        5,
        Some("clients.timeout"),
        "greater than 0",
    );
    check(
        &format!("{base}start = \"11s\"\n"),
        5,
        Some("clients.start"),
        "before the end",
    );
}

#[test]
fn never_panics_on_odd_input() {
    let texts = [
        "",
        "\u{feff}",
        "seed = -1\nnodes = 5\nduration = \"1s\"",
        "seed = 1\nnodes = 5\nduration = \"1s\"\nschedule = 3",
        "seed = 1\nnodes = 5\nduration = \"1s\"\nschedule = [1]",
        "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = 1\naction = \"heal\"",
        "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = \"1s\"\naction = 3",
        "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = \"1s\"\naction = \"crash\"\nnode = -3",
        "seed = 1\nnodes = 5\nduration = \"1s\"\n[[schedule]]\nat = \"1s\"\naction = \"partition\"\ngroups = [1]",
        "seed = 1\nnodes = 5\nduration = \"1s\"\n[network]\nloss = nan",
        "seed = 1\nnodes = 5\nduration = \"1s\"\n[workload]\nrate = inf",
        "seed = 1\nnodes = 5\nduration = \"1s\"\n[raft]\nelection_timeout = [\"1s\"]",
        "seed = 1\nnodes = 5\nduration = \"1s\"\n[faults.x]\ny = 1",
        "[[[",
        "a = \"\\u00e9\"\n\u{e9} = 1",
    ];
    for t in texts {
        let e = error(t);
        assert!(e.line.is_some(), "{e}");
    }
}

#[test]
fn serde_errors_name_the_field() {
    check(
        &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"heal\"\n\n[[schedule]]\naction = \"heal\"\n"),
        8,
        Some("schedule[1].at"),
        "missing field `at`",
    );
    check(
        &format!("{HEAD}schedule = [{{ action = \"heal\" }}]\n"),
        4,
        Some("schedule[0].at"),
        "missing field `at`",
    );
    check(
        &format!("{HEAD}[network]\nlatency = [\"1ms\", \"2ms\", \"3ms\"]\n"),
        5,
        Some("network.latency"),
        "found an array of 3 elements",
    );
    check(
        &format!("{HEAD}[[schedule]]\nat = \"1s\"\naction = \"crash\"\nnode = -3\n"),
        7,
        Some("schedule[0].node"),
        "invalid value: integer `-3`, expected a non-negative integer",
    );
    check(
        &format!("{HEAD}raft.x.y = 1\n"),
        4,
        Some("raft.x"),
        "unknown field `x`",
    );
    check(
        &format!("{HEAD}[workload]\nstart = 1.5\n"),
        5,
        Some("workload.start"),
        "expected a duration string such as \"150ms\"",
    );
}

#[test]
fn network_and_torn_crash_actions_say_what_is_wrong() {
    let at = |body: &str| format!("{HEAD}[[schedule]]\nat = \"1s\"\n{body}");
    check(
        &at("action = \"network\"\n"),
        5,
        Some("schedule[0].at"),
        "needs at least one of latency",
    );
    check(
        &at("action = \"network\"\nloss = 1.5\n"),
        7,
        Some("schedule[0].loss"),
        "less than 1.0",
    );
    check(
        &at("action = \"heal\"\ntorn = true\n"),
        7,
        Some("schedule[0].torn"),
        "only allowed with \"crash\"",
    );
    let ok = parse("x.toml", &at("action = \"network\"\nduplicate = 0.1\n")).unwrap();
    assert!(
        matches!(ok.schedule[0].action, Action::Network { duplicate: Some(d), loss: None, .. } if d == 0.1)
    );
}
