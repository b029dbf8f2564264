//! A year of history: the hot paths on an empty ledger and on ledgers with 250,000 and
//! 1,000,000 cases of past days, built through the library (a realistic item mix, priority
//! visitors, calls, recalls and no-shows, transfers, consultations, four-stage cases, and
//! whole-chain cases whose parts each department claims and works before the lead delivers;
//! about seven events a case). Prints one table: the board's recent calls, the first call of the
//! day, issue and call, the console's alerts, the busy day's report (台账) and one period report
//! over the whole history, the opening rush (a kiosk every 200 ms and nine first calls at
//! once, each program on its own connection), verify (time and peak memory, in a child
//! process), a backup and a stream of period reports each beside a kiosk issuing, the
//! 20-counter storm, and the file size per case.
//!
//! While a ledger is built, a thread samples its write-ahead log every 100 ms; the peak is
//! printed (`history: write-ahead log peak while building N: X MB`) and kept beside the cached
//! ledger; a ledger whose build took the log past 256 MB (the library's bound) fails the
//! bench after the table, also when reused from the cache.
//!
//! Built ledgers are kept in `target/history/` and reused (delete the folder to rebuild);
//! measurements run on a copy. `BANGBAN_HISTORY_SIZES=0,250000` picks the sizes.
//!
//! `BANGBAN_HISTORY_STORE=postgres://…` measures on PostgreSQL instead: each built ledger is
//! moved into the database with `bangban migrate`'s copy (as a hall of its own, timed) and the
//! same operations run there; the built ledgers stay SQLite files in the cache.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use bangban::clock::ManualClock;
use bangban::model::PartState;
use bangban::{CallRequest, Case, CaseAction, Channel, Hall, IssueRequest, Ledger, LedgerError, LedgerOptions};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Cases a past day gets: a mid-sized hall.
const PER_DAY: usize = 4_000;
/// Bump when the generator changes, so cached ledgers are rebuilt.
const GENERATOR: u32 = 5;
/// The write-ahead log's bound (the library's `db::WAL_CAP`): building a history, millions
/// of small commits without a pause, must not take the log past it.
const WAL_BOUND: u64 = 256 << 20;
/// The first business day of the synthetic history.
const FIRST_DAY: (i32, u32, u32) = (2025, 1, 6);

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Res<()> {
    if let Ok(db) = std::env::var("BANGBAN_HISTORY_VERIFY") {
        return verify_child(Path::new(&db));
    }
    let sizes: Vec<usize> = std::env::var("BANGBAN_HISTORY_SIZES")
        .unwrap_or_else(|_| "0,250000,1000000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("BANGBAN_HISTORY_SIZES: numbers separated by commas")
        })
        .collect();
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/history");
    std::fs::create_dir_all(&cache)?;
    // Build (or find) every ledger first, so building never runs beside a measurement.
    let built: Vec<(PathBuf, Option<u64>)> = sizes.iter().map(|&n| built_ledger(&cache, n)).collect::<Res<_>>()?;
    let mut columns = Vec::new();
    for (&n, (path, _)) in sizes.iter().zip(&built) {
        columns.push((n, measure(path, n)?));
    }
    print_table(&columns);
    // The library bounds the write-ahead log; a ledger whose build went past the bound (now or
    // when it was cached) fails the bench, after the table; the ledger stays in the cache, so
    // delete it to prove the bound again.
    let over: Vec<String> = sizes
        .iter()
        .zip(&built)
        .filter_map(|(n, (_, peak))| peak.filter(|p| *p > WAL_BOUND).map(|p| format!("{n} ({} MB)", mb(p))))
        .collect();
    if !over.is_empty() {
        return Err(format!(
            "the write-ahead log went past its {} MB bound while building: {} (cached in {}: delete to rebuild)",
            mb(WAL_BOUND),
            over.join(", "),
            cache.display()
        )
        .into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Building the history.

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    // 08:30 in Asia/Shanghai (UTC+8), the hall's opening.
    Utc.from_utc_datetime(&day.and_hms_opt(0, 30, 0).unwrap())
}

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).unwrap()
}

/// The demo hall: ten departments, 21 windows, priority classes.
fn hall() -> Hall {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-hall.toml"))
        .expect("examples/demo-hall.toml");
    Hall::from_toml(&text, "demo-hall.toml").expect("the demo hall parses")
}

fn staff_of(hall: &Hall, dept: &str) -> String {
    hall.specialists
        .iter()
        .find(|s| s.department == dept)
        .map(|s| s.staff_id.clone())
        .expect("every department has specialists")
}

