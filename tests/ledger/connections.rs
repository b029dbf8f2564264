//! `bangban serve` against sockets that misbehave: thousands held open doing nothing, a
//! client that sends its headers a byte at a time, a request left half-sent at shutdown.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bangban::api::{HallClient, Issue};
use bangban::remote::RemoteClient;
use bangban::Channel;

use crate::support::*;

/// Lift this test process's open-files limit to its hard limit, which must allow `need`.
fn allow_open_files(need: u64) {
    let files = bangban::limits::raise_open_files().unwrap();
    assert!(
        files >= need,
        "this machine allows {files} open files per process; the test needs {need}"
    );
}

/// A connection to `server` from the loopback address `source`: the sockets that sit idle
/// come from other machines than the kiosk, as they would on a hall's LAN.
fn connect_from(source: [u8; 4], server: SocketAddr) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(v4) = server else {
        panic!("an IPv4 server address: {server}")
    };
    let sockaddr = |ip: [u8; 4], port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: the descriptor is checked, then owned by the TcpStream (closed on drop); the
    // address structs live across the calls that read them.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let from = sockaddr(source, 0);
        if libc::bind(fd, &from as *const _ as *const libc::sockaddr, len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let to = sockaddr(v4.ip().octets(), v4.port());
        if libc::connect(fd, &to as *const _ as *const libc::sockaddr, len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

fn server_addr(s: &Served) -> SocketAddr {
    s.url.trim_start_matches("http://").parse().unwrap()
}

/// A client that sends a request's headers one byte every half second and never finishes,
/// until the server closes on it. Returns when that happened (None: still open when `stop`).
fn slowloris(server: SocketAddr, stop: Arc<AtomicBool>) -> thread::JoinHandle<Option<Instant>> {
    thread::spawn(move || {
        let mut s = connect_from([127, 0, 0, 9], server).unwrap();
        let head = b"GET /healthz HTTP/1.1\r\nHost: hall\r\nX-Slow: ";
        s.write_all(head).unwrap();
        while !stop.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(500));
            if s.write_all(b"a").is_err() {
                return Some(Instant::now());
            }
            // A closed connection reads its end at once.
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 64];
            let closed = matches!(s.read(&mut b), Ok(0));
            s.set_nonblocking(false).unwrap();
            if closed {
                return Some(Instant::now());
            }
        }
        None
    })
}

fn issue_once(kiosk: &mut RemoteClient) -> String {
    kiosk
        .issue(&Issue {
            item: "A01".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        })
        .unwrap()
        .number
}

#[test]
fn five_thousand_idle_sockets_and_a_slowloris_do_not_keep_a_kiosk_out() {
    allow_open_files(6_000);
    let t = demo_ledger();
    let token = enrol(&t.db, "kiosk-1", "kiosk");
    // systemd's default limit: before, the server stopped accepting at its 1,024th descriptor
    // and every kiosk's issue timed out while the idle sockets stayed open.
    let s = Served::start_with_open_files(&t.db, 1024);
    let addr = server_addr(&s);
    let stop = Arc::new(AtomicBool::new(false));
    let slow = slowloris(addr, stop.clone());
    // Five machines, a thousand sockets each, that connect and send nothing.
    let mut idle = Vec::with_capacity(5_000);
    for i in 0..5_000u32 {
        idle.push(connect_from([127, 0, 0, 2 + (i % 5) as u8], addr).expect("connect an idle socket"));
    }
    let mut kiosk = RemoteClient::new(&s.url, &token).unwrap();
    let mut slowest = Duration::ZERO;
    for n in 1..=50 {
        let t0 = Instant::now();
        let number = issue_once(&mut kiosk);
        slowest = slowest.max(t0.elapsed());
        assert_eq!(number, format!("A{n:03}"));
    }
    assert!(
        slowest < Duration::from_secs(1),
        "the slowest of 50 tickets took {slowest:?} with 5,000 idle sockets open"
    );
    stop.store(true, Ordering::Relaxed);
    slow.join().unwrap();
    drop(idle);
}

