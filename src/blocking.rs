//! Work that would hold up the event loop runs on other threads. Database calls run on
//! actix's blocking threads (`web::block`, `THREADS` per worker), at the event loop's priority:
//! posts and page loads are someone waiting. Work that is heavy on the CPU and can wait, such
//! as bcrypt, runs on a `LowPriorityPool` of its own: on Linux its threads are less favoured
//! than the event loop, so on a small machine a burst of logins waits for the polls rather
//! than the other way round, and it still gets every moment the event loop leaves idle.

use std::sync::{Mutex, PoisonError, mpsc};
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

/// A few threads of their own, at a lower CPU priority than the event loop. They end when the
/// pool is dropped.
pub struct LowPriorityPool {
    jobs: mpsc::Sender<Job>,
}

/// The pool's threads are gone.
#[derive(Debug)]
pub struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the low-priority threads have stopped")
    }
}

impl std::error::Error for Stopped {}

impl LowPriorityPool {
    /// Starts `threads` threads named `name`.
    pub fn new(threads: usize, name: &str) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(Mutex::new(queue));
        for _ in 0..threads.max(1) {
            let queue = queue.clone();
            thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            Ok(job) => job(),
                            Err(mpsc::RecvError) => return,
                        }
                    }
                })?;
        }
        Ok(Self { jobs })
    }

    /// Runs `f` on one of the pool's threads, after the jobs queued before it.
    pub async fn run<F, T>(&self, f: F) -> Result<T, Stopped>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(f());
        });
        self.jobs.send(job).map_err(|_| Stopped)?;
        answer.await.map_err(|_| Stopped)
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
    use super::*;

    #[actix_web::test]
    async fn a_low_priority_pool_runs_jobs_on_its_own_nicer_threads() {
        let pool = LowPriorityPool::new(2, "test-pool").unwrap();
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
