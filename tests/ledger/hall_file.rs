//! Hall files and attachment imports: rule checks name file, line and field, and a broken file
//! leaves the ledger untouched.

use rusqlite::Connection;

use crate::support::*;

fn demo_src() -> String {
    std::fs::read_to_string(demo_hall_path()).unwrap()
}

fn write(t: &TempLedger, name: &str, body: &str) -> String {
    let p = t.dir.path().join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

fn line_of(src: &str, needle: &str) -> usize {
    src.lines().position(|l| l.contains(needle)).expect("needle in file") + 1
}

/// The ledger's observable state: chain head, hall config rows, file bytes of the log.
fn snapshot(t: &TempLedger) -> (i64, i64, String) {
    let c = Connection::open(&t.db).unwrap();
    let head: i64 = c.query_row("SELECT seq FROM chain_head", [], |r| r.get(0)).unwrap();
    let configs: i64 = c
        .query_row("SELECT count(*) FROM hall_config", [], |r| r.get(0))
        .unwrap();
    let sha: String = c
        .query_row("SELECT sha256 FROM hall_config ORDER BY id DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    (head, configs, sha)
}

fn init_fails(t: &TempLedger, file: &str) -> String {
    let before = snapshot(t);
    let out = cli(&t.db, &["init", "--hall", file]);
    assert_eq!(out.status.code(), Some(1), "init should fail: {}", stdout(&out));
    assert_eq!(snapshot(t), before, "a failed init changed the ledger");
    stderr(&out)
}

#[test]
fn bad_toml_names_file_line_and_field() {
    let t = demo_ledger();
    let src = demo_src().replacen("prefix = \"B\"", "prefix = B", 1);
    let f = write(&t, "bad.toml", &src);
    let err = init_fails(&t, &f);
    let line = line_of(&src, "prefix = B");
    assert!(err.contains(&format!("{f}:{line}: field `prefix`")), "{err}");
}

#[test]
fn an_unknown_window_names_the_item_line() {
    let t = demo_ledger();
    let src = demo_src().replacen(
        "window = 4\nspecialist = \"S202\"",
        "window = 44\nspecialist = \"S202\"",
        1,
    );
    let f = write(&t, "window.toml", &src);
    let err = init_fails(&t, &f);
    let line = line_of(&src, "window = 44");
    assert!(
        err.contains(&format!("{f}:{line}: field `window`: unknown window 44")),
        "{err}"
    );
}

#[test]
fn a_department_with_one_specialist_is_refused() {
    let t = demo_ledger();
    // Move GAJ's handler to another department: GAJ keeps one specialist.
    let src = demo_src().replacen(
        "staff_id = \"S202\"\ndepartment = \"GAJ\"",
        "staff_id = \"S202\"\ndepartment = \"RSJ\"",
        1,
    );
    let f = write(&t, "team.toml", &src);
    let err = init_fails(&t, &f);
    // A department-level rule points at the department's table header.
    let line = line_of(&src, "code = \"GAJ\"") - 1;
    assert!(
        err.contains(&format!(
            "{f}:{line}: field `specialists`: department \"GAJ\" has 1 specialist(s)"
        )),
        "{err}"
    );
}

#[test]
fn a_broken_file_on_a_fresh_path_creates_no_ledger() {
    let t = temp_ledger();
    let f = write(
        &t,
        "dup.toml",
        &demo_src().replacen("prefix = \"C\"", "prefix = \"A\"", 1),
    );
    let out = cli(&t.db, &["init", "--hall", &f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("field `prefix`: queue prefix \"A\" is used by another department"),
        "{}",
        stderr(&out)
    );
    assert!(!t.db.exists(), "a failed init created the ledger file");
}

#[test]
fn init_is_idempotent_and_applies_changes_once() {
    let t = demo_ledger();
    let before = snapshot(&t);
    let again = json(&cli(
        &t.db,
        &["init", "--hall", demo_hall_path().to_str().unwrap(), "--json"],
    ));
    assert_eq!(again["changed"], false);
    assert_eq!(snapshot(&t), before);
    let f = write(
        &t,
        "renamed.toml",
        &demo_src().replacen("name = \"枣庄市民中心\"", "name = \"枣庄市民中心（新城）\"", 1),
    );
    let changed = json(&cli(&t.db, &["init", "--hall", &f, "--json"]));
    assert_eq!(changed["changed"], true);
    let after = snapshot(&t);
    assert_eq!(after.0, before.0 + 1, "one hall_configured event");
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn specialist_csv_import_checks_rows_and_writes_nothing_on_error() {
    let t = demo_ledger();
    let before = snapshot(&t);
    // Attachment 1 as departments fill it in, with Chinese headings.
    let mut rows = String::from("部门,工号,姓名,负责业务范围,联系电话,角色\n");
    let items = json(&cli(&t.db, &["items", "--json"]));
    let depts: std::collections::BTreeSet<String> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["department"].as_str().unwrap().to_string())
        .collect();
    // Keep every specialist the items refer to, so only the CSV's own errors show.
    let hall = bangban::Hall::from_path(&demo_hall_path()).unwrap();
    for s in &hall.specialists {
        let role = if s.role == bangban::hall::Role::Coordinator {
            "统筹协调对接"
        } else {
            "具体工作"
        };
        rows.push_str(&format!(
            "{},{},{},{},{},{}\n",
            s.department, s.staff_id, s.name, s.scope, s.phone, role
        ));
    }
    assert!(depts.len() >= 8);
    let bad = format!("{rows}GAJ,S299,钱多,户籍,138,组长\n");
    let f = write(&t, "attachment1.csv", &bad);
    let out = cli(&t.db, &["import", "specialists", &f]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let last = bad.lines().count();
    assert!(err.contains(&format!("{f}:{last}: field `role`")), "{err}");
    assert!(err.contains(&format!("{f}:{last}: field `phone`")), "{err}");
    assert_eq!(snapshot(&t), before, "a failed import changed the ledger");
    let good = format!("{rows}GAJ,S299,钱多,户籍,13806322299,具体工作\n");
    let f = write(&t, "attachment1-ok.csv", &good);
    let out = json(&cli(&t.db, &["import", "specialists", &f, "--json"]));
    assert_eq!(out["specialists"], hall.specialists.len() + 1);
}

#[test]
fn item_csv_import_reports_unknown_windows_by_row() {
    let t = demo_ledger();
    let csv = "编码,部门,主项,子项,受理窗口,专员,联系电话,所需材料,类别\n\
               B01,GAJ,居民身份证,换领,4,S202,0632-3312201,户口簿；原居民身份证,民生保障\n\
               B02,GAJ,户口迁移,市内迁移,9,S202,0632-3312201,户口簿,民生保障\n";
    let f = write(&t, "attachment2.csv", csv);
    let out = cli(&t.db, &["import", "items", &f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("{f}:3: field `window`: unknown window 9")),
        "{}",
        stderr(&out)
    );
}
