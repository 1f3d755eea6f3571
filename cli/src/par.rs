//! Parallel work: ordered maps on scoped threads for CPU work and on tokio tasks for S3
//! requests, and the same without collecting (results handed on as they come) for work over a
//! corpus of any size.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::task::JoinSet;

/// Applies `f` to every item on up to `jobs` threads and returns the results in item order,
/// whatever order the threads finish in. `f` gets the item's index too.
pub fn map<T, R, F>(items: Vec<T>, jobs: usize, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(usize, T) -> R + Sync,
{
    let n = items.len();
    let jobs = jobs.clamp(1, n.max(1));
    if jobs == 1 {
        return items
            .into_iter()
            .enumerate()
            .map(|(i, t)| f(i, t))
            .collect();
    }
    // Each slot is taken by exactly one worker; the mutexes are uncontended.
    let inputs: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let outputs: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            break;
        }
        let item = lock(&inputs[i]).take().expect("each item is taken once");
        let out = f(i, item);
        *lock(&outputs[i]) = Some(out);
    };
    // The calling thread is one of the workers, as in `for_each`.
    std::thread::scope(|s| {
        for _ in 1..jobs {
            s.spawn(work);
        }
        work();
    });
    outputs
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item was mapped")
        })
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` on every item with at most `limit` futures in flight on the current tokio runtime
/// and returns the results in item order.
pub async fn map_async<T, R, F, Fut>(items: Vec<T>, limit: usize, f: F) -> Vec<R>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let n = items.len();
    let mut outputs: Vec<Option<R>> = (0..n).map(|_| None).collect();
    let mut set = JoinSet::new();
    let mut store = |joined: Result<(usize, R), tokio::task::JoinError>| match joined {
        Ok((i, r)) => outputs[i] = Some(r),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    for (i, item) in items.into_iter().enumerate() {
        if set.len() >= limit.max(1) {
            if let Some(joined) = set.join_next().await {
                store(joined);
            }
        }
        let fut = f(item);
        set.spawn(async move { (i, fut.await) });
    }
    while let Some(joined) = set.join_next().await {
        store(joined);
    }
    outputs
        .into_iter()
        .map(|r| r.expect("every item was mapped"))
        .collect()
}

/// Calls `f(i)` for every `i` in `0..n` on up to `jobs` threads, each thread taking the next
/// index when it is done with one. For work that hands its results on itself (nothing is
/// collected, so nothing grows with `n`).
pub fn for_each<F>(n: usize, jobs: usize, f: F)
where
    F: Fn(usize) + Sync,
{
    let jobs = jobs.clamp(1, n.max(1));
    if jobs == 1 {
        (0..n).for_each(f);
        return;
    }
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            break;
        }
        f(i);
    };
    // The calling thread is one of the workers (it would only wait): one thread, and one
    // allocator arena, fewer.
    std::thread::scope(|s| {
        for _ in 1..jobs {
            s.spawn(work);
        }
        work();
    });
}

/// Runs `f` on every item with at most `limit` futures in flight on the current tokio runtime
/// and hands each result to `done` as it completes (in completion order). Items are taken from
/// the iterator only when there is room, so they need not all exist at once, and nothing is
/// collected.
pub async fn each_async<T, R, F, Fut>(
    items: impl IntoIterator<Item = T>,
    limit: usize,
    f: F,
    mut done: impl FnMut(R),
) where
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let mut set = JoinSet::new();
    let mut finish = |joined: Result<R, tokio::task::JoinError>| match joined {
        Ok(r) => done(r),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    for item in items {
        if set.len() >= limit.max(1) {
            if let Some(joined) = set.join_next().await {
                finish(joined);
            }
        }
        set.spawn(f(item));
    }
    while let Some(joined) = set.join_next().await {
        finish(joined);
    }
}

/// The number of threads to use when the user did not say.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order() {
        let items: Vec<u64> = (0..1000).collect();
        for jobs in [1, 2, 7] {
            let out = map(items.clone(), jobs, |i, x| {
                if x % 13 == 0 {
                    std::thread::yield_now();
                }
                (i as u64, x * 2)
            });
            assert_eq!(out, (0..1000).map(|x| (x, x * 2)).collect::<Vec<_>>());
        }
        assert!(map(Vec::<u8>::new(), 4, |_, x| x).is_empty());
    }

    #[test]
    fn for_each_visits_every_index_once() {
        for jobs in [1, 2, 7] {
            let seen: Vec<AtomicUsize> = (0..500).map(|_| AtomicUsize::new(0)).collect();
            for_each(seen.len(), jobs, |i| {
                seen[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                seen.iter().all(|n| n.load(Ordering::Relaxed) == 1),
                "{jobs}"
            );
        }
        for_each(0, 4, |_| panic!("no items"));
    }

    #[tokio::test]
    async fn each_async_hands_on_every_result_with_bounded_concurrency() {
        let in_flight = std::sync::Arc::new(AtomicUsize::new(0));
        let most = std::sync::Arc::new(AtomicUsize::new(0));
        let mut results = Vec::new();
        each_async(
            0..100u64,
            8,
            |x| {
                let (in_flight, most) = (in_flight.clone(), most.clone());
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_micros(100 - x)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    x * 3
                }
            },
            |r| results.push(r),
        )
        .await;
        results.sort_unstable();
        assert_eq!(results, (0..100).map(|x| x * 3).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 8);
    }

    #[tokio::test]
    async fn async_keeps_order() {
        let items: Vec<u64> = (0..100).collect();
        let out = map_async(items, 8, |x| async move {
            // Later items finish first.
            tokio::time::sleep(std::time::Duration::from_micros(100 - x)).await;
            x * 3
        })
        .await;
        assert_eq!(out, (0..100).map(|x| x * 3).collect::<Vec<_>>());
    }
}
