//! The search engine: Wing & Gong's tree search as Lowe and Porcupine run it, over one key.
//!
//! The history is a doubly linked list of call and return entries in position order (arrays
//! of indexes, unlinked and relinked in O(1)). The search walks the list from its head: at a
//! call entry it tries to linearize that operation now (apply it to the model state); if that
//! is legal and the configuration (set of linearized operations, model state) was never seen,
//! it pushes the operation on a stack, unlinks its entries and starts again from the head. At
//! a return entry of an operation not yet linearized it is too late: it pops the last choice,
//! relinks it and tries the next call after it. Every configuration is explored at most once.
//!
//! On top of that:
//! - Operations whose outcome is unknown (`Info`) have no return entry: they may be
//!   linearized at any point after their call, or never. The search succeeds as soon as every
//!   `Ok` operation is linearized.
//! - Identity operations (reads, `cas(v, v)`) that are legal in the current state are
//!   linearized at once, and their alternatives are never tried: if any linearization exists
//!   from a configuration, one exists that starts with such an operation (it observes the
//!   current state and changes nothing, and it is already callable), so when it fails the
//!   whole configuration fails.
//! - The seen-configurations set is keyed by an incremental Zobrist hash of the linearized
//!   set XOR a mix of the state, and stores each configuration compactly for an exact
//!   comparison: the `Ok` operations as the first word that is not all ones plus the words up
//!   to the last non-zero one (the linearized `Ok` operations form a prefix in call order plus
//!   a window about as wide as the concurrency), and the `Info` operations as a full bitset.

use super::Verdict;
use crate::history::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A read whose value is not known: it matches any state.
pub(crate) const ANY: u32 = u32::MAX;
/// The state of a register holding a value that no operation of the history can observe
/// (never read, never the expected value of a cas). All such values behave alike.
pub(crate) const GARBAGE: u32 = u32::MAX - 1;
const NIL: u32 = u32::MAX;

/// What an operation does, on interned values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Legal if the state is `a` (or `a` is [`ANY`]); no change.
    Read,
    /// The state becomes `a`.
    Write,
    /// Legal if the state is `a`; it becomes `b`.
    Cas,
    /// The state becomes the state's string followed by `a`'s.
    Append,
}

/// One operation, compiled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct COp {
    pub kind: Kind,
    pub a: u32,
    pub b: u32,
    /// Never changes the state when it is legal (a read, a `cas(v, v)`).
    pub identity: bool,
}

/// A fast hasher for integer keys (FxHash's multiply-rotate).
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The values of one key, interned, and the model's transitions on them.
pub(crate) struct Domain {
    kv: bool,
    values: Vec<Value>,
    ids: HashMap<Value, u32>,
    appends: FxMap<u64, u32>,
}

/// The string form of a value, for the key-value model and appends: `nil` is the empty
/// string, an integer its decimal digits, a string itself, a tuple `[a b]`.
pub(crate) fn render(value: &Value, out: &mut String) {
    use std::fmt::Write as _;
    match value {
        Value::Nil => {}
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Str(s) => out.push_str(s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                match item {
                    Value::Nil => out.push_str("nil"),
                    other => render(other, out),
                }
            }
            out.push(']');
        }
    }
}

/// `render` into a new string.
pub(crate) fn rendered(value: &Value) -> String {
    let mut s = String::new();
    render(value, &mut s);
    s
}

impl Domain {
    /// An empty domain; `kv` makes every value its string form.
    pub(crate) fn new(kv: bool) -> Domain {
        Domain {
            kv,
            values: Vec::new(),
            ids: HashMap::new(),
            appends: FxMap::default(),
        }
    }

    /// The id of `value` as the model sees it (its string form for the key-value model).
    pub(crate) fn intern(&mut self, value: &Value) -> u32 {
        if self.kv && !matches!(value, Value::Str(_)) {
            return self.intern_owned(Value::Str(rendered(value)));
        }
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        self.intern_owned(value.clone())
    }

    fn intern_owned(&mut self, value: Value) -> u32 {
        if let Some(&id) = self.ids.get(&value) {
            return id;
        }
        let id = self.values.len() as u32;
        assert!(id < GARBAGE, "too many distinct values");
        self.values.push(value.clone());
        self.ids.insert(value, id);
        id
    }

