//! The office's work from any desk: every `bangban` subcommand either works through
//! `bangban serve` with a device of the right role, or is one of the commands that by nature
//! run on the ledger's host and says so; PINs change over the network.

use std::collections::BTreeSet;
use std::process::Output;

use crate::support::*;

/// The subcommands `bangban --help` lists.
fn subcommands() -> BTreeSet<String> {
    let out = std::process::Command::new(bin()).arg("--help").output().unwrap();
    let help = stdout(&out);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

#[track_caller]
fn ok(out: Output, what: &str) -> Output {
    assert!(out.status.success(), "{what}: {}", stderr(&out));
    out
}

#[test]
fn every_subcommand_works_through_the_server_or_says_it_runs_on_the_host() {
    let t = demo_ledger();
    set_pins(&t.db, &["S102", "S900"]);
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let counter = enrol(&t.db, "counter-2", "counter");
    let office = enrol(&t.db, "office-desk", "office");
    let admin = enrol(&t.db, "admin-pc", "admin");
    let s = Served::start(&t.db);
    let work = tempfile::tempdir().unwrap();
    let file = |name: &str| work.path().join(name).to_str().unwrap().to_string();
    let mut walked = BTreeSet::new();
    let mut run = |name: &str, token: &str, args: &[&str]| {
        walked.insert(name.to_string());
        remote(&s.url, token, args)
    };

    ok(run("items", &office, &["items"]), "items");
    ok(
        run("issue", &kiosk, &["issue", "--item", "A01", "--repeat", "2"]),
        "issue",
    );
    ok(run("waiting", &counter, &["waiting"]), "waiting");
    ok(
        run("call", &counter, &["call", "--window", "2", "--staff", "S102"]),
        "call",
    );
    ok(
        run("case", &counter, &["case", "A001", "start", "--staff", "S102"]),
        "start",
    );
    let consult = [
        "case",
        "A001",
        "consult",
        "--question",
        "名称核准要带什么",
        "--answer",
        "已说明",
        "--staff",
        "S102",
    ];
    ok(run("case", &counter, &consult), "consult");
    let rated = json(&ok(
        run(
            "rate",
            &office,
            &["--json", "rate", "A001", "--level", "5", "--channel", "kiosk"],
        ),
        "rate",
    ));
    assert_eq!(rated["rating"], 5, "{rated}");
    ok(
        run(
            "reprint",
            &kiosk,
            &["reprint", "A002", "--printer", &format!("file:{}", file("reprint.bin"))],
        ),
        "reprint",
    );
    let opened = [
        "open-case",
        "--item",
        "A01",
        "--channel",
        "phone",
        "--question",
        "营业执照",
        "--answer",
        "已答复",
        "--window",
        "2",
        "--staff",
        "S102",
    ];
    ok(run("open-case", &counter, &opened), "open-case");
    ok(
        run("window", &counter, &["window", "3", "pause", "--staff", "S102"]),
        "pause",
    );
    ok(
        run("window", &counter, &["window", "3", "resume", "--staff", "S102"]),
        "resume",
    );
    ok(run("overdue", &office, &["overdue"]), "overdue");
    // A form of the case, made through the server at the office's desk.
    let poa = file("poa.pdf");
    ok(run("form", &office, &["form", "poa", "A001", "--out", &poa]), "form");
    assert!(std::fs::read(&poa).unwrap().starts_with(b"%PDF-"));
    ok(run("report", &office, &["report"]), "report");
    // The register carries what was typed at the counter: the office reads it at its desk.
    let register = stdout(&ok(run("records", &office, &["records", "consultations"]), "records"));
    assert!(register.contains("名称核准要带什么"), "{register}");

    // Attachment 1 out and back in, from the office's desk.
    let a1 = file("attachment1.csv");
    ok(
        run(
            "export",
            &office,
            &["export", "attachment1", "--out", &a1, "--department", "SCJG"],
        ),
        "export",
    );
    ok(
        run(
            "import",
            &office,
            &["import", "specialists", &a1, "--department", "SCJG"],
        ),
        "import",
    );

    // 预约: booked at a counter for tomorrow, listed, refused at the kiosk now (too early), cancelled.
    // The demo hall keeps Beijing time (UTC+8, no summer time).
    let tomorrow = (chrono::Utc::now() + chrono::Duration::hours(8 + 24))
        .date_naive()
        .to_string();
    let booked = json(&ok(
        run(
            "appointment",
            &counter,
            &[
                "--json",
                "appointment",
                "add",
                "--item",
                "A01",
                "--at",
                &format!("{tomorrow} 10:00"),
                "--phone",
                "13800001234",
            ],
        ),
        "appointment add",
    ));
    let code = booked["code"].as_str().unwrap().to_string();
    assert_eq!(booked["phone"], "138****1234");
    let listed = json(&ok(
        run(
            "appointment",
            &office,
            &["--json", "appointment", "list", "--date", &tomorrow],
        ),
        "appointment list",
    ));
    assert_eq!(listed["appointments"].as_array().unwrap().len(), 1, "{listed}");
    let early = run("check-in", &kiosk, &["check-in", &code]);
    assert_eq!(early.status.code(), Some(1));
    assert!(stderr(&early).contains("check in from"), "{}", stderr(&early));
    ok(
        run("appointment", &office, &["appointment", "cancel", &code]),
        "appointment cancel",
    );
    let again = run("check-in", &kiosk, &["check-in", &code]);
    assert!(stderr(&again).contains("cancelled"), "{}", stderr(&again));

    // 找茬吐槽 handed in at the office's desk, replied by the office's specialist with a PIN.
    let added = json(&ok(
        run(
            "feedback",
            &office,
            &[
                "--json",
                "feedback",
                "add",
                "--category",
                "wait",
                "--department",
                "SCJG",
                "--text",
                "排队太久",
            ],
        ),
        "feedback add",
    ));
    let id = added["id"].as_i64().unwrap().to_string();
    ok(
        run(
            "feedback",
            &office,
            &["feedback", "reply", &id, "--reply", "已增开窗口", "--staff", "S900"],
        ),
        "feedback reply",
    );
    let list = stdout(&ok(run("feedback", &office, &["feedback", "list"]), "feedback list"));
    assert!(list.contains("已回复（S900）"), "{list}");
    ok(run("verify", &office, &["verify"]), "verify");

    // The office's desk neither issues nor calls.
    for args in [
        &["issue", "--item", "A01"][..],
        &["call", "--window", "2", "--staff", "S102"][..],
    ] {
        let out = remote(&s.url, &office, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains("not allowed"), "{args:?}: {}", stderr(&out));
    }

    // Devices: the admin's alone.
    ok(
        run("device", &admin, &["device", "add", "board-9", "--role", "board"]),
        "device add",
    );
    let devices = stdout(&ok(run("device", &admin, &["device", "list"]), "device list"));
    assert!(devices.contains("board-9") && !devices.contains(&kiosk), "{devices}");
    ok(run("device", &admin, &["device", "revoke", "board-9"]), "device revoke");
    let refused = run("device", &office, &["device", "add", "board-10", "--role", "board"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("not allowed"), "{}", stderr(&refused));

    // A backup streamed to this machine, verified here.
    let copy = file("copy.db");
    ok(run("backup", &admin, &["backup", "--to", &copy]), "backup");
    ok(cli(std::path::Path::new(&copy), &["verify"]), "verify the copy");
    ok(run("rebuild-cases", &admin, &["rebuild-cases"]), "rebuild-cases");
    ok(run("purge", &admin, &["purge", "--before", "2020-01-01"]), "purge");
    ok(
        run("staff", &admin, &["staff", "set-pin", "S101", "--pin", "802461"]),
        "staff set-pin",
    );
    // 培训记录 from the office's desk.
    ok(
        run(
            "staff",
            &office,
            &[
                "staff",
                "training",
                "add",
                "S102",
                "--date",
                "2026-11-20",
                "--course",
                "帮办代办服务规范",
                "--hours",
                "2",
            ],
        ),
        "training",
    );
    let reports = file("reports");
    ok(
        run("close-day", &office, &["close-day", "--out-dir", &reports]),
        "close-day",
    );
    assert!(std::fs::read_dir(&reports).unwrap().count() >= 4);

    // What runs where the ledger file lives says so, and changes nothing.
    let hall = demo_hall_path();
    for (name, args) in [
        ("init", vec!["init", "--hall", hall.to_str().unwrap()]),
        ("hall", vec!["hall", "export", "--out", "in-force.toml"]),
        ("restore", vec!["restore", &copy]),
        (
            "migrate",
            vec!["migrate", "--from", &copy, "--to", "postgres://nowhere/db"],
        ),
        ("serve", vec!["serve"]),
        ("loadtest", vec!["loadtest"]),
        ("ca", vec!["ca", "export"]),
        ("demo-day", vec!["demo-day"]),
    ] {
        let out = run(name, &admin, &args);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(
            stderr(&out).contains("runs on the ledger's host only"),
            "{name}: {}",
            stderr(&out)
        );
    }
    // The printer simulator stands for a printer and needs no hall.
    walked.insert("printer-sim".into());
    assert_eq!(walked, subcommands(), "a subcommand this walk does not try");
}

#[test]
fn a_specialist_changes_their_own_pin_over_the_network_and_only_an_admin_resets_anothers() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101", "S102"]);
    let counter = enrol(&t.db, "counter-1", "counter");
    let admin = enrol(&t.db, "admin-pc", "admin");
    let s = Served::start(&t.db);
    let set = |token: &str, args: &[&str]| remote(&s.url, token, &[&["staff", "set-pin"][..], args].concat());

    // Own PIN with the old one, from the counter.
    ok(
        set(&counter, &["S101", "--old-pin", TEST_PIN, "--pin", "975310"]),
        "own change",
    );
    // The old PIN no longer signs in; the new one does (a call: exit 3 when nobody waits).
    let call_as = |window: &str, staff: &str, pin: &str| {
        std::process::Command::new(bin())
            .args([
                "--server", &s.url, "--token", &counter, "call", "--window", window, "--staff", staff,
            ])
            .env("BANGBAN_PIN", pin)
            .output()
            .unwrap()
    };
    let signs_in = |out: Output| {
        assert!(out.status.success() || out.status.code() == Some(3), "{}", stderr(&out));
    };
    assert!(stderr(&call_as("1", "S101", TEST_PIN)).contains("wrong PIN"));
    signs_in(call_as("1", "S101", "975310"));
    // A wrong old PIN is refused and counted like a wrong sign-in.
    let wrong = set(&counter, &["S102", "--old-pin", "111222", "--pin", "864209"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("wrong PIN"), "{}", stderr(&wrong));
    // A counter cannot reset someone else's PIN without it.
    let reset = set(&counter, &["S102", "--pin", "864209"]);
    assert_eq!(reset.status.code(), Some(1));
    assert!(stderr(&reset).contains("not allowed"), "{}", stderr(&reset));
    // The admin device resets it.
    ok(set(&admin, &["S102", "--pin", "864209"]), "admin reset");
    signs_in(call_as("2", "S102", "864209"));
    ok(cli(&t.db, &["verify"]), "verify");
}
