//! The conformance suite: the ledger's behaviour — issuing, calling and the race between
//! counters, every stage of a case and the rules' refusals, whole-chain parts, appointments,
//! complaints, the daily close, verify and tampering, a retried write — asked through
//! `HallClient` alone, against the store chosen at run time by `BANGBAN_TEST_STORE`:
//!
//! - `sqlite` (the default): the ledger file, opened in this process (`LocalClient`);
//! - `served`: the same file behind `bangban serve`, over HTTP (`RemoteClient`);
//! - `postgres`: a hall of its own in a throwaway PostgreSQL cluster (`tests/cluster.rs`), opened
//!   in this process through the PostgreSQL store (`LocalClient` over `--store URL`).
//!
//! `./scripts/test` runs it both ways. A new store plugs in here, in `TestHall`: set a hall up
//! with the demo hall and its PINs and devices (`new`), open a client for a device
//! (`door`), and provide the two things only a store can do to itself — change an event's
//! bytes behind the ledger's back (`tamper_event`) and deliver one write twice with the same
//! request id (`issue_twice`). Nothing else in the suite knows which store it runs on.

mod behaviour;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bangban::access::DeviceRole;
use bangban::api::{HallClient, Issue, SignIn};
use bangban::clock::ManualClock;
use bangban::connect::Door;
use bangban::{Channel, LedgerOptions, Ticket};

use crate::support::{at, Served, TEST_PIN};

/// The suite's "now": a Thursday morning in the hall's time zone, the same for every store
/// (the server reads it from `BANGBAN_NOW`).
pub const NOW: &str = "2026-12-10T09:30:00+08:00";

/// The stores this build can run the suite on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Store {
    Sqlite,
    Served,
    Postgres,
}

/// The store `BANGBAN_TEST_STORE` names (sqlite when unset).
pub fn store() -> Store {
    match std::env::var("BANGBAN_TEST_STORE").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Store::Sqlite,
        Ok("served") => Store::Served,
        Ok("postgres") => Store::Postgres,
        Ok(other) => panic!("BANGBAN_TEST_STORE={other}: this build runs the suite on sqlite, served or postgres"),
    }
}

/// A demo hall on the store under test, with PINs and one device of each role.
pub struct TestHall {
    _dir: tempfile::TempDir,
    db: PathBuf,
    /// The hall's "now" (RFC 3339).
    now: String,
    server: Option<Served>,
    /// Device tokens by device name (kiosk-1, office-1, counter-12 …).
    tokens: HashMap<String, String>,
}

/// The specialists the suite signs in (the demo hall's).
const STAFF: &[&str] = &["S101", "S102", "S301", "S501", "S601", "S602", "S701", "S900"];

impl TestHall {
    pub fn new() -> TestHall {
        TestHall::at(NOW)
    }

    /// A hall whose clock stands at `now` (RFC 3339).
    pub fn at(now: &str) -> TestHall {
        let dir = tempfile::tempdir().unwrap();
        // A PostgreSQL hall is named by its URL wherever a ledger file's path would stand.
        let db = match store() {
            Store::Postgres => PathBuf::from(crate::cluster::new_hall_url()),
            _ => dir.path().join("ledger.sqlite3"),
        };
        let mut l = bangban::open_or_demo(&db, options(now), "test").unwrap();
        for s in STAFF {
            l.set_pin(s, TEST_PIN, "admin").unwrap();
        }
        // One device per counter PC, as in a hall: a device holds one specialist's session.
        let mut devices: Vec<(String, DeviceRole)> = vec![
            ("kiosk-1".into(), DeviceRole::Kiosk),
            ("office-1".into(), DeviceRole::Office),
            ("admin-1".into(), DeviceRole::Admin),
            ("board-1".into(), DeviceRole::Board),
        ];
        let hall = l.hall().unwrap();
        devices.extend(
            hall.all_windows()
                .into_iter()
                .map(|w| (format!("counter-{w}"), DeviceRole::Counter)),
        );
        let mut tokens = HashMap::new();
        for (name, role) in devices {
            let token = l.add_device(&name, role, "admin").unwrap();
            tokens.insert(name, token);
        }
        drop(l);
        let server = match store() {
            Store::Sqlite | Store::Postgres => None,
            Store::Served => Some(Served::start_at(&db, now)),
        };
        TestHall {
            _dir: dir,
            db,
            now: now.to_string(),
            server,
            tokens,
        }
    }

