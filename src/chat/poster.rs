//! Posting with group commit: posts that arrive while a commit is on its way wait together
//! and share the next one. With synchronous=FULL every commit waits for the disk, so one
//! commit for many posts is what lets a small machine take thousands of messages a second.

use std::sync::Arc;

use anyhow::anyhow;
use tokio::sync::{mpsc, oneshot};

use super::commit::commit;
use super::signals::Signals;
use crate::batch;
use crate::db::Db;
use crate::errors::AppError;
use crate::live::Live;
use crate::models::{LogEntry, NewPost};

/// The most posts one commit takes.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<LogEntry, AppError>>;

/// The one writer of messages, shared by every worker.
pub struct Poster {
    jobs: mpsc::UnboundedSender<(NewPost, Reply)>,
}

impl Poster {
    /// Starts the writer on the current runtime.
    pub fn start(db: Db, live: Arc<Live>, signals: Arc<Signals>) -> Self {
        let (jobs, mut queue) = mpsc::unbounded_channel::<(NewPost, Reply)>();
        actix_web::rt::spawn(async move {
            while let Some(batch) = batch::next(&mut queue, MAX_BATCH).await {
                let (posts, replies): (Vec<NewPost>, Vec<Reply>) = batch.into_iter().unzip();
                let results = commit(&db, &live, &signals, move |conn, changes| {
                    Ok(LogEntry::post_batch(conn, &posts, changes)?)
                })
                .await
                .and_then(|(out, _changes)| Ok(out?));
                match results {
                    Ok(results) => {
                        for (reply, result) in replies.into_iter().zip(results) {
                            let _ = reply.send(result.map_err(AppError::from));
                        }
                    }
                    Err(err) => {
                        // A storage fault is logged once a minute where it was met.
                        if err.storage_fault().is_none() {
                            log::error!("a batch of {} posts failed: {err}", replies.len());
                        }
                        for reply in replies {
                            let _ = reply.send(Err(err.for_each_waiter()));
                        }
                    }
                }
            }
        });
        Self { jobs }
    }

    /// Stores the post (with the others waiting now) and answers once it is committed.
    pub async fn post(&self, post: NewPost) -> Result<LogEntry, AppError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((post, reply))
            .map_err(|_| AppError::internal(anyhow!("the poster has stopped")))?;
        answer
            .await
            .map_err(|_| AppError::internal(anyhow!("the poster dropped a post")))?
    }
}
