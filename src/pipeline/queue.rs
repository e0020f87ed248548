//! Bounded queues between the pipeline's threads that park a waiting thread at once (no spinning,
//! no `sched_yield`) and wake it only when it has a reason to run.
//!
//! A receiver that found the queue empty sleeps until a message arrives; a sender that found it
//! full sleeps until the receiver has drained it to half ([`Sender::send`]), so that a fast
//! producer and a slow consumer trade one wake-up per half queue, not one per message. A message
//! pushed while nobody waits costs a lock and no system call. Dropping every sender ends the
//! receiver's `recv` (None) once the queue is empty; dropping every receiver makes sends fail.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

struct State<T> {
    items: VecDeque<T>,
    cap: usize,
    senders: usize,
    receivers: usize,
    /// Receivers asleep in `recv`.
    rx_waiting: usize,
    /// Senders asleep in `send`.
    tx_waiting: usize,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    readable: Condvar,
    writable: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A thread that panicked holding the lock left the queue itself consistent (every
        // critical section is a push, a pop or a count).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The sending side (cloneable: several capture threads may feed one worker).
pub struct Sender<T> {
    q: Arc<Shared<T>>,
}

/// The receiving side (cloneable: the pool of free batches is shared by the capture threads).
pub struct Receiver<T> {
    q: Arc<Shared<T>>,
}

/// Why [`Sender::try_send`] did not queue the message (given back).
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    Full(T),
    Disconnected(T),
}

/// Why [`Receiver::recv_deadline`] returned without a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvTimeoutError {
    Timeout,
    Disconnected,
}

/// A queue holding at most `cap` messages (at least 1).
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let cap = cap.max(1);
    let q = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::with_capacity(cap),
            cap,
            senders: 1,
            receivers: 1,
            rx_waiting: 0,
            tx_waiting: 0,
        }),
        readable: Condvar::new(),
        writable: Condvar::new(),
    });
    (Sender { q: q.clone() }, Receiver { q })
}

impl<T> Sender<T> {
    /// Queues `v`, sleeping while the queue is full; `Err(v)` when every receiver is gone.
    pub fn send(&self, v: T) -> Result<(), T> {
        let mut s = self.q.lock();
        while s.items.len() >= s.cap && s.receivers > 0 {
            s.tx_waiting += 1;
            s = self.q.writable.wait(s).unwrap_or_else(|e| e.into_inner());
            s.tx_waiting -= 1;
        }
        if s.receivers == 0 {
            return Err(v);
        }
        self.push(s, v);
        Ok(())
    }

