//! Threads of their own for bcrypt, at a lower scheduling priority, so that
//! when logins and message delivery compete for the cores, delivery wins
//! and a login storm does not stall a busy room; logins still use every
//! idle cycle. Kept apart from tokio's blocking pool on purpose: a thread's
//! priority cannot be raised again without privileges, so a blocking-pool
//! thread that once hashed would run history pages and file chunks at the
//! lowered priority ever after.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// How much lower than normal the hashing threads run (nice 10).
const NICE: libc::c_int = 10;

pub struct HashPool {
    jobs: mpsc::Sender<Job>,
}

impl HashPool {
    /// `threads` hashing threads; they end when the pool is dropped.
    pub fn new(threads: usize) -> std::io::Result<HashPool> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("tchat-bcrypt-{i}"))
                .spawn(move || {
                    lower_own_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(HashPool { jobs })
    }

    /// Runs `work` on a hashing thread; `None` if the pool is gone.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .ok()?;
        result.await.ok()
    }
}

fn lower_own_priority() {
    // SAFETY: setpriority on the calling thread's own id; no memory is
    // passed. A failure only leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, NICE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_a_lowered_thread_of_its_own() {
        let pool = HashPool::new(2).unwrap();
        let (name, nice) = pool
            .run(|| {
                // SAFETY: getpriority on the calling thread's own id.
                let nice = unsafe {
                    let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                    libc::getpriority(libc::PRIO_PROCESS, tid)
                };
                (std::thread::current().name().map(str::to_owned), nice)
            })
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("tchat-bcrypt-"));
        // At least that low (a process started lower stays lower).
        assert!(nice >= NICE, "{nice}");
    }
}
