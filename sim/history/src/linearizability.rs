//! Linearizability checking (Wing-Gong-Lowe with memoization).
//!
//! [`check`] splits a history by key (keys are independent) and searches each key for a
//! linearization: a total order of its operations that respects real time (an operation that
//! returned before another was invoked comes first) and is a legal sequential run of the
//! [`Model`]. Operations that failed (`Fail`) are dropped: they did not happen. Operations
//! whose outcome is unknown (`Info`, or never completed) may have taken effect at any point
//! after their invocation, or never.
//!
//! The search is Wing & Gong's with Lowe's and Porcupine's memoization of configurations,
//! restricted to linearizations of a normal form (legal reads at once, identical operations
//! in return order, unknown-outcome operations only right before an observer) and cut at
//! dead ends (a read or cas that can no longer get its value); see `lin/search.rs`. Before
//! searching, values are interned, and operations that cannot matter are dropped: failed
//! ones, reads and `cas(v, v)` with unknown outcome, and (on keys without appends)
//! unknown-outcome writes of a value nobody reads or expects. [`check_brute_force`] is the
//! definition, run literally, for tests.
//!
//! [`KeyReport::steps`] counts list entries visited; the budget
//! ([`CheckOptions::steps_max`]) bounds time and memory (each step stores at most one
//! configuration, typically a few dozen bytes).
//!
//! # Models
//!
//! - [`Model::Register`] and [`Model::CasRegister`]: one register per key, read, write and
//!   cas (both accept all three; the names only tell what a history is expected to hold).
//!   Values compare as [`Value`]s: `Int(1)` is not `Str("1")`, and a read of `Nil` matches only
//!   a register holding `Nil` (never written, when `initial` is `Nil`). An append, should one
//!   occur, makes the register the string form of its value followed by the argument's.
//! - [`Model::Kv`]: a string per key, initially empty. Every value is taken by its string form:
//!   `Nil` is `""` (so a read of `Nil` is a read of the empty string), an integer its decimal
//!   digits, a string itself, a tuple `[a b]`. Get (`Read`), put (`Write`), append and cas
//!   (comparing string forms).
//!
//! With [`CheckOptions::nil_read_unknown`] (Knossos's convention), an `Ok` read of `Nil`
//! means "value not known" and matches any state, in every model.
//!
//! # Reports
//!
//! A [`KeyReport`] keeps its operations as [`Operation`]s; serialized (JSON), each becomes an
//! [`OperationView`] (Jepsen-like: `process`, `type`, `f`, `value`, positions).

#[path = "lin/brute.rs"]
mod brute;
#[path = "lin/generate.rs"]
pub mod generate;
#[path = "lin/search.rs"]
mod search;

use super::{Call, Completion, EventKind, Function, Operation, Value};
use search::{COp, Domain, Kind, Problem, ANY, GARBAGE};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// What a key holds and what operations do to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Model {
    /// A register per key with read, write (and cas); `initial` is its value before any
    /// write (`Value::Nil`: never written).
    Register {
        /// The value before any write.
        initial: Value,
    },
    /// A register per key with read, write and compare-and-set.
    CasRegister {
        /// The value before any write.
        initial: Value,
    },
    /// A string per key, initially empty: get (`Read`), put (`Write`), `Append`, `Cas`.
    /// Values are taken by their string form; a read of `Nil` reads the empty string.
    Kv,
}

/// How hard to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// Search steps (entries visited) per key before giving up with [`Verdict::Unknown`].
    /// Finding a minimal failing sub-history gets another budget of this size.
    pub steps_max: u64,
    /// Knossos convention: an ok read whose value is `Nil` is "value unknown" (matches
    /// anything).
    pub nil_read_unknown: bool,
    /// For a key that is not linearizable, also find the minimal failing sub-history and the
    /// longest linearization (default true; false gives the verdict alone, sooner).
    pub evidence: bool,
    /// Threads that check keys side by side (default 1). The report does not depend on it.
    pub jobs: usize,
    /// A wall-clock time past which every search gives up with [`Verdict::Unknown`], as at
    /// `steps_max`. `None` (the default, and always in the simulator, whose verdicts must not
    /// depend on the machine) bounds the search by steps alone.
    pub deadline: Option<std::time::Instant>,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            steps_max: 10_000_000,
            nil_read_unknown: false,
            evidence: true,
            jobs: 1,
            deadline: None,
        }
    }
}

/// The outcome of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A linearization exists.
    Linearizable,
    /// None exists.
    NotLinearizable,
    /// The search ran out of steps.
    Unknown,
}

/// The verdict on one key.
#[derive(Clone, Debug, Serialize)]
pub struct KeyReport {
    /// The key; `None` for a single-register history.
    pub key: Option<String>,
    /// Whether this key's operations are linearizable.
    pub verdict: Verdict,
    /// Search steps the check took (not counting the search for `minimal`).
    pub steps: u64,
    /// Operations of this key that were checked (all but the failed ones).
    pub operations: usize,
    /// On `NotLinearizable`: the smallest set of this key's operations, in history order,
    /// that is not linearizable even with every other operation of the key relaxed (its
    /// outcome unknown: it may have taken effect at any time after its invocation, or never),
    /// such that relaxing any one more makes it linearizable (found greedily; if the step
    /// budget runs out first, it is evidence but may not be minimal). Empty otherwise.
    #[serde(serialize_with = "serialize_operations")]
    pub minimal: Vec<Operation>,
    /// On `NotLinearizable`: the longest linearization the search found, in linearized order;
    /// a prefix that the model accepts and that respects real time. Empty otherwise.
    #[serde(serialize_with = "serialize_operations")]
    pub longest_linearization: Vec<Operation>,
}