fn first_window(hall: &Hall, dept: &str) -> u32 {
    hall.department(dept).map(|d| d.windows[0]).unwrap()
}

/// One past day: `n` cases through their whole lives.
fn play_day(l: &mut Ledger, clock: &ManualClock, hall: &Hall, rng: &mut StdRng, day: NaiveDate, n: usize) -> Res<()> {
    let start = day_start(day);
    let span = 8 * 3600 * 1000 / n.max(1) as i64;
    // Earlier items of a department are the common ones: weight them.
    let weights: Vec<f64> = hall
        .items
        .iter()
        .enumerate()
        .map(|(i, _)| 1.0 / (1 + i % 5) as f64)
        .collect();
    let total: f64 = weights.iter().sum();
    for i in 0..n {
        clock.set(start + chrono::Duration::milliseconds(span * i as i64));
        let mut pick = rng.random::<f64>() * total;
        let item = hall
            .items
            .iter()
            .zip(&weights)
            .find(|(_, w)| {
                pick -= **w;
                pick <= 0.0
            })
            .map(|(i, _)| i)
            .unwrap_or(&hall.items[0]);
        let priority = rng.random_bool(0.2).then(|| {
            hall.priority_classes[rng.random_range(0..hall.priority_classes.len())]
                .code
                .clone()
        });
        let t = l.issue(&IssueRequest {
            item: item.code.clone(),
            priority,
            mode: None,
            channel: if rng.random_bool(0.9) {
                Channel::Kiosk
            } else {
                Channel::Counter
            },
            actor: "kiosk-1".into(),
        })?;
        let staff = staff_of(hall, &item.department);
        let window = item.window;
        clock.advance(chrono::Duration::seconds(rng.random_range(60..900)));
        l.call(&CallRequest {
            window,
            staff: staff.clone(),
            number: Some(t.number.clone()),
        })?;
        let consult = || CaseAction::Consult {
            question: "需要带哪些材料".into(),
            answer: Some("已按一次性告知单说明".into()),
            resolved: true,
        };
        let (r, missing, in_person): (f64, bool, bool) = (rng.random(), rng.random_bool(0.3), rng.random_bool(0.7));
        let step = rng.random_range(30..400);
        let act = |l: &mut Ledger, window: u32, staff: &str, a: CaseAction| -> Res<Case> {
            clock.advance(chrono::Duration::seconds(step));
            Ok(l.act(&t.number, window, staff, &a)?)
        };
        if r < 0.05 {
            act(l, window, &staff, CaseAction::Recall)?;
            act(l, window, &staff, CaseAction::NoShow)?;
        } else if r < 0.08 {
            let to = &hall.departments[(hall.departments.iter().position(|d| d.code == item.department).unwrap() + 1)
                % hall.departments.len()];
            act(l, window, &staff, CaseAction::Start)?;
            act(
                l,
                window,
                &staff,
                CaseAction::Transfer {
                    department: to.code.clone(),
                    window: None,
                    note: Some("需到下一部门办理".into()),
                },
            )?;
            let (w2, s2) = (first_window(hall, &to.code), staff_of(hall, &to.code));
            l.call(&CallRequest {
                window: w2,
                staff: s2.clone(),
                number: Some(t.number.clone()),
            })?;
            act(l, w2, &s2, CaseAction::Start)?;
            act(l, w2, &s2, consult())?;
            act(l, w2, &s2, CaseAction::archive("资料一套（档案盒）", "档案室 刘芳"))?;
        } else if r < 0.60 {
            act(l, window, &staff, CaseAction::Start)?;
            act(l, window, &staff, consult())?;
            act(
                l,
                window,
                &staff,
                CaseAction::archive("资料一套（档案盒）", "档案室 刘芳"),
            )?;
        } else if r < 0.90 && !item.materials.is_empty() {
            act(l, window, &staff, CaseAction::Start)?;
            if missing {
                act(
                    l,
                    window,
                    &staff,
                    CaseAction::NotifyMissing {
                        missing: vec![item.materials[0].clone()],
                    },
                )?;
                act(l, window, &staff, CaseAction::MaterialsReturned)?;
            }
            // 纸质签署 of the 委托书, then acceptance.
            let poa = l.form_number(bangban::forms::FormKind::Poa, &t.number)?;
            act(
                l,
                window,
                &staff,
                CaseAction::SignedOnPaper {
                    form: "poa".into(),
                    number: poa,
                },
            )?;
            let accepted = act(l, window, &staff, CaseAction::accept(item.materials.clone()))?;
            // 全链条: accepting a whole-chain item opens one part per department; each
            // department's specialist claims and works its part (one after another, which
            // suits parts in series too) before the lead goes on.
            for part in &accepted.parts {
                let (w, s) = (first_window(hall, &part.department), staff_of(hall, &part.department));
                act(l, w, &s, CaseAction::Claim)?;
                for state in [PartState::Accepted, PartState::InProgress, PartState::Done] {
                    act(
                        l,
                        w,
                        &s,
                        CaseAction::Part {
                            state,
                            missing: vec![],
                            supply_by: None,
                        },
                    )?;
                }
            }
            act(l, window, &staff, CaseAction::StartWork)?;
            act(l, window, &staff, CaseAction::Ready)?;
            if in_person {
                let slip = l.form_number(bangban::forms::FormKind::Completion, &t.number)?;
                act(
                    l,
                    window,
                    &staff,
                    CaseAction::SignedOnPaper {
                        form: "completion".into(),
                        number: slip,
                    },
                )?;
                act(l, window, &staff, CaseAction::DeliverInPerson)?;
            } else {
                act(l, window, &staff, CaseAction::mail("SF1234567890", "王芳", "EMS"))?;
                act(l, window, &staff, CaseAction::ConfirmReceipt)?;
            }
            act(
                l,
                window,
                &staff,
                CaseAction::archive("资料一套（档案盒）", "档案室 刘芳"),
            )?;
        } else {
            act(l, window, &staff, CaseAction::Start)?;
            act(l, window, &staff, CaseAction::Hold)?;
            act(l, window, &staff, CaseAction::Resume)?;
            act(l, window, &staff, consult())?;
            act(
                l,
                window,
                &staff,
                CaseAction::archive("资料一套（档案盒）", "档案室 刘芳"),
            )?;
        }
    }
    Ok(())
}

