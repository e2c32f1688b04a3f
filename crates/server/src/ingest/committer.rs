//! Group commit: usage events from many requests share one transaction, and every request is
//! answered only after the transaction holding its events has committed.
//!
//! Requests put their events in a queue and wait. A committer takes everything queued (up to a
//! bound), stores it in one transaction, and then wakes each request with the outcome. While one
//! commit runs, the next batch gathers, so the batch size follows the load by itself. The queue is
//! bounded in events: when it is full, [`Committer::submit`] refuses at once (the API answers 429)
//! instead of letting memory and latency grow without bound.

use std::sync::Arc;

use kizuna_domain::usage::NewUsageEvent;
use kizuna_store::Store;
use tokio::sync::{mpsc, oneshot, Mutex, Semaphore};

/// Why events could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the ingestion queue is full")]
    Overloaded,
    #[error("the events could not be stored: {0}")]
    Failed(String),
}

struct Job {
    events: Vec<NewUsageEvent>,
    /// Queue room the job holds, given back after its commit.
    permits: usize,
    done: oneshot::Sender<Result<(), String>>,
}

/// The handle requests use; cheap to clone.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::UnboundedSender<Job>,
    room: Arc<Semaphore>,
    max_queued: usize,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer")
            .field("available", &self.room.available_permits())
            .finish()
    }
}

impl Committer {
    /// Starts `workers` committers on `store`.
    pub fn start(store: Store, workers: usize, max_queued: usize, max_commit: usize) -> Committer {
        let (queue, rx) = mpsc::unbounded_channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let room = Arc::new(Semaphore::new(max_queued));
        for _ in 0..workers.max(1) {
            let (rx, store, room) = (rx.clone(), store.clone(), room.clone());
            tokio::spawn(async move {
                loop {
                    let mut jobs = Vec::new();
                    {
                        let mut rx = rx.lock().await;
                        let Some(first) = rx.recv().await else { return };
                        let mut n = first.events.len();
                        jobs.push(first);
                        while n < max_commit {
                            match rx.try_recv() {
                                Ok(job) => {
                                    n += job.events.len();
                                    jobs.push(job);
                                }
                                Err(_) => break,
                            }
                        }
                    }
                    commit(&store, jobs, &room).await;
                }
            });
        }
        Committer {
            queue,
            room,
            max_queued,
        }
    }

    /// Queues events and waits until they are committed.
    pub async fn submit(&self, events: Vec<NewUsageEvent>) -> Result<(), SubmitError> {
        if events.is_empty() {
            return Ok(());
        }
        let n = u32::try_from(events.len().min(self.max_queued)).unwrap_or(u32::MAX);
        let permit = self
            .room
            .try_acquire_many(n)
            .map_err(|_| SubmitError::Overloaded)?;
        // The committer gives the room back once the events are stored.
        permit.forget();
        let (done, wait) = oneshot::channel();
        if self
            .queue
            .send(Job {
                events,
                permits: n as usize,
                done,
            })
            .is_err()
        {
            self.room.add_permits(n as usize);
            return Err(SubmitError::Failed("the committer has stopped".into()));
        }
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SubmitError::Failed(e)),
            Err(_) => Err(SubmitError::Failed("the committer has stopped".into())),
        }
    }

    /// Events queued and not yet committed.
    pub fn queued(&self) -> usize {
        self.max_queued
            .saturating_sub(self.room.available_permits())
    }
}

async fn commit(store: &Store, jobs: Vec<Job>, room: &Semaphore) {
    let counts: Vec<usize> = jobs.iter().map(|j| j.permits).collect();
    let mut all = Vec::with_capacity(jobs.iter().map(|j| j.events.len()).sum());
    let mut waiting = Vec::with_capacity(jobs.len());
    for job in jobs {
        all.extend(job.events);
        waiting.push(job.done);
    }
    let result = store.record_usage(&all).await.map(|_| ()).map_err(|e| {
        tracing::error!(error = %e, events = all.len(), "usage commit failed");
        e.to_string()
    });
    for (done, n) in waiting.into_iter().zip(counts) {
        room.add_permits(n);
        let _ = done.send(result.clone());
    }
}
