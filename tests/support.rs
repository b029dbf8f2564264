//! Shared helpers: temporary ledgers, the `bangban` binary, clocks and a snapshot `check`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use bangban::clock::ManualClock;
use bangban::{Hall, Ledger, LedgerOptions};
use chrono::{DateTime, Utc};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bangban")
}

/// The workspace root: these tests belong to the `cli/` package but read the repository's files.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

pub fn demo_hall_path() -> PathBuf {
    repo().join("examples/demo-hall.toml")
}

/// A fresh directory with a ledger path inside it (not yet created).
pub struct TempLedger {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

pub fn temp_ledger() -> TempLedger {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ledger.sqlite3");
    TempLedger { dir, db }
}

/// A ledger initialised with the demo hall through the CLI.
pub fn demo_ledger() -> TempLedger {
    let t = temp_ledger();
    let out = cli(&t.db, &["init", "--hall", demo_hall_path().to_str().unwrap()]);
    assert!(out.status.success(), "init failed: {}", stderr(&out));
    t
}

pub fn cli(db: &Path, args: &[&str]) -> Output {
    cli_env(db, args, &[])
}

/// The PIN `set_pins` gives specialists; `cli` passes it as BANGBAN_PIN.
pub const TEST_PIN: &str = "246813";

/// Give these specialists the test PIN (in-process: one argon2 hash each).
pub fn set_pins(db: &Path, staff: &[&str]) {
    let mut l = Ledger::open(db, LedgerOptions::default()).expect("open ledger");
    for s in staff {
        l.set_pin(s, TEST_PIN, "test").expect("set pin");
    }
}

pub fn cli_env(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("--db")
        .arg(db)
        .args(args)
        .env_remove("BANGBAN_NOW")
        .env_remove("BANGBAN_DB")
        .env_remove("BANGBAN_SERVER")
        .env_remove("BANGBAN_TOKEN")
        .env("BANGBAN_PIN", TEST_PIN);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run bangban")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(o), stderr(o)))
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("rfc3339").with_timezone(&Utc)
}

/// An in-process ledger on the demo hall with a hand-moved clock.
pub fn clocked_ledger(db: &Path, start: &str) -> (Ledger, ManualClock) {
    let clock = ManualClock::new(at(start));
    let opts = LedgerOptions {
        busy_timeout: Duration::from_secs(5),
        clock: Arc::new(clock.clone()),
    };
    let mut ledger = Ledger::open(db, opts).expect("open ledger");
    if !ledger.is_initialised().unwrap() {
        let hall = Hall::from_path(&demo_hall_path()).expect("demo hall");
        ledger.configure(&hall, "test", "demo").expect("configure");
    }
    (ledger, clock)
}

/// Snapshot-style comparison with a readable diff.
#[track_caller]
pub fn check(actual: &str, expected: &str) {
    let (a, e) = (actual.trim(), expected.trim());
    if a != e {
        panic!("snapshot mismatch\n--- expected\n{e}\n--- actual\n{a}\n");
    }
}

/// A `bangban serve` on a free loopback port, stopped with SIGTERM when dropped.
pub struct Served {
    pub url: String,
    pub db: PathBuf,
    child: Option<std::process::Child>,
}

impl Served {
    pub fn start(db: &Path) -> Served {
        Served::start_with(db, &[])
    }

    pub fn start_with(db: &Path, extra: &[&str]) -> Served {
        Served::spawn(db, extra, None, None)
    }

    /// A server that may open at most `files` descriptors (soft and hard), as systemd's
    /// default of 1,024 would allow it.
    pub fn start_with_open_files(db: &Path, files: u64) -> Served {
        Served::spawn(db, &[], None, Some(files))
    }

    /// A server whose clock stands at `now` (RFC 3339, as `BANGBAN_NOW`).
    pub fn start_at(db: &Path, now: &str) -> Served {
        Served::spawn(db, &[], Some(now), None)
    }

    /// A server at `now` whose log (at the debug level) goes to the file `log`.
    pub fn start_logged(db: &Path, now: &str, log: &Path) -> Served {
        Served::spawn_to(db, &[], Some(now), None, Some(log))
    }

