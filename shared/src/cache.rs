//! A value a process reads from the database and keeps for a while (the settings table, the
//! model catalogue), refreshed ahead of its expiry so that no request waits for the reload.
//!
//! A kept value is fresh for the first [`REFRESH_AT`] of its lifetime. A read after that
//! and before it expires gets the kept value at once and starts one reload in the
//! background; a read after it expires (or of nothing kept yet) waits for the reload. A
//! process in steady use therefore never waits, and no value older than its lifetime is
//! ever served: a change still reaches a process within the lifetime.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where in a value's lifetime reads start reloading it in the background.
pub const REFRESH_AT: f64 = 0.8;

/// What time it is, to the cache (tests pass a clock they move).
pub type Clock = dyn Fn() -> Instant + Send + Sync;

/// A kept value and how it is reloaded; cheap to clone (clones share the value).
pub struct Kept<T> {
    ttl: Duration,
    clock: Arc<Clock>,
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Clone for Kept<T> {
    fn clone(&self) -> Self {
        Self {
            ttl: self.ttl,
            clock: Arc::clone(&self.clock),
            slot: Arc::clone(&self.slot),
        }
    }
}

struct Slot<T> {
    value: Option<(Instant, Arc<T>)>,
    /// A background reload is under way.
    refreshing: bool,
    /// Bumped by [`Kept::invalidate`]: a reload that started before it is not kept.
    generation: u64,
}

impl<T: Send + Sync + 'static> Kept<T> {
    /// A value kept for `ttl` (zero reads it again every time).
    pub fn new(ttl: Duration) -> Self {
        Self::with_clock(ttl, Arc::new(Instant::now))
    }

