//! The peers: a crossbeam-channel thread pool, and the tokio and rayon pools,
//! all with two worker threads unless said otherwise.

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

/// Worker threads per peer pool (the size of mfwq's MULTITHREADED pool here).
pub const POOL_THREADS: usize = 2;

pub type Job = Box<dyn FnOnce() + Send>;

/// N threads receiving boxed closures from one unbounded crossbeam channel.
pub struct ChannelPool {
    tx: Option<Sender<Job>>,
    handles: Vec<JoinHandle<()>>,
}

impl ChannelPool {
    pub fn new(threads: usize, name: &str) -> ChannelPool {
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        let handles = (0..threads)
            .map(|i| {
                let rx: Receiver<Job> = rx.clone();
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || {
                        for job in rx.iter() {
                            job();
                        }
                    })
                    .expect("spawn a crossbeam pool thread")
            })
            .collect();
        ChannelPool {
            tx: Some(tx),
            handles,
        }
    }

    #[inline]
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) {
        self.tx
            .as_ref()
            .expect("open")
            .send(Box::new(job))
            .expect("pool threads alive");
    }

    /// A sender, for jobs that submit more jobs.
    pub fn sender(&self) -> Sender<Job> {
        self.tx.clone().expect("open")
    }
}

impl Drop for ChannelPool {
    fn drop(&mut self) {
        drop(self.tx.take());
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

/// A multi-thread tokio runtime with two workers.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(POOL_THREADS)
        .thread_name("tokio-worker")
        .build()
        .expect("build the tokio runtime")
}

/// [`tokio_runtime`] with its timer driver enabled (the timer and future
/// workloads).
pub fn tokio_timer_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(POOL_THREADS)
        .thread_name("tokio-worker")
        .enable_time()
        .build()
        .expect("build the tokio runtime")
}

/// A rayon pool with two threads.
pub fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(POOL_THREADS)
        .thread_name(|i| format!("rayon-{i}"))
        .build()
        .expect("build the rayon pool")
}