    /// Queues `v` if there is room, without waiting.
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        let s = self.q.lock();
        if s.receivers == 0 {
            return Err(TrySendError::Disconnected(v));
        }
        if s.items.len() >= s.cap {
            return Err(TrySendError::Full(v));
        }
        self.push(s, v);
        Ok(())
    }

    fn push(&self, mut s: MutexGuard<'_, State<T>>, v: T) {
        s.items.push_back(v);
        let wake = s.rx_waiting > 0;
        drop(s);
        if wake {
            self.q.readable.notify_one();
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.q.lock().senders += 1;
        Sender { q: self.q.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut s = self.q.lock();
        s.senders -= 1;
        let last = s.senders == 0;
        drop(s);
        if last {
            self.q.readable.notify_all();
        }
    }
}

impl<T> Receiver<T> {
    /// The next message, sleeping while the queue is empty; `None` once it is empty and every
    /// sender is gone.
    pub fn recv(&self) -> Option<T> {
        let mut s = self.q.lock();
        loop {
            if let Some(v) = s.items.pop_front() {
                self.popped(s);
                return Some(v);
            }
            if s.senders == 0 {
                return None;
            }
            s.rx_waiting += 1;
            s = self.q.readable.wait(s).unwrap_or_else(|e| e.into_inner());
            s.rx_waiting -= 1;
        }
    }

    /// The next message if one is queued.
    pub fn try_recv(&self) -> Option<T> {
        let mut s = self.q.lock();
        let v = s.items.pop_front()?;
        self.popped(s);
        Some(v)
    }

    /// The next message, sleeping at most until `deadline`.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        let mut s = self.q.lock();
        loop {
            if let Some(v) = s.items.pop_front() {
                self.popped(s);
                return Ok(v);
            }
            if s.senders == 0 {
                return Err(RecvTimeoutError::Disconnected);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RecvTimeoutError::Timeout);
            }
            s.rx_waiting += 1;
            s = match self.q.readable.wait_timeout(s, left) {
                Ok((s, _)) => s,
                Err(e) => e.into_inner().0,
            };
            s.rx_waiting -= 1;
        }
    }

    /// Wakes the senders asleep on a full queue once it has drained to half.
    fn popped(&self, s: MutexGuard<'_, State<T>>) {
        let wake = s.tx_waiting > 0 && s.items.len() <= s.cap / 2;
        drop(s);
        if wake {
            self.q.writable.notify_all();
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.q.lock().receivers += 1;
        Receiver { q: self.q.clone() }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut s = self.q.lock();
        s.receivers -= 1;
        let last = s.receivers == 0;
        drop(s);
        if last {
            self.q.writable.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn messages_arrive_in_order_and_the_iteration_ends_with_the_last_sender() {
        let (tx, rx) = bounded::<u32>(4);
        let tx2 = tx.clone();
        let a = std::thread::spawn(move || {
            for i in 0..10_000 {
                tx.send(i).unwrap();
            }
        });
        let b = std::thread::spawn(move || {
            for i in 10_000..20_000 {
                tx2.send(i).unwrap();
            }
        });
        let got: Vec<u32> = std::iter::from_fn(|| rx.recv()).collect();
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(got.len(), 20_000);
        // Each sender's messages keep their order.
        let first: Vec<u32> = got.iter().copied().filter(|&v| v < 10_000).collect();
        let second: Vec<u32> = got.iter().copied().filter(|&v| v >= 10_000).collect();
        assert_eq!(first, (0..10_000).collect::<Vec<_>>());
        assert_eq!(second, (10_000..20_000).collect::<Vec<_>>());
    }

    #[test]
    fn try_send_says_full_and_disconnected_and_gives_the_message_back() {
        let (tx, rx) = bounded::<u8>(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(rx.try_recv(), Some(1));
        tx.try_send(3).unwrap();
        drop(rx);
        assert_eq!(tx.try_send(4), Err(TrySendError::Disconnected(4)));
        assert_eq!(tx.send(5), Err(5));
    }

    #[test]
    fn a_full_sender_sleeps_until_the_queue_drains_to_half_and_fails_when_the_receiver_goes() {
        let (tx, rx) = bounded::<u32>(4);
        for i in 0..4 {
            tx.send(i).unwrap();
        }
        let t = std::thread::spawn(move || {
            let r = tx.send(4);
            (r, tx)
        });
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(rx.try_recv(), Some(0));
        // Three left of four: above half, the sender still sleeps.
        std::thread::sleep(Duration::from_millis(50));
        assert!(!t.is_finished());
        assert_eq!(rx.recv(), Some(1));
        let (r, tx) = t.join().unwrap();
        assert_eq!(r, Ok(()));
        assert_eq!(
            std::iter::from_fn(|| rx.recv()).take(3).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        // A sender asleep on a full queue is woken with an error when the receiver goes.
        for i in 0..4 {
            tx.send(i).unwrap();
        }
        let t = std::thread::spawn(move || tx.send(9));
        std::thread::sleep(Duration::from_millis(50));
        drop(rx);
        assert_eq!(t.join().unwrap(), Err(9));
    }

    #[test]
    fn recv_deadline_times_out_then_sees_disconnection() {
        let (tx, rx) = bounded::<u8>(1);
        let t0 = Instant::now();
        assert_eq!(
            rx.recv_deadline(t0 + Duration::from_millis(30)),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(t0.elapsed() >= Duration::from_millis(30));
        tx.send(7).unwrap();
        assert_eq!(rx.recv_deadline(Instant::now()), Ok(7));
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            drop(tx);
        });
        assert_eq!(
            rx.recv_deadline(Instant::now() + Duration::from_secs(30)),
            Err(RecvTimeoutError::Disconnected)
        );
        t.join().unwrap();
    }
}
