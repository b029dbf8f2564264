//! Printer tests: the byte-exact ticket (snapshot), what it decodes to, and target parsing.

use bangban_printer::decode::{decode, Piece};
use bangban_printer::{ticket_bytes, PrintTicket, PrinterTarget};

fn sample(reprint: bool) -> PrintTicket {
    let ticket = bangban::Ticket {
        hall_name: "枣庄市民中心".into(),
        number: "A012".into(),
        case_id: 12,
        token: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
        department: "SCJ".into(),
        window: 3,
        windows: vec![1, 2, 3],
        department_name: "市场监督管理局".into(),
        item: "A01".into(),
        item_name: "企业开办·有限责任公司设立登记".into(),
        specialist_name: "王丽".into(),
        office_phone: "0632-3311101".into(),
        priority: Some("elderly".into()),
        priority_name: Some("老年人".into()),
        mode: bangban::Mode::Fullprocess,
        ahead: 4,
        estimated_wait_min: 24,
        issued_at: "2026-11-25T01:30:00Z".into(),
        business_day: "2026-11-25".into(),
        issued_local: "2026-11-25 09:30".into(),
        materials: vec!["公司章程".into(), "股东身份证明".into()],
        qr_payload: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
    };
    PrintTicket { ticket, reprint }
}

fn hex_lines(bytes: &[u8]) -> String {
    bytes
        .chunks(32)
        .map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Compare with a committed snapshot; `UPDATE_SNAPSHOTS=1` rewrites it after a deliberate change.
#[track_caller]
fn check(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1)", path.display()));
    if expected != actual {
        panic!(
            "{} differs from the ticket now built:\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}

#[test]
fn the_ticket_bytes_are_exactly_the_snapshot() {
    let bytes = ticket_bytes(&sample(false)).unwrap();
    check("ticket.hex", &hex_lines(&bytes));
}

#[test]
fn the_ticket_reads_back_as_the_printed_slip() {
    let p = decode(&ticket_bytes(&sample(false)).unwrap());
    assert!(
        p.unknown.is_empty(),
        "commands the decoder does not know: {:?}",
        p.unknown
    );
    check("ticket.txt", &(p.text() + "\n"));
    assert_eq!(p.qr_codes(), vec!["0f1e2d3c4b5a69788796a5b4c3d2e1f0"]);
    assert!(
        matches!(p.pieces.last(), Some(Piece::Cut)),
        "the ticket ends with a cut"
    );
    let number = p.lines().find(|l| l.text == "A012").unwrap();
    assert_eq!((number.size, number.bold, number.justify), ((3, 3), true, 1));
}

#[test]
fn chinese_goes_out_in_gb18030_after_fs_ampersand() {
    let bytes = ticket_bytes(&sample(false)).unwrap();
    assert_eq!(&bytes[..4], &[0x1B, 0x40, 0x1C, 0x26], "init, then Chinese mode");
    let (gb, _, _) = encoding_rs::GB18030.encode("市场监督管理局");
    assert!(bytes.windows(gb.len()).any(|w| w == &gb[..]));
    assert!(!bytes.windows(3).any(|w| w == "市".as_bytes()), "no UTF-8");
}

#[test]
fn a_reprint_is_marked() {
    let text = decode(&ticket_bytes(&sample(true)).unwrap()).text();
    assert!(text.contains("【补打】"), "{text}");
    assert!(!decode(&ticket_bytes(&sample(false)).unwrap()).text().contains("补打"));
}

#[test]
fn printer_targets_parse_with_clear_errors() {
    assert_eq!(
        PrinterTarget::parse("tcp://10.0.0.5:9100"),
        Ok(PrinterTarget::Tcp {
            host: "10.0.0.5".into(),
            port: 9100
        })
    );
    assert_eq!(
        PrinterTarget::parse("tcp://printer.local"),
        Ok(PrinterTarget::Tcp {
            host: "printer.local".into(),
            port: 9100
        })
    );
    assert_eq!(
        PrinterTarget::parse("file:/dev/usb/lp0"),
        Ok(PrinterTarget::File("/dev/usb/lp0".into()))
    );
    assert_eq!(PrinterTarget::parse("none"), Ok(PrinterTarget::None));
    assert!(PrinterTarget::parse("tcp://x:port")
        .unwrap_err()
        .contains("is not a number"));
    assert!(PrinterTarget::parse("usb:04b8:0202")
        .unwrap_err()
        .contains("file:/dev/usb/lp0"));
    assert!(PrinterTarget::parse("lpt1").unwrap_err().contains("expected tcp://"));
}

#[test]
fn printer_targets_accept_host_names_and_ipv6() {
    assert_eq!(
        PrinterTarget::parse("tcp://printer-2:9100"),
        Ok(PrinterTarget::Tcp {
            host: "printer-2".into(),
            port: 9100
        })
    );
    assert_eq!(
        PrinterTarget::parse("tcp://[::1]:9101"),
        Ok(PrinterTarget::Tcp {
            host: "::1".into(),
            port: 9101
        })
    );
    assert_eq!(
        PrinterTarget::parse("tcp://[fe80::1]"),
        Ok(PrinterTarget::Tcp {
            host: "fe80::1".into(),
            port: 9100
        })
    );
    assert_eq!(
        PrinterTarget::parse("tcp://[::1]:9101").unwrap().device_name(),
        "printer:tcp://[::1]:9101"
    );
    assert!(PrinterTarget::parse("tcp://::1:9100").unwrap_err().contains("brackets"));
    assert!(PrinterTarget::parse("tcp://[::1")
        .unwrap_err()
        .contains("closing bracket"));
    assert!(PrinterTarget::parse("tcp://bad host:9100")
        .unwrap_err()
        .contains("not a host name"));
    assert!(PrinterTarget::parse("tcp://printer:0")
        .unwrap_err()
        .contains("is not a number"));
}

mod sim_faults {
    //! Sending real tickets to the printer simulator on loopback, healthy and failing.

    use std::path::Path;
    use std::time::{Duration, Instant};

    use bangban_printer::sim::Condition;
    use bangban_printer::{send, ticket_bytes, PrintError, PrinterTarget};

    /// Start the simulator on a free port of `host`; returns the port once it accepts.
    fn simulator(host: &str, dir: &Path, condition: Condition) -> u16 {
        let probe = std::net::TcpListener::bind((host, 0)).expect("bind a free port");
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let (dir, listen) = (
            dir.to_path_buf(),
            if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            },
        );
        std::thread::spawn(move || bangban_printer::sim::run(&listen, &dir, condition, |_, _| {}));
        let start = Instant::now();
        while std::net::TcpStream::connect((host, port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(5), "the simulator did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        port
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// What the simulator saved once it has had time to write everything it printed.
    /// The simulator renders the PNG after the text file, on its own thread, so a
    /// loaded machine can take a while: wait for `expected` (up to ten seconds)
    /// rather than for a fixed moment, and for an expected empty directory give any
    /// wrongly written file a moment to appear.
    fn saved(dir: &Path, expected: &[&str]) -> Vec<String> {
        let start = Instant::now();
        if expected.is_empty() {
            std::thread::sleep(Duration::from_millis(300));
            return listing(dir);
        }
        loop {
            let names = listing(dir);
            if names == expected || start.elapsed() > Duration::from_secs(10) {
                return names;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ticket() -> Vec<u8> {
        ticket_bytes(&super::sample(false)).unwrap()
    }

    #[test]
    fn a_ticket_reaches_a_printer_by_host_name_and_by_ipv6() {
        for (host, spec) in [("127.0.0.1", "tcp://localhost:{}"), ("::1", "tcp://[::1]:{}")] {
            let dir = tempfile::tempdir().unwrap();
            let port = simulator(host, dir.path(), Condition::default());
            let target = PrinterTarget::parse(&spec.replace("{}", &port.to_string())).unwrap();
            send(&target, &ticket()).unwrap_or_else(|e| panic!("{spec}: {e}"));
            let expected = ["ticket-001.png", "ticket-001.txt"];
            assert_eq!(saved(dir.path(), &expected), expected, "{spec}");
        }
    }

    #[test]
    fn an_unknown_host_name_is_unreachable_not_a_panic() {
        let target = PrinterTarget::parse("tcp://no-such-printer.invalid:9100").unwrap();
        assert!(matches!(send(&target, &ticket()), Err(PrintError::Unreachable(_))));
    }

    #[track_caller]
    fn fails_and_saves_nothing(condition: Condition) -> PrintError {
        let dir = tempfile::tempdir().unwrap();
        let port = simulator("127.0.0.1", dir.path(), condition);
        let target = PrinterTarget::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        let start = Instant::now();
        let err = send(&target, &ticket()).expect_err("the ticket must not count as printed");
        assert!(start.elapsed() < Duration::from_secs(8), "took {:?}", start.elapsed());
        assert_eq!(
            saved(dir.path(), &[]),
            Vec::<String>::new(),
            "{condition:?} wrote a ticket file"
        );
        err
    }

    #[test]
    fn a_printer_that_dies_mid_ticket_is_a_failure() {
        let err = fails_and_saves_nothing(Condition {
            die_after_bytes: Some(200),
            ..Default::default()
        });
        assert!(
            matches!(err, PrintError::NotConfirmed(_) | PrintError::Write(_)),
            "{err:?}"
        );
    }

    #[test]
    fn status_bytes_sent_unasked_do_not_confirm_a_ticket_the_printer_never_printed() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut question = [0u8; 3];
            // The two questions before the ticket get "online, paper present"; with the second
            // answer come status bytes nobody asked for (as automatic status back sends them).
            s.read_exact(&mut question).unwrap();
            s.write_all(&[0x12]).unwrap();
            s.read_exact(&mut question).unwrap();
            s.write_all(&[0x12, 0x12, 0x12, 0x12]).unwrap();
            // Then it takes the ticket and everything after it in silence, printing nothing.
            let mut sink = [0u8; 4096];
            while let Ok(n) = s.read(&mut sink) {
                if n == 0 {
                    break;
                }
            }
        });
        let target = PrinterTarget::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        let err = send(&target, &ticket()).expect_err("a stale status byte is not the printer's answer");
        assert!(matches!(err, PrintError::NotConfirmed(_)), "{err:?}");
    }

    #[test]
    fn a_printer_that_resets_after_the_status_answer_is_a_failure() {
        let err = fails_and_saves_nothing(Condition {
            close_after_status: true,
            ..Default::default()
        });
        assert!(
            matches!(err, PrintError::NotConfirmed(_) | PrintError::Write(_)),
            "{err:?}"
        );
    }

    #[test]
    fn refused_jobs_leave_no_ticket_file() {
        assert!(matches!(
            fails_and_saves_nothing(Condition {
                paper_out: true,
                ..Default::default()
            }),
            PrintError::Offline(_)
        ));
        assert!(matches!(
            fails_and_saves_nothing(Condition {
                cover_open: true,
                ..Default::default()
            }),
            PrintError::Offline(_)
        ));
        assert!(matches!(
            fails_and_saves_nothing(Condition {
                silent: true,
                ..Default::default()
            }),
            PrintError::Silent
        ));
    }
}

/// Found by the `escpos_decode` fuzz target: a cut command (GS V 254 n) split across two
/// reads was counted as two cuts.
#[test]
fn a_command_split_across_reads_decodes_once() {
    let bytes = [0xef, 0x01, 0x1d, 0x56, 0xfe, 0x03, 0x1b];
    let whole = decode(&bytes);
    for step in 1..bytes.len() {
        let mut d = bangban_printer::decode::Decoder::default();
        let mut requests = Vec::new();
        for chunk in bytes.chunks(step) {
            requests.extend(d.feed(chunk));
        }
        let p = d.finish();
        assert_eq!(p.cuts(), whole.cuts(), "in chunks of {step}");
        assert_eq!(p.cuts(), 1);
        assert_eq!(requests, whole.status_requests);
    }
    let eot = [0x10, 0x04, 0x07, 0x01, 0x10, 0x04, 0x01];
    let mut d = bangban_printer::decode::Decoder::default();
    let mut requests = d.feed(&eot[..3]);
    requests.extend(d.feed(&eot[3..]));
    assert_eq!(
        requests,
        vec![7, 1],
        "DLE EOT 7 n split after its third byte counts once"
    );
}

/// The slip the counter prints after `notify`: a demo ledger, A001 served at window 1 by
/// S101, two materials recorded as missing.
fn notified_slip() -> bangban_printer::Slip {
    use bangban::{CallRequest, CaseAction, Channel, IssueRequest, LedgerOptions};
    let dir = tempfile::tempdir().unwrap();
    let mut l = bangban::open_or_demo(&dir.path().join("l.sqlite3"), LedgerOptions::default(), "test").unwrap();
    l.issue(&IssueRequest {
        item: "A01".into(),
        priority: None,
        mode: None,
        channel: Channel::Kiosk,
        actor: "kiosk-1".into(),
    })
    .unwrap();
    let called = l
        .call(&CallRequest {
            window: 1,
            staff: "S101".into(),
            number: None,
        })
        .unwrap();
    l.act(&called.number, 1, "S101", &CaseAction::Start).unwrap();
    let case = l
        .act(
            &called.number,
            1,
            "S101",
            &CaseAction::NotifyMissing {
                missing: vec!["公司章程".into(), "法定代表人、董事、监事任职文件".into()],
            },
        )
        .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T10:30:00+08:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    bangban_printer::Slip::of(&l.hall().unwrap(), &case, "S101", 1, at)
}

#[test]
fn the_notification_slip_reads_back_with_each_missing_material_and_where_to_get_it() {
    let slip = notified_slip();
    let p = decode(&bangban_printer::slip_bytes(&slip).unwrap());
    assert!(p.unknown.is_empty(), "{:?}", p.unknown);
    check("slip.txt", &(p.text() + "\n"));
    let text = p.text();
    for line in [
        "一次性告知书",
        "号码 A001",
        "□ 公司章程",
        "  获取：可在市场监管局网站下载范",
        "        本，或请1号窗口专员协助",
        "□ 法定代表人、董事、监事任职文",
        "  件",
        "  获取：请咨询帮办专员",
        "补齐后请带本告知书回到 1 号窗口",
        "帮办专员 王丽",
        "咨询电话 0632-3311101",
        "告知时间 2026-11-27 10:30",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert_eq!(p.qr_codes(), vec![slip.qr_payload.as_str()]);
    assert!(matches!(p.pieces.last(), Some(Piece::Cut)));
}
