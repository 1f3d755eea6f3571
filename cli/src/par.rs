//! Ordered parallel maps: on scoped threads for CPU work, on tokio tasks for S3 requests.

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
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let item = lock(&inputs[i]).take().expect("each item is taken once");
                let out = f(i, item);
                *lock(&outputs[i]) = Some(out);
            });
        }
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
