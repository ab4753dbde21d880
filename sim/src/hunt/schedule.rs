//! The power schedule: which (scenario, variant) regions get the next runs.
//!
//! In the spirit of AFL's schedules (Böhme et al., "Coverage-based Greybox Fuzzing as Markov
//! Chain", CCS 2016): a region earns energy for the rare situations its runs reach and loses
//! it as it is run more. With `F(s)` the number of runs, all regions together, that reached
//! situation `s`, `h_r(s)` the runs of region `r` that reached it and `n_r` the runs of `r`:
//!
//! ```text
//! rarity(r) = sum over s of (h_r(s) / n_r) * (N / F(s))      N: runs in all
//! energy(r) = (1 + rarity(r)) / sqrt(1 + n_r) * cheapness(r), capped at ENERGY_RATIO_MAX
//!             times the lowest
//! cheapness(r) = sqrt(mean events per run / r's events per run), within [1/4, 4]
//! ```
//!
//! A situation every run reaches adds 1 to every region alike; one that a single run reached
//! adds up to `N`. The square root lets a productive region be run often without starving
//! the others, and the cap keeps every region alive. Each slot of a round is either a new
//! variant (probability `NEW_VARIANT_P`, of a scenario picked by its best region's energy) or a
//! run of an existing region picked in proportion to its energy. Every draw comes from a
//! stream seeded by the seed base and the round, so the schedule is a function of the seed
//! base and the results, never of the threads.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Probability that a slot of a power round tries a new variant.
pub const NEW_VARIANT_P: f64 = 0.25;
/// A region's energy is at most this many times the lowest.
pub const ENERGY_RATIO_MAX: f64 = 64.0;

/// How far a region's cost may move its energy: a factor in `[1/COST_FACTOR_MAX, COST_FACTOR_MAX]`.
pub const COST_FACTOR_MAX: f64 = 4.0;

/// What the schedule knows of a region.
#[derive(Clone, Debug, Default)]
pub struct RegionStats {
    /// Runs made.
    pub runs: u64,
    /// Per situation (in `Situations::list` order), runs that reached it.
    pub reached: Vec<u64>,
    /// Events simulated in its runs: what a run costs, measured without a clock.
    pub events: u64,
}

/// What one slot of a round does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Run this region again with its next seed.
    Region(usize),
    /// Draw a new variant of this scenario.
    NewVariant(usize),
}

/// Each region's energy; `totals[s]` is `F(s)`, `runs_total` is `N`.
pub fn energies(regions: &[RegionStats], totals: &[u64], runs_total: u64) -> Vec<f64> {
    let (runs_all, events_all) = regions
        .iter()
        .fold((0u64, 0u64), |(r, e), s| (r + s.runs, e + s.events));
    let events_mean = events_all as f64 / runs_all.max(1) as f64;
    let mut energy: Vec<f64> = regions
        .iter()
        .map(|r| {
            let n = r.runs.max(1) as f64;
            let rarity: f64 = r
                .reached
                .iter()
                .zip(totals)
                .filter(|(h, f)| **h > 0 && **f > 0)
                .map(|(h, f)| (*h as f64 / n) * (runs_total as f64 / *f as f64))
                .sum();
            (1.0 + rarity) / (1.0 + r.runs as f64).sqrt() * cheapness(r, events_mean)
        })
        .collect();
    let lowest = energy.iter().copied().fold(f64::INFINITY, f64::min);
    for e in &mut energy {
        *e = e.min(lowest * ENERGY_RATIO_MAX);
    }
    energy
}

/// A region whose runs simulate fewer events than the mean gets more runs for the same wall
/// time (AFL favours fast inputs the same way): the square root of the ratio, bounded by
/// `COST_FACTOR_MAX` either way. An untried region counts as average.
fn cheapness(r: &RegionStats, events_mean: f64) -> f64 {
    if r.runs == 0 || events_mean <= 0.0 {
        return 1.0;
    }
    let mean = (r.events as f64 / r.runs as f64).max(1.0);
    (events_mean / mean)
        .sqrt()
        .clamp(1.0 / COST_FACTOR_MAX, COST_FACTOR_MAX)
}