fn cache_path(cache: &Path, n: usize) -> PathBuf {
    cache.join(format!("history-g{GENERATOR}-{n}.sqlite3"))
}

/// The path with `suffix` appended to its name (`x.sqlite3` → `x.sqlite3-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 20) as f64)
}

/// Samples the size of `db`'s write-ahead log every 100 ms on a thread of its own until
/// `finish`ed (or dropped); `finish` returns the largest size seen.
struct WalWatch {
    peak: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl WalWatch {
    fn start(db: &Path) -> WalWatch {
        let wal = with_suffix(db, "-wal");
        let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, st) = (peak.clone(), stop.clone());
        let handle = std::thread::spawn(move || loop {
            let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            p.fetch_max(size, Ordering::Relaxed);
            if st.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        });
        WalWatch {
            peak,
            stop,
            handle: Some(handle),
        }
    }

    /// Stop sampling (after one last look) and return the peak.
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for WalWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The ledger with `n` cases of past days, from the cache or built (continuing from the
/// largest smaller one in the cache), and the write-ahead log's peak while it was built (kept
/// beside the cached ledger in `….wal-peak`; unknown for a ledger cached without one).
fn built_ledger(cache: &Path, n: usize) -> Res<(PathBuf, Option<u64>)> {
    let path = cache_path(cache, n);
    let peak_file = with_suffix(&path, ".wal-peak");
    if path.exists() {
        let peak = std::fs::read_to_string(&peak_file)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        if let Some(p) = peak {
            eprintln!(
                "history: {n} cases from the cache; write-ahead log peak when it was built: {} MB",
                mb(p)
            );
        }
        return Ok((path, peak));
    }
    let hall = hall();
    let days = n.div_ceil(PER_DAY);
    // Continue from a smaller cached ledger when there is one: its days are a prefix of ours.
    let mut start_day = 0;
    let partial = path.with_extension("partial");
    // An interrupted build's file and its log (a stale log would be replayed into the copy).
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&partial, suffix));
    }
    if let Some((m, from)) = (1..n)
        .rev()
        .step_by(1)
        .filter(|m| m % PER_DAY == 0)
        .map(|m| (m, cache_path(cache, m)))
        .find(|(_, p)| p.exists())
    {
        std::fs::copy(&from, &partial)?;
        start_day = m / PER_DAY;
    }
    let clock = ManualClock::new(day_start(first_day()));
    let mut l = Ledger::open(
        &partial,
        LedgerOptions {
            clock: Arc::new(clock.clone()),
            ..LedgerOptions::default()
        },
    )?;
    l.set_durable(false)?;
    if start_day == 0 {
        l.configure(&hall, "bench", "demo-hall.toml")?;
    }
    let mut rng = StdRng::seed_from_u64(20261127);
    let t = Instant::now();
    let watch = WalWatch::start(&partial);
    for d in start_day..days {
        let day = first_day() + chrono::Duration::days(d as i64);
        let cases = PER_DAY.min(n - d * PER_DAY);
        play_day(&mut l, &clock, &hall, &mut rng, day, cases)?;
        if d % 10 == 9 {
            eprintln!(
                "history: {} of {} cases built ({:.0} s)",
                (d + 1) * PER_DAY,
                n,
                t.elapsed().as_secs_f64()
            );
        }
    }
    l.checkpoint()?;
    drop(l);
    let peak = watch.finish();
    eprintln!(
        "history: write-ahead log peak while building {n}{}: {} MB",
        if start_day > 0 {
            format!(" (from {} cached)", start_day * PER_DAY)
        } else {
            String::new()
        },
        mb(peak)
    );
    std::fs::rename(&partial, &path)?;
    std::fs::write(&peak_file, format!("{peak}\n"))?;
    Ok((path, Some(peak)))
}

