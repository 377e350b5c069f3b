//! Work that would hold up the event loop runs on other threads. Database calls run on
//! actix's blocking threads (`web::block`, `THREADS` per worker), at the event loop's priority:
//! posts and page loads are someone waiting. Work that is heavy on the CPU and can wait, such
//! as bcrypt, runs on a `LowPriorityPool` of its own: on Linux its threads are less favoured
//! than the event loop, so on a small machine a burst of logins waits for the polls rather
//! than the other way round, and it still gets every moment the event loop leaves idle. It
//! holds a bounded number of jobs, so that a flood is refused at once instead of making every
//! later job wait behind it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;

use tokio::sync::oneshot;

/// Blocking threads per worker: a small, fixed set, since a pool that grows under load would
/// starve the event loop.
pub const THREADS: usize = 8;

/// How much nicer a low-priority thread is than the thread that made it: on a busy core it
/// gets about a tenth of the event loop's share of the CPU.
#[cfg(target_os = "linux")]
const NICER_BY: i32 = 10;
/// The nicest a thread can be.
#[cfg(target_os = "linux")]
const NICEST: i32 = 19;

type Job = Box<dyn FnOnce() + Send>;

/// A few threads of their own, at a lower CPU priority than the event loop, and a queue of at
/// most `capacity` jobs (the running ones included). The threads end when the pool is dropped.
pub struct LowPriorityPool {
    jobs: mpsc::Sender<Job>,
    /// Jobs queued or running.
    pending: Arc<AtomicUsize>,
    capacity: usize,
}

/// Why a job was not run.
#[derive(Debug, PartialEq, Eq)]
pub enum NotRun {
    /// The pool already holds `capacity` jobs: try again when some are done.
    Full,
    /// The pool's threads are gone.
    Stopped,
}

impl std::fmt::Display for NotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Full => "the low-priority queue is full",
            Self::Stopped => "the low-priority threads have stopped",
        })
    }
}

impl std::error::Error for NotRun {}

/// One of the pool's places, held by a job from when it is queued until it has run or been
/// skipped (or dropped with the queue), whatever happens to whoever queued it.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(pending: &Arc<AtomicUsize>, capacity: usize) -> Option<Self> {
        pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < capacity).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(pending.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl LowPriorityPool {
    /// Starts `threads` threads named `name`, which hold at most `capacity` jobs (at least one).
    pub fn new(threads: usize, capacity: usize, name: &str) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..threads.max(1) {
            let queue = queue.clone();
            thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            // A job that panics loses its answer (its caller hears `Stopped`),
                            // not the thread: the pool keeps its size.
                            Ok(job) => drop(catch_unwind(AssertUnwindSafe(job))),
                            Err(mpsc::RecvError) => return,
                        }
                    }
                })?;
        }
        Ok(Self {
            jobs,
            pending: Arc::new(AtomicUsize::new(0)),
            capacity: capacity.max(1),
        })
    }

    /// Runs `f` on one of the pool's threads, after the jobs queued before it; refused at once
    /// when the pool is full. If this future is dropped before `f` starts (its request timed
    /// out or went away), `f` is skipped: nobody is left to want its answer.
    pub async fn run<F, T>(&self, f: F) -> Result<T, NotRun>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = Slot::take(&self.pending, self.capacity).ok_or(NotRun::Full)?;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            // Locals drop in reverse order: the place is given back before the caller hears
            // anything, even when `f` panics, so that a caller who has heard finds it free.
            let reply = reply;
            let slot = slot;
            // Skipped when nobody waits for the answer any more.
            if reply.is_closed() {
                return;
            }
            let answer = f();
            drop(slot);
            let _ = reply.send(answer);
        });
        self.jobs.send(job).map_err(|_| NotRun::Stopped)?;
        answer.await.map_err(|_| NotRun::Stopped)
    }

    /// Jobs queued or running.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }
}

/// Lowers the calling thread's priority.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux a nice value belongs to a thread, named by its id.
    let thread = rustix::thread::gettid();
    let lowered = rustix::process::getpriority_process(Some(thread)).and_then(|nice| {
        rustix::process::setpriority_process(Some(thread), (nice + NICER_BY).min(NICEST))
    });
    if let Err(err) = lowered {
        log::debug!("cannot lower a thread's priority: {err}");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use futures_util::FutureExt;

    use super::*;

    /// Occupies the pool's (one) thread until the returned sender is used or dropped.
    fn block_the_thread(
        pool: &LowPriorityPool,
    ) -> (impl Future<Output = Result<(), NotRun>>, mpsc::Sender<()>) {
        let (started, has_started) = mpsc::channel();
        let (release, wait) = mpsc::channel::<()>();
        let mut job = Box::pin(pool.run(move || {
            started.send(()).unwrap();
            let _ = wait.recv();
        }));
        assert!(job.as_mut().now_or_never().is_none(), "the job is queued");
        has_started.recv().unwrap();
        (job, release)
    }

    #[actix_web::test]
    async fn a_full_pool_refuses_a_job_at_once_and_takes_jobs_again_once_places_free() {
        let pool = LowPriorityPool::new(1, 2, "test-pool").unwrap();
        let (running, release) = block_the_thread(&pool);
        let mut queued = Box::pin(pool.run(|| 2));
        assert!(queued.as_mut().now_or_never().is_none());
        assert_eq!(pool.run(|| 3).now_or_never(), Some(Err(NotRun::Full)));
        assert_eq!(pool.pending(), 2, "the refused job took no place");
        release.send(()).unwrap();
        assert_eq!(running.await, Ok(()));
        assert_eq!(queued.await, Ok(2));
        assert_eq!(pool.run(|| 4).await, Ok(4));
        assert_eq!(pool.pending(), 0);
    }

    #[actix_web::test]
    async fn a_job_whose_caller_has_gone_is_not_run() {
        let pool = LowPriorityPool::new(1, 4, "test-pool").unwrap();
        let (running, release) = block_the_thread(&pool);
        let ran = Arc::new(AtomicBool::new(false));
        let mut abandoned = Box::pin(pool.run({
            let ran = ran.clone();
            move || ran.store(true, Ordering::SeqCst)
        }));
        assert!(abandoned.as_mut().now_or_never().is_none());
        drop(abandoned);
        release.send(()).unwrap();
        assert_eq!(running.await, Ok(()));
        // Queued after the abandoned job, so it runs once that one has been dealt with.
        assert_eq!(pool.run(|| 5).await, Ok(5));
        assert!(!ran.load(Ordering::SeqCst), "the abandoned job ran");
        assert_eq!(pool.pending(), 0, "its place was given back");
    }

    #[actix_web::test]
    async fn a_job_that_panics_costs_its_answer_but_not_a_thread_or_a_place() {
        let pool = LowPriorityPool::new(1, 1, "test-pool").unwrap();
        let panicked = pool.run(|| -> i32 { panic!("on purpose") }).await;
        assert_eq!(panicked, Err(NotRun::Stopped));
        assert_eq!(pool.run(|| 6).await, Ok(6));
    }

    #[actix_web::test]
    async fn a_low_priority_pool_runs_jobs_on_its_own_nicer_threads() {
        let pool = LowPriorityPool::new(2, 2, "test-pool").unwrap();
        let name = pool
            .run(|| thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("test-pool"));
        #[cfg(target_os = "linux")]
        {
            let here = rustix::process::getpriority_process(None).unwrap();
            let there = pool
                .run(|| rustix::process::getpriority_process(None).unwrap())
                .await
                .unwrap();
            assert_eq!(there, (here + NICER_BY).min(NICEST));
        }
    }
}
