//! Batches: jobs that arrive while one batch is on its way to the database wait together and
//! go in the next, so that a burst costs a round trip per batch, not per job. The posts' group
//! commit (`chat::poster`) and the shared rate limits' counting (`throttle::SharedLimits`)
//! take their batches from a queue this way.

use tokio::sync::mpsc;

/// Waits for the next job, then takes with it those already waiting, up to `max` in all.
/// None once every sender is gone.
pub async fn next<T>(queue: &mut mpsc::UnboundedReceiver<T>, max: usize) -> Option<Vec<T>> {
    let first = queue.recv().await?;
    let mut batch = vec![first];
    while batch.len() < max {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_takes_what_waits_up_to_the_most_and_ends_with_the_senders() {
        let (jobs, mut queue) = mpsc::unbounded_channel();
        for n in 0..5 {
            jobs.send(n).unwrap();
        }
        assert_eq!(next(&mut queue, 3).await, Some(vec![0, 1, 2]));
        assert_eq!(next(&mut queue, 3).await, Some(vec![3, 4]));
        drop(jobs);
        assert_eq!(next(&mut queue, 3).await, None);
    }
}