    /// How many values are interned.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    fn append(&mut self, state: u32, arg: u32) -> u32 {
        let key = (u64::from(state) << 32) | u64::from(arg);
        if let Some(&id) = self.appends.get(&key) {
            return id;
        }
        let mut s = rendered(&self.values[state as usize]);
        render(&self.values[arg as usize], &mut s);
        let id = self.intern_owned(Value::Str(s));
        self.appends.insert(key, id);
        id
    }

    /// The state after `op` in `state`, if `op` is legal there.
    #[inline]
    pub(crate) fn step(&mut self, state: u32, op: &COp) -> Option<u32> {
        match op.kind {
            Kind::Read => (op.a == ANY || op.a == state).then_some(state),
            Kind::Write => Some(op.a),
            Kind::Cas => (op.a == state).then_some(op.b),
            Kind::Append => Some(self.append(state, op.a)),
        }
    }
}

/// One key's history, compiled. Operations `0..n_ok` are the `Ok` ones, then the `Info` ones.
pub(crate) struct Problem {
    pub n_ok: usize,
    pub ops: Vec<COp>,
    pub invoke: Vec<u64>,
    /// Return positions of the `Ok` operations (`None`: never, like an `Info`).
    pub ret: Vec<Option<u64>>,
    pub initial: u32,
    /// How many values are interned (ids below this).
    pub values: usize,
}

/// What a search found.
pub(crate) struct Outcome {
    pub verdict: Verdict,
    pub steps: u64,
    /// The deepest stack reached (operation ids in linearization order).
    pub longest: Vec<u32>,
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    mix(*x)
}

#[inline]
fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[inline]
fn state_hash(state: u64) -> u64 {
    mix(state ^ 0x5851_f42d_4c95_7f2d)
}

/// The set of linearized operations.
struct Bits {
    ok: Vec<u64>,
    info: Vec<u64>,
    n_ok: usize,
    last_full: u64,
    /// Every word of `ok` below `lo` is all ones, `ok[lo]` is not.
    lo: usize,
    /// Every word of `ok` from `hi` on is zero.
    hi: usize,
    zobrist: Vec<u64>,
    hash: u64,
}

impl Bits {
    fn new(n_ok: usize, n_info: usize) -> Bits {
        let words = n_ok.div_ceil(64);
        let last_full = if n_ok % 64 == 0 {
            !0
        } else {
            (1u64 << (n_ok % 64)) - 1
        };
        let mut seed = 0x2545_f491_4f6c_dd1d;
        let zobrist = (0..n_ok + n_info).map(|_| splitmix(&mut seed)).collect();
        Bits {
            ok: vec![0; words],
            info: vec![0; n_info.div_ceil(64)],
            n_ok,
            last_full,
            lo: 0,
            hi: 0,
            zobrist,
            hash: 0,
        }
    }

    #[inline]
    fn full(&self, w: usize) -> u64 {
        if w + 1 == self.ok.len() {
            self.last_full
        } else {
            !0
        }
    }

    #[inline]
    fn has(&self, o: usize) -> bool {
        if o < self.n_ok {
            self.ok[o >> 6] & (1 << (o & 63)) != 0
        } else {
            let i = o - self.n_ok;
            self.info[i >> 6] & (1 << (i & 63)) != 0
        }
    }

    #[inline]
    fn set(&mut self, o: usize) {
        self.hash ^= self.zobrist[o];
        if o < self.n_ok {
            let w = o >> 6;
            self.ok[w] |= 1 << (o & 63);
            if w >= self.hi {
                self.hi = w + 1;
            }
            while self.lo < self.ok.len() && self.ok[self.lo] == self.full(self.lo) {
                self.lo += 1;
            }
        } else {
            let i = o - self.n_ok;
            self.info[i >> 6] |= 1 << (i & 63);
        }
    }

    #[inline]
    fn clear(&mut self, o: usize) {
        self.hash ^= self.zobrist[o];
        if o < self.n_ok {
            let w = o >> 6;
            self.ok[w] &= !(1 << (o & 63));
            if w < self.lo {
                self.lo = w;
            }
            while self.hi > 0 && self.ok[self.hi - 1] == 0 {
                self.hi -= 1;
            }
        } else {
            let i = o - self.n_ok;
            self.info[i >> 6] &= !(1 << (i & 63));
        }
    }
}

/// Configurations already explored: open addressing over an arena of compact encodings.
struct Seen {
    /// (hash, arena offset + 1); offset 0 is an empty slot.
    slots: Vec<(u64, usize)>,
    len: usize,
    arena: Vec<u64>,
}

impl Seen {
    fn new() -> Seen {
        Seen {
            slots: vec![(0, 0); 1 << 10],
            len: 0,
            arena: Vec::new(),
        }
    }

