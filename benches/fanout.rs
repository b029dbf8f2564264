//! The floor under call → board: what this machine's loopback TCP costs to deliver one
//! board's frame to N sockets with no server at all (no HTTP, no runtime, no ledger), written
//! from one thread and from two, read by one epoll loop as `bangban loadtest` reads its boards.
//! Prints a table; `bangban loadtest --boards N` gives the server's own figure beside it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Rounds per row: each round writes one frame to every socket.
const ROUNDS: usize = 200;

/// A call as a board's stream carries it (`event: call`, its id, the call's JSON), the size
/// the server writes to every board.
fn call_frame() -> Vec<u8> {
    let json = r#"{"seq":123456,"number":"A012","department":"A","department_name":"市场监督管理局","window":"3","window_name":"3号窗口","staff_name":"许喆","priority":"elderly","recall":false,"announcement":"请A012号到3号窗口办理","at":"2026-12-07T10:15:02+08:00"}"#;
    format!("event: call\nid: 123456\ndata: {json}\n\n").into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `n` connected loopback pairs: the server's ends (blocking, for writing) and the boards'
/// ends (non-blocking, registered on one epoll descriptor).
struct Pairs {
    servers: Vec<TcpStream>,
    boards: Vec<TcpStream>,
    ep: i32,
}

impl Pairs {
    fn open(n: usize) -> std::io::Result<Pairs> {
        let l = TcpListener::bind("127.0.0.1:0")?;
        let addr = l.local_addr()?;
        // SAFETY: epoll_create1 takes no pointers; closed on drop.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut p = Pairs {
            servers: Vec::with_capacity(n),
            boards: Vec::with_capacity(n),
            ep,
        };
        for i in 0..n {
            let b = TcpStream::connect(addr)?;
            let (s, _) = l.accept()?;
            b.set_nodelay(true)?;
            b.set_nonblocking(true)?;
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: i as u64,
            };
            // SAFETY: `ev` lives across the call; both descriptors are open.
            if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, b.as_raw_fd(), &mut ev) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            p.servers.push(s);
            p.boards.push(b);
        }
        Ok(p)
    }

    /// One round per `ROUNDS`: the frame written to every socket from `writers` threads while
    /// this thread reads them as the loadtest does (one `read` per ready socket, a 0.2 ms
    /// pause when few were ready). Returns, per round, the time from the first write to the
    /// first and to the last board's read.
    fn rounds(&mut self, writers: usize, frame: &[u8]) -> std::io::Result<Vec<(Duration, Duration)>> {
        let n = self.boards.len();
        let mut out = Vec::with_capacity(ROUNDS);
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
        let mut buf = vec![0u8; 64 * 1024];
        for _ in 0..ROUNDS {
            // A quiet moment between calls, as in a hall.
            std::thread::sleep(Duration::from_millis(20));
            let chunk = n.div_ceil(writers);
            let t0 = Instant::now();
            let (first, last) = std::thread::scope(|sc| -> std::io::Result<(Duration, Duration)> {
                let handles: Vec<_> = self
                    .servers
                    .chunks_mut(chunk)
                    .map(|part| sc.spawn(move || part.iter_mut().try_for_each(|s| s.write_all(frame))))
                    .collect();
                let mut got = 0;
                let mut first = None;
                while got < n {
                    // SAFETY: `events` has room for the count passed.
                    let k = unsafe { libc::epoll_wait(self.ep, events.as_mut_ptr(), events.len() as i32, 1000) };
                    if k < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    for ev in &events[..k as usize] {
                        match (&self.boards[ev.u64 as usize]).read(&mut buf) {
                            Ok(0) => return Err(std::io::Error::other("a board's socket closed")),
                            Ok(_) => got += 1,
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                            Err(e) => return Err(e),
                        }
                    }
                    if k > 0 && first.is_none() {
                        first = Some(t0.elapsed());
                    }
                    if (k as usize) < 64 {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
                let last = t0.elapsed();
                for h in handles {
                    h.join().map_err(|_| std::io::Error::other("a writer panicked"))??;
                }
                Ok((first.unwrap_or(last), last))
            })?;
            out.push((first, last));
        }
        Ok(out)
    }
}

impl Drop for Pairs {
    fn drop(&mut self) {
        // SAFETY: `ep` is ours and closed once.
        unsafe { libc::close(self.ep) };
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Two descriptors per board.
    bangban::limits::raise_open_files()?;
    let sizes: Vec<usize> = std::env::var("BANGBAN_FANOUT_SIZES")
        .unwrap_or_else(|_| "1,100,1000".into())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let frame = call_frame();
    println!(
        "fan-out floor: one {}-byte call frame to N loopback sockets, no server, {ROUNDS} rounds",
        frame.len()
    );
    println!(
        "{:<8} {:>8} {:>14} {:>14} {:>14} {:>14}",
        "sockets", "writers", "first p50 ms", "last p50 ms", "last p99 ms", "µs / socket"
    );
    for &n in &sizes {
        let mut pairs = Pairs::open(n)?;
        for writers in [1usize, 2] {
            if writers > n {
                continue;
            }
            let r = pairs.rounds(writers, &frame)?;
            let mut first: Vec<Duration> = r.iter().map(|x| x.0).collect();
            let mut last: Vec<Duration> = r.iter().map(|x| x.1).collect();
            first.sort();
            last.sort();
            let p50 = percentile(&last, 0.50);
            println!(
                "{n:<8} {writers:>8} {:>14.2} {:>14.2} {:>14.2} {:>14.1}",
                ms(percentile(&first, 0.50)),
                ms(p50),
                ms(percentile(&last, 0.99)),
                p50.as_secs_f64() * 1e6 / n as f64 * writers as f64
            );
        }
    }
    Ok(())
}