/// The verdict on a history.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `NotLinearizable` if any key is, else `Unknown` if any key is, else `Linearizable`.
    pub verdict: Verdict,
    /// One report per key, sorted by key.
    pub keys: Vec<KeyReport>,
}

impl Report {
    /// Combines per-key reports (say, checked in parallel with [`check_key`]).
    pub fn from_keys(mut keys: Vec<KeyReport>) -> Report {
        keys.sort_by(|a, b| a.key.cmp(&b.key));
        let any = |v: Verdict| keys.iter().any(|k| k.verdict == v);
        let verdict = if any(Verdict::NotLinearizable) {
            Verdict::NotLinearizable
        } else if any(Verdict::Unknown) {
            Verdict::Unknown
        } else {
            Verdict::Linearizable
        };
        Report { verdict, keys }
    }
}

/// How an [`Operation`] appears in a serialized report, Jepsen-like.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OperationView {
    /// The client.
    pub process: u64,
    /// How it ended: `ok`, `fail` or `info`.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The operation.
    pub f: Function,
    /// The key, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The value read (an ok read), written or appended, or `[expected new]` for a cas;
    /// `Nil` for a read that did not complete ok.
    pub value: Value,
    /// Index of the invoke event.
    pub invoke_pos: u64,
    /// Index of the completion event; `None` for an unknown outcome.
    pub return_pos: Option<u64>,
    /// Time of the invoke event, if the history has times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_ns: Option<u64>,
    /// Time of the completion event, if the history has times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_ns: Option<u64>,
}

impl From<&Operation> for OperationView {
    fn from(op: &Operation) -> OperationView {
        let (f, value) = match &op.call {
            Call::Read => match &op.completion {
                Completion::Ok(v) => (Function::Read, v.clone()),
                _ => (Function::Read, Value::Nil),
            },
            Call::Write(v) => (Function::Write, v.clone()),
            Call::Cas(e, n) => (Function::Cas, Value::List(vec![e.clone(), n.clone()])),
            Call::Append(v) => (Function::Append, v.clone()),
        };
        let kind = match op.completion {
            Completion::Ok(_) => EventKind::Ok,
            Completion::Fail => EventKind::Fail,
            Completion::Info => EventKind::Info,
        };
        OperationView {
            process: op.process,
            kind,
            f,
            key: op.key.clone(),
            value,
            invoke_pos: op.invoke_pos,
            return_pos: op.return_pos,
            invoke_ns: op.invoke_ns,
            return_ns: op.return_ns,
        }
    }
}

fn write_value(f: &mut fmt::Formatter<'_>, v: &Value) -> fmt::Result {
    match v {
        Value::Nil => write!(f, "nil"),
        Value::Int(i) => write!(f, "{i}"),
        Value::Str(s) => write!(f, "{s:?}"),
        Value::List(items) => {
            write!(f, "[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " ")?;
                }
                write_value(f, item)?;
            }
            write!(f, "]")
        }
    }
}

/// One line, for people: `process 2 cas [1 2] ok key "x" events 4..9`.
impl fmt::Display for OperationView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.f {
            Function::Read => "read",
            Function::Write => "write",
            Function::Cas => "cas",
            Function::Append => "append",
        };
        let kind = match self.kind {
            EventKind::Ok => "ok",
            EventKind::Fail => "fail",
            EventKind::Info | EventKind::Invoke => "info",
        };
        write!(f, "process {} {name} ", self.process)?;
        write_value(f, &self.value)?;
        write!(f, " {kind}")?;
        if let Some(key) = &self.key {
            write!(f, " key {key:?}")?;
        }
        match self.return_pos {
            Some(r) => write!(f, " events {}..{}", self.invoke_pos, r),
            None => write!(f, " events {}..", self.invoke_pos),
        }
    }
}

fn serialize_operations<S: Serializer>(ops: &[Operation], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ops.iter().map(OperationView::from))
}

/// Splits a history by key, keeping history order within each key.
pub fn by_key(ops: &[Operation]) -> BTreeMap<Option<String>, Vec<Operation>> {
    let mut keys: BTreeMap<Option<String>, Vec<Operation>> = BTreeMap::new();
    for op in ops {
        keys.entry(op.key.clone()).or_default().push(op.clone());
    }
    keys
}

/// Checks a history: each key on its own, with at most `options.steps_max` steps per key.
pub fn check(ops: &[Operation], model: &Model, options: &CheckOptions) -> Report {
    let keys = split_by_key(ops);
    if !options.evidence {
        return check_verdict_only(&keys, model, options);
    }
    let check_one = |(key, ops): &(Option<&str>, Vec<&Operation>)| {
        check_key_refs(key.map(str::to_owned), ops, model, options)
    };
    let reports = if options.jobs <= 1 || keys.len() <= 1 {
        keys.iter().map(check_one).collect()
    } else {
        check_in_parallel(&keys, options.jobs, check_one)
    };
    Report::from_keys(reports)
}

/// The operations of each key, in history order, keys in order.
fn split_by_key(ops: &[Operation]) -> Vec<(Option<&str>, Vec<&Operation>)> {
    let Some(first) = ops.first().map(|op| op.key.as_deref()) else {
        return Vec::new();
    };
    if ops.iter().all(|op| op.key.as_deref() == first) {
        // One key (a register's history): no map to build.
        return vec![(first, ops.iter().collect())];
    }
    let mut keys: BTreeMap<Option<&str>, Vec<&Operation>> = BTreeMap::new();
    for op in ops {
        keys.entry(op.key.as_deref()).or_default().push(op);
    }
    keys.into_iter().collect()
}

/// The first budget of a verdict-only check, per key and round.
const ROUND_STEPS_FIRST: u64 = 1_000;

