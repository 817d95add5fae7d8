//! The open connections of a listener: how many there are and whose, which one to drop when a
//! new one needs room, and when one has been idle or slow too long.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Connections counted together, each under a key (the member it belongs to, or `()`), with
/// a cap on all of them and one per key.
pub(crate) struct Table<K> {
    inner: Mutex<Inner<K>>,
    max_total: usize,
    max_per_key: usize,
    /// Among connections with no request in progress, drop first those that never sent a
    /// byte: for handshakes, where an honest client speaks at once.
    silent_first: bool,
}

struct Inner<K> {
    next: u64,
    conns: HashMap<u64, Arc<Conn<K>>>,
}

/// Why a new connection was not admitted: every connection that could make room is in the
/// middle of a request.
#[derive(Debug)]
pub(crate) struct Full;

/// One connection's activity, shared by its task, its reads, its requests and the table.
pub(crate) struct Conn<K> {
    id: u64,
    key: K,
    state: Mutex<Activity>,
    changed: Notify,
}

struct Activity {
    /// Requests in progress (hyper serves one at a time on HTTP/1; a response body counts
    /// until it is sent).
    busy: usize,
    /// When the connection last became free of requests (or opened).
    idle_since: Instant,
    /// When the first byte after `idle_since` arrived: the start of a request head.
    head_since: Option<Instant>,
    /// Dropped by the table to make room for another.
    evicted: bool,
}

/// Why a connection's watch ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    Evicted,
    Idle,
    SlowHead,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ended::Evicted => "dropped to make room for a new connection",
            Ended::Idle => "closed after the idle timeout",
            Ended::SlowHead => "closed: the request head did not arrive within the header timeout",
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<K: PartialEq> Table<K> {
    pub(crate) fn new(max_total: usize, max_per_key: usize, silent_first: bool) -> Arc<Self> {
        Arc::new(Table {
            inner: Mutex::new(Inner {
                next: 0,
                conns: HashMap::new(),
            }),
            max_total: max_total.max(1),
            max_per_key: max_per_key.max(1),
            silent_first,
        })
    }

    /// Counts a new connection under `key`. At a cap, the connection under that cap that has
    /// waited longest without a request in progress is dropped to make room (then `true` comes
    /// with the slot); when every one is busy, the new connection is refused.
    pub(crate) fn admit(self: &Arc<Self>, key: K) -> Result<(Slot<K>, bool), Full> {
        let mut inner = lock(&self.inner);
        let Inner { next, conns } = &mut *inner;
        let same_key = conns.values().filter(|c| c.key == key).count();
        let victim = if same_key >= self.max_per_key {
            Some(
                Self::victim(self.silent_first, conns.values().filter(|c| c.key == key))
                    .ok_or(Full)?,
            )
        } else if conns.len() >= self.max_total {
            Some(Self::victim(self.silent_first, conns.values()).ok_or(Full)?)
        } else {
            None
        };
        if let Some(id) = victim
            && let Some(conn) = conns.remove(&id)
        {
            lock(&conn.state).evicted = true;
            conn.changed.notify_one();
        }
        *next += 1;
        let id = *next;
        let conn = Arc::new(Conn {
            id,
            key,
            state: Mutex::new(Activity {
                busy: 0,
                idle_since: Instant::now(),
                head_since: None,
                evicted: false,
            }),
            changed: Notify::new(),
        });
        conns.insert(id, conn.clone());
        let slot = Slot {
            table: self.clone(),
            conn,
        };
        Ok((slot, victim.is_some()))
    }

    fn victim<'a>(
        silent_first: bool,
        candidates: impl Iterator<Item = &'a Arc<Conn<K>>>,
    ) -> Option<u64>
    where
        K: 'a,
    {
        candidates
            .filter_map(|c| {
                let s = lock(&c.state);
                let spoke = s.head_since.is_some() && silent_first;
                (s.busy == 0).then_some(((spoke, s.idle_since, c.id), c.id))
            })
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, id)| id)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.inner).conns.len()
    }
}

/// A connection's place in its table, given up when dropped.
pub(crate) struct Slot<K: PartialEq> {
    table: Arc<Table<K>>,
    conn: Arc<Conn<K>>,
}

impl<K: PartialEq> Drop for Slot<K> {
    fn drop(&mut self) {
        lock(&self.table.inner).conns.remove(&self.conn.id);
    }
}

impl<K: PartialEq> Slot<K> {
    pub(crate) fn conn(&self) -> Arc<Conn<K>> {
        self.conn.clone()
    }
}

impl<K> Conn<K> {
    /// Bytes arrived: if no request is in progress, a request head has begun.
    fn on_read(&self) {
        let mut s = lock(&self.state);
        if s.busy == 0 && s.head_since.is_none() {
            s.head_since = Some(Instant::now());
            drop(s);
            self.changed.notify_one();
        }
    }

