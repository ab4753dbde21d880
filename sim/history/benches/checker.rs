//! Linearizability checker throughput.
//!
//! Histories are generated deterministically (ChaCha8, fixed seeds) and are linearizable by
//! construction: clients run against a real register (or key-value store), each operation
//! takes effect at a random instant between its invocation and its completion, and about one
//! operation in a hundred is left with an unknown outcome (the client crashes, before or after
//! the effect, and comes back as a new process). Each history is checked several times; the
//! median is reported, criterion-style.
//!
//! `cargo bench -p history --bench checker` (an optional argument filters benchmarks by name).
//! The task's benchmarks are `kv/...` and `cas-register/1000ops-concurrency{10,20,50}`; the
//! rest show how far it goes.

use history::linearizability::{check, CheckOptions, Model, Report, Verdict};
use history::{Call, Completion, Operation, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const REPETITIONS: usize = 7;

struct Pending {
    op: usize,
    /// `Some(result)` once it took effect: the value read, or `None` for a cas that failed.
    applied: Option<Option<Value>>,
}

/// What a generated workload draws.
trait Workload {
    fn call(
        &mut self,
        rng: &mut ChaCha8Rng,
        state: &BTreeMap<Option<String>, Value>,
    ) -> (Option<String>, Call);
    fn initial(&self) -> Value;
}

fn apply(state: &mut Value, call: &Call, kv: bool) -> Option<Value> {
    let norm = |v: &Value| match (kv, v) {
        (true, Value::Int(i)) => Value::Str(i.to_string()),
        (true, Value::Nil) => Value::Str(String::new()),
        _ => v.clone(),
    };
    match call {
        Call::Read => Some(state.clone()),
        Call::Write(v) => {
            *state = norm(v);
            Some(Value::Nil)
        }
        Call::Cas(e, n) => {
            if norm(e) == *state {
                *state = norm(n);
                Some(Value::Nil)
            } else {
                None
            }
        }
        Call::Append(v) => {
            let Value::Str(mut s) = norm(state) else {
                unreachable!()
            };
            let Value::Str(tail) = norm(v) else {
                unreachable!()
            };
            s.push_str(&tail);
            *state = Value::Str(s);
            Some(Value::Nil)
        }
    }
}

/// `clients` clients run `ops` operations; at each event a random client moves one step:
/// invoke, take effect, complete.
fn generate(
    seed: u64,
    ops_total: usize,
    clients: usize,
    kv: bool,
    workload: &mut dyn Workload,
) -> Vec<Operation> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut state: BTreeMap<Option<String>, Value> = BTreeMap::new();
    let mut pending: Vec<Option<Pending>> = (0..clients).map(|_| None).collect();
    let mut process: Vec<u64> = (0..clients as u64).collect();
    let mut next_process = clients as u64;
    let mut ops: Vec<Operation> = Vec::with_capacity(ops_total);
    let mut pos = 0u64;
    loop {
        let c = rng.gen_range(0..clients);
        match pending[c].take() {
            None => {
                if ops.len() == ops_total {
                    if pending.iter().all(Option::is_none) {
                        return ops;
                    }
                    continue;
                }
                let (key, call) = workload.call(&mut rng, &state);
                state
                    .entry(key.clone())
                    .or_insert_with(|| workload.initial());
                ops.push(Operation {
                    process: process[c],
                    key,
                    call,
                    completion: Completion::Info,
                    invoke_pos: pos,
                    return_pos: None,
                    invoke_ns: None,
                    return_ns: None,
                });
                pos += 1;
                pending[c] = Some(Pending {
                    op: ops.len() - 1,
                    applied: None,
                });
            }
            Some(mut p) => {
                if rng.gen_ratio(1, 200) {
                    // Crash: the outcome stays unknown, applied or not.
                    pos += 1;
                    process[c] = next_process;
                    next_process += 1;
                    continue;
                }
                let op = &mut ops[p.op];
                match &p.applied {
                    None => {
                        let current = state.get_mut(&op.key).unwrap();
                        p.applied = Some(apply(current, &op.call, kv));
                        pending[c] = Some(p);
                    }
                    Some(result) => {
                        op.completion = match result {
                            Some(v) => Completion::Ok(v.clone()),
                            None => Completion::Fail,
                        };
                        op.return_pos = Some(pos);
                        pos += 1;
                    }
                }
            }
        }
    }
}

/// get 40%, put 20%, append 30%, cas 10% on 100 keys; cas expects the current value half
/// the time.
struct KvWorkload {
    keys: usize,
    token: u64,
}

