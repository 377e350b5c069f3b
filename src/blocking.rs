//! Work that would hold up the event loop (database calls, bcrypt) runs on the blocking
//! threads, a fixed few of them (`THREADS` per worker). On Linux those threads also run at a
//! lower CPU priority than the event loop: on a small machine, a batch of writes or a burst of
//! logins then waits for the polls rather than the other way round, and it still gets every
//! moment the event loop leaves idle.

use actix_web::error::BlockingError;
use actix_web::web;

/// Blocking threads per worker: a small, fixed set, since a pool that grows under load would
/// starve the event loop.
pub const THREADS: usize = 8;

/// How much nicer the blocking threads are than the event loop: on a busy core they get about
/// a tenth of its share of the CPU.
#[cfg(target_os = "linux")]
const NICER_BY: i32 = 10;
/// The nicest a thread can be.
#[cfg(target_os = "linux")]
const NICEST: i32 = 19;

/// Runs `f` on a blocking thread.
pub async fn run<F, T>(f: F) -> Result<T, BlockingError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    web::block(move || {
        lower_priority();
        f()
    })
    .await
}

/// Lowers the calling thread's priority, once per thread.
#[cfg(target_os = "linux")]
fn lower_priority() {
    use std::cell::Cell;
    thread_local! {
        static LOWERED: Cell<bool> = const { Cell::new(false) };
    }
    if LOWERED.replace(true) {
        return;
    }
    // On Linux a nice value belongs to a thread, named by its id. A blocking thread starts
    // with the nice value of the thread that made it, the event loop's.
    let thread = rustix::thread::gettid();
    let lowered = rustix::process::getpriority_process(Some(thread)).and_then(|nice| {
        rustix::process::setpriority_process(Some(thread), (nice + NICER_BY).min(NICEST))
    });
    if let Err(err) = lowered {
        log::debug!("cannot lower a blocking thread's priority: {err}");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}
