//! The server's door to the network: accepting connections within limits, closing those
//! that send too slowly or nothing at all, and ending every connection on shutdown.
//!
//! A hall's LAN has a few hundred devices, but one misbehaving PC (or a scanner on the
//! network) can open thousands of sockets and send nothing. Each such socket costs a file
//! descriptor and a little memory, and when the process runs out of descriptors the kiosks'
//! next connections cannot be accepted. So: a request's headers must arrive within
//! `HEADER_TIMEOUT` (which also closes a keep-alive connection idle that long), its body
//! within `BODY_TIMEOUT`; at most `MAX_PER_ADDRESS` connections per address and a total
//! below the descriptor limit; and when a cap is reached, the oldest connection with nothing
//! in flight makes room, so sockets that only sit there can never keep a kiosk out. A
//! connection with a request in flight or a stream open (a board) is never the one closed.
//! With TLS, the handshake happens here too, under the same deadline as a request's headers.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to send a request's headers, and how long a keep-alive
/// connection may sit idle between requests (clients reconnect transparently).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body once its headers arrived.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections at once from one address. Above a big hall's busiest device: the loadtest
/// runs 2,000 boards and 650 counter connections from one host.
pub const MAX_PER_ADDRESS: usize = 4_000;
/// Connections at once in all (less when the open-files limit is lower, see `total_cap`).
pub const MAX_CONNECTIONS: usize = 16_000;
/// Descriptors kept back from connections: the ledger's files, backups, the log.
const RESERVED_FDS: usize = 256;
/// How long shutdown waits for requests in flight before it cuts their connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// What the door knows about one open connection.
struct Entry {
    addr: IpAddr,
    opened: Instant,
    /// Requests in flight on it, counting a response still being sent (a stream).
    busy: Arc<AtomicUsize>,
    /// Told when the connection must make room for a newer one.
    evict: Arc<Notify>,
}

/// Every open connection, by id, and how many each address holds.
#[derive(Default)]
struct Registry {
    next: u64,
    conns: HashMap<u64, Entry>,
    per_addr: HashMap<IpAddr, usize>,
}

/// A connection let in: its id, its in-flight count and its eviction notice.
struct Admitted {
    id: u64,
    busy: Arc<AtomicUsize>,
    evict: Arc<Notify>,
}

impl Registry {
    /// Let a connection from `addr` in. When its address or the server is at its cap, the
    /// oldest idle connection (of that address, or of any) is told to close first; None when
    /// none is idle, and the newcomer is turned away.
    fn admit(&mut self, addr: IpAddr, total_cap: usize) -> Option<Admitted> {
        if self.per_addr.get(&addr).copied().unwrap_or(0) >= MAX_PER_ADDRESS {
            if !self.evict_oldest_idle(Some(addr)) {
                return None;
            }
        } else if self.conns.len() >= total_cap && !self.evict_oldest_idle(None) {
            return None;
        }
        self.next += 1;
        let id = self.next;
        let busy = Arc::new(AtomicUsize::new(0));
        let evict = Arc::new(Notify::new());
        self.conns.insert(
            id,
            Entry {
                addr,
                opened: Instant::now(),
                busy: busy.clone(),
                evict: evict.clone(),
            },
        );
        *self.per_addr.entry(addr).or_insert(0) += 1;
        Some(Admitted { id, busy, evict })
    }

    /// Close the oldest connection with nothing in flight (of `of` only, when given). False
    /// when there is none.
    fn evict_oldest_idle(&mut self, of: Option<IpAddr>) -> bool {
        let victim = self
            .conns
            .iter()
            .filter(|(_, e)| e.busy.load(Ordering::Acquire) == 0 && of.is_none_or(|a| a == e.addr))
            .min_by_key(|(_, e)| e.opened)
            .map(|(id, _)| *id);
        match victim {
            Some(id) => {
                if let Some(e) = self.leave(id) {
                    e.evict.notify_one();
                }
                true
            }
            None => false,
        }
    }

    /// Forget a connection (it closed, or was told to); its entry when it was still here.
    fn leave(&mut self, id: u64) -> Option<Entry> {
        let e = self.conns.remove(&id)?;
        if let Some(n) = self.per_addr.get_mut(&e.addr) {
            *n -= 1;
            if *n == 0 {
                self.per_addr.remove(&e.addr);
            }
        }
        Some(e)
    }
}

/// How many connections this process can hold with `files` open files: `MAX_CONNECTIONS`, or
/// fewer when the limit leaves less room.
fn total_cap(files: u64) -> usize {
    let files = usize::try_from(files).unwrap_or(usize::MAX);
    MAX_CONNECTIONS.min(files.saturating_sub(RESERVED_FDS)).max(16)
}