/// The verdict alone, as soon as one key decides it: every undecided key gets a budget that
/// grows tenfold per round (up to `steps_max`), smaller keys first, and the check stops at
/// the first key found not linearizable. So one key that is slow to decide does not hold up a
/// verdict that another key settles in a few steps; re-searching costs at most a constant
/// factor. Keys left undecided when the verdict is settled are reported `Unknown`.
fn check_verdict_only(
    keys: &[(Option<&str>, Vec<&Operation>)],
    model: &Model,
    options: &CheckOptions,
) -> Report {
    let mut reports: Vec<Option<KeyReport>> = vec![None; keys.len()];
    if let [(key, ops)] = keys {
        // One key: nothing to interleave, one search with the whole budget.
        return Report::from_keys(vec![check_key_refs(
            key.map(str::to_owned),
            ops,
            model,
            options,
        )]);
    }
    let mut budget = ROUND_STEPS_FIRST.min(options.steps_max);
    let settled = std::sync::atomic::AtomicBool::new(false);
    loop {
        let mut undecided: Vec<usize> = (0..keys.len()).filter(|&i| reports[i].is_none()).collect();
        undecided.sort_by_key(|&i| (keys[i].1.len(), i));
        let round = CheckOptions {
            steps_max: budget,
            ..*options
        };
        let check_one = |&i: &usize| {
            use std::sync::atomic::Ordering;
            if settled.load(Ordering::Relaxed) {
                return None;
            }
            let (key, ops) = &keys[i];
            let report = check_key_refs(key.map(str::to_owned), ops, model, &round);
            if report.verdict == Verdict::NotLinearizable {
                settled.store(true, Ordering::Relaxed);
            }
            Some(report)
        };
        let results: Vec<Option<KeyReport>> = if options.jobs <= 1 || undecided.len() <= 1 {
            undecided.iter().map(check_one).collect()
        } else {
            check_in_parallel(&undecided, options.jobs, check_one)
        };
        let last_round = budget >= options.steps_max;
        for (&i, r) in undecided.iter().zip(results) {
            if let Some(r) = r.filter(|r| r.verdict != Verdict::Unknown || last_round) {
                reports[i] = Some(r);
            }
        }
        let settled = reports
            .iter()
            .flatten()
            .any(|r| r.verdict == Verdict::NotLinearizable);
        if settled || last_round || reports.iter().all(Option::is_some) {
            break;
        }
        budget = budget.saturating_mul(10).min(options.steps_max);
    }
    let reports = keys
        .iter()
        .zip(reports)
        .map(|((key, ops), r)| {
            r.unwrap_or_else(|| KeyReport {
                key: key.map(str::to_owned),
                verdict: Verdict::Unknown,
                steps: 0,
                operations: ops
                    .iter()
                    .filter(|o| o.completion != Completion::Fail)
                    .count(),
                minimal: Vec::new(),
                longest_linearization: Vec::new(),
            })
        })
        .collect();
    Report::from_keys(reports)
}