/// The slots of one power round of `size` runs. `scenario_of[r]` is region `r`'s scenario.
pub fn round(
    rng: &mut ChaCha8Rng,
    energy: &[f64],
    scenario_of: &[usize],
    scenarios: usize,
    size: usize,
) -> Vec<Slot> {
    assert_eq!(energy.len(), scenario_of.len());
    let mut best = vec![0.0f64; scenarios];
    for (e, s) in energy.iter().zip(scenario_of) {
        best[*s] = best[*s].max(*e);
    }
    (0..size)
        .map(|_| {
            if rng.gen_bool(NEW_VARIANT_P) {
                Slot::NewVariant(pick(rng, &best))
            } else {
                Slot::Region(pick(rng, energy))
            }
        })
        .collect()
}

/// An index drawn in proportion to `weights` (all zero: uniformly).
fn pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    assert!(!weights.is_empty());
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return rng.gen_range(0..weights.len());
    }
    let mut x = rng.gen_range(0.0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn stats(runs: u64, reached: &[u64]) -> RegionStats {
        RegionStats {
            runs,
            reached: reached.to_vec(),
            events: runs * 1_000,
        }
    }

    #[test]
    fn a_cheaper_region_gets_more_energy_within_bounds() {
        let mut cheap = stats(10, &[10]);
        cheap.events = 10 * 250;
        let regions = [cheap, stats(10, &[10])];
        let e = energies(&regions, &[20], 20);
        // Mean 625 events a run: sqrt(625/250) against sqrt(625/1000).
        assert!((e[0] / e[1] - 2.0).abs() < 1e-9, "{e:?}");
        let mut tiny = stats(10, &[10]);
        tiny.events = 10;
        let e = energies(&[tiny, stats(10, &[10])], &[20], 20);
        assert!(
            e[0] / e[1] <= COST_FACTOR_MAX * COST_FACTOR_MAX + 1e-9,
            "{e:?}"
        );
    }

    #[test]
    fn a_region_that_reaches_a_rare_situation_gets_more_energy() {
        // Situation 0 reached by every run; situation 1 only by region 1, once.
        let regions = [
            stats(10, &[10, 0]),
            stats(10, &[10, 1]),
            stats(10, &[10, 0]),
        ];
        let e = energies(&regions, &[30, 1], 30);
        assert!(e[1] > 2.0 * e[0], "{e:?}");
        assert_eq!(e[0], e[2]);
    }

    #[test]
    fn running_a_region_more_lowers_its_energy_and_the_cap_holds() {
        let regions = [stats(1, &[1]), stats(100, &[100])];
        let e = energies(&regions, &[101], 101);
        assert!(e[0] > e[1]);
        let regions = [stats(1, &[0, 1]), stats(1_000, &[1_000, 0])];
        let e = energies(&regions, &[1_000, 1], 1_001);
        assert!(e[0] <= e[1] * ENERGY_RATIO_MAX + 1e-9, "{e:?}");
    }

    #[test]
    fn slots_follow_energy_and_the_draw_is_repeatable() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let slots = round(&mut rng, &[1.0, 9.0], &[0, 1], 2, 4_000);
        let again = round(
            &mut ChaCha8Rng::seed_from_u64(3),
            &[1.0, 9.0],
            &[0, 1],
            2,
            4_000,
        );
        assert_eq!(slots, again);
        let count = |want: Slot| slots.iter().filter(|s| **s == want).count();
        let (r0, r1) = (count(Slot::Region(0)), count(Slot::Region(1)));
        assert!(r1 > 6 * r0 && r0 > 100, "{r0} {r1}");
        let new = count(Slot::NewVariant(0)) + count(Slot::NewVariant(1));
        assert!((800..1_200).contains(&new), "{new}");
    }
}