impl Workload for KvWorkload {
    fn call(
        &mut self,
        rng: &mut ChaCha8Rng,
        state: &BTreeMap<Option<String>, Value>,
    ) -> (Option<String>, Call) {
        let key = Some(format!("k{}", rng.gen_range(0..self.keys)));
        let call = match rng.gen_range(0..10) {
            0..=3 => Call::Read,
            4..=5 => Call::Write(Value::Int(rng.gen_range(0..10))),
            6..=8 => {
                self.token += 1;
                Call::Append(Value::Str(format!("{} ", self.token % 100)))
            }
            _ => {
                let current = state
                    .get(&key)
                    .cloned()
                    .unwrap_or(Value::Str(String::new()));
                let expected = if rng.gen_bool(0.5) {
                    current
                } else {
                    Value::Int(rng.gen_range(0..10))
                };
                Call::Cas(expected, Value::Int(rng.gen_range(0..10)))
            }
        };
        (key, call)
    }
    fn initial(&self) -> Value {
        Value::Str(String::new())
    }
}

/// read 40%, write 30%, cas 30% on one register holding 0..5.
struct RegisterWorkload;

impl Workload for RegisterWorkload {
    fn call(
        &mut self,
        rng: &mut ChaCha8Rng,
        _: &BTreeMap<Option<String>, Value>,
    ) -> (Option<String>, Call) {
        let v = |rng: &mut ChaCha8Rng| Value::Int(rng.gen_range(0..5));
        let call = match rng.gen_range(0..10) {
            0..=3 => Call::Read,
            4..=6 => Call::Write(v(rng)),
            _ => Call::Cas(v(rng), v(rng)),
        };
        (None, call)
    }
    fn initial(&self) -> Value {
        Value::Int(0)
    }
}

fn bench(name: &str, filter: Option<&str>, histories: &[Vec<Operation>], model: &Model) {
    if filter.is_some_and(|f| !name.contains(f)) {
        return;
    }
    let options = CheckOptions::default();
    let ops: usize = histories.iter().map(Vec::len).sum();
    let mut times: Vec<Duration> = Vec::new();
    let mut last: Option<Vec<Report>> = None;
    for _ in 0..REPETITIONS {
        // Wall time is what this benchmark measures; it never feeds into a check.
        let start = Instant::now();
        let reports: Vec<Report> = histories
            .iter()
            .map(|h| check(h, model, &options))
            .collect();
        times.push(start.elapsed());
        last = Some(reports);
    }
    let reports = last.unwrap();
    for r in &reports {
        assert_eq!(
            r.verdict,
            Verdict::Linearizable,
            "{name}: generated histories are linearizable"
        );
    }
    let steps: u64 = reports.iter().flat_map(|r| &r.keys).map(|k| k.steps).sum();
    times.sort();
    let median = times[times.len() / 2] / histories.len() as u32;
    let (lo, hi) = (
        times[0] / histories.len() as u32,
        times[times.len() - 1] / histories.len() as u32,
    );
    let per_history = ops as f64 / histories.len() as f64;
    println!(
        "{name:<40} time: [{:>10.3} ms {:>10.3} ms {:>10.3} ms]  thrpt: {:>12.0} ops/s  steps/history: {}",
        lo.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        hi.as_secs_f64() * 1e3,
        per_history / median.as_secs_f64(),
        steps / histories.len() as u64,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; anything else is a name filter.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let filter = args.first().map(String::as_str);
    let kv: Vec<Vec<Operation>> = (0..3)
        .map(|seed| {
            generate(
                seed,
                10_000,
                10,
                true,
                &mut KvWorkload {
                    keys: 100,
                    token: 0,
                },
            )
        })
        .collect();
    bench("kv/10000ops-10clients-100keys", filter, &kv, &Model::Kv);
    let register = Model::CasRegister {
        initial: Value::Int(0),
    };
    for clients in [10, 20, 50, 100, 200] {
        let histories: Vec<Vec<Operation>> = (0..3)
            .map(|seed| generate(100 + seed, 1_000, clients, false, &mut RegisterWorkload))
            .collect();
        let name = format!("cas-register/1000ops-concurrency{clients}");
        bench(&name, filter, &histories, &register);
    }
    let long: Vec<Vec<Operation>> = (0..3)
        .map(|seed| generate(200 + seed, 10_000, 50, false, &mut RegisterWorkload))
        .collect();
    bench(
        "cas-register/10000ops-concurrency50",
        filter,
        &long,
        &register,
    );
}