/// Serve `router` on `listener` with `files` open files allowed until `shutdown` completes;
/// then stop accepting, let requests in flight finish for up to `SHUTDOWN_GRACE` (streams end
/// when the server's own stopping signal goes out), and cut whatever is left.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    files: u64,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let registry = Arc::new(Mutex::new(Registry::default()));
    let cap = total_cap(files);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut warned: Option<Instant> = None;
    let mut warn = |what: String| {
        // One line a minute: a flood must not fill the journal.
        if warned.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            tracing::warn!("{what}");
            warned = Some(Instant::now());
        }
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let admitted = registry.lock().unwrap_or_else(|p| p.into_inner()).admit(peer.ip(), cap);
                    let Some(a) = admitted else {
                        warn(format!(
                            "turned a connection from {} away: {} connections open, every one busy",
                            peer.ip(),
                            cap
                        ));
                        continue;
                    };
                    let (router, registry, mut stop) = (router.clone(), registry.clone(), stop_rx.clone());
                    let tls = tls.clone();
                    tasks.spawn(async move {
                        // Answers and stream events are small and each is written whole:
                        // waiting to coalesce them only delays them.
                        let _ = stream.set_nodelay(true);
                        match tls {
                            None => connection(stream, peer, router, a.busy, a.evict, stop).await,
                            Some(acceptor) => {
                                // The handshake is held to the headers' deadline: a client that
                                // opens a socket and sends half a hello is a slowloris too.
                                let shaken = tokio::select! {
                                    r = tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)) => match r {
                                        Ok(Ok(s)) => Some(s),
                                        Ok(Err(e)) => {
                                            tracing::debug!("tls handshake with {peer} failed: {e}");
                                            None
                                        }
                                        Err(_) => {
                                            tracing::debug!("tls handshake with {peer} timed out");
                                            None
                                        }
                                    },
                                    _ = a.evict.notified() => None,
                                    _ = stop.changed() => None,
                                };
                                if let Some(s) = shaken {
                                    connection(s, peer, router, a.busy, a.evict, stop).await;
                                }
                            }
                        }
                        registry.lock().unwrap_or_else(|p| p.into_inner()).leave(a.id);
                    });
                }
                Err(e) => {
                    // Out of descriptors: make room by closing the oldest idle connection. Any
                    // other error (a connection reset before it was taken) closes nothing. A
                    // breath either way, so a persistent error does not spin.
                    let out_of_files = matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE));
                    let freed = out_of_files
                        && registry.lock().unwrap_or_else(|p| p.into_inner()).evict_oldest_idle(None);
                    warn(format!("cannot accept a connection: {e} (an idle one closed to make room: {freed})"));
                    tokio::time::sleep(Duration::from_millis(if freed { 1 } else { 50 })).await;
                }
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let grace = tokio::time::sleep(SHUTDOWN_GRACE);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            _ = &mut grace => {
                tracing::warn!(
                    "stopping: {} connections still open after {} s are cut",
                    tasks.len(),
                    SHUTDOWN_GRACE.as_secs()
                );
                tasks.shutdown().await;
                break;
            }
        }
    }
}

/// One connection, until the client closes it, a timeout does, it is evicted, or the
/// server stops (then the request in flight finishes and the connection closes).
async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    busy: Arc<AtomicUsize>,
    evict: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let mut router = router.clone();
        let guard = Busy::enter(&busy);
        req.extensions_mut().insert(ConnectInfo(peer));
        let req = req.map(|b| Body::new(Timed::new(b, BODY_TIMEOUT)));
        async move {
            let response = tower_service::Service::call(&mut router, req).await?;
            Ok::<_, std::convert::Infallible>(response.map(|b| Body::new(Held { inner: b, _busy: guard })))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut draining = *stop.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!("connection from {peer} ended: {e}");
                }
                return;
            }
            _ = evict.notified() => {
                tracing::debug!("connection from {peer} closed to make room");
                return;
            }
            _ = stop.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// One request in flight on a connection, until its response has been sent (or dropped).
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(count: &Arc<AtomicUsize>) -> Busy {
        count.fetch_add(1, Ordering::AcqRel);
        Busy(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its connection counted busy until it has been sent.
struct Held {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for Held {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that must arrive within its deadline: a client that sends a few bytes a
/// minute would otherwise hold its handler (and a request's share of the server) forever.
struct Timed {
    inner: Incoming,
    deadline: tokio::time::Instant,
    /// Started at the first read: most requests (GETs) never read a body.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Timed {
    fn new(inner: Incoming, within: Duration) -> Timed {
        Timed {
            inner,
            deadline: tokio::time::Instant::now() + within,
            sleep: None,
        }
    }
}

impl http_body::Body for Timed {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(format!(
                "the request's body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            )
            .into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room_and_busy_ones_stay() {
        let mut r = Registry::default();
        let first = r.admit(ip(1), 3).unwrap();
        let second = r.admit(ip(2), 3).unwrap();
        let _third = r.admit(ip(3), 3).unwrap();
        // The oldest is busy (a board's stream): the second oldest goes.
        first.busy.fetch_add(1, Ordering::AcqRel);
        let fourth = r.admit(ip(4), 3);
        assert!(fourth.is_some(), "a newcomer gets in while an idle connection can go");
        assert!(
            r.conns.contains_key(&first.id),
            "a busy connection is never closed to make room"
        );
        assert!(!r.conns.contains_key(&second.id), "the oldest idle one made room");
        assert_eq!(r.conns.len(), 3);
    }

    #[test]
    fn when_every_connection_is_busy_the_newcomer_is_turned_away() {
        let mut r = Registry::default();
        let a = r.admit(ip(1), 2).unwrap();
        let b = r.admit(ip(2), 2).unwrap();
        a.busy.fetch_add(1, Ordering::AcqRel);
        b.busy.fetch_add(1, Ordering::AcqRel);
        assert!(r.admit(ip(3), 2).is_none());
        assert_eq!(r.conns.len(), 2);
    }

    #[test]
    fn an_address_at_its_cap_makes_room_from_its_own_connections_only() {
        let mut r = Registry::default();
        let other = r.admit(ip(9), usize::MAX).unwrap();
        let mine: Vec<Admitted> = (0..MAX_PER_ADDRESS)
            .map(|_| r.admit(ip(1), usize::MAX).unwrap())
            .collect();
        assert!(r.admit(ip(1), usize::MAX).is_some());
        assert!(
            r.conns.contains_key(&other.id),
            "another address's idle connection stays"
        );
        assert!(!r.conns.contains_key(&mine[0].id), "the address's own oldest went");
        assert_eq!(r.per_addr[&ip(1)], MAX_PER_ADDRESS);
    }
}