#[test]
fn a_slowloris_and_an_idle_socket_are_closed_after_the_header_timeout() {
    let t = demo_ledger();
    let token = enrol(&t.db, "kiosk-1", "kiosk");
    let s = Served::start(&t.db);
    let addr = server_addr(&s);
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let slow = slowloris(addr, stop.clone());
    let mut idle = connect_from([127, 0, 0, 3], addr).unwrap();
    idle.set_read_timeout(Some(bangban_server::HEADER_TIMEOUT + Duration::from_secs(5)))
        .unwrap();
    let mut b = [0u8; 16];
    let n = idle
        .read(&mut b)
        .expect("the server closes an idle socket instead of keeping it");
    assert_eq!(n, 0, "the server sent nothing and closed");
    let waited = started.elapsed();
    assert!(
        waited >= bangban_server::HEADER_TIMEOUT - Duration::from_secs(1),
        "closed too early: {waited:?}"
    );
    let watchdog = {
        let stop = stop.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_secs(5));
            stop.store(true, Ordering::Relaxed);
        })
    };
    let closed = slow
        .join()
        .unwrap()
        .expect("the slowloris was closed within the header timeout and 5 s");
    assert!(closed.duration_since(started) < bangban_server::HEADER_TIMEOUT + Duration::from_secs(5));
    watchdog.join().unwrap();
    // The server still serves.
    let mut kiosk = RemoteClient::new(&s.url, &token).unwrap();
    assert_eq!(issue_once(&mut kiosk), "A001");
}

#[test]
fn sigterm_with_a_half_sent_request_stops_within_five_seconds_and_leaves_no_wal() {
    let t = demo_ledger();
    let token = enrol(&t.db, "kiosk-1", "kiosk");
    let mut s = Served::start(&t.db);
    let addr = server_addr(&s);
    let mut kiosk = RemoteClient::new(&s.url, &token).unwrap();
    assert_eq!(issue_once(&mut kiosk), "A001");
    // Headers in full, a body promised and only begun: the request is in the server's hands.
    let mut half = TcpStream::connect(addr).unwrap();
    write!(
        half,
        "POST /api/v1/issue HTTP/1.1\r\nHost: hall\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"item\": "
    )
    .unwrap();
    // And one whose headers stop midway.
    let mut head_only = TcpStream::connect(addr).unwrap();
    head_only.write_all(b"GET /api/v1/hall HTTP/1.1\r\nHost: ha").unwrap();
    thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    let status = s.stop();
    let took = t0.elapsed();
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");
    let wal = t.db.with_file_name("ledger.sqlite3-wal");
    assert!(!wal.exists(), "a stale -wal file was left behind");
    let v = cli(&t.db, &["verify"]);
    assert!(v.status.success(), "{}", stderr(&v));
    // Nothing of the half-sent ticket was written.
    let conn = rusqlite::Connection::open(&t.db).unwrap();
    let issued: i64 = conn
        .query_row("SELECT count(*) FROM events WHERE kind = 'case_issued'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(issued, 1, "only the whole request became a ticket");
    drop((half, head_only));
}

#[test]
fn sigterm_right_after_the_server_says_it_listens_stops_it_cleanly() {
    // systemd may stop a server the moment it started; the signal must find the server's
    // handler already there, not end the process before the ledger is closed.
    // Before the fix, one quick stop in four left the `-wal` (a reader closed last).
    let l = demo_ledger();
    for _ in 0..12 {
        let mut served = Served::start(&l.db);
        let status = served.stop();
        assert!(status.success(), "{status:?}");
        let wal =
            l.db.with_file_name(format!("{}-wal", l.db.file_name().unwrap().to_string_lossy()));
        assert!(
            !wal.exists(),
            "no -wal is left: {:?}",
            std::fs::read_dir(l.dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>()
        );
    }
}