    fn spawn(db: &Path, extra: &[&str], now: Option<&str>, files: Option<u64>) -> Served {
        Served::spawn_to(db, extra, now, files, None)
    }

    fn spawn_to(db: &Path, extra: &[&str], now: Option<&str>, files: Option<u64>, log: Option<&Path>) -> Served {
        use std::io::BufRead;
        let mut cmd = Command::new(bin());
        cmd.arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra);
        match now {
            Some(t) => cmd.env("BANGBAN_NOW", t),
            None => cmd.env_remove("BANGBAN_NOW"),
        };
        if let Some(files) = files {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe and touches only the child.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: files,
                        rlim_max: files,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        match log {
            Some(file) => {
                cmd.env("RUST_LOG", "debug")
                    .stderr(std::fs::File::create(file).expect("the server's log file"));
            }
            None => {
                cmd.stderr(std::process::Stdio::null());
            }
        }
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start bangban serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the server's first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line was {line:?}"))
            .to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
            "{url}"
        );
        Served {
            url,
            db: db.to_path_buf(),
            child: Some(child),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM, and the exit status once it has stopped.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > Duration::from_secs(15) {
                child.kill().ok();
                panic!("the server did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill it hard (a power cut of the server process).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

/// Enrol a device on the ledger's host; returns its token.
pub fn enrol(db: &Path, name: &str, role: &str) -> String {
    let out = cli(db, &["device", "add", name, "--role", role]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).trim().to_string();
    assert_eq!(token.len(), 64, "{token}");
    token
}

/// `bangban --server URL --token TOKEN ARGS…` (no ledger file involved).
pub fn remote(url: &str, token: &str, args: &[&str]) -> Output {
    // The token from the environment, as the READMEs advise: not on the command line.
    Command::new(bin())
        .args(["--server", url])
        .env("BANGBAN_TOKEN", token)
        .env_remove("BANGBAN_TOKEN_FILE")
        .args(args)
        .env_remove("BANGBAN_DB")
        .env_remove("BANGBAN_NOW")
        .env("BANGBAN_PIN", TEST_PIN)
        .output()
        .expect("run bangban")
}

/// The kinds of a case's events, oldest first, as `bangban case N show` lists them.
pub fn event_kinds(db: &Path, case: &str) -> Vec<String> {
    json(&cli(db, &["--json", "case", case, "show"]))["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `bangban --json ARGS` with the clock at `now` (RFC 3339); it must succeed: its JSON.
#[track_caller]
pub fn ok_json(db: &Path, now: &str, args: &[&str]) -> serde_json::Value {
    let out = cli_env(db, &[&["--json"][..], args].concat(), &[("BANGBAN_NOW", now)]);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    json(&out)
}

/// `bangban --json ARGS` with the clock at `now`; it must be refused (exit 1): the error's words.
#[track_caller]
pub fn refused_json(db: &Path, now: &str, args: &[&str]) -> String {
    let out = cli_env(db, &[&["--json"][..], args].concat(), &[("BANGBAN_NOW", now)]);
    assert_eq!(out.status.code(), Some(1), "{args:?} went through: {}", stdout(&out));
    json(&out)["error"].as_str().unwrap_or_default().to_string()
}

/// Debian's headless Chromium (scripts/setup installs it) with a window of `size`, and
/// `offline`: every host but 127.0.0.1 unresolvable, so a page that needed anything from
/// outside the hall would be missing it.
pub fn chromium_with(size: (u32, u32), offline: bool) -> headless_chrome::Browser {
    use headless_chrome::{Browser, LaunchOptions};
    let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("Debian's chromium (scripts/setup installs it)");
    let profile = tempfile::tempdir().unwrap().keep();
    let mut args = vec![
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // Pages left for the next stay alive in the back-forward cache with their streams
        // open, and six of them hold every connection Chromium allows one server: the
        // seventh page would wait a minute.
        "--disable-features=BackForwardCache",
    ];
    if offline {
        args.push("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1");
    }
    Browser::new(
        LaunchOptions::default_builder()
            .path(Some(path))
            .sandbox(false)
            .headless(true)
            .window_size(Some(size))
            .user_data_dir(Some(profile))
            .args(args.into_iter().map(std::ffi::OsStr::new).collect())
            .idle_browser_timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
    )
    .expect("start headless chromium")
}

/// A tab whose viewport is exactly `w`×`h` (a phone's, a desk's page, a wall screen's).
pub fn tab_sized(browser: &headless_chrome::Browser, w: u32, h: u32, mobile: bool) -> Arc<headless_chrome::Tab> {
    use headless_chrome::protocol::cdp::Emulation;
    let tab = browser.new_tab().unwrap();
    tab.call_method(Emulation::SetDeviceMetricsOverride {
        width: w,
        height: h,
        device_scale_factor: 1.0,
        mobile,
        scale: None,
        screen_width: None,
        screen_height: None,
        position_x: None,
        position_y: None,
        dont_set_visible_size: None,
        screen_orientation: None,
        viewport: None,
        display_feature: None,
        device_posture: None,
    })
    .unwrap();
    tab
}

/// The form a counter step needs the visitor's signature on: the 委托书 before acceptance, the
/// 办结单 before a delivery in person.
fn form_needed(action: &bangban::CaseAction) -> Option<bangban::forms::FormKind> {
    match action {
        bangban::CaseAction::Accept { .. } => Some(bangban::forms::FormKind::Poa),
        bangban::CaseAction::DeliverInPerson => Some(bangban::forms::FormKind::Completion),
        _ => None,
    }
}

/// Act on a case at a counter, recording first the visitor's signature on paper (纸质签署,
/// with the printed form's number) where the step needs one.
pub fn act_signing(
    l: &mut bangban::Ledger,
    case: &str,
    window: u32,
    staff: &str,
    action: &bangban::CaseAction,
) -> bangban::Result<bangban::Case> {
    if let Some(kind) = form_needed(action) {
        let number = l.form_number(kind, case)?;
        l.act(
            case,
            window,
            staff,
            &bangban::CaseAction::SignedOnPaper {
                form: kind.as_str().into(),
                number,
            },
        )?;
    }
    l.act(case, window, staff, action)
}

/// `act_signing` through any client (the form's number read from `case`).
pub fn act_signing_via(
    c: &mut dyn bangban::api::HallClient,
    case: &str,
    action: &bangban::CaseAction,
) -> bangban::Result<bangban::Case> {
    if let Some(kind) = form_needed(action) {
        let view = c.case(case)?;
        let number = view
            .forms
            .iter()
            .find(|f| f.kind == kind)
            .map(|f| f.number.clone())
            .expect("the case lists its forms");
        c.act(&bangban::api::Act {
            case: case.into(),
            action: bangban::CaseAction::SignedOnPaper {
                form: kind.as_str().into(),
                number,
            },
        })?;
    }
    c.act(&bangban::api::Act {
        case: case.into(),
        action: action.clone(),
    })
}

/// The number of a case's form as `bangban case N show --json` lists it.
pub fn form_number_cli(db: &Path, case: &str, form: &str, env: &[(&str, &str)]) -> String {
    let shown = json(&cli_env(db, &["--json", "case", case, "show"], env));
    shown["forms"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["kind"] == form))
        .and_then(|f| f["number"].as_str())
        .unwrap_or_else(|| panic!("case {case} lists no form {form}: {shown}"))
        .to_string()
}

/// A kiosk ticket for `item`; its number.
pub fn issue(l: &mut bangban::Ledger, item: &str) -> String {
    l.issue(&bangban::IssueRequest {
        item: item.into(),
        priority: None,
        mode: None,
        channel: bangban::Channel::Kiosk,
        actor: "kiosk-1".into(),
    })
    .unwrap()
    .number
}

/// Every material on a demo-hall item's list: what a counter hands over to accept it whole.
pub fn materials_of(item: &str) -> Vec<String> {
    bangban::Hall::from_path(&demo_hall_path())
        .expect("the demo hall")
        .item(item)
        .unwrap_or_else(|| panic!("no item {item} in the demo hall"))
        .materials
        .clone()
}
