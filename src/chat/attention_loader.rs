//! Reading people's unread notices into memory (`live::attention`) in batches. Each person's
//! first poll on a server needs them once; when a server restarts, or many pages open
//! together, thousands of first polls come within a second, and one read of the database
//! each (a transaction, its queries, a trip to a database thread and back) made them the
//! slowest polls by far. Those that come while one read is on its way now wait together and
//! share the next: a storm of arrivals costs a read per batch, not per person.

use std::sync::Arc;

use anyhow::anyhow;
use tokio::sync::{mpsc, oneshot};

use crate::batch;
use crate::db::Db;
use crate::errors::AppError;
use crate::live::Live;
use crate::live::attention::KEPT;
use crate::models::Notice;

/// The most people one read takes.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<(), AppError>>;

/// The one reader of unread notices, shared by every worker.
pub struct AttentionLoader {
    jobs: mpsc::UnboundedSender<(i32, Reply)>,
}

impl AttentionLoader {
    /// Starts the reader on the current runtime.
    pub fn start(db: Db, live: Arc<Live>) -> Self {
        let (jobs, mut queue) = mpsc::unbounded_channel::<(i32, Reply)>();
        actix_web::rt::spawn(async move {
            while let Some(batch) = batch::next(&mut queue, MAX_BATCH).await {
                let (users, replies): (Vec<i32>, Vec<Reply>) = batch.into_iter().unzip();
                let outcome = load(&db, &live, users).await;
                for reply in replies {
                    let _ =
                        reply.send(outcome.as_ref().map_err(AppError::for_each_waiter).copied());
                }
            }
        });
        Self { jobs }
    }

    /// Reads the user's unread notices from the database into memory (with the others
    /// waiting now), and answers once memory has them.
    pub async fn load(&self, user_id: i32) -> Result<(), AppError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((user_id, reply))
            .map_err(|_| AppError::internal(anyhow!("the attention loader has stopped")))?;
        answer
            .await
            .map_err(|_| AppError::internal(anyhow!("the attention loader dropped a user")))?
    }
}

/// One batch: the users' unread notices and the newest notice's number, read together, so
/// that memory keeps whatever it heard meanwhile.
async fn load(db: &Db, live: &Live, mut users: Vec<i32>) -> Result<(), AppError> {
    users.sort_unstable();
    users.dedup();
    let ids = users.clone();
    let (mut unread, as_of) = db
        .run(move |conn| {
            conn.read_transaction(|conn| {
                Ok((
                    Notice::unread_of_each(conn, &ids, KEPT as i64)?,
                    Notice::newest(conn)?,
                ))
            })
        })
        .await?;
    for user_id in users {
        let notices = unread.remove(&user_id).unwrap_or_default();
        live.attention.load(user_id, notices, as_of);
    }
    Ok(())
}
