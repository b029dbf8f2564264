//! Bad input and faults: hall-file typos, control characters, windows that do not exist,
//! absurd flag values, a closed stdout, a clock that steps back, a malformed BANGBAN_NOW, a
//! ledger on a network file system or a full disk, and PINs that resist a copied file.

use std::io::Read;
use std::process::{Command, Stdio};

use rusqlite::Connection;

use crate::support::*;

fn demo_src() -> String {
    std::fs::read_to_string(demo_hall_path()).unwrap()
}

fn write(t: &TempLedger, name: &str, body: &[u8]) -> String {
    let p = t.dir.path().join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

fn line_of(src: &str, needle: &str) -> usize {
    src.lines().position(|l| l.contains(needle)).expect("needle in file") + 1
}

fn head(t: &TempLedger) -> i64 {
    let c = Connection::open(&t.db).unwrap();
    c.query_row("SELECT seq FROM chain_head", [], |r| r.get(0)).unwrap()
}

/// `init` with this hall file fails, changes nothing, and says `file:line: field `name``.
#[track_caller]
fn refused_at(src: &str, needle: &str, field: &str) -> String {
    let t = demo_ledger();
    let before = head(&t);
    let f = write(&t, "hall.toml", src.as_bytes());
    let out = cli(&t.db, &["init", "--hall", &f]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "init should fail: {err}");
    assert_eq!(head(&t), before, "a refused hall file changed the ledger");
    let line = line_of(src, needle);
    assert!(
        err.contains(&format!("{f}:{line}: field `{field}`")),
        "expected {f}:{line}: field `{field}` in:\n{err}"
    );
    err
}

#[test]
fn a_misspelt_key_in_an_item_is_refused_at_its_line() {
    let src = demo_src().replacen("materials = [", "materails = [", 1);
    let err = refused_at(&src, "materails = [", "materails");
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn a_misspelt_tags_key_is_refused_instead_of_dropping_whole_chain() {
    let src = demo_src().replacen(
        "tags = [\"企业开办\", \"全链条\"]",
        "tag = [\"企业开办\", \"全链条\"]",
        1,
    );
    refused_at(&src, "tag = [", "tag");
}

#[test]
fn a_misspelt_table_is_refused_instead_of_dropping_an_item() {
    let src = demo_src().replacen("[[items]]", "[[item]]", 1);
    let err = refused_at(&src, "[[item]]", "item");
    assert!(err.contains("unknown field `item`"), "{err}");
}

#[test]
fn a_misspelt_key_in_the_hall_table_is_refused() {
    let src = demo_src().replacen("priority_cap = 3", "priorty_cap = 3", 1);
    refused_at(&src, "priorty_cap", "priorty_cap");
}

#[test]
fn control_characters_in_printed_text_are_refused() {
    // ESC @ would reset the ticket printer mid-ticket; BEL would ring it.
    let src = demo_src().replacen("name = \"公安局户政出入境\"", "name = \"公安局\\u001b@户政出入境\"", 1);
    let err = refused_at(&src, "公安局\\u001b@户政出入境", "name");
    assert!(err.contains("control character U+001B"), "{err}");
    let src = demo_src().replacen("notice = \"", "notice = \"\\u0007", 1);
    refused_at(&src, "notice = ", "notice");
}

#[test]
fn a_hall_file_that_is_not_utf8_names_the_line_of_the_bad_byte() {
    let src = demo_src();
    let line = line_of(&src, "name = \"市场监督管理局\"");
    let (gbk, _, _) = encoding_rs::GBK.encode("市场监督管理局");
    let mut bytes = Vec::new();
    let mut done = false;
    for l in src.split_inclusive('\n') {
        if !done && l.contains("name = \"市场监督管理局\"") {
            bytes.extend_from_slice(b"name = \"");
            bytes.extend_from_slice(&gbk);
            bytes.extend_from_slice(b"\"\n");
            done = true;
        } else {
            bytes.extend_from_slice(l.as_bytes());
        }
    }
    let t = demo_ledger();
    let f = write(&t, "gbk.toml", &bytes);
    let out = cli(&t.db, &["init", "--hall", &f]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains(&format!("{f}:{line}: field `name`")), "{err}");
    assert!(err.contains("not UTF-8"), "{err}");
}

#[test]
fn a_window_the_hall_does_not_have_is_refused_and_not_announced() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    cli(&t.db, &["issue", "--item", "A01"]);
    let called = cli(&t.db, &["call", "--window", "1", "--staff", "S101"]);
    assert!(called.status.success(), "{}", stderr(&called));
    let before = head(&t);
    let out = cli(&t.db, &["case", "A001", "recall", "--window", "99", "--staff", "S101"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown window 99"), "{}", stderr(&out));
    assert_eq!(head(&t), before, "nothing was recorded");
    let out = cli(&t.db, &["call", "--window", "99", "--staff", "S101"]);
    assert!(stderr(&out).contains("unknown window 99"), "{}", stderr(&out));
    let out = cli(&t.db, &["window", "99", "pause", "--staff", "S101"]);
    assert!(stderr(&out).contains("unknown window 99"), "{}", stderr(&out));
    assert_eq!(head(&t), before);
}

#[test]
fn a_huge_busy_timeout_is_a_usage_error_not_a_panic() {
    let t = demo_ledger();
    let out = cli(&t.db, &["--busy-timeout-ms", "2147483648", "items"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("--busy-timeout-ms"), "{err}");
    let out = cli(&t.db, &["issue", "--item", "A01", "--repeat", "99999999999"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_closed_stdout_ends_the_program_quietly() {
    let t = demo_ledger();
    for _ in 0..3 {
        cli(&t.db, &["issue", "--item", "A01"]);
    }
    // The reader is gone before the program starts, as after `| head` has read its lines.
    for args in [
        vec!["report", "--date", "2026-11-25", "--format", "json"],
        vec!["report", "--date", "2026-11-25"],
        vec!["items"],
        vec!["--json", "items"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut child = Command::new(bin())
            .arg("--db")
            .arg(&t.db)
            .args(&args)
            .env_remove("BANGBAN_NOW")
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let status = child.wait().unwrap();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(status.code(), Some(141), "{args:?}: {err}");
    }
}

/// The subcommands a help page lists, each with whether it has a description.
fn listed_commands(help: &str) -> Vec<(String, bool)> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| {
            let mut words = l.split_whitespace();
            (words.next().unwrap().to_string(), words.next().is_some())
        })
        .filter(|(c, _)| c != "help")
        .collect()
}

/// `ARGS --help`, and the option or argument lines in it that have no help text.
fn help_of(t: &TempLedger, args: &[&str]) -> (String, Vec<String>) {
    let mut a = args.to_vec();
    a.push("--help");
    let out = cli(&t.db, &a);
    let text = stdout(&out);
    assert!(out.status.success(), "{a:?}: {}", stderr(&out));
    // An entry is described on its own line after two spaces, or (when clap wraps) on the
    // next line, indented deeper.
    let lines: Vec<&str> = text.lines().collect();
    let mut bare = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let entry = l.starts_with("  ") && (t.starts_with('-') || t.starts_with('<') || t.starts_with('['));
        let indent = l.len() - t.len();
        // Entries sit at most six columns in; deeper lines are the texts themselves.
        if !entry || indent > 6 || t.contains("  ") {
            continue;
        }
        let next_is_text = lines.get(i + 1).is_some_and(|n| {
            let nt = n.trim_start();
            !nt.is_empty() && n.len() - nt.len() > indent + 2
        });
        if !next_is_text {
            bare.push(format!("{}: {t}", args.join(" ")));
        }
    }
    (text, bare)
}

#[test]
fn every_subcommand_and_flag_has_help() {
    let t = demo_ledger();
    let (top, mut bare) = help_of(&t, &[]);
    let commands = listed_commands(&top);
    assert!(commands.len() >= 15, "{top}");
    for (sub, described) in &commands {
        if !described {
            bare.push(format!("{sub}: no description"));
        }
        let (text, b) = help_of(&t, &[sub]);
        bare.extend(b);
        for (nested, described) in listed_commands(&text) {
            if !described {
                bare.push(format!("{sub} {nested}: no description"));
            }
            let args: Vec<&str> = if sub == "case" {
                vec!["case", "A001", &nested]
            } else {
                vec![sub, &nested]
            };
            bare.extend(help_of(&t, &args).1);
        }
    }
    assert!(bare.is_empty(), "without help text:\n{}", bare.join("\n"));
}

#[test]
fn an_unknown_priority_class_lists_the_valid_codes() {
    let t = demo_ledger();
    let out = cli(&t.db, &["issue", "--item", "A01", "--priority", "vip"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("\"vip\"") && err.contains("elderly") && err.contains("military"),
        "{err}"
    );
}

#[test]
fn a_clock_that_steps_back_keeps_issue_order_and_no_negative_durations() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    let now = |s: &str| [("BANGBAN_NOW", s.to_string())];
    let issue = |at: &str| {
        let env = now(at);
        let out = cli_env(
            &t.db,
            &["--json", "issue", "--item", "A01"],
            &[(env[0].0, env[0].1.as_str())],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };
    issue("2026-11-25T10:00:00+08:00");
    // The hardware clock comes back from a reboot an hour behind.
    let second = issue("2026-11-25T09:00:00+08:00");
    assert!(
        stderr(&second).contains("clock stepped back"),
        "logged: {}",
        stderr(&second)
    );
    let env = [("BANGBAN_NOW", "2026-11-25T09:05:00+08:00")];
    let out = cli_env(&t.db, &["--json", "call", "--window", "1", "--staff", "S101"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["number"], "A001", "the first ticket issued is called first");
    let out = cli_env(&t.db, &["--json", "waiting"], &env);
    let waiting = json(&out);
    assert_eq!(waiting["waiting"][0]["number"], "A002");
    let out = cli_env(&t.db, &["report", "--date", "2026-11-25", "--format", "json"], &env);
    let r = json(&out);
    let wait = r["total"]["wait_mean_min"].as_f64().unwrap();
    assert!(wait >= 0.0, "average wait {wait} is negative");
}

#[test]
fn a_malformed_bangban_now_is_an_error_not_the_real_clock() {
    let t = demo_ledger();
    let before = head(&t);
    let out = cli_env(
        &t.db,
        &["issue", "--item", "A01"],
        &[("BANGBAN_NOW", "2026-13-45 25:00")],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("BANGBAN_NOW") && err.contains("RFC 3339"), "{err}");
    assert_eq!(head(&t), before, "nothing was issued");
}

#[test]
fn a_ledger_on_a_network_file_system_is_refused() {
    let t = temp_ledger();
    for magic in ["0x6969", "0xFF534D42"] {
        let out = cli_env(
            &t.db,
            &["init", "--hall", demo_hall_path().to_str().unwrap()],
            &[("BANGBAN_SIMULATE_STATFS_MAGIC", magic)],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("network file system") && err.contains("bangban serve"),
            "{err}"
        );
        assert!(!t.db.exists(), "no ledger file was created on the network share");
    }
}

/// `sh -c script` in a mount namespace of its own (its tmpfs mounts are seen by nobody else):
/// root (CI, a chroot) gets one directly, anyone else through a user namespace.
fn in_private_mounts(script: &str) -> Command {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let flags: &[&str] = if root {
        &["-m", "--propagation", "unchanged"]
    } else {
        &["-rm"]
    };
    let mut cmd = Command::new("unshare");
    cmd.args(flags).args(["sh", "-c", script]).env_remove("BANGBAN_NOW");
    cmd
}

#[test]
fn a_full_disk_at_open_says_disk_full() {
    // A small tmpfs in a private mount namespace, filled to the last byte after the ledger is
    // copied in: as on a server whose disk filled up overnight.
    let t = demo_ledger();
    cli(&t.db, &["issue", "--item", "A01"]);
    let mnt = t.dir.path().join("full");
    std::fs::create_dir(&mnt).unwrap();
    let script = format!(
        "set -e; mount --make-rprivate / 2>/dev/null || true; mount -t tmpfs -o size=2m tmpfs {mnt}; \
         trap 'umount {mnt}' EXIT; cp {db} {mnt}/ledger.sqlite3; \
         dd if=/dev/zero of={mnt}/fill bs=4k 2>/dev/null || true; \
         {bin} --db {mnt}/ledger.sqlite3 items",
        mnt = mnt.display(),
        db = t.db.display(),
        bin = bin()
    );
    let out = in_private_mounts(&script).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("disk holding the ledger is full"), "{err}");
    assert!(!err.contains("disk I/O error"), "{err}");
}

#[test]
fn pins_are_argon2id_six_digits_and_not_trivial() {
    let t = demo_ledger();
    for bad in ["1234", "123456", "000000", "101101"] {
        let out = cli(&t.db, &["staff", "set-pin", "S101", "--pin", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad} was accepted");
    }
    let out = cli(&t.db, &["staff", "set-pin", "S101", "--pin", "482915"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let c = Connection::open(&t.db).unwrap();
    let hash: String = c
        .query_row("SELECT pin_hash FROM staff_auth WHERE staff_id = 'S101'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("482915"));
}

#[test]
fn an_old_sha256_pin_hash_is_replaced_by_argon2_at_the_next_sign_in() {
    let t = demo_ledger();
    let (mut ledger, _clock) = clocked_ledger(&t.db, "2026-11-25T09:00:00+08:00");
    {
        let c = Connection::open(&t.db).unwrap();
        let old = bangban::pin::legacy_hash("00ff", "4321");
        c.execute(
            "INSERT INTO staff_auth (staff_id, salt, pin_hash, failed, locked_until) VALUES ('S101', '00ff', ?1, 0, NULL)",
            [&old],
        )
        .unwrap();
    }
    assert!(ledger.login("S101", 1, "4320").is_err(), "a wrong PIN is still wrong");
    ledger
        .login("S101", 1, "4321")
        .expect("the old PIN still signs in once");
    let c = Connection::open(&t.db).unwrap();
    let hash: String = c
        .query_row("SELECT pin_hash FROM staff_auth WHERE staff_id = 'S101'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "rehashed: {hash}");
    ledger
        .login("S101", 1, "4321")
        .expect("and signs in again with the new hash");
    assert!(ledger.login("S101", 1, "4322").is_err());
}

/// `bangban printer-sim` with a fault switch, on a free loopback port.
fn printer_sim(out: &std::path::Path, switch: &[&str]) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin())
        .args(["printer-sim", "--listen", &format!("127.0.0.1:{port}"), "--out"])
        .arg(out)
        .args(switch)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed().as_secs() < 5, "the simulator did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (child, port)
}

#[test]
fn a_reprint_on_a_printer_that_dies_mid_ticket_is_recorded_as_failed() {
    let t = demo_ledger();
    cli(&t.db, &["issue", "--item", "A01"]);
    for switch in [&["--die-after-bytes", "200"][..], &["--close-after-status"][..]] {
        let out_dir = t.dir.path().join(format!("printed{}", switch.len()));
        let (mut sim, port) = printer_sim(&out_dir, switch);
        let out = cli(
            &t.db,
            &["reprint", "A001", "--printer", &format!("tcp://127.0.0.1:{port}")],
        );
        sim.kill().ok();
        sim.wait().ok();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{switch:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(stderr(&out).contains("did not print"), "{}", stderr(&out));
        let kinds = event_kinds(&t.db, "A001");
        assert_eq!(
            kinds.last().map(String::as_str),
            Some("print_failed"),
            "{switch:?}: {kinds:?}"
        );
        assert!(!kinds.iter().any(|k| k == "ticket_printed"), "{kinds:?}");
        let files = std::fs::read_dir(&out_dir).map(|d| d.count()).unwrap_or(0);
        assert_eq!(files, 0, "{switch:?}: the simulator wrote a ticket it did not print");
    }
}

/// What the simulator saved as `name`, once it is there (it renders after the bytes arrive).
fn saved_text(dir: &std::path::Path, name: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        if let Ok(t) = std::fs::read_to_string(dir.join(name)) {
            if dir.join(name.replace(".txt", ".png")).exists() {
                return t;
            }
        }
        assert!(start.elapsed().as_secs() < 10, "the simulator saved no {name}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn the_counter_prints_the_one_time_notification_slip_and_a_dead_printer_loses_nothing() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    cli(&t.db, &["issue", "--item", "A01"]);
    assert!(cli(&t.db, &["call", "--window", "1", "--staff", "S101"])
        .status
        .success());
    assert!(cli(&t.db, &["case", "A001", "start", "--staff", "S101"])
        .status
        .success());
    // No printer listening: the notification is recorded all the same, and the error says
    // how to print the slip again.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let notify = |printer: &str| {
        cli(
            &t.db,
            &[
                "case",
                "A001",
                "notify",
                "--missing",
                "公司章程",
                "--missing",
                "住所使用证明",
                "--staff",
                "S101",
                "--print",
                printer,
            ],
        )
    };
    let out = notify(&format!("tcp://127.0.0.1:{dead}"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the notification of A001 is recorded, but its slip did not print")
            && stderr(&out).contains("bangban case A001 show --print"),
        "{}",
        stderr(&out)
    );
    let shown = json(&cli(&t.db, &["--json", "case", "A001", "show"]));
    assert_eq!(shown["case"]["state"], "awaiting_materials");
    // The second copy, from `show`, on a printer that works.
    let out_dir = t.dir.path().join("counter-printer");
    let (mut sim, port) = printer_sim(&out_dir, &[]);
    let out = cli(
        &t.db,
        &["case", "A001", "show", "--print", &format!("tcp://127.0.0.1:{port}")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let slip = saved_text(&out_dir, "ticket-001.txt");
    sim.kill().ok();
    sim.wait().ok();
    for line in [
        "一次性告知书",
        "号码 A001",
        "□ 公司章程",
        "□ 住所使用证明",
        "  获取：房产证复印件或租赁合同，",
        "        由产权人签字",
        "补齐后请带本告知书回到 1 号窗口",
        "帮办专员 王丽",
        "咨询电话 0632-3311101",
    ] {
        assert!(slip.lines().any(|l| l == line), "missing {line:?} in\n{slip}");
    }
    // --print belongs to notify and show only.
    let out = cli(
        &t.db,
        &[
            "case",
            "A001",
            "returned",
            "--staff",
            "S101",
            "--print",
            "tcp://127.0.0.1:9",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_case_called_to_one_window_is_not_started_at_a_colleagues() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101", "S102"]);
    assert!(cli(&t.db, &["issue", "--item", "A01"]).status.success());
    let called = cli(&t.db, &["call", "--window", "1", "--staff", "S101"]);
    assert!(called.status.success(), "{}", stderr(&called));
    // The colleague at window 2 cannot take the visitor the board sent to window 1.
    for action in ["start", "no-show", "hold"] {
        let out = cli(&t.db, &["case", "A001", action, "--staff", "S102", "--window", "2"]);
        assert_eq!(out.status.code(), Some(1), "{action}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("called to window 1"),
            "{action}: {}",
            stderr(&out)
        );
    }
    let out = cli(&t.db, &["case", "A001", "start", "--staff", "S101", "--window", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // And window 2 is free to call its own next visitor.
    assert!(cli(&t.db, &["issue", "--item", "A01"]).status.success());
    let next = cli(&t.db, &["call", "--window", "2", "--staff", "S102"]);
    assert!(next.status.success(), "{}", stderr(&next));
}

#[test]
fn printer_sim_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _port) = printer_sim(dir.path(), &[]);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > std::time::Duration::from_secs(5) {
            child.kill().ok();
            panic!("printer-sim ignored SIGTERM for 5 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn healthz_says_when_the_disk_holding_the_ledger_is_full() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    // The server on a small tmpfs of a private mount namespace, the disk then filled to the
    // last byte, as on a server whose disk filled up overnight; the test asks from outside.
    let t = demo_ledger();
    let mnt = t.dir.path().join("full");
    std::fs::create_dir(&mnt).unwrap();
    let script = format!(
        "set -e; mount --make-rprivate / 2>/dev/null || true; mount -t tmpfs -o size=3m tmpfs {mnt}; \
         cp {db} {mnt}/ledger.sqlite3; \
         {bin} --db {mnt}/ledger.sqlite3 serve --listen 127.0.0.1:0 & S=$!; \
         trap 'kill $S 2>/dev/null; wait $S 2>/dev/null; umount -l {mnt}' EXIT TERM; \
         sleep 1; dd if=/dev/zero of={mnt}/fill bs=4k 2>/dev/null || true; echo filled; wait $S",
        mnt = mnt.display(),
        db = t.db.display(),
        bin = bin()
    );
    let mut child = in_private_mounts(&script)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    assert_eq!(lines.next().unwrap().unwrap().trim(), "filled");
    let (code, body) = match ureq::get(&format!("{url}/healthz")).call() {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    };
    // SAFETY: signalling our own child's process group.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGTERM) };
    let _ = child.wait();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("disk full"), "{body}");
}

#[test]
fn a_pin_change_dated_before_the_ledgers_last_event_is_refused() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    assert!(cli(&t.db, &["issue", "--item", "A01"]).status.success());
    let backdated = cli_env(
        &t.db,
        &["staff", "set-pin", "S101", "--pin", "482915"],
        &[("BANGBAN_NOW", "2020-01-01T00:00:00Z")],
    );
    assert!(!backdated.status.success());
    assert!(
        stderr(&backdated).contains("before the ledger's last event"),
        "{}",
        stderr(&backdated)
    );
    // At the true time it goes through.
    let now = cli(&t.db, &["staff", "set-pin", "S101", "--pin", "482915"]);
    assert!(now.status.success(), "{}", stderr(&now));
}