    #[inline]
    fn equal(&self, off: usize, head: u64, bits: &Bits) -> bool {
        let window = &bits.ok[bits.lo..bits.hi];
        let a = &self.arena;
        a[off] == head
            && a[off + 1] == window.len() as u64
            && a[off + 2..off + 2 + window.len()] == *window
            && a[off + 2 + window.len()..off + 2 + window.len() + bits.info.len()] == *bits.info
    }

    /// Records (`bits`, `state`, `needs_observer`); false if it was already there.
    fn insert(&mut self, bits: &Bits, state: u32, needs_observer: bool) -> bool {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let flag = u64::from(needs_observer) << 63;
        let hash = bits.hash ^ state_hash(u64::from(state) | flag);
        let head = u64::from(state) | ((bits.lo as u64) << 32) | flag;
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let (h, off) = self.slots[i];
            if off == 0 {
                break;
            }
            if h == hash && self.equal(off - 1, head, bits) {
                return false;
            }
            i = (i + 1) & mask;
        }
        let off = self.arena.len();
        self.arena.push(head);
        self.arena.push((bits.hi - bits.lo) as u64);
        self.arena.extend_from_slice(&bits.ok[bits.lo..bits.hi]);
        self.arena.extend_from_slice(&bits.info);
        self.slots[i] = (hash, off + 1);
        self.len += 1;
        true
    }

    fn grow(&mut self) {
        let mut slots = vec![(0, 0); self.slots.len() * 2];
        let mask = slots.len() - 1;
        for &(h, off) in &self.slots {
            if off != 0 {
                let mut i = h as usize & mask;
                while slots[i].1 != 0 {
                    i = (i + 1) & mask;
                }
                slots[i] = (h, off);
            }
        }
        self.slots = slots;
    }
}

/// For each value, the operations that can make the state that value (a write of it, a cas
/// to it from another value), by invocation, and the first of them not linearized. An `Ok`
/// read of a value other than the current state needs one of them linearized before the
/// read returns; so does an `Ok` cas expecting another value than the current state. If
/// none was invoked in time, the configuration is a dead end. (Not used with appends, which
/// make new values.)
struct Producers {
    lists: Vec<Vec<u32>>,
    /// Per operation: the value it produces (`NIL`: none) and its index in that list.
    produces: Vec<(u32, u32)>,
    first: Vec<u32>,
    enabled: bool,
}

impl Producers {
    fn new(p: &Problem) -> Producers {
        let n = p.ops.len();
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); p.values];
        let mut produces = vec![(NIL, 0); n];
        let enabled = p.ops.iter().all(|op| op.kind != Kind::Append);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&o| (p.invoke[o], o));
        for o in order {
            let op = &p.ops[o];
            let v = match op.kind {
                Kind::Write => op.a,
                Kind::Cas if op.a != op.b => op.b,
                _ => continue,
            };
            if (v as usize) < p.values {
                produces[o] = (v, lists[v as usize].len() as u32);
                lists[v as usize].push(o as u32);
            }
        }
        Producers { first: vec![0; p.values], lists, produces, enabled }
    }

    #[inline]
    fn linearized(&mut self, o: usize, bits: &Bits) {
        let (v, _) = self.produces[o];
        if v != NIL {
            let (list, first) = (&self.lists[v as usize], &mut self.first[v as usize]);
            while (*first as usize) < list.len() && bits.has(list[*first as usize] as usize) {
                *first += 1;
            }
        }
    }

    #[inline]
    fn unlinearized(&mut self, o: usize) {
        let (v, at) = self.produces[o];
        if v != NIL && at < self.first[v as usize] {
            self.first[v as usize] = at;
        }
    }

    /// Whether some operation not linearized, invoked at or before `by`, can make the state `v`.
    #[inline]
    fn can_make(&self, v: u32, by: u64, p: &Problem) -> bool {
        let list = &self.lists[v as usize];
        match list.get(self.first[v as usize] as usize) {
            Some(&o) => p.invoke[o as usize] <= by,
            None => false,
        }
    }
}

struct Frame {
    op: u32,
    prev_state: u32,
    prev_needs_observer: bool,
    /// The position of the first return entry in the configuration below.
    prev_frontier: u64,
    /// Linearized as an identity operation: if it fails, so does the configuration below.
    forced: bool,
}

/// The doubly linked list of entries: call entry of operation `o` is node `o`, its return
/// entry node `n + o`, the head node `2n`.
struct List {
    next: Vec<u32>,
    prev: Vec<u32>,
    n: usize,
}