    /// A client for the device named `device` (kiosk-1, office-1, admin-1, board-1,
    /// counter-W for each window W).
    pub fn door(&self, device: &str) -> Box<dyn HallClient> {
        let door = match &self.server {
            None => Door::File {
                path: self.db.clone(),
                opts: options(&self.now),
                actor: device.to_string(),
                demo: false,
            },
            Some(served) => Door::Server {
                url: served.url.clone(),
                token: self.tokens[device].clone(),
                ca: None,
            },
        };
        bangban::connect::connect(door).unwrap()
    }

    pub fn kiosk(&self) -> Box<dyn HallClient> {
        self.door("kiosk-1")
    }

    /// A counter with `staff` signed in at `window`.
    pub fn counter(&self, staff: &str, window: u32) -> Box<dyn HallClient> {
        let mut c = self.door(&format!("counter-{window}"));
        c.sign_in(&SignIn {
            staff: staff.into(),
            pin: TEST_PIN.into(),
            window,
        })
        .unwrap_or_else(|e| panic!("{staff} signs in at window {window}: {e}"));
        c
    }

    /// The management office's desk, its specialist (S900, window 21) signed in.
    pub fn office(&self) -> Box<dyn HallClient> {
        let mut c = self.door("office-1");
        c.sign_in(&SignIn {
            staff: "S900".into(),
            pin: TEST_PIN.into(),
            window: 21,
        })
        .unwrap();
        c
    }

    /// Change event `seq`'s payload behind the ledger's back, as someone with the store's own
    /// tools would (a SQLite shell on the file, whichever door the suite uses).
    pub fn tamper_event(&self, seq: i64, from: &str, to: &str) {
        if store() == Store::Postgres {
            let at = bangban::ledger::PgAt::parse(self.db.to_str().unwrap()).unwrap();
            let mut c = postgres::Client::connect(&at.url, postgres::NoTls).unwrap();
            c.batch_execute("ALTER TABLE events DISABLE TRIGGER events_no_update")
                .unwrap();
            let n = c
                .execute(
                    "UPDATE events SET payload = replace(payload, $3, $4) WHERE hall = $1 AND seq = $2",
                    &[&at.hall.unwrap(), &seq, &from, &to],
                )
                .unwrap();
            c.batch_execute("ALTER TABLE events ENABLE TRIGGER events_no_update")
                .unwrap();
            assert_eq!(n, 1, "event {seq} exists");
            return;
        }
        let c = rusqlite::Connection::open(&self.db).unwrap();
        c.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
            .unwrap();
        let n = c
            .execute(
                "UPDATE events SET payload = replace(payload, ?2, ?3) WHERE seq = ?1",
                rusqlite::params![seq, from, to],
            )
            .unwrap();
        assert_eq!(n, 1, "event {seq} exists");
    }

    /// One ticket asked for twice with the same request id, as a kiosk whose answer was lost
    /// on the way asks again.
    pub fn issue_twice(&self, item: &str, request_id: &str) -> (Ticket, Ticket) {
        let req = Issue {
            item: item.into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        };
        match &self.server {
            None => {
                // In one process there is no network to lose an answer, but the store keeps
                // the request ids all the same: the library's `once` is what the server runs.
                let mut l = bangban::open_existing(&self.db, options(&self.now)).unwrap();
                let mut once = || {
                    bangban::ops::once(
                        &mut l,
                        Some(request_id.to_string()),
                        "kiosk-1",
                        &bangban::ops::request_body_hash(&req),
                        "issue",
                        |l| {
                            l.issue(&bangban::IssueRequest {
                                item: req.item.clone(),
                                priority: None,
                                mode: None,
                                channel: Channel::Kiosk,
                                actor: "kiosk-1".into(),
                            })
                        },
                        bangban::ops::ticket_of_event,
                    )
                    .unwrap()
                };
                (once(), once())
            }
            Some(served) => {
                let once = || -> Ticket {
                    ureq::post(&format!("{}/api/v1/issue", served.url))
                        .set("Authorization", &format!("Bearer {}", self.tokens["kiosk-1"]))
                        .set(bangban::remote::REQUEST_ID_HEADER, request_id)
                        .send_json(serde_json::to_value(&req).unwrap())
                        .unwrap()
                        .into_json()
                        .unwrap()
                };
                (once(), once())
            }
        }
    }
}

/// The in-process store's options: the clock pinned at `now`.
fn options(now: &str) -> LedgerOptions {
    LedgerOptions {
        clock: Arc::new(ManualClock::new(at(now))),
        ..LedgerOptions::default()
    }
}