// ---------------------------------------------------------------------------------------
// Measuring.

#[derive(Default)]
struct Figures {
    recent_calls: (f64, f64),
    first_call: (f64, f64),
    issue: (f64, f64),
    call: (f64, f64),
    rush_issue_errors: (usize, usize),
    rush_call_errors: (usize, usize),
    rush_issue_p99: f64,
    verify: (f64, f64, i64),
    storm: Option<(f64, usize, usize, usize)>,
    bytes_per_case: Option<f64>,
    /// The console's alerts per department: p50/p99, and the alerts listed in all departments.
    alerts: (f64, f64),
    alerts_listed: usize,
    /// `bangban backup` while a kiosk issues 5 tickets a second: seconds, tickets issued
    /// meanwhile, issue errors, and the copy's size in MB.
    backup: (f64, usize, usize, f64),
    /// The day's report (台账) of the busy day: p50/p99.
    day_report: (f64, f64),
    /// One period report (`figures`) over the whole history: ms.
    period_report: f64,
    /// Issuing while the office pulls period reports.
    report_load: ReportLoad,
}

/// A kiosk issuing every 200 ms while another program pulls period reports one after another.
#[derive(Default)]
struct ReportLoad {
    issue: (f64, f64),
    issues: usize,
    issue_errors: usize,
    reports: usize,
    report_errors: usize,
    report_p50: f64,
    /// The write-ahead log's largest size meanwhile, in bytes.
    wal_peak: u64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn p50_p99(mut v: Vec<f64>) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99))
}

fn open(path: &Path, clock: &ManualClock) -> Res<Ledger> {
    Ok(Ledger::open(
        path,
        LedgerOptions {
            clock: Arc::new(clock.clone()),
            busy_timeout: Duration::from_secs(5),
        },
    )?)
}

/// The day after the history: "today".
fn today_after(n: usize) -> NaiveDate {
    first_day() + chrono::Duration::days(n.div_ceil(PER_DAY) as i64 + 1)
}

/// The PostgreSQL database to measure on (`BANGBAN_HISTORY_STORE`), if any.
fn pg_store() -> Option<String> {
    std::env::var("BANGBAN_HISTORY_STORE").ok().filter(|s| !s.is_empty())
}

fn measure(built: &Path, n: usize) -> Res<Figures> {
    let dir = tempfile::tempdir()?;
    if let Some(url) = pg_store() {
        // A hall of its own in the database: the history moved in, or an empty hall.
        let hall_code = format!("history-{n}-{}", std::process::id());
        let target = format!("{url}{}hall={hall_code}", if url.contains('?') { "&" } else { "?" });
        let db = PathBuf::from(&target);
        if n == 0 {
            let mut l = Ledger::open_registering(&db, LedgerOptions::default(), Some(&hall_code))?;
            l.configure(&hall(), "bench", "demo-hall.toml")?;
        } else {
            let t = Instant::now();
            let m = bangban::ledger::migrate_file(built, &target)?;
            eprintln!(
                "history: moved {} rows of the {n}-case ledger into PostgreSQL (hall {}) in {:.0} s, both verified",
                m.rows,
                m.hall,
                t.elapsed().as_secs_f64()
            );
        }
        return measure_at(&db, built, n, &dir);
    }
    let db = dir.path().join("ledger.sqlite3");
    if n == 0 {
        let mut l = Ledger::open(&db, LedgerOptions::default())?;
        l.configure(&hall(), "bench", "demo-hall.toml")?;
    } else {
        std::fs::copy(built, &db)?;
        // Let the copy reach the disk first: gigabytes of dirty pages being written back would
        // show up as slow commits in the figures below.
        std::fs::File::open(&db)?.sync_all()?;
        std::thread::sleep(Duration::from_secs(3));
    }
    measure_at(&db, built, n, &dir)
}