impl List {
    fn new(p: &Problem) -> List {
        let n = p.ops.len();
        let mut entries: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * n);
        for o in 0..n {
            entries.push((p.invoke[o], 0, o as u32));
            if o < p.n_ok {
                if let Some(r) = p.ret[o] {
                    entries.push((r, 1, (n + o) as u32));
                }
            }
        }
        // At an equal position a call sorts first: the operations then overlap.
        entries.sort_unstable();
        let mut next = vec![NIL; 2 * n + 1];
        let mut prev = vec![NIL; 2 * n + 1];
        let mut last = (2 * n) as u32;
        for &(_, _, node) in &entries {
            next[last as usize] = node;
            prev[node as usize] = last;
            last = node;
        }
        List { next, prev, n }
    }

    #[inline]
    fn head(&self) -> u32 {
        self.next[2 * self.n]
    }

    #[inline]
    fn unlink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p as usize] = n;
        if n != NIL {
            self.prev[n as usize] = p;
        }
    }

    #[inline]
    fn relink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p as usize] = x as u32;
        if n != NIL {
            self.prev[n as usize] = x as u32;
        }
    }

    #[inline]
    fn lift(&mut self, o: usize, has_return: bool) {
        self.unlink(o);
        if has_return {
            self.unlink(self.n + o);
        }
    }

    #[inline]
    fn unlift(&mut self, o: usize, has_return: bool) {
        if has_return {
            self.relink(self.n + o);
        }
        self.relink(o);
    }
}

/// At most this many dominators are kept per operation (any subset is sound).
const DOMINATORS_MAX: usize = 64;

/// For each operation, identical operations (same call, same arguments) that dominate it:
/// they overlap it in real time and return earlier (an unknown outcome returns never; ties
/// by invocation). If a dominator is callable and not linearized, linearizing this one first
/// is pointless: in any linearization that does, the two can trade places (both have the
/// same effect, and the earlier return bounds the earlier place), or, if the dominator never
/// happens, this one's place can be the dominator's. Reads are left out: they are taken
/// eagerly anyway. Returned as (start per op, list).
fn dominators(p: &Problem) -> (Vec<u32>, Vec<u32>) {
    let n = p.ops.len();
    let ret = |o: usize| if o < p.n_ok { p.ret[o].unwrap_or(u64::MAX) } else { u64::MAX };
    let rank = |o: usize| (ret(o), p.invoke[o], o);
    let mut classes: FxMap<(u8, u32, u32), Vec<usize>> = FxMap::default();
    let mut order: Vec<usize> = (0..n).filter(|&o| p.ops[o].kind != Kind::Read).collect();
    order.sort_by_key(|&o| (p.invoke[o], o));
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); n];
    for &d in &order {
        let op = &p.ops[d];
        let active = classes.entry((op.kind as u8, op.a, op.b)).or_default();
        active.retain(|&o| ret(o) > p.invoke[d]);
        for &o in active.iter() {
            let (lo, hi) = if rank(d) < rank(o) { (d, o) } else { (o, d) };
            if lists[hi].len() < DOMINATORS_MAX {
                lists[hi].push(lo as u32);
            }
        }
        active.push(d);
    }
    let mut start = Vec::with_capacity(n + 1);
    let mut flat = Vec::new();
    for list in &lists {
        start.push(flat.len() as u32);
        flat.extend_from_slice(list);
    }
    start.push(flat.len() as u32);
    (start, flat)
}

