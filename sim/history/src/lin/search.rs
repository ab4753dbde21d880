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
//! Operations whose outcome is unknown (`Info`) have no return entry: they may be linearized
//! at any point after their call, or never. The search succeeds as soon as every `Ok`
//! operation is linearized.
//!
//! What makes it fast on long, highly concurrent histories (see [`search`] for why each is
//! sound):
//! - values are interned per key, so a state is a `u32` and a step a comparison;
//! - legal reads are taken at once, without trying alternatives;
//! - of identical operations, only the one that returns first is tried;
//! - an operation with unknown outcome is linearized only right before an operation that
//!   observes what it wrote;
//! - configurations from which some `Ok` read or cas can no longer get the value it needs
//!   are cut at once ([`Producers`]);
//! - the seen-configurations set hashes incrementally (Zobrist: a fixed random `u64` per
//!   operation XORed in and out, XOR a mix of the state), and stores each configuration
//!   compactly for an exact comparison on a hash match: the linearized `Ok` operations as
//!   the index of the first 64-operation word that is not full plus the words up to the last
//!   non-zero one (in call order they are a prefix plus a window about as wide as the
//!   concurrency), the `Info` ones as the span of non-zero words of their bitset.

use super::Verdict;
use crate::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A read whose value is not known: it matches any state.
pub(crate) const ANY: u32 = u32::MAX;
/// The state of a register holding a value that no operation of the history can observe
/// (never read, never the expected value of a cas). All such values behave alike.
pub(crate) const GARBAGE: u32 = u32::MAX - 1;
const NIL: u32 = u32::MAX;
/// How many entries past the first return entry are checked for dead ends.
const LOOKAHEAD: u32 = 64;

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