/// The measurements on the ledger at `db` (a file, or a PostgreSQL hall's URL).
fn measure_at(db: &Path, built: &Path, n: usize, dir: &tempfile::TempDir) -> Res<Figures> {
    let db = db.to_path_buf();
    let hall = hall();
    let mut f = Figures::default();
    let mut day = today_after(n);
    let clock = ManualClock::new(day_start(day));
    let mut l = open(&db, &clock)?;

    // The first call of the day, per department, with priority visitors waiting: ten days.
    let mut first = Vec::new();
    for _ in 0..10 {
        clock.set(day_start(day));
        for d in &hall.departments {
            let item = hall.items.iter().find(|i| i.department == d.code).unwrap();
            for k in 0..6 {
                l.issue(&IssueRequest {
                    item: item.code.clone(),
                    priority: (k % 2 == 0).then(|| hall.priority_classes[0].code.clone()),
                    mode: None,
                    channel: Channel::Kiosk,
                    actor: "bench".into(),
                })?;
            }
        }
        for d in &hall.departments {
            let t = Instant::now();
            l.call(&CallRequest {
                window: d.windows[0],
                staff: staff_of(&hall, &d.code),
                number: None,
            })?;
            first.push(ms(t.elapsed()));
        }
        day += chrono::Duration::days(1);
    }
    f.first_call = p50_p99(first);

    // Issue and call during a busy day, then the board's recent calls. One operation every
    // 10 ms: twenty times a busy hall's peak, yet a pace at which the disk keeps up, as in a
    // hall (flat out, the figures would measure a write-ahead log growing without pause).
    clock.set(day_start(day));
    let (mut issue, mut call) = (Vec::new(), Vec::new());
    for i in 0..2000 {
        let item = &hall.items[i % hall.items.len()];
        clock.advance(chrono::Duration::seconds(5));
        let t = Instant::now();
        l.issue(&IssueRequest {
            item: item.code.clone(),
            priority: (i % 5 == 0).then(|| hall.priority_classes[0].code.clone()),
            mode: None,
            channel: Channel::Kiosk,
            actor: "bench".into(),
        })?;
        issue.push(ms(t.elapsed()));
        std::thread::sleep(Duration::from_millis(10));
        if i % 2 == 1 {
            let w = hall.departments[i % hall.departments.len()].windows[0];
            let d = &hall.departments_at_window(w)[0].code;
            let t = Instant::now();
            match l.call(&CallRequest {
                window: w,
                staff: staff_of(&hall, d),
                number: None,
            }) {
                Ok(c) => {
                    call.push(ms(t.elapsed()));
                    // The window settles the visitor before its next call (not timed).
                    l.act(&c.number, w, &staff_of(&hall, d), &CaseAction::Hold)?;
                }
                Err(LedgerError::NobodyWaiting(_)) => call.push(ms(t.elapsed())),
                Err(e) => return Err(e.into()),
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    f.issue = p50_p99(issue);
    f.call = p50_p99(call);
    let mut recent = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let got = l.recent_calls(12)?;
        recent.push(ms(t.elapsed()));
        assert!(!got.is_empty());
    }
    f.recent_calls = p50_p99(recent);
    // The console's alerts (what is overdue or due soon) per department, as a counter reads
    // them every 20 s: the watched cases of the whole history, through their partial index.
    let mut alerts = Vec::new();
    let mut listed = 0;
    for _ in 0..5 {
        for d in &hall.departments {
            let t = Instant::now();
            listed += l.overdue(Some(&d.code))?.len();
            alerts.push(ms(t.elapsed()));
        }
    }
    f.alerts = p50_p99(alerts);
    f.alerts_listed = listed / 5;
    // The busy day's report (台账), as the office pulls it: through the day's cases only, so
    // a year of history should cost little beside an empty ledger.
    let mut day_report = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let r = l.report(day)?;
        day_report.push(ms(t.elapsed()));
        assert!(r.total.issued > 0, "the busy day has cases");
    }
    f.day_report = p50_p99(day_report);
    // A period report over the whole history, once.
    let t = Instant::now();
    l.figures(first_day(), day)?;
    f.period_report = ms(t.elapsed());
    drop(l);

    // The opening rush: five mornings; each, a kiosk issues every 200 ms while nine counters
    // make their first call at once. Every program has its own connection, as on one host.
    let mut rush_issue = Vec::new();
    for _ in 0..5 {
        day += chrono::Duration::days(1);
        clock.set(day_start(day));
        let mut l = open(&db, &clock)?;
        for d in hall.departments.iter().take(9) {
            let item = hall.items.iter().find(|i| i.department == d.code).unwrap();
            l.issue(&IssueRequest {
                item: item.code.clone(),
                priority: Some(hall.priority_classes[0].code.clone()),
                mode: None,
                channel: Channel::Kiosk,
                actor: "bench".into(),
            })?;
        }
        drop(l);
        let stop = Arc::new(AtomicBool::new(false));
        let barrier = Arc::new(Barrier::new(10));
        let issue_errors = Arc::new(AtomicUsize::new(0));
        let call_errors = Arc::new(AtomicUsize::new(0));
        let lat = Arc::new(Mutex::new(Vec::new()));
        let issues = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|s| -> Res<()> {
            {
                let (db, clock, hall, stop, errors, lat, issues) = (
                    &db,
                    &clock,
                    &hall,
                    stop.clone(),
                    issue_errors.clone(),
                    lat.clone(),
                    issues.clone(),
                );
                s.spawn(move || kiosk(db, clock, hall, "kiosk-1", 0, 1, &stop, &lat, &errors, &issues));
            }
            for d in hall.departments.iter().take(9) {
                let (db, clock, barrier, errors, calls) =
                    (&db, &clock, barrier.clone(), call_errors.clone(), calls.clone());
                let (window, staff) = (d.windows[0], staff_of(&hall, &d.code));
                s.spawn(move || {
                    let mut l = open(db, clock).unwrap();
                    barrier.wait();
                    calls.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = l.call(&CallRequest {
                        window,
                        staff,
                        number: None,
                    }) {
                        eprintln!("rush call: {e}");
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(500));
            barrier.wait();
            std::thread::sleep(Duration::from_millis(2500));
            stop.store(true, Ordering::Relaxed);
            Ok(())
        })?;
        f.rush_issue_errors.0 += issue_errors.load(Ordering::Relaxed);
        f.rush_issue_errors.1 += issues.load(Ordering::Relaxed);
        f.rush_call_errors.0 += call_errors.load(Ordering::Relaxed);
        f.rush_call_errors.1 += calls.load(Ordering::Relaxed);
        rush_issue.extend(lat.lock().unwrap().drain(..));
    }
    f.rush_issue_p99 = p50_p99(rush_issue).1;

    // Verify, in a child process so its peak memory is its own.
    let out = std::process::Command::new(std::env::current_exe()?)
        .env("BANGBAN_HISTORY_VERIFY", &db)
        .output()?;
    let line = String::from_utf8_lossy(&out.stdout);
    let mut parts = line.split_whitespace();
    let secs: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
    let peak_kib: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
    let events: i64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    if !out.status.success() {
        eprintln!("verify child: {}", String::from_utf8_lossy(&out.stderr));
    }
    f.verify = (secs, peak_kib / 1024.0, events);

    // A backup while a kiosk keeps issuing five tickets a second.
    {
        let stop = AtomicBool::new(false);
        let (lat, errors, issues) = (Mutex::new(Vec::new()), AtomicUsize::new(0), AtomicUsize::new(0));
        let dest = dir.path().join("backup.sqlite3");
        let took = std::thread::scope(|s| -> Res<f64> {
            s.spawn(|| kiosk(&db, &clock, &hall, "kiosk-backup", 0, 1, &stop, &lat, &errors, &issues));
            std::thread::sleep(Duration::from_secs(1));
            let t = Instant::now();
            let r = open(&db, &clock).and_then(|l| Ok(l.backup_to(&dest)?));
            let took = t.elapsed().as_secs_f64();
            stop.store(true, Ordering::Relaxed);
            let r = r?;
            assert!(r.ok, "the backup verifies");
            Ok(took)
        })?;
        let size = std::fs::metadata(&dest)?.len() as f64 / 1e6;
        f.backup = (
            took,
            issues.load(Ordering::Relaxed),
            errors.load(Ordering::Relaxed),
            size,
        );
    }

    f.report_load = issue_under_reports(&db, &clock, &hall, first_day(), day)?;

    if n == 0 {
        f.storm = Some(storm(&db, &hall)?);
    } else {
        // The SQLite file's size; a PostgreSQL hall's share of its database is not measured.
        f.bytes_per_case = match pg_store() {
            Some(_) => None,
            None => Some(std::fs::metadata(built)?.len() as f64 / n as f64),
        };
    }
    Ok(f)
}

/// A kiosk issuing every 200 ms for about 10 s (and at least until the first report is in,
/// at most 3 minutes) while the office, on its own connection, pulls the period report
/// (`figures` from `from` to `to`) again and again.
fn issue_under_reports(db: &Path, clock: &ManualClock, hall: &Hall, from: NaiveDate, to: NaiveDate) -> Res<ReportLoad> {
    let stop = AtomicBool::new(false);
    let (lat, errors, issues) = (Mutex::new(Vec::new()), AtomicUsize::new(0), AtomicUsize::new(0));
    let reports = Mutex::new(Vec::new());
    let report_errors = AtomicUsize::new(0);
    let watch = WalWatch::start(db);
    std::thread::scope(|s| -> Res<()> {
        s.spawn(|| kiosk(db, clock, hall, "kiosk-reports", 0, 1, &stop, &lat, &errors, &issues));
        let office = s.spawn(|| -> Res<()> {
            let mut l = open(db, clock)?;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match l.figures(from, to) {
                    Ok(_) => reports.lock().unwrap().push(ms(t.elapsed())),
                    Err(e) => {
                        eprintln!("period report: {e}");
                        report_errors.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
            Ok(())
        });
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(180)
            && (t.elapsed() < Duration::from_secs(10)
                || (reports.lock().unwrap().is_empty() && report_errors.load(Ordering::Relaxed) == 0))
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
        office.join().map_err(|_| "the report thread panicked")??;
        Ok(())
    })?;
    let reports = reports.into_inner().unwrap();
    Ok(ReportLoad {
        issue: p50_p99(lat.into_inner().unwrap()),
        issues: issues.load(Ordering::Relaxed),
        issue_errors: errors.load(Ordering::Relaxed),
        reports: reports.len(),
        report_errors: report_errors.load(Ordering::Relaxed),
        report_p50: p50_p99(reports).0,
        wal_peak: watch.finish(),
    })
}

/// A kiosk issuing every 200 ms (items `first`, `first + step`, …) until `stop`, on its own
/// connection; each issue's latency goes to `lat`, failures to `errors`.
#[allow(clippy::too_many_arguments)]
fn kiosk(
    db: &Path,
    clock: &ManualClock,
    hall: &Hall,
    actor: &str,
    first: usize,
    step: usize,
    stop: &AtomicBool,
    lat: &Mutex<Vec<f64>>,
    errors: &AtomicUsize,
    issues: &AtomicUsize,
) {
    let mut l = open(db, clock).unwrap();
    let mut i = first;
    while !stop.load(Ordering::Relaxed) {
        let item = &hall.items[i % hall.items.len()];
        i += step;
        let t = Instant::now();
        let r = l.issue(&IssueRequest {
            item: item.code.clone(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
            actor: actor.into(),
        });
        lat.lock().unwrap().push(ms(t.elapsed()));
        issues.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = r {
            eprintln!("{actor}: {e}");
            errors.fetch_add(1, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(200).saturating_sub(t.elapsed()));
    }
}

/// The 20-counter storm: 20 counters poll call-next (each every 100 ms while nobody waits,
/// 0.8 s serving after each call) and two kiosks issue 5 tickets a second each, for 20 s. Returns the kiosks' issue p99 (ms),
/// issue errors, how many counters got at least one case, and the cases called.
fn storm(db: &Path, hall: &Hall) -> Res<(f64, usize, usize, usize)> {
    let clock = ManualClock::new(Utc::now());
    let stop = Arc::new(AtomicBool::new(false));
    let lat = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicUsize::new(0));
    let got: Arc<Mutex<Vec<usize>>> = Arc::new(Mutex::new(vec![0; 20]));
    let windows: Vec<u32> = hall.all_windows().into_iter().take(20).collect();
    std::thread::scope(|s| {
        let issues = Arc::new(AtomicUsize::new(0));
        for k in 0..2 {
            let (stop, lat, errors, issues, clock) =
                (stop.clone(), lat.clone(), errors.clone(), issues.clone(), &clock);
            s.spawn(move || {
                kiosk(
                    db,
                    clock,
                    hall,
                    &format!("kiosk-{k}"),
                    k,
                    2,
                    &stop,
                    &lat,
                    &errors,
                    &issues,
                )
            });
        }
        for (c, &window) in windows.iter().enumerate() {
            let (stop, got, clock) = (stop.clone(), got.clone(), &clock);
            let staff = staff_of(hall, &hall.departments_at_window(window)[0].code);
            s.spawn(move || {
                let mut l = open(db, clock).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    match l.call(&CallRequest {
                        window,
                        staff: staff.clone(),
                        number: None,
                    }) {
                        Ok(called) => {
                            got.lock().unwrap()[c] += 1;
                            // Serving the visitor before calling the next one.
                            std::thread::sleep(Duration::from_millis(800));
                            if let Err(e) = l.act(&called.number, window, &staff, &CaseAction::Hold) {
                                eprintln!("storm hold: {e}");
                            }
                        }
                        Err(LedgerError::NobodyWaiting(_)) => std::thread::sleep(Duration::from_millis(100)),
                        Err(e) => {
                            eprintln!("storm call: {e}");
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(20));
        stop.store(true, Ordering::Relaxed);
    });
    let got = got.lock().unwrap();
    eprintln!("storm: cases per counter (windows {windows:?}): {:?}", *got);
    let p99 = p50_p99(lat.lock().unwrap().clone()).1;
    Ok((
        p99,
        errors.load(Ordering::Relaxed),
        got.iter().filter(|g| **g > 0).count(),
        got.iter().sum(),
    ))
}

/// In the child: verify the ledger and print "seconds peak_kib events".
fn verify_child(db: &Path) -> Res<()> {
    let mut l = Ledger::open(db, LedgerOptions::default())?;
    let t = Instant::now();
    let r = l.verify()?;
    let secs = t.elapsed().as_secs_f64();
    if !r.ok {
        return Err(format!("the history ledger does not verify: {:?}", r.problem).into());
    }
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("0");
    println!("{secs:.3} {peak} {}", r.events);
    Ok(())
}

fn print_table(columns: &[(usize, Figures)]) {
    let head: Vec<String> = columns
        .iter()
        .map(|(n, _)| {
            if *n == 0 {
                "empty ledger".to_string()
            } else {
                format!("{}k cases of history", n / 1000)
            }
        })
        .collect();
    println!();
    if let Some(url) = pg_store() {
        println!("store: PostgreSQL ({})", bangban::ledger::pg::masked(&url));
    }
    println!("| operation | {} |", head.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    let row = |name: &str, cell: &dyn Fn(&Figures) -> String| {
        let cells: Vec<String> = columns.iter().map(|(_, f)| cell(f)).collect();
        println!("| {name} | {} |", cells.join(" | "));
    };
    let pair = |v: (f64, f64)| format!("{:.2} ms p50, {:.2} p99", v.0, v.1);
    row("board: recent calls (12)", &|f| pair(f.recent_calls));
    row("first call of the day (per department, priority waiting)", &|f| {
        pair(f.first_call)
    });
    row("issue (a busy day)", &|f| pair(f.issue));
    row("console alerts per department (overdue, due soon)", &|f| {
        format!("{}, {} listed", pair(f.alerts), f.alerts_listed)
    });
    row("call next (a busy day)", &|f| pair(f.call));
    row("opening rush: busy errors (kiosk issues, first calls)", &|f| {
        format!(
            "{} of {} issues, {} of {} calls; issue p99 {:.1} ms",
            f.rush_issue_errors.0, f.rush_issue_errors.1, f.rush_call_errors.0, f.rush_call_errors.1, f.rush_issue_p99
        )
    });
    row("verify (time, peak memory, events)", &|f| {
        format!("{:.2} s, {:.0} MiB, {} events", f.verify.0, f.verify.1, f.verify.2)
    });
    // Extrapolated only from the largest ledger: a small one's fixed costs (opening, a cold
    // cache) would be multiplied with it.
    row("verify of 10M events, extrapolated (time × 10M / events)", &|f| {
        if f.verify.2 >= 5_000_000 {
            format!("{:.1} s", f.verify.0 * 10_000_000.0 / f.verify.2 as f64)
        } else {
            "–".into()
        }
    });
    row(
        "20-counter storm (issue p99, issue errors, counters served, cases)",
        &|f| match f.storm {
            Some((p99, e, served, cases)) => format!("{p99:.1} ms, {e} errors, {served} of 20 counters, {cases} cases"),
            None => "–".into(),
        },
    );
    row(
        "backup under a kiosk issuing 5 tickets/s (time incl. verify, tickets issued, errors, size)",
        &|f| {
            format!(
                "{:.1} s, {} tickets, {} errors, {:.0} MB",
                f.backup.0, f.backup.1, f.backup.2, f.backup.3
            )
        },
    );
    row("report --date (the busy day)", &|f| pair(f.day_report));
    row("period report (Ledger::figures over the whole history)", &|f| {
        format!("{:.0} ms", f.period_report)
    });
    row("issue while the office pulls a period's report", &|f| {
        let r = &f.report_load;
        format!(
            "{}; {} issues, {} errors; {} reports pulled ({} errors), report {:.0} ms p50; log peak {} MB",
            pair(r.issue),
            r.issues,
            r.issue_errors,
            r.reports,
            r.report_errors,
            r.report_p50,
            mb(r.wal_peak)
        )
    });
    row("file size per case", &|f| match f.bytes_per_case {
        Some(b) => format!("{:.0} bytes", b),
        None => "–".into(),
    });
}