/// Searches for a linearization of `p`, exploring at most `budget` steps (entries visited).
///
/// Besides the plain search, it restricts itself to linearizations of a normal form that
/// exists whenever any linearization does:
/// - a read (or `cas(v, v)`) that is callable and legal is taken at once, alone;
/// - of identical operations, a dominated one waits for its dominators (see `dominators`);
/// - an operation with unknown outcome is linearized only if it changes the state, and only
///   if an operation observing the new state (a read of it, a cas expecting it, an append)
///   comes right after. Otherwise it can be moved later or dropped: it has no return that
///   bounds it, and nothing between sees it. "Needs an observer" is part of the memoized
///   configuration.
pub(crate) fn search(p: &Problem, domain: &mut Domain, budget: u64) -> Outcome {
    let n = p.ops.len();
    let n_ok = p.n_ok;
    if n_ok == 0 {
        return Outcome { verdict: Verdict::Linearizable, steps: 0, longest: Vec::new() };
    }
    let has_return: Vec<bool> = (0..n).map(|o| o < n_ok && p.ret[o].is_some()).collect();
    let (dom_start, dom) = dominators(p);
    let mut list = List::new(p);
    let mut bits = Bits::new(n_ok, n - n_ok);
    let mut seen = Seen::new();
    let mut producers = Producers::new(p);
    let mut stack: Vec<Frame> = Vec::with_capacity(n);
    let mut state = p.initial;
    let mut needs_observer = false;
    // The position of the first return entry: an operation is callable if its call is before.
    let mut frontier = u64::MAX;
    let mut ok_done = 0usize;
    let mut steps = 0u64;
    // The deepest stack so far; its first `shared` operations are the current stack's.
    let mut longest: Vec<u32> = Vec::new();
    let mut shared = 0usize;

    let mut entry = NIL;
    let mut fresh = true;
    loop {
        if fresh {
            // A configuration reached for the first time: done, or an identity operation
            // to take at once.
            fresh = false;
            loop {
                if stack.len() > longest.len() {
                    longest.truncate(shared);
                    longest.extend(stack[shared..].iter().map(|f| f.op));
                    shared = stack.len();
                }
                if ok_done == n_ok && !needs_observer {
                    return Outcome { verdict: Verdict::Linearizable, steps, longest };
                }
                let mut e = list.head();
                let mut dead = false;
                while e != NIL && (e as usize) < n {
                    let op = &p.ops[e as usize];
                    if op.identity && (op.a == state || (op.a == ANY && !needs_observer)) {
                        break;
                    }
                    if producers.enabled
                        && (e as usize) < n_ok
                        && (op.kind == Kind::Read || op.kind == Kind::Cas)
                        && op.a != ANY
                        && op.a != state
                    {
                        if let Some(r) = p.ret[e as usize] {
                            if !producers.can_make(op.a, r, p) {
                                dead = true;
                                break;
                            }
                        }
                    }
                    e = list.next[e as usize];
                }
                if dead {
                    entry = NIL;
                    break;
                }
                if e == NIL || e as usize >= n {
                    frontier = if e == NIL { u64::MAX } else { p.ret[e as usize - n].unwrap_or(u64::MAX) };
                    entry = list.head();
                    break;
                }
                steps += 1;
                let o = e as usize;
                bits.set(o);
                if !seen.insert(&bits, state, false) {
                    bits.clear(o);
                    entry = NIL;
                    break;
                }
                stack.push(Frame {
                    op: e,
                    prev_state: state,
                    prev_needs_observer: needs_observer,
                    prev_frontier: frontier,
                    forced: true,
                });
                needs_observer = false;
                list.lift(o, has_return[o]);
                ok_done += usize::from(o < n_ok);
            }
        }
        if steps >= budget {
            return Outcome { verdict: Verdict::Unknown, steps, longest };
        }
        steps += 1;
        if entry == NIL || entry as usize >= n {
            // Too late for the operation of this return entry, or nothing left to try.
            loop {
                let Some(f) = stack.pop() else {
                    return Outcome { verdict: Verdict::NotLinearizable, steps, longest };
                };
                shared = shared.min(stack.len());
                let o = f.op as usize;
                bits.clear(o);
                producers.unlinearized(o);
                state = f.prev_state;
                needs_observer = f.prev_needs_observer;
                frontier = f.prev_frontier;
                list.unlift(o, has_return[o]);
                ok_done -= usize::from(o < n_ok);
                if !f.forced {
                    entry = list.next[o];
                    break;
                }
            }
            continue;
        }
        let o = entry as usize;
        entry = list.next[o];
        let op = &p.ops[o];
        if needs_observer && op.kind == Kind::Write {
            continue;
        }
        let doms = &dom[dom_start[o] as usize..dom_start[o + 1] as usize];
        if doms.iter().any(|&d| !bits.has(d as usize) && p.invoke[d as usize] <= frontier) {
            continue;
        }
        let Some(next_state) = domain.step(state, op) else { continue };
        let info = o >= n_ok;
        if info && next_state == state {
            continue;
        }
        bits.set(o);
        if !seen.insert(&bits, next_state, info) {
            bits.clear(o);
            continue;
        }
        stack.push(Frame {
            op: o as u32,
            prev_state: state,
            prev_needs_observer: needs_observer,
            prev_frontier: frontier,
            forced: false,
        });
        state = next_state;
        needs_observer = info;
        producers.linearized(o, &bits);
        list.lift(o, has_return[o]);
        ok_done += usize::from(o < n_ok);
        fresh = true;
    }
}