    /// A request starts; it ends when the guard is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> Busy<K> {
        let mut s = lock(&self.state);
        s.busy += 1;
        s.head_since = None;
        Busy(self.clone())
    }

    /// Resolves when the connection must end: evicted, idle past `idle`, or a request head
    /// begun but not complete within `head`.
    pub(crate) async fn watch(&self, idle: Duration, head: Duration) -> Ended {
        loop {
            let deadline = {
                let s = lock(&self.state);
                if s.evicted {
                    return Ended::Evicted;
                }
                let now = Instant::now();
                match (s.busy, s.head_since) {
                    (0, Some(since)) if now >= since + head => return Ended::SlowHead,
                    (0, Some(since)) => Some(since + head),
                    (0, None) if now >= s.idle_since + idle => return Ended::Idle,
                    (0, None) => Some(s.idle_since + idle),
                    _ => None,
                }
            };
            match deadline {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }

    /// Resolves when the table drops this connection to make room.
    pub(crate) async fn evicted(&self) {
        loop {
            if lock(&self.state).evicted {
                return;
            }
            self.changed.notified().await;
        }
    }
}

/// A request in progress on a connection.
pub(crate) struct Busy<K>(Arc<Conn<K>>);

impl<K> Drop for Busy<K> {
    fn drop(&mut self) {
        let mut s = lock(&self.0.state);
        s.busy = s.busy.saturating_sub(1);
        if s.busy == 0 {
            s.idle_since = Instant::now();
            s.head_since = None;
        }
        drop(s);
        self.0.changed.notify_one();
    }
}

/// A stream whose reads tell its connection that bytes arrived.
pub(crate) struct Watched<IO, K> {
    io: IO,
    conn: Arc<Conn<K>>,
}

impl<IO, K> Watched<IO, K> {
    pub(crate) fn new(io: IO, conn: Arc<Conn<K>>) -> Self {
        Watched { io, conn }
    }
}

impl<IO: AsyncRead + Unpin, K> AsyncRead for Watched<IO, K> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn.on_read();
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin, K> AsyncWrite for Watched<IO, K> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_table_drops_the_longest_idle_and_never_a_busy_connection() {
        let table = Table::new(3, 2, false);
        let a = table.admit("a").unwrap().0;
        let _a_busy = a.conn().begin();
        let b = table.admit("b").unwrap().0;
        tokio::time::sleep(Duration::from_millis(2)).await;
        let c = table.admit("c").unwrap().0;
        let d = table.admit("d").unwrap().0;
        assert!(lock(&b.conn.state).evicted, "b waited longest");
        assert!(!lock(&c.conn.state).evicted && !lock(&a.conn.state).evicted);
        assert_eq!(table.len(), 3);
        let _c_busy = c.conn().begin();
        let _d_busy = d.conn().begin();
        assert!(table.admit("e").is_err(), "every connection is busy");
    }

    #[tokio::test]
    async fn a_key_at_its_cap_makes_room_only_among_its_own() {
        let table = Table::new(10, 2, false);
        let m1 = table.admit("m").unwrap().0;
        let other = table.admit("o").unwrap().0;
        let _m2 = table.admit("m").unwrap().0;
        let _m3 = table.admit("m").unwrap().0;
        assert!(lock(&m1.conn.state).evicted);
        assert!(!lock(&other.conn.state).evicted);
    }

    #[tokio::test]
    async fn handshakes_that_spoke_are_dropped_after_silent_ones() {
        let table = Table::new(2, 2, true);
        let honest = table.admit(()).unwrap().0;
        honest.conn.on_read();
        let silent = table.admit(()).unwrap().0;
        let _new = table.admit(()).unwrap().0;
        assert!(lock(&silent.conn.state).evicted);
        assert!(!lock(&honest.conn.state).evicted);
    }

    #[tokio::test]
    async fn idle_and_slow_heads_end_at_their_own_timeouts() {
        let (short, long) = (Duration::from_millis(100), Duration::from_secs(600));
        let table = Table::new(4, 4, false);
        let idle = table.admit(()).unwrap().0;
        assert_eq!(idle.conn.watch(short, long).await, Ended::Idle);

        let slow = table.admit(()).unwrap().0;
        slow.conn.on_read();
        assert_eq!(slow.conn.watch(long, short).await, Ended::SlowHead);

        let busy = table.admit(()).unwrap().0;
        let request = busy.conn.begin();
        let watching = busy.conn.watch(short, short);
        let mut watching = std::pin::pin!(watching);
        let during = tokio::time::timeout(Duration::from_millis(300), &mut watching).await;
        assert!(
            during.is_err(),
            "no timeout runs while a request is in progress"
        );
        drop(request);
        assert_eq!(watching.await, Ended::Idle);
    }
}