/// A fast, non-cryptographic hasher (FxHash's multiply-rotate, eight bytes at a time), for
/// the interning maps: their keys come from the history being checked, not from an attacker.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        // The multiply only carries bits upwards; tables index by the low bits.
        mix(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.write_u64(u64::from_le_bytes(chunk.try_into().unwrap()));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Up to this many values, [`Domain::lookup_value`] and [`Domain::intern_text`] compare
/// instead of hashing.
const DOMAIN_SCAN_MAX: usize = 8;

/// The values of one key, interned, and the model's transitions on them.
pub(crate) struct Domain {
    kv: bool,
    /// Without the key-value model: the values, by id.
    values: Vec<Value>,
    /// With it every value is its string form, all in one buffer: value `id` is
    /// `texts[spans[id].0..spans[id].1]`. The many long strings of an append history then
    /// cost no allocation each.
    texts: String,
    spans: Vec<(usize, usize)>,
    /// Where a value is rendered or an append's result built before it is looked up.
    scratch: String,
    /// Per hash of a value, the last value interned with that hash; `same_hash[id]` is the
    /// one before it (`NIL`: none). Each value is stored once.
    by_hash: FxMap<u64, u32>,
    same_hash: Vec<u32>,
    appends: FxMap<u64, u32>,
}

fn value_hash(value: &Value) -> u64 {
    let mut hasher = FxHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

fn text_hash(text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(text.as_bytes());
    hasher.finish()
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
    /// An empty domain with room for `capacity` values; `kv` makes every value its string
    /// form.
    pub(crate) fn new(kv: bool, capacity: usize) -> Domain {
        // Under the key-value model the search makes new values (each append's result), about
        // as many again as the history holds.
        let capacity = if kv { 2 * capacity } else { capacity };
        Domain {
            kv,
            values: Vec::with_capacity(if kv { 0 } else { capacity }),
            texts: String::new(),
            spans: Vec::with_capacity(if kv { capacity } else { 0 }),
            scratch: String::new(),
            by_hash: FxMap::with_capacity_and_hasher(capacity, Default::default()),
            same_hash: Vec::with_capacity(capacity),
            appends: FxMap::with_capacity_and_hasher(
                if kv { capacity } else { 0 },
                Default::default(),
            ),
        }
    }

    /// The id of `value` as the model sees it (its string form for the key-value model).
    pub(crate) fn intern(&mut self, value: &Value) -> u32 {
        if !self.kv {
            return match self.lookup_value(value) {
                Some(id) => id,
                None => self.push_value(value.clone()),
            };
        }
        if let Value::Str(s) = value {
            return self.intern_text(s);
        }
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        render(value, &mut s);
        let id = self.intern_text(&s);
        self.scratch = s;
        id
    }

    /// The id of `value` if it is interned (not the key-value model). A register's history
    /// has a handful of values: comparing with each costs less than hashing.
    #[inline]
    fn lookup_value(&self, value: &Value) -> Option<u32> {
        if self.values.len() <= DOMAIN_SCAN_MAX {
            return self
                .values
                .iter()
                .position(|v| v == value)
                .map(|id| id as u32);
        }
        let mut id = *self.by_hash.get(&value_hash(value))?;
        while id != NIL {
            if self.values[id as usize] == *value {
                return Some(id);
            }
            id = self.same_hash[id as usize];
        }
        None
    }

    fn push_value(&mut self, value: Value) -> u32 {
        let id = self.values.len() as u32;
        assert!(id < GARBAGE, "too many distinct values");
        let before = self.by_hash.insert(value_hash(&value), id);
        self.same_hash.push(before.unwrap_or(NIL));
        self.values.push(value);
        id
    }

    #[inline]
    fn span_text(&self, id: u32) -> &str {
        let (from, to) = self.spans[id as usize];
        &self.texts[from..to]
    }

    /// The id of the string `text` (the key-value model), interned if new.
    fn intern_text(&mut self, text: &str) -> u32 {
        let small = self.spans.len() <= DOMAIN_SCAN_MAX;
        if small {
            if let Some(id) = (0..self.spans.len() as u32).find(|&id| self.span_text(id) == text) {
                return id;
            }
        }
        let id = self.spans.len() as u32;
        assert!(id < GARBAGE, "too many distinct values");
        // One hash and one probe, whether the text is found or added.
        let (texts, spans) = (&self.texts, &self.spans);
        let same_text = |id: u32| {
            let (from, to) = spans[id as usize];
            &texts[from..to] == text
        };
        let before = match self.by_hash.entry(text_hash(text)) {
            std::collections::hash_map::Entry::Occupied(mut slot) => {
                let mut at = *slot.get();
                while !small && at != NIL {
                    if same_text(at) {
                        return at;
                    }
                    at = self.same_hash[at as usize];
                }
                slot.insert(id)
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(id);
                NIL
            }
        };
        self.same_hash.push(before);
        let from = self.texts.len();
        self.texts.push_str(text);
        self.spans.push((from, self.texts.len()));
        id
    }

    /// The string form of value `id` (see [`render`]).
    pub(crate) fn text(&self, id: u32) -> std::borrow::Cow<'_, str> {
        if self.kv {
            return std::borrow::Cow::Borrowed(self.span_text(id));
        }
        match &self.values[id as usize] {
            Value::Str(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(rendered(other)),
        }
    }

    /// How many values are interned.
    pub(crate) fn len(&self) -> usize {
        if self.kv {
            self.spans.len()
        } else {
            self.values.len()
        }
    }

    fn append(&mut self, state: u32, arg: u32) -> u32 {
        let key = (u64::from(state) << 32) | u64::from(arg);
        if let Some(&id) = self.appends.get(&key) {
            return id;
        }
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        let id = if self.kv {
            s.push_str(self.span_text(state));
            s.push_str(self.span_text(arg));
            self.intern_text(&s)
        } else {
            render(&self.values[state as usize], &mut s);
            render(&self.values[arg as usize], &mut s);
            let value = Value::Str(s.clone());
            match self.lookup_value(&value) {
                Some(id) => id,
                None => self.push_value(value),
            }
        };
        self.scratch = s;
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
        let last_full = if n_ok.is_multiple_of(64) {
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
    /// Per slot: the hash's high 32 bits, then the entry's arena offset + 1 (0: empty). A
    /// slot's index is the top bits of the hash, so growing needs no other hash bits.
    slots: Vec<u64>,
    /// log2 of the number of slots.
    bits: u32,
    len: usize,
    /// Entries: [state | needs-observer << 63, lo | ok words << 32, info lo | info words << 32,
    /// ok words.., info words..].
    arena: Vec<u64>,
}

impl Seen {
    fn new() -> Seen {
        Seen {
            slots: vec![0; 1 << 8],
            bits: 8,
            len: 0,
            // Room for the slots' worth of small entries, so that a short search does not
            // spend its time growing the arena.
            arena: Vec::with_capacity(1 << 10),
        }
    }

    /// Records (`bits`, `state`, `needs_observer`); false if it was already there.
    fn insert(&mut self, bits: &Bits, state: u32, needs_observer: bool) -> bool {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let flag = u64::from(needs_observer) << 63;
        let hash = bits.hash ^ state_hash(u64::from(state) | flag);
        let ok = &bits.ok[bits.lo..bits.hi];
        let info_lo = bits.info.iter().position(|&w| w != 0).unwrap_or(0);
        let info_hi = bits.info.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1);
        let info = &bits.info[info_lo..info_hi.max(info_lo)];
        let head = [
            u64::from(state) | flag,
            bits.lo as u64 | (ok.len() as u64) << 32,
            info_lo as u64 | (info.len() as u64) << 32,
        ];
        let fingerprint = hash >> 32;
        let mask = self.slots.len() - 1;
        let mut i = (fingerprint >> (32 - self.bits)) as usize;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                break;
            }
            if slot >> 32 == fingerprint {
                let off = (slot & 0xffff_ffff) as usize - 1;
                let a = &self.arena;
                if a[off..off + 3] == head
                    && a[off + 3..off + 3 + ok.len()] == *ok
                    && a[off + 3 + ok.len()..off + 3 + ok.len() + info.len()] == *info
                {
                    return false;
                }
            }
            i = (i + 1) & mask;
        }
        let off = self.arena.len();
        assert!(
            off < u32::MAX as usize,
            "linearizability search: configuration store full"
        );
        self.arena.extend_from_slice(&head);
        self.arena.extend_from_slice(ok);
        self.arena.extend_from_slice(info);
        self.slots[i] = fingerprint << 32 | (off as u64 + 1);
        self.len += 1;
        true
    }

    fn grow(&mut self) {
        self.bits += 1;
        assert!(
            self.bits <= 32,
            "linearizability search: configuration store full"
        );
        let mut slots = vec![0u64; 1 << self.bits];
        let mask = slots.len() - 1;
        for &slot in &self.slots {
            if slot != 0 {
                let mut i = ((slot >> 32) >> (32 - self.bits)) as usize;
                while slots[i] != 0 {
                    i = (i + 1) & mask;
                }
                slots[i] = slot;
            }
        }
        self.slots = slots;
    }
}

/// Items grouped by a small integer, all in one allocation: group `g` is
/// `items[start[g]..start[g + 1]]`, its items in the order they were given. Building one per
/// value (or per operation) costs two passes over the pairs instead of an allocation per group.
struct Groups {
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Groups {
    /// `pairs` are (group, item), with every group below `groups`.
    fn new(groups: usize, pairs: &[(u32, u32)]) -> Groups {
        let mut start = vec![0u32; groups + 1];
        for &(g, _) in pairs {
            start[g as usize + 1] += 1;
        }
        for g in 0..groups {
            start[g + 1] += start[g];
        }
        // `start[g]` is group g's write cursor while filling; afterwards it has moved to
        // where group g + 1 starts, so the array is shifted back by one.
        let mut items = vec![0u32; pairs.len()];
        for &(g, x) in pairs {
            items[start[g as usize] as usize] = x;
            start[g as usize] += 1;
        }
        start.copy_within(0..groups, 1);
        start[0] = 0;
        debug_assert_eq!(start[groups] as usize, pairs.len());
        Groups { start, items }
    }

    #[inline]
    fn get(&self, g: usize) -> &[u32] {
        &self.items[self.start[g] as usize..self.start[g + 1] as usize]
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }
}

/// Dead ends: configurations from which some `Ok` read or cas can no longer get the value
/// it needs (a read: the value it returned; a cas: its expected value).
///
/// Without appends: for each value, the operations that can make the state that value (a
/// write of it, a cas to it from another value; "makers"), by invocation, and the first of
/// them not linearized; and the `Ok` operations that need it, by return, and the first of
/// them not linearized. One that needs a value other than the current state needs a maker
/// linearized before it returns; if no maker left was invoked in time, it is a dead end. That
/// can only become true when the state leaves a value, so it is checked then, for that value,
/// in O(1) ([`Producers::satisfiable`]). And over the callable operations and the next
/// [`LOOKAHEAD`] entries, Hall's condition for cas ops: each successful cas from a value
/// needs its own time the state becomes that value ([`Producers::dead_end`]).
///
/// With appends, which make new values: a value is reachable only from a state whose string
/// form is a prefix of it, or after a write or cas to such a prefix; checked over the same
/// window.
struct Producers {
    /// Per value, the operations that make it, by invocation.
    lists: Groups,
    /// Per operation: the value it produces (`NIL`: none) and its index in that list.
    produces: Vec<(u32, u32)>,
    first: Vec<u32>,
    /// Per value, the `Ok` operations that need it, by return.
    needers: Groups,
    /// Per operation: the value it needs (`NIL`: none) and its index in that list.
    needs: Vec<(u32, u32)>,
    needers_first: Vec<u32>,
    enabled: bool,
    /// With appends instead: per value, the writes and cas whose value's string form is a
    /// prefix of its string form, by invocation (appends only extend the string, so a value
    /// is reachable only from such a reset or from a state that is a prefix of it).
    prefix_makers: Vec<Vec<u32>>,
    /// Scratch: (value, return) of the cas ops that need the state to become that value.
    consumers: Vec<(u32, u64)>,
    /// Dead-end tests made, and how many found a dead end: on a history where the test
    /// seldom prunes (most linearizable ones), it is made only now and then.
    dead_end_tests: u64,
    dead_end_hits: u64,
    /// Tests in a row that found no dead end, and the times a test could have been made.
    dead_end_misses: u64,
    dead_end_chances: u64,
    /// Steps back the search makes before the first dead-end test: one on a key with
    /// appends, where most tests find a dead end; [`DEAD_END_AFTER_BACKTRACKS`] otherwise.
    backtracks_before_tests: u64,
}

/// Steps back before the first dead-end test on a key without appends. On the Jepsen etcd
/// histories (60-80 operations, linearizable ones take a few hundred steps) the tests made
/// after the first step back found no dead end, and cost a quarter of the check.
const DEAD_END_AFTER_BACKTRACKS: u64 = 32;

/// Misses in a row after which the spacing of dead-end tests doubles.
const DEAD_END_MISSES_PER_DOUBLING: u64 = 8;

/// Dead-end tests before their hit rate is judged.
const DEAD_END_TRIAL: u64 = 256;
/// Below one hit in this many tests, the test is made only one time in `DEAD_END_SPARSE`.
const DEAD_END_RATE_MIN: u64 = 32;
const DEAD_END_SPARSE: u64 = 16;

impl Producers {
    fn new(p: &Problem, order: &Order, domain: &Domain) -> Producers {
        let n = p.ops.len();
        let mut produces = vec![(NIL, 0); n];
        let enabled = p.ops.iter().all(|op| op.kind != Kind::Append);
        let mut prefix_makers: Vec<Vec<u32>> = Vec::new();
        if !enabled {
            // Resets by value made, then each needed value's prefixes among those values.
            let mut resets: FxMap<u32, Vec<u32>> = FxMap::default();
            for &(_, o) in &order.calls {
                let op = &p.ops[o as usize];
                match op.kind {
                    Kind::Write => resets.entry(op.a).or_default().push(o),
                    Kind::Cas if op.a != op.b => resets.entry(op.b).or_default().push(o),
                    _ => {}
                }
            }
            let mut made: Vec<(u32, &Vec<u32>)> = resets.iter().map(|(&v, l)| (v, l)).collect();
            made.sort_unstable();
            let made: Vec<(std::borrow::Cow<'_, str>, &Vec<u32>)> =
                made.into_iter().map(|(v, l)| (domain.text(v), l)).collect();
            prefix_makers = vec![Vec::new(); p.values];
            let mut needed = vec![false; p.values];
            for o in 0..p.n_ok {
                let op = &p.ops[o];
                if (op.kind == Kind::Read || op.kind == Kind::Cas) && (op.a as usize) < p.values {
                    needed[op.a as usize] = true;
                }
            }
            for v in (0..p.values).filter(|&v| needed[v]) {
                let text = domain.text(v as u32);
                let list = &mut prefix_makers[v];
                for (w, ops) in &made {
                    if text.starts_with(&**w) {
                        list.extend_from_slice(ops);
                    }
                }
                list.sort_by_key(|&o| (p.invoke[o as usize], o));
            }
        }
        let mut counts = vec![0u32; p.values];
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(n);
        for &(_, o) in &order.calls {
            let o = o as usize;
            let op = &p.ops[o];
            let v = match op.kind {
                Kind::Write => op.a,
                Kind::Cas if op.a != op.b => op.b,
                _ => continue,
            };
            if (v as usize) < p.values {
                produces[o] = (v, counts[v as usize]);
                counts[v as usize] += 1;
                pairs.push((v, o as u32));
            }
        }
        let lists = Groups::new(p.values, &pairs);
        counts.fill(0);
        pairs.clear();
        let mut needs = vec![(NIL, 0); n];
        for &(_, o) in &order.returns {
            let o = o as usize;
            let op = &p.ops[o];
            if (op.kind == Kind::Read || op.kind == Kind::Cas) && (op.a as usize) < p.values {
                needs[o] = (op.a, counts[op.a as usize]);
                counts[op.a as usize] += 1;
                pairs.push((op.a, o as u32));
            }
        }
        let needers = Groups::new(p.values, &pairs);
        Producers {
            first: vec![0; p.values],
            lists,
            produces,
            needers_first: vec![0; p.values],
            needers,
            needs,
            enabled,
            prefix_makers,
            consumers: Vec::new(),
            dead_end_tests: 0,
            dead_end_hits: 0,
            dead_end_misses: 0,
            dead_end_chances: 0,
            backtracks_before_tests: if enabled {
                DEAD_END_AFTER_BACKTRACKS
            } else {
                1
            },
        }
    }

    /// [`Producers::dead_end`], made only where it pays. Each `DEAD_END_MISSES_PER_DOUBLING`
    /// misses in a row double the spacing between tests, up to one chance in
    /// `DEAD_END_SPARSE`, and a hit brings it back to every chance; and once the tests have
    /// pruned fewer than one branch in `DEAD_END_RATE_MIN`, they are made once in
    /// `DEAD_END_SPARSE` at most (so that they come back if the search reaches a part of the
    /// history where they prune). Skipping a test only costs search steps, never a wrong
    /// verdict.
    fn dead_end_adaptive(
        &mut self,
        p: &Problem,
        list: &List,
        bits: &Bits,
        state: u32,
        domain: &Domain,
    ) -> bool {
        let (tests, hits) = (self.dead_end_tests, self.dead_end_hits);
        let sparse = tests >= DEAD_END_TRIAL && hits * DEAD_END_RATE_MIN < tests;
        let doublings = (self.dead_end_misses / DEAD_END_MISSES_PER_DOUBLING)
            .min(u64::from(DEAD_END_SPARSE.ilog2()));
        let spacing = 1u64 << doublings;
        self.dead_end_chances += 1;
        let chance = self.dead_end_chances;
        if (sparse && tests % DEAD_END_SPARSE != 0) || !chance.is_multiple_of(spacing) {
            return false;
        }
        self.dead_end_tests += 1;
        let dead = self.dead_end(p, list, bits, state, domain);
        self.dead_end_hits += u64::from(dead);
        self.dead_end_misses = if dead { 0 } else { self.dead_end_misses + 1 };
        dead
    }

    /// Whether the operations that need `v` can still have it, the state being `state`.
    #[inline]
    fn satisfiable(&self, v: u32, state: u32, p: &Problem) -> bool {
        if !self.enabled || v == state || v as usize >= self.lists.len() {
            return true;
        }
        let Some(&needer) = self
            .needers
            .get(v as usize)
            .get(self.needers_first[v as usize] as usize)
        else {
            return true;
        };
        let by = p.ret[needer as usize].unwrap_or(u64::MAX);
        match self
            .lists
            .get(v as usize)
            .get(self.first[v as usize] as usize)
        {
            Some(&maker) => p.invoke[maker as usize] <= by,
            None => false,
        }
    }

    #[inline]
    fn linearized(&mut self, o: usize, bits: &Bits) {
        fn advance(list: &[u32], first: &mut u32, bits: &Bits) {
            while (*first as usize) < list.len() && bits.has(list[*first as usize] as usize) {
                *first += 1;
            }
        }
        let (v, _) = self.produces[o];
        if v != NIL {
            advance(
                self.lists.get(v as usize),
                &mut self.first[v as usize],
                bits,
            );
        }
        let (v, _) = self.needs[o];
        if v != NIL {
            advance(
                self.needers.get(v as usize),
                &mut self.needers_first[v as usize],
                bits,
            );
        }
    }

    #[inline]
    fn unlinearized(&mut self, o: usize) {
        let (v, at) = self.produces[o];
        if v != NIL && at < self.first[v as usize] {
            self.first[v as usize] = at;
        }
        let (v, at) = self.needs[o];
        if v != NIL && at < self.needers_first[v as usize] {
            self.needers_first[v as usize] = at;
        }
    }

    /// Whether some `Ok` operation, callable or among the next [`LOOKAHEAD`] entries, can
    /// no longer be linearized: a read or cas that needs a value other than the current state
    /// that no operation left can make in time, or more cas ops from a value (each needs a
    /// new time the state is that value) than operations left can make it, in time.
    fn dead_end(
        &mut self,
        p: &Problem,
        list: &List,
        bits: &Bits,
        state: u32,
        domain: &Domain,
    ) -> bool {
        if !self.enabled {
            return self.dead_end_appending(p, list, bits, state, domain);
        }
        self.consumers.clear();
        for (o, by) in observers_ahead(p, list) {
            let op = &p.ops[o];
            if op.a != state {
                let list = self.lists.get(op.a as usize);
                match list.get(self.first[op.a as usize] as usize) {
                    Some(&first) if p.invoke[first as usize] <= by => {}
                    _ => return true,
                }
            }
            if op.kind == Kind::Cas && op.a != op.b {
                self.consumers.push((op.a, by));
            }
        }
        // Hall's condition, per value: the i-th cas from it by return needs i makers in time.
        self.consumers.sort_unstable();
        let mut i = 0;
        while i < self.consumers.len() {
            let v = self.consumers[i].0;
            let list = self.lists.get(v as usize);
            let mut k = self.first[v as usize] as usize;
            let mut have = usize::from(state == v);
            let mut need = 0;
            while i < self.consumers.len() && self.consumers[i].0 == v {
                let by = self.consumers[i].1;
                need += 1;
                while k < list.len() && p.invoke[list[k] as usize] <= by {
                    have += usize::from(!bits.has(list[k] as usize));
                    k += 1;
                }
                if have < need {
                    return true;
                }
                i += 1;
            }
        }
        false
    }

    /// [`Producers::dead_end`] on a key with appends: an `Ok` read or cas, callable or among
    /// the next [`LOOKAHEAD`] entries, needs a value whose string form the current state's
    /// is not a prefix of, and no reset to a prefix of it is left that was invoked in time.
    fn dead_end_appending(
        &self,
        p: &Problem,
        list: &List,
        bits: &Bits,
        state: u32,
        domain: &Domain,
    ) -> bool {
        let current = domain.text(state);
        for (o, by) in observers_ahead(p, list) {
            let op = &p.ops[o];
            if op.a == state || op.a as usize >= p.values {
                continue;
            }
            if domain.text(op.a).starts_with(&*current) {
                continue;
            }
            let makers = &self.prefix_makers[op.a as usize];
            let reset_left = makers
                .iter()
                .take_while(|&&m| p.invoke[m as usize] <= by)
                .any(|&m| !bits.has(m as usize));
            if !reset_left {
                return true;
            }
        }
        false
    }
}

/// The `Ok` reads and cas ops that observe a known value, callable or among the next
/// [`LOOKAHEAD`] entries of `list`, each with the position by which it must be linearized.
fn observers_ahead<'a>(p: &'a Problem, list: &'a List) -> impl Iterator<Item = (usize, u64)> + 'a {
    let n = p.ops.len();
    let mut e = list.head();
    let mut past = 0;
    std::iter::from_fn(move || {
        while e != NIL && past < LOOKAHEAD {
            let o = e as usize;
            e = list.next[o];
            if o >= n {
                past += 1;
                continue;
            }
            past += u32::from(past > 0);
            let op = &p.ops[o];
            if o >= p.n_ok || !(op.kind == Kind::Read || op.kind == Kind::Cas) || op.a == ANY {
                continue;
            }
            if let Some(by) = p.ret[o] {
                return Some((o, by));
            }
        }
        None
    })
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

/// The operations by call and the `Ok` ones with a return by return, each as (position,
/// operation): the orders that [`Producers`], [`dominators`] and [`List`] are built from,
/// sorted once.
struct Order {
    calls: Vec<(u64, u32)>,
    returns: Vec<(u64, u32)>,
}

impl Order {
    fn new(p: &Problem) -> Order {
        let n = p.ops.len();
        // The `Ok` operations, then the `Info` ones, each by call already: one merge.
        let by_call = |o: usize| (p.invoke[o], o as u32);
        let (mut ok, mut info) = (
            (0..p.n_ok).map(by_call).peekable(),
            (p.n_ok..n).map(by_call).peekable(),
        );
        let mut calls: Vec<(u64, u32)> = Vec::with_capacity(n);
        loop {
            let next = match (ok.peek(), info.peek()) {
                (Some(a), Some(b)) if a <= b => ok.next(),
                (Some(_), Some(_)) => info.next(),
                (Some(_), None) => ok.next(),
                (None, _) => info.next(),
            };
            let Some(call) = next else { break };
            calls.push(call);
        }
        if !calls.is_sorted() {
            calls.sort_unstable();
        }
        let mut returns: Vec<(u64, u32)> = (0..p.n_ok)
            .filter_map(|o| p.ret[o].map(|r| (r, o as u32)))
            .collect();
        returns.sort_unstable();
        Order { calls, returns }
    }
}

/// The doubly linked list of entries: call entry of operation `o` is node `o`, its return
/// entry node `n + o`, the head node `2n`.
struct List {
    next: Vec<u32>,
    prev: Vec<u32>,
    n: usize,
}

impl List {
    fn new(p: &Problem, order: &Order) -> List {
        let n = p.ops.len();
        let mut next = vec![NIL; 2 * n + 1];
        let mut prev = vec![NIL; 2 * n + 1];
        let mut last = (2 * n) as u32;
        let (mut calls, mut returns) = (
            order.calls.iter().peekable(),
            order.returns.iter().peekable(),
        );
        loop {
            // At an equal position a call comes first: the operations then overlap.
            let node = match (calls.peek(), returns.peek()) {
                (Some(&&(c, o)), Some(&&(r, _))) if c <= r => {
                    calls.next();
                    o
                }
                (_, Some(&&(_, o))) => {
                    returns.next();
                    n as u32 + o
                }
                (Some(&&(_, o)), None) => {
                    calls.next();
                    o
                }
                (None, None) => break,
            };
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
const _: () = assert!(DOMINATORS_MAX < u8::MAX as usize, "counted in a u8");

/// For each operation, identical operations (same call, same arguments) that dominate it:
/// they overlap it in real time and return earlier (an unknown outcome returns never; ties
/// by invocation). If a dominator is callable and not linearized, linearizing this one first
/// is pointless: in any linearization that does, the two can trade places (both have the
/// same effect, and the earlier return bounds the earlier place), or, if the dominator never
/// happens, this one's place can be the dominator's. Reads are left out: they are taken
/// eagerly anyway. Grouped by the operation they dominate.
fn dominators(p: &Problem, order: &Order) -> Groups {
    let n = p.ops.len();
    let ret = |o: usize| {
        if o < p.n_ok {
            p.ret[o].unwrap_or(u64::MAX)
        } else {
            u64::MAX
        }
    };
    let rank = |o: usize| (ret(o), p.invoke[o], o);
    let class = |o: usize| {
        let op = &p.ops[o];
        (op.kind as u8, op.a, op.b)
    };
    // Identical operations are contiguous in this order, each class by call (a stable sort
    // of the calls).
    let mut order: Vec<((u8, u32, u32), usize)> = order
        .calls
        .iter()
        .map(|&(_, o)| (class(o as usize), o as usize))
        .filter(|&((kind, _, _), _)| kind != Kind::Read as u8)
        .collect();
    order.sort_by_key(|&(class, _)| class);
    let mut counts = vec![0u8; n];
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut active: Vec<usize> = Vec::new();
    for (i, &(c, d)) in order.iter().enumerate() {
        if i == 0 || order[i - 1].0 != c {
            active.clear();
        }
        active.retain(|&o| ret(o) > p.invoke[d]);
        for &o in &active {
            let (lo, hi) = if rank(d) < rank(o) { (d, o) } else { (o, d) };
            if usize::from(counts[hi]) < DOMINATORS_MAX {
                counts[hi] += 1;
                pairs.push((hi as u32, lo as u32));
            }
        }
        active.push(d);
    }
    Groups::new(n, &pairs)
}

/// How a configuration reached for the first time turned out.
enum Arrival {
    /// Every `Ok` operation is linearized.
    Done,
    /// It cannot lead to a linearization (or was explored already).
    Dead,
    /// Its children are to be tried.
    Explore,
}

/// The search's state: the current configuration and how it was reached.
struct Search<'a> {
    p: &'a Problem,
    has_return: Vec<bool>,
    dominators: Groups,
    list: List,
    bits: Bits,
    seen: Seen,
    producers: Producers,
    stack: Vec<Frame>,
    state: u32,
    /// The last operation linearized has an unknown outcome: the next must observe it.
    needs_observer: bool,
    /// The position of the first return entry: an operation is callable if its call is before.
    frontier: u64,
    ok_done: usize,
    steps: u64,
    /// The deepest stack so far; its first `shared` operations are the current stack's.
    longest: Vec<u32>,
    shared: usize,
    /// Steps back so far. Until the search has gone back a few times it follows its first
    /// choices, which on most linearizable histories lead straight to a linearization; dead-end
    /// tests cost more than they save there (see [`Producers::backtracks_before_tests`]).
    backtracks: u64,
}

impl Search<'_> {
    /// Linearizes `o` (its bit already set and its configuration recorded).
    fn push(&mut self, o: usize, next_state: u32, needs_observer: bool, forced: bool) {
        self.stack.push(Frame {
            op: o as u32,
            prev_state: self.state,
            prev_needs_observer: self.needs_observer,
            prev_frontier: self.frontier,
            forced,
        });
        self.state = next_state;
        self.needs_observer = needs_observer;
        self.producers.linearized(o, &self.bits);
        self.list.lift(o, self.has_return[o]);
        self.ok_done += usize::from(o < self.p.n_ok);
        if self.stack.len() > self.longest.len() {
            self.longest.truncate(self.shared);
            self.longest
                .extend(self.stack[self.shared..].iter().map(|f| f.op));
            self.shared = self.stack.len();
        }
    }

    /// Undoes the last push.
    fn pop(&mut self) -> Option<Frame> {
        let f = self.stack.pop()?;
        self.shared = self.shared.min(self.stack.len());
        let o = f.op as usize;
        self.bits.clear(o);
        self.producers.unlinearized(o);
        self.state = f.prev_state;
        self.needs_observer = f.prev_needs_observer;
        self.frontier = f.prev_frontier;
        self.list.unlift(o, self.has_return[o]);
        self.ok_done -= usize::from(o < self.p.n_ok);
        Some(f)
    }

    /// A configuration reached for the first time: checks that what needs the value the state
    /// just left can still have it, takes legal identity operations at once, and looks for
    /// dead ends.
    fn arrive(&mut self, domain: &Domain) -> Arrival {
        let p = self.p;
        let n = p.ops.len();
        if let Some(f) = self.stack.last() {
            if !f.forced
                && f.prev_state != self.state
                && !self.producers.satisfiable(f.prev_state, self.state, p)
            {
                return Arrival::Dead;
            }
        }
        loop {
            if self.ok_done == p.n_ok && !self.needs_observer {
                return Arrival::Done;
            }
            let mut e = self.list.head();
            while e != NIL && (e as usize) < n {
                let op = &p.ops[e as usize];
                if op.identity && (op.a == self.state || (op.a == ANY && !self.needs_observer)) {
                    break;
                }
                e = self.list.next[e as usize];
            }
            if e == NIL || e as usize >= n {
                if self.backtracks >= self.producers.backtracks_before_tests
                    && self
                        .producers
                        .dead_end_adaptive(p, &self.list, &self.bits, self.state, domain)
                {
                    return Arrival::Dead;
                }
                self.frontier = if e == NIL {
                    u64::MAX
                } else {
                    p.ret[e as usize - n].unwrap_or(u64::MAX)
                };
                return Arrival::Explore;
            }
            self.steps += 1;
            let o = e as usize;
            self.bits.set(o);
            if !self.seen.insert(&self.bits, self.state, false) {
                self.bits.clear(o);
                return Arrival::Dead;
            }
            self.push(o, self.state, false, true);
        }
    }

    fn run(mut self, domain: &mut Domain, budget: Budget) -> Outcome {
        let p = self.p;
        let (n, n_ok) = (p.ops.len(), p.n_ok);
        let mut entry = NIL;
        let mut arrived = true;
        loop {
            if arrived {
                arrived = false;
                match self.arrive(domain) {
                    Arrival::Done => return self.outcome(Verdict::Linearizable),
                    Arrival::Dead => entry = NIL,
                    Arrival::Explore => entry = self.list.head(),
                }
            }
            if self.steps >= budget.steps || budget.past_deadline(self.steps) {
                return self.outcome(Verdict::Unknown);
            }
            self.steps += 1;
            if entry == NIL || entry as usize >= n {
                // Too late for the operation of this return entry, or nothing left to try:
                // back to the last choice (through the identity operations taken at once).
                self.backtracks += 1;
                loop {
                    let Some(f) = self.pop() else {
                        return self.outcome(Verdict::NotLinearizable);
                    };
                    if !f.forced {
                        entry = self.list.next[f.op as usize];
                        break;
                    }
                }
                continue;
            }
            let o = entry as usize;
            entry = self.list.next[o];
            let op = &p.ops[o];
            if self.needs_observer && op.kind == Kind::Write {
                continue;
            }
            if self
                .dominators
                .get(o)
                .iter()
                .any(|&d| !self.bits.has(d as usize) && p.invoke[d as usize] <= self.frontier)
            {
                continue;
            }
            let Some(next_state) = domain.step(self.state, op) else {
                continue;
            };
            let info = o >= n_ok;
            if info && next_state == self.state {
                continue;
            }
            self.bits.set(o);
            if !self.seen.insert(&self.bits, next_state, info) {
                self.bits.clear(o);
                continue;
            }
            self.push(o, next_state, info, false);
            arrived = true;
        }
    }

    fn outcome(self, verdict: Verdict) -> Outcome {
        Outcome {
            verdict,
            steps: self.steps,
            longest: self.longest,
        }
    }
}

/// How long a search may go on: steps, and optionally a wall-clock deadline.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    /// Entries visited at most.
    pub steps: u64,
    /// The time past which the search gives up (`check-history --time-max`).
    pub deadline: Option<std::time::Instant>,
}

impl Budget {
    /// Whether the deadline has passed; the clock is read once every 4,096 steps, so that it
    /// costs nothing next to the steps.
    fn past_deadline(self, steps: u64) -> bool {
        const STEPS_PER_CLOCK_READ: u64 = 4096;
        // Without a deadline (always, in the simulator) a step pays one test of `None`.
        self.deadline.is_some_and(|d| {
            steps.is_multiple_of(STEPS_PER_CLOCK_READ) && std::time::Instant::now() >= d
        })
    }
}

/// Searches for a linearization of `p`, exploring at most `budget` steps (entries visited).
///
/// Besides the plain search, it restricts itself to linearizations of a normal form that
/// exists whenever any linearization does, and prunes configurations that cannot lead to one:
/// - a read (or `cas(v, v)`) that is callable and legal is taken at once, alone;
/// - of identical operations, a dominated one waits for its dominators (see `dominators`);
/// - an operation with unknown outcome is linearized only if it changes the state, and only
///   if an operation observing the new state (a read of it, a cas expecting it, an append)
///   comes right after. Otherwise it can be moved later or dropped: it has no return that
///   bounds it, and nothing between sees it. "Needs an observer" is part of the memoized
///   configuration;
/// - dead ends: see [`Producers`].
pub(crate) fn search(p: &Problem, domain: &mut Domain, budget: Budget) -> Outcome {
    let n = p.ops.len();
    if p.n_ok == 0 {
        return Outcome {
            verdict: Verdict::Linearizable,
            steps: 0,
            longest: Vec::new(),
        };
    }
    let order = Order::new(p);
    let producers = Producers::new(p, &order, domain);
    if (0..p.values as u32).any(|v| !producers.satisfiable(v, p.initial, p)) {
        return Outcome {
            verdict: Verdict::NotLinearizable,
            steps: 1,
            longest: Vec::new(),
        };
    }
    let search = Search {
        p,
        has_return: (0..n).map(|o| o < p.n_ok && p.ret[o].is_some()).collect(),
        dominators: dominators(p, &order),
        list: List::new(p, &order),
        bits: Bits::new(p.n_ok, n - p.n_ok),
        seen: Seen::new(),
        producers,
        stack: Vec::with_capacity(n),
        state: p.initial,
        needs_observer: false,
        frontier: u64::MAX,
        ok_done: 0,
        steps: 0,
        longest: Vec::with_capacity(n),
        shared: 0,
        backtracks: 0,
    };
    search.run(domain, budget)
}