/// Checks the keys on `jobs` threads, each taking the next unchecked key; the reports come
/// back in key order whatever thread checked which.
fn check_in_parallel<T: Sync, R: Send>(
    keys: &[T],
    jobs: usize,
    check_one: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let mut reports: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.min(keys.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(key) = keys.get(i) else { break };
                        done.push((i, check_one(key)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a checker thread panicked"))
            .collect()
    });
    reports.sort_by_key(|(i, _)| *i);
    reports.into_iter().map(|(_, r)| r).collect()
}

/// Checks the operations of one key (all of `ops` are taken as one key's, whatever their
/// `key` field), reporting them under `key`.
pub fn check_key(
    key: Option<String>,
    ops: &[Operation],
    model: &Model,
    options: &CheckOptions,
) -> KeyReport {
    let refs: Vec<&Operation> = ops.iter().collect();
    check_key_refs(key, &refs, model, options)
}

fn check_key_refs(
    key: Option<String>,
    ops: &[&Operation],
    model: &Model,
    options: &CheckOptions,
) -> KeyReport {
    let live: Vec<&Operation> = ops
        .iter()
        .copied()
        .filter(|o| o.completion != Completion::Fail)
        .collect();
    let budget = search::Budget {
        steps: options.steps_max,
        deadline: options.deadline,
    };
    let (outcome, ids) = run(&live, model, options.nil_read_unknown, budget);
    let mut report = KeyReport {
        key,
        verdict: outcome.verdict,
        steps: outcome.steps,
        operations: live.len(),
        minimal: Vec::new(),
        longest_linearization: Vec::new(),
    };
    if outcome.verdict == Verdict::NotLinearizable && options.evidence {
        report.longest_linearization = outcome
            .longest
            .iter()
            .map(|&id| live[ids[id as usize]].clone())
            .collect();
        let linearized: std::collections::BTreeSet<usize> =
            outcome.longest.iter().map(|&id| ids[id as usize]).collect();
        report.minimal = minimize(&live, model, options, stuck_at(&live, &linearized))
            .into_iter()
            .map(|i| live[i].clone())
            .collect();
    }
    report
}

/// Exhaustive: tries every order consistent with real time, key by key, on plain values and
/// with none of [`check`]'s shortcuts (it only remembers the (operations done, state) pairs
/// it already failed from). For tests: exponential beyond a few dozen operations per key.
pub fn check_brute_force(ops: &[Operation], model: &Model, nil_read_unknown: bool) -> bool {
    let mut keys: BTreeMap<Option<&str>, Vec<&Operation>> = BTreeMap::new();
    for op in ops {
        keys.entry(op.key.as_deref()).or_default().push(op);
    }
    keys.values()
        .all(|ops| brute::linearizable(ops, model, nil_read_unknown))
}

/// Compiles and searches one key's operations (none failed). Also returns, for each
/// operation id of the search, its index in `ops`.
fn run(
    ops: &[&Operation],
    model: &Model,
    nil_read_unknown: bool,
    budget: search::Budget,
) -> (search::Outcome, Vec<usize>) {
    let (problem, mut domain, ids) = compile(ops, model, nil_read_unknown);
    (search::search(&problem, &mut domain, budget), ids)
}

struct Pre {
    index: usize,
    ok: bool,
    op: COp,
    invoke: u64,
    ret: Option<u64>,
}

/// Interns the values and drops what cannot matter: reads and identity cas whose outcome is
/// unknown (they change nothing), and, on keys without appends, unknown-outcome writes and cas
/// of a value no operation can observe (a value never read nor expected by a cas: no
/// linearization needs them). Values no operation can observe all become one state.
fn compile(
    ops: &[&Operation],
    model: &Model,
    nil_read_unknown: bool,
) -> (Problem, Domain, Vec<usize>) {
    let mut domain = Domain::new(matches!(model, Model::Kv), ops.len());
    let mut initial = domain.intern(&brute::initial(model));
    let mut pre: Vec<Pre> = Vec::with_capacity(ops.len());
    let mut has_append = false;
    for (index, op) in ops.iter().enumerate() {
        let ok = match op.completion {
            Completion::Fail => continue,
            Completion::Ok(_) => true,
            Completion::Info => false,
        };
        let op_c = match (&op.call, &op.completion) {
            (Call::Read, Completion::Ok(v)) => {
                let a = if nil_read_unknown && *v == Value::Nil {
                    ANY
                } else {
                    domain.intern(v)
                };
                COp {
                    kind: Kind::Read,
                    a,
                    b: 0,
                    identity: true,
                }
            }
            (Call::Read, _) => continue,
            (Call::Write(v), _) => COp {
                kind: Kind::Write,
                a: domain.intern(v),
                b: 0,
                identity: false,
            },
            (Call::Cas(e, n), _) => {
                let (a, b) = (domain.intern(e), domain.intern(n));
                if !ok && a == b {
                    continue;
                }
                COp {
                    kind: Kind::Cas,
                    a,
                    b,
                    identity: a == b,
                }
            }
            (Call::Append(v), _) => {
                has_append = true;
                COp {
                    kind: Kind::Append,
                    a: domain.intern(v),
                    b: 0,
                    identity: false,
                }
            }
        };
        let ret = if ok { op.return_pos } else { None };
        pre.push(Pre {
            index,
            ok,
            op: op_c,
            invoke: op.invoke_pos,
            ret,
        });
    }
    if !has_append {
        let mut observed = vec![false; domain.len()];
        for p in &pre {
            match p.op.kind {
                Kind::Read if p.op.a != ANY => observed[p.op.a as usize] = true,
                Kind::Cas => observed[p.op.a as usize] = true,
                _ => {}
            }
        }
        let seen = |x: u32| observed[x as usize];
        pre.retain(|p| {
            p.ok || match p.op.kind {
                Kind::Write => seen(p.op.a),
                Kind::Cas => seen(p.op.b),
                _ => true,
            }
        });
        let canon = |x: u32| if seen(x) { x } else { GARBAGE };
        for p in &mut pre {
            match p.op.kind {
                Kind::Write => p.op.a = canon(p.op.a),
                Kind::Cas => p.op.b = canon(p.op.b),
                _ => {}
            }
        }
        initial = canon(initial);
    }
    if has_append {
        drop_unseen_appends(&mut pre, &domain);
    }
    // The `Ok` operations by call, then the `Info` ones by call. A history comes in call
    // order, so the sort is seldom needed.
    if !pre.is_sorted_by_key(|p| (p.invoke, p.index)) {
        pre.sort_by_key(|p| (p.invoke, p.index));
    }
    let n = pre.len();
    let mut problem = Problem {
        n_ok: 0,
        ops: Vec::with_capacity(n),
        invoke: Vec::with_capacity(n),
        ret: Vec::with_capacity(n),
        initial,
        values: domain.len(),
    };
    let mut ids = Vec::with_capacity(n);
    for p in pre
        .iter()
        .filter(|p| p.ok)
        .chain(pre.iter().filter(|p| !p.ok))
    {
        problem.n_ok += usize::from(p.ok);
        problem.ops.push(p.op);
        problem.invoke.push(p.invoke);
        problem.ret.push(p.ret);
        ids.push(p.index);
    }
    (problem, domain, ids)
}

/// Drops the appends of unknown outcome whose text occurs in no observed value (an ok read, a
/// cas's expected value). Had one taken effect, its text would stay in the value until a put
/// or a cas replaced it, and no observation sees it there; so no observation can tell, and a
/// linearization without it exists whenever one with it does. An empty append changes nothing.
/// Unique append texts (as raftsim's clients use) make most unknown appends droppable, which
/// keeps a history full of them cheap to check.
///
/// Likewise a put or cas of unknown outcome whose new value no observed value starts with: had
/// it taken effect, every observation until the next reset would start with that value, so
/// there is none, and the next reset comes before any observation. Without this, checking a
/// key with many unknown puts (as the evidence search makes, relaxing operations) explodes.
fn drop_unseen_appends(pre: &mut Vec<Pre>, domain: &Domain) {
    if pre.iter().all(|p| p.ok) {
        return;
    }
    let observed: Vec<u32> = pre
        .iter()
        .filter(|p| p.ok || p.op.kind == Kind::Cas)
        .filter_map(|p| match p.op.kind {
            Kind::Read if p.op.a != ANY => Some(p.op.a),
            Kind::Cas => Some(p.op.a),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .collect();
    let texts: Vec<_> = observed.iter().map(|&id| domain.text(id)).collect();
    pre.retain(|p| {
        let made = match (p.ok, p.op.kind) {
            (true, _) => return true,
            (false, Kind::Append) => {
                let token = domain.text(p.op.a);
                return !token.is_empty() && texts.iter().any(|t| t.contains(token.as_ref()));
            }
            (false, Kind::Write) => p.op.a,
            (false, Kind::Cas) => p.op.b,
            (false, Kind::Read) => return true,
        };
        let made = domain.text(made);
        texts.iter().any(|t| t.starts_with(made.as_ref()))
    });
}

/// A smallest-by-deletion sub-history of `ops` (known not linearizable) that is still not
/// linearizable, as indexes into `ops`. Removes chunks, halving their size, then single
/// operations until none can go. A removal stays only if the rest is certainly not
/// linearizable; all sub-checks share one budget of `steps_max` steps.
/// The operations at `keep` as they happened, every other one relaxed: its outcome unknown,
/// so that it may have taken effect at any time after its invocation, or never. A set of
/// operations that is not linearizable even so is evidence on its own: the rest of the history
/// cannot rescue it, whatever it did.
pub fn relaxed(ops: &[Operation], keep: &[Operation]) -> Vec<Operation> {
    ops.iter()
        .map(|op| {
            if keep.contains(op) {
                op.clone()
            } else {
                relax(op)
            }
        })
        .collect()
}

fn relax(op: &Operation) -> Operation {
    Operation {
        completion: Completion::Info,
        return_pos: None,
        return_ns: None,
        ..op.clone()
    }
}

/// The smallest set of operations (greedy, then one at a time) that stays not linearizable
/// when every other operation is relaxed (see [`relaxed`]). Deleting operations instead would
/// turn a read of a value into a read of a value never written, and blame that read alone.
///
/// `stuck` is where the search got stuck (see [`stuck_at`]): a violation is usually local in
/// time, so the operations around it, all others relaxed, are tried first, in windows that
/// grow fourfold; the greedy pass then starts from the first window that is still not
/// linearizable instead of from the whole key.
fn minimize(
    ops: &[&Operation],
    model: &Model,
    options: &CheckOptions,
    stuck: Option<usize>,
) -> Vec<usize> {
    let loose: Vec<Operation> = ops.iter().map(|op| relax(op)).collect();
    let mut shrink = Shrink {
        ops,
        loose: &loose,
        model,
        options,
        budget: options.steps_max,
    };
    let mut keep: Vec<bool> = vec![true; ops.len()];
    if let Some(center) = stuck {
        let mut radius = WINDOW_RADIUS_FIRST;
        while radius < ops.len() && shrink.budget > 0 {
            let window = center.saturating_sub(radius)..=center + radius;
            let around: Vec<bool> = (0..ops.len()).map(|i| window.contains(&i)).collect();
            if shrink.still_bad(&around) {
                keep = around;
                break;
            }
            radius = radius.saturating_mul(4);
        }
    }
    // Reads first: relaxing a read only removes a constraint, so those searches stay small;
    // relaxing writes while many reads remain lets the search wander.
    let (reads, others): (Vec<usize>, Vec<usize>) = (0..ops.len())
        .filter(|&i| keep[i])
        .partition(|&i| ops[i].call == Call::Read);
    for group in [reads, others] {
        shrink.group(&mut keep, group);
    }
    (0..ops.len()).filter(|&i| keep[i]).collect()
}

/// Steps one check of a candidate sub-history may take. With many operations relaxed a
/// check can explode (each relaxed write may or may not have happened); it then counts as
/// "not shown bad", and the shrinking goes on with what is left of the budget.
const SHRINK_CHECK_STEPS_MAX: u64 = 100_000;

/// Operations on each side of the stuck one in the first window [`minimize`] tries.
const WINDOW_RADIUS_FIRST: usize = 8;

/// Where the search got stuck: the `Ok` operation that returns first among those the longest
/// linearization found leaves out (it could not be placed before its return). `None` if
/// every `Ok` operation was placed.
fn stuck_at(ops: &[&Operation], linearized: &std::collections::BTreeSet<usize>) -> Option<usize> {
    (0..ops.len())
        .filter(|i| !linearized.contains(i))
        .filter(|&i| matches!(ops[i].completion, Completion::Ok(_)))
        .min_by_key(|&i| (ops[i].return_pos, i))
}

struct Shrink<'a> {
    ops: &'a [&'a Operation],
    loose: &'a [Operation],
    model: &'a Model,
    options: &'a CheckOptions,
    budget: u64,
}

impl Shrink<'_> {
    /// True if the history is still not linearizable with the `keep` operations as they
    /// happened and every other one relaxed.
    fn still_bad(&mut self, keep: &[bool]) -> bool {
        let sub: Vec<&Operation> = (0..self.ops.len())
            .map(|i| if keep[i] { self.ops[i] } else { &self.loose[i] })
            .collect();
        let budget = self.budget.min(SHRINK_CHECK_STEPS_MAX);
        let budget = search::Budget {
            steps: budget,
            deadline: self.options.deadline,
        };
        let (outcome, _) = run(&sub, self.model, self.options.nil_read_unknown, budget);
        self.budget = self.budget.saturating_sub(outcome.steps);
        outcome.verdict == Verdict::NotLinearizable
    }

    /// Relaxes as many of `group` as it can: halves, quarters, ..., then one at a time until
    /// nothing more can go, or the budget is spent.
    fn group(&mut self, keep: &mut [bool], mut group: Vec<usize>) {
        let mut chunk = (group.len() / 2).max(1);
        loop {
            let mut changed = false;
            let mut i = 0;
            while i < group.len() && self.budget > 0 {
                let end = (i + chunk).min(group.len());
                group[i..end].iter().for_each(|&j| keep[j] = false);
                if self.still_bad(keep) {
                    group.drain(i..end);
                    changed = true;
                } else {
                    group[i..end].iter().for_each(|&j| keep[j] = true);
                    i = end;
                }
            }
            if self.budget == 0 || (chunk == 1 && !changed) {
                return;
            }
            chunk = (chunk / 2).max(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn op(
        process: u64,
        call: Call,
        completion: Completion,
        invoke: u64,
        ret: Option<u64>,
    ) -> Operation {
        Operation {
            process,
            key: None,
            call,
            completion,
            invoke_pos: invoke,
            return_pos: ret,
            invoke_ns: None,
            return_ns: None,
        }
    }
    fn int(i: i64) -> Value {
        Value::Int(i)
    }
    fn s(x: &str) -> Value {
        Value::Str(x.to_owned())
    }
    fn write(p: u64, v: i64, inv: u64, ret: u64) -> Operation {
        op(
            p,
            Call::Write(int(v)),
            Completion::Ok(Value::Nil),
            inv,
            Some(ret),
        )
    }
    fn read(p: u64, v: Value, inv: u64, ret: u64) -> Operation {
        op(p, Call::Read, Completion::Ok(v), inv, Some(ret))
    }
    fn cas(
        p: u64,
        e: i64,
        n: i64,
        completion: Completion,
        inv: u64,
        ret: Option<u64>,
    ) -> Operation {
        op(p, Call::Cas(int(e), int(n)), completion, inv, ret)
    }
    fn keyed(mut o: Operation, key: &str) -> Operation {
        o.key = Some(key.to_owned());
        o
    }
    fn reg(initial: Value) -> Model {
        Model::CasRegister { initial }
    }

    /// The verdict of `check` with default options, after checking it against brute force.
    fn verdict(ops: &[Operation], model: &Model, nil_read_unknown: bool) -> Verdict {
        let options = CheckOptions {
            nil_read_unknown,
            ..CheckOptions::default()
        };
        let report = check(ops, model, &options);
        let brute = check_brute_force(ops, model, nil_read_unknown);
        let expected = if brute {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        assert_eq!(
            report.verdict, expected,
            "check disagrees with brute force on {ops:#?}"
        );
        report.verdict
    }

    /// The model accepts `ops` in this order, and the order respects real time.
    fn valid_prefix(ops: &[Operation], model: &Model, nil_read_unknown: bool) -> bool {
        generate::legal_in_order(ops, model, nil_read_unknown)
    }

    #[test]
    fn defaults() {
        assert_eq!(
            CheckOptions::default(),
            CheckOptions {
                steps_max: 10_000_000,
                nil_read_unknown: false,
                evidence: true,
                jobs: 1,
                deadline: None,
            }
        );
        let json = serde_json::to_string(&Verdict::NotLinearizable).unwrap();
        assert_eq!(json, "\"not-linearizable\"");
    }

    /// A read concurrent with a write may see either the old or the new value.
    #[test]
    fn concurrent_write_and_read_is_linearizable() {
        let model = reg(Value::Nil);
        assert_eq!(
            verdict(&[write(0, 1, 0, 3), read(1, int(1), 1, 2)], &model, false),
            Verdict::Linearizable
        );
        assert_eq!(
            verdict(
                &[write(0, 1, 0, 3), read(1, Value::Nil, 1, 2)],
                &model,
                false
            ),
            Verdict::Linearizable
        );
        // Two concurrent writes, then reads see the one linearized last, consistently.
        let ops = [
            write(0, 1, 0, 3),
            write(1, 2, 1, 2),
            read(0, int(1), 4, 5),
            read(1, int(1), 6, 7),
        ];
        assert_eq!(verdict(&ops, &model, false), Verdict::Linearizable);
    }

    /// A stale read after a partition: the write of 1 returned, a read invoked strictly
    /// later returns the old value 0 (say, from an isolated old leader).
    #[test]
    fn stale_read_is_not_linearizable() {
        let ops = [write(0, 1, 0, 1), read(1, int(0), 2, 3)];
        assert_eq!(verdict(&ops, &reg(int(0)), false), Verdict::NotLinearizable);
    }

    /// A lost write: the ok write of 2 is never visible, later reads see 1 forever, and no
    /// operation is concurrent with anything.
    #[test]
    fn lost_write_is_not_linearizable() {
        let ops = [
            write(0, 1, 0, 1),
            write(0, 2, 2, 3),
            read(1, int(1), 4, 5),
            read(2, int(1), 6, 7),
        ];
        assert_eq!(
            verdict(
                &ops,
                &Model::Register {
                    initial: Value::Nil
                },
                false
            ),
            Verdict::NotLinearizable
        );
    }

    /// An append applied twice (say, a retried request executed twice): "x" appended once,
    /// "xx" read.
    #[test]
    fn duplicated_append_is_not_linearizable() {
        let append = op(
            0,
            Call::Append(s("x")),
            Completion::Ok(Value::Nil),
            0,
            Some(1),
        );
        let ops = [append.clone(), read(1, s("xx"), 2, 3)];
        assert_eq!(verdict(&ops, &Model::Kv, false), Verdict::NotLinearizable);
        let ops = [append, read(1, s("x"), 2, 3)];
        assert_eq!(verdict(&ops, &Model::Kv, false), Verdict::Linearizable);
        // Kv takes values by their string form: append 1 then 2 reads "12"; a missing key
        // (or a nil read) is "".
        let ops = [
            read(2, Value::Nil, 0, 1),
            read(2, s(""), 2, 3),
            op(
                0,
                Call::Append(int(1)),
                Completion::Ok(Value::Nil),
                4,
                Some(5),
            ),
            op(
                0,
                Call::Append(s("2")),
                Completion::Ok(Value::Nil),
                6,
                Some(7),
            ),
            read(1, s("12"), 8, 9),
        ];
        assert_eq!(verdict(&ops, &Model::Kv, false), Verdict::Linearizable);
    }

    /// Two concurrent cas(0 -> 1) cannot both succeed; one success and one failure is fine.
    #[test]
    fn concurrent_cas_pair() {
        let model = reg(int(0));
        let both = [
            cas(0, 0, 1, Completion::Ok(Value::Nil), 0, Some(2)),
            cas(1, 0, 1, Completion::Ok(Value::Nil), 1, Some(3)),
        ];
        assert_eq!(verdict(&both, &model, false), Verdict::NotLinearizable);
        let one = [
            cas(0, 0, 1, Completion::Ok(Value::Nil), 0, Some(2)),
            cas(1, 0, 1, Completion::Fail, 1, Some(3)),
        ];
        assert_eq!(verdict(&one, &model, false), Verdict::Linearizable);
    }

    /// An unknown-outcome write may have happened (a later read sees it) or not (a later read
    /// does not); but once seen it cannot be undone.
    #[test]
    fn info_write_may_or_may_not_happen() {
        let model = reg(int(0));
        let info = op(0, Call::Write(int(1)), Completion::Info, 0, None);
        assert_eq!(
            verdict(&[info.clone(), read(1, int(1), 1, 2)], &model, false),
            Verdict::Linearizable
        );
        assert_eq!(
            verdict(&[info.clone(), read(1, int(0), 1, 2)], &model, false),
            Verdict::Linearizable
        );
        let ops = [info.clone(), read(1, int(0), 1, 2), read(1, int(1), 3, 4)];
        assert_eq!(verdict(&ops, &model, false), Verdict::Linearizable);
        let ops = [info, read(1, int(1), 1, 2), read(1, int(0), 3, 4)];
        assert_eq!(verdict(&ops, &model, false), Verdict::NotLinearizable);
    }

    /// Knossos's convention: a nil read is "value unknown".
    #[test]
    fn nil_read_unknown_changes_the_verdict() {
        let ops = [write(0, 1, 0, 1), read(1, Value::Nil, 2, 3)];
        assert_eq!(verdict(&ops, &reg(int(0)), false), Verdict::NotLinearizable);
        assert_eq!(verdict(&ops, &reg(int(0)), true), Verdict::Linearizable);
    }

    /// An operation with unknown outcome invoked after everything else completed: it need
    /// not happen, even if it could never succeed.
    #[test]
    fn info_after_everything() {
        let model = reg(int(0));
        let ops = [
            write(0, 1, 0, 1),
            read(1, int(1), 2, 3),
            op(2, Call::Write(int(2)), Completion::Info, 4, None),
            cas(3, 7, 8, Completion::Info, 5, None),
        ];
        assert_eq!(verdict(&ops, &model, false), Verdict::Linearizable);
        // And an ok operation before it still has to be explained.
        let mut bad = ops.to_vec();
        bad[1] = read(1, int(2), 2, 3);
        assert_eq!(verdict(&bad, &model, false), Verdict::NotLinearizable);
    }

    /// Only key "b" is bad (a stale read among harmless writes): the report names it, its
    /// minimal sub-history is exactly the write and the stale read, and its longest
    /// linearization is a valid prefix.
    #[test]
    fn one_bad_key_among_several() {
        let model = reg(int(0));
        let ops = vec![
            keyed(write(0, 5, 0, 2), "a"),
            keyed(write(1, 1, 1, 3), "b"),
            keyed(read(2, int(5), 4, 6), "a"),
            keyed(read(3, int(0), 5, 7), "b"),
            keyed(write(1, 2, 8, 9), "b"),
            keyed(write(0, 3, 10, 12), "b"),
            keyed(read(2, int(3), 11, 13), "a"),
            op(
                4,
                Call::Write(int(9)),
                Completion::Ok(Value::Nil),
                14,
                Some(15),
            ),
        ];
        let report = check(&ops, &model, &CheckOptions::default());
        assert_eq!(report.verdict, Verdict::NotLinearizable);
        let keys: Vec<_> = report
            .keys
            .iter()
            .map(|k| (k.key.as_deref(), k.verdict))
            .collect();
        assert_eq!(
            keys,
            [
                (None, Verdict::Linearizable),
                (Some("a"), Verdict::NotLinearizable),
                (Some("b"), Verdict::NotLinearizable)
            ]
        );
        // Key "a" reads 3, never written to "a": its minimal sub-history is that read alone.
        assert_eq!(report.keys[1].minimal, [ops[6].clone()]);
        let b = &report.keys[2];
        assert_eq!(b.operations, 4);
        assert_eq!(b.minimal, [ops[1].clone(), ops[3].clone()]);
        assert!(!b.longest_linearization.is_empty());
        assert!(valid_prefix(&b.longest_linearization, &model, false));
        assert!(b
            .longest_linearization
            .iter()
            .all(|o| o.key.as_deref() == Some("b")));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["verdict"], "not-linearizable");
        assert_eq!(json["keys"][2]["minimal"][1]["f"], "read");
        assert_eq!(json["keys"][2]["minimal"][1]["type"], "ok");
        assert_eq!(json["keys"][2]["minimal"][1]["value"], 0);
        let line = OperationView::from(&ops[3]).to_string();
        assert_eq!(line, "process 3 read 0 ok key \"b\" events 5..7");
    }

    /// 50 writes of distinct values and 50 reads of them, all concurrent, then sequential
    /// reads of 0 and of 1: not linearizable (the write of 1 returned before the read of 0 was
    /// invoked), but only the last two reads say so, after an exponential number of orders
    /// of the writes. A tiny budget gives Unknown at once, never a hang.
    #[test]
    fn step_budget_gives_unknown() {
        let n = 50;
        let mut ops: Vec<Operation> = Vec::new();
        for i in 0..n {
            ops.push(write(i, i as i64, 2 * i, 4 * n + 2 * i));
            ops.push(read(n + i, int(i as i64), 2 * i + 1, 4 * n + 2 * i + 1));
        }
        ops.push(read(2 * n, int(0), 6 * n, 6 * n + 1));
        ops.push(read(2 * n, int(1), 6 * n + 2, 6 * n + 3));
        for steps_max in [1000, 200_000] {
            let options = CheckOptions {
                steps_max,
                ..CheckOptions::default()
            };
            let report = check(&ops, &reg(Value::Nil), &options);
            assert_eq!(report.verdict, Verdict::Unknown);
            assert!(report.keys[0].steps <= steps_max);
            assert!(report.keys[0].minimal.is_empty());
        }
        // Without the last read it is linearizable, and found at once.
        ops.pop();
        assert_eq!(
            check(&ops, &reg(Value::Nil), &CheckOptions::default()).verdict,
            Verdict::Linearizable
        );
    }

    /// Failed operations did not happen, whatever they claim.
    #[test]
    fn failed_operations_are_ignored() {
        let ops = [
            op(0, Call::Write(int(1)), Completion::Fail, 0, Some(1)),
            read(1, int(0), 2, 3),
        ];
        assert_eq!(verdict(&ops, &reg(int(0)), false), Verdict::Linearizable);
        assert_eq!(
            check(&ops, &reg(int(0)), &CheckOptions::default()).keys[0].operations,
            1
        );
    }

    // ---- differential testing against brute force ----

    struct Tape<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl Tape<'_> {
        fn draw(&mut self, n: usize) -> usize {
            let b = self.bytes.get(self.at).copied().unwrap_or(0);
            self.at += 1;
            b as usize % n
        }
    }

    /// A random history of at most 8 operations over 1-3 processes (`generate`).
    fn history(model: &Model, tape: &[u8]) -> (Vec<Operation>, bool) {
        history_sized(model, tape, 3, 8)
    }

    fn history_sized(
        model: &Model,
        tape: &[u8],
        procs_max: usize,
        ops_max: usize,
    ) -> (Vec<Operation>, bool) {
        let mut t = Tape { bytes: tape, at: 0 };
        generate::random_history(model, &mut |n| t.draw(n), procs_max, ops_max)
    }

    fn model_of(i: usize) -> Model {
        match i {
            0 => Model::Register {
                initial: Value::Nil,
            },
            1 => Model::CasRegister {
                initial: Value::Int(0),
            },
            _ => Model::Kv,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_brute_force(model in 0usize..3, tape in prop::collection::vec(any::<u8>(), 0..160)) {
            let model = model_of(model);
            let (ops, nil_read_unknown) = history(&model, &tape);
            let options = CheckOptions { nil_read_unknown, ..CheckOptions::default() };
            let report = check(&ops, &model, &options);
            let brute = check_brute_force(&ops, &model, nil_read_unknown);
            let expected = if brute { Verdict::Linearizable } else { Verdict::NotLinearizable };
            prop_assert_eq!(report.verdict, expected, "{:#?}", ops);
            for key in &report.keys {
                if key.verdict != Verdict::NotLinearizable {
                    prop_assert!(key.minimal.is_empty() && key.longest_linearization.is_empty());
                    continue;
                }
                prop_assert!(valid_prefix(&key.longest_linearization, &model, nil_read_unknown));
                check_minimal(&ops, key, &model, nil_read_unknown)?;
            }
        }
    }

    /// The minimal sub-history is evidence: not linearizable with every other operation of its
    /// key relaxed, and linearizable once any one of its own operations is relaxed too.
    fn check_minimal(
        ops: &[Operation],
        key: &KeyReport,
        model: &Model,
        nil_read_unknown: bool,
    ) -> Result<(), TestCaseError> {
        generate::minimal_is_evidence(ops, key, model, nil_read_unknown)
            .map_err(TestCaseError::fail)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// Longer, more concurrent histories (up to 40 operations over up to 6 processes)
        /// exercise the pruning rules; the reference is the same exhaustive definition with
        /// its failed (done, state) pairs remembered.
        #[test]
        fn agrees_with_brute_force_on_longer_histories(
            model in 0usize..3,
            tape in prop::collection::vec(any::<u8>(), 200..900),
        ) {
            let model = model_of(model);
            let (ops, nil_read_unknown) = history_sized(&model, &tape, 6, 40);
            let options = CheckOptions { nil_read_unknown, ..CheckOptions::default() };
            let report = check(&ops, &model, &options);
            let brute = check_brute_force(&ops, &model, nil_read_unknown);
            let expected = if brute { Verdict::Linearizable } else { Verdict::NotLinearizable };
            prop_assert_eq!(report.verdict, expected, "{:#?}", ops);
            for key in report.keys.iter().filter(|k| k.verdict == Verdict::NotLinearizable) {
                prop_assert!(valid_prefix(&key.longest_linearization, &model, nil_read_unknown));
                check_minimal(&ops, key, &model, nil_read_unknown)?;
            }
        }
    }

    /// The generator produces both verdicts, in every model.
    #[test]
    fn generator_covers_both_verdicts() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for m in 0..3 {
            let model = model_of(m);
            let mut short = [0usize; 2];
            let mut long = [0usize; 2];
            for i in 0..500 {
                let tape: Vec<u8> = (0..160).map(|_| rng.gen()).collect();
                let (ops, nil) = history(&model, &tape);
                short[usize::from(check_brute_force(&ops, &model, nil))] += 1;
                if i % 2 == 1 {
                    continue;
                }
                let tape: Vec<u8> = (0..rng.gen_range(200..900)).map(|_| rng.gen()).collect();
                let (ops, nil) = history_sized(&model, &tape, 6, 40);
                long[usize::from(check_brute_force(&ops, &model, nil))] += 1;
            }
            eprintln!("{model:?}: {short:?} {long:?}");
            assert!(short[0] > 60 && short[1] > 60, "{model:?}: {short:?}");
            assert!(long[0] > 50 && long[1] > 50, "{model:?}: {long:?}");
        }
    }
}
