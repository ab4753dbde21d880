//! A fixed set of threads working through a list of independent items.
//!
//! Sweeps and hunts run many single-threaded simulations side by side; this is the only place
//! in `sim/` where threads exist. Results come back tagged with their position in the list, so
//! what the caller keeps is a function of the list, not of the number of threads or of which
//! one finished first.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Threads, at most.
pub const JOBS_MAX: usize = 256;

/// What a batch of items came to.
#[derive(Debug)]
pub struct Batch<R> {
    /// The results kept, in item order: every item up to the cut (all of them without one).
    pub results: Vec<(usize, R)>,
    /// With `stop_at_failure`, the position of the first failing item in list order.
    pub first_failure: Option<usize>,
    /// `stop` was raised before every item (up to the cut) had run.
    pub interrupted: bool,
}

/// Runs `work` on every item on `jobs` threads.
///
/// With `stop_at_failure`, no item after the first failing one (in list order) is started
/// and none after it is kept; items before it still run, so the failure kept is the first in
/// list order whatever the threads. `stop` is polled between items (a Ctrl-C handler or a
/// deadline sets it). `on_done` sees each result as it finishes, in finishing order.
pub fn run<T, R>(
    items: &[T],
    jobs: usize,
    stop: &AtomicBool,
    stop_at_failure: bool,
    work: impl Fn(&T) -> R + Sync,
    failed: impl Fn(&R) -> bool + Sync,
    mut on_done: impl FnMut(usize, &R),
) -> Batch<R>
where
    T: Sync,
    R: Send,
{
    assert!((1..=JOBS_MAX).contains(&jobs), "jobs {jobs} out of range");
    let next = AtomicUsize::new(0);
    let first_failure = AtomicUsize::new(usize::MAX);
    let (sender, receiver) = mpsc::channel::<(usize, R)>();
    let mut finished: Vec<(usize, R)> = Vec::with_capacity(items.len());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(items.len().max(1)) {
            let sender = sender.clone();
            let (next, first_failure, work, failed) = (&next, &first_failure, &work, &failed);
            scope.spawn(move || loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= items.len() || index > first_failure.load(Ordering::Relaxed) {
                    break;
                }
                let result = work(&items[index]);
                if stop_at_failure && failed(&result) {
                    first_failure.fetch_min(index, Ordering::Relaxed);
                }
                if sender.send((index, result)).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        for (index, result) in receiver {
            on_done(index, &result);
            finished.push((index, result));
        }
    });
    finished.sort_by_key(|(index, _)| *index);
    let cut = first_failure.load(Ordering::Relaxed);
    finished.retain(|(index, _)| *index <= cut);
    let expected = if cut == usize::MAX {
        items.len()
    } else {
        cut + 1
    };
    Batch {
        interrupted: finished.len() < expected,
        results: finished,
        first_failure: (cut != usize::MAX).then_some(cut),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_item_order_whatever_the_jobs() {
        let items: Vec<u64> = (0..100).collect();
        for jobs in [1, 2, 7] {
            let stop = AtomicBool::new(false);
            let batch = run(&items, jobs, &stop, false, |x| x * 2, |_| false, |_, _| {});
            let got: Vec<u64> = batch.results.iter().map(|(_, r)| *r).collect();
            assert_eq!(got, (0..100).map(|x| x * 2).collect::<Vec<_>>());
            assert!(!batch.interrupted && batch.first_failure.is_none());
        }
    }

    #[test]
    fn stop_at_failure_keeps_exactly_the_items_up_to_the_first_failure() {
        let items: Vec<u64> = (0..200).collect();
        for jobs in [1, 2, 4] {
            let stop = AtomicBool::new(false);
            let batch = run(
                &items,
                jobs,
                &stop,
                true,
                |x| *x,
                |x| x % 50 == 37,
                |_, _| {},
            );
            assert_eq!(batch.first_failure, Some(37), "jobs {jobs}");
            assert_eq!(batch.results.len(), 38);
            assert_eq!(batch.results.last().map(|r| r.1), Some(37));
            assert!(!batch.interrupted);
        }
    }

    #[test]
    fn a_raised_stop_runs_nothing_and_says_so() {
        let stop = AtomicBool::new(true);
        let batch = run(&[1, 2, 3], 2, &stop, false, |x| *x, |_| false, |_, _| {});
        assert!(batch.results.is_empty() && batch.interrupted);
    }
}