    pub fn with_clock(ttl: Duration, clock: Arc<Clock>) -> Self {
        Self {
            ttl,
            clock,
            slot: Arc::new(Mutex::new(Slot {
                value: None,
                refreshing: false,
                generation: 0,
            })),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The kept value, or the one `load` reads when it has expired; past [`REFRESH_AT`] of
    /// its lifetime the kept value is returned and `load` runs in the background.
    pub async fn get<F, Fut, E>(&self, load: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let now = (self.clock)();
        let (kept, refresh) = {
            let mut slot = self.lock();
            match &slot.value {
                Some((loaded_at, value))
                    if now.saturating_duration_since(*loaded_at) < self.ttl =>
                {
                    let value = Arc::clone(value);
                    let due =
                        now.saturating_duration_since(*loaded_at) >= self.ttl.mul_f64(REFRESH_AT);
                    let refresh = due && !slot.refreshing;
                    if refresh {
                        slot.refreshing = true;
                    }
                    (Some(value), refresh.then_some(slot.generation))
                }
                _ => (None, None),
            }
        };
        match (kept, refresh) {
            (Some(value), Some(generation)) => {
                self.refresh_in_background(load(), generation);
                Ok(value)
            }
            (Some(value), None) => Ok(value),
            (None, _) => self.reload(load).await,
        }
    }

    /// Reads the value with `load` now and keeps it.
    pub async fn reload<F, Fut, E>(&self, load: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let generation = self.lock().generation;
        let started = (self.clock)();
        let value = Arc::new(load().await?);
        self.keep(generation, started, &value);
        Ok(value)
    }

    /// Forgets the kept value (a write in this process), so the next read loads it again.
    pub fn invalidate(&self) {
        let mut slot = self.lock();
        slot.value = None;
        slot.generation += 1;
    }

    fn refresh_in_background<Fut, E>(&self, load: Fut, generation: u64)
    where
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let this = self.clone();
        let started = (self.clock)();
        let refresh = async move {
            match load.await {
                Ok(value) => this.keep(generation, started, &Arc::new(value)),
                Err(error) => {
                    // The kept value serves until it expires; then a read loads it itself.
                    tracing::warn!(%error, "Background refresh failed");
                    this.lock().refreshing = false;
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(refresh)),
            Err(_) => self.lock().refreshing = false,
        }
    }

    /// Keeps `value`, read from `started`, unless the cache was invalidated since.
    fn keep(&self, generation: u64, started: Instant, value: &Arc<T>) {
        let mut slot = self.lock();
        slot.refreshing = false;
        if slot.generation == generation {
            slot.value = Some((started, Arc::clone(value)));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot<T>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use super::*;

    /// A cache with a clock the test moves (seconds since start) and a loader that counts
    /// its calls and returns the call number.
    fn cache(ttl: u64) -> (Kept<usize>, Arc<AtomicU64>, Arc<AtomicUsize>) {
        let start = Instant::now();
        let seconds = Arc::new(AtomicU64::new(0));
        let now = Arc::clone(&seconds);
        let kept = Kept::with_clock(
            Duration::from_secs(ttl),
            Arc::new(move || start + Duration::from_secs(now.load(Ordering::SeqCst))),
        );
        (kept, seconds, Arc::new(AtomicUsize::new(0)))
    }

    fn loader(
        calls: &Arc<AtomicUsize>,
    ) -> impl FnOnce() -> std::future::Ready<Result<usize, String>> {
        let calls = Arc::clone(calls);
        move || std::future::ready(Ok(calls.fetch_add(1, Ordering::SeqCst) + 1))
    }

    /// Lets spawned background reloads finish.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_value_is_reloaded_in_the_background_before_it_expires_and_waited_for_after() {
        let (kept, seconds, calls) = cache(100);
        assert_eq!(*kept.get(loader(&calls)).await.unwrap(), 1);
        seconds.store(79, Ordering::SeqCst);
        assert_eq!(
            *kept.get(loader(&calls)).await.unwrap(),
            1,
            "fresh: no reload"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // Past 80 % of its life: the kept value at once, one reload behind it.
        seconds.store(80, Ordering::SeqCst);
        assert_eq!(*kept.get(loader(&calls)).await.unwrap(), 1);
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(
            *kept.get(loader(&calls)).await.unwrap(),
            2,
            "the reload is kept"
        );

        // Nobody read it for a whole lifetime: the read waits for a new value.
        seconds.store(180, Ordering::SeqCst);
        assert_eq!(*kept.get(loader(&calls)).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn one_background_reload_at_a_time_and_a_failed_one_keeps_the_value() {
        let (kept, seconds, calls) = cache(100);
        kept.get(loader(&calls)).await.unwrap();
        seconds.store(90, Ordering::SeqCst);
        let (started, release) = (
            Arc::new(tokio::sync::Notify::new()),
            Arc::new(tokio::sync::Notify::new()),
        );
        let slow = {
            let (started, release) = (Arc::clone(&started), Arc::clone(&release));
            move || async move {
                started.notify_one();
                release.notified().await;
                Err::<usize, _>("the database is away".to_owned())
            }
        };
        assert_eq!(*kept.get(slow).await.unwrap(), 1);
        started.notified().await;
        // While that reload is under way, reads do not start another.
        assert_eq!(*kept.get(loader(&calls)).await.unwrap(), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        release.notify_one();
        settle().await;
        // It failed: the value is still served, and the next read tries again.
        assert_eq!(*kept.get(loader(&calls)).await.unwrap(), 1);
        settle().await;
        assert_eq!(*kept.get(loader(&calls)).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_reload_that_started_before_an_invalidation_is_not_kept() {
        let (kept, seconds, calls) = cache(100);
        kept.get(loader(&calls)).await.unwrap();
        seconds.store(90, Ordering::SeqCst);
        let release = Arc::new(tokio::sync::Notify::new());
        let stale = {
            let release = Arc::clone(&release);
            move || async move {
                release.notified().await;
                Ok::<_, String>(100)
            }
        };
        kept.get(stale).await.unwrap();
        kept.invalidate();
        release.notify_one();
        settle().await;
        assert_eq!(
            *kept.get(loader(&calls)).await.unwrap(),
            2,
            "read afresh after the write"
        );
    }
}
