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

/// The specialists of one department as (staff id, name, role) from the ledger's hall.
fn team(t: &TempLedger, dept: &str) -> Vec<(String, String, String)> {
    let c = Connection::open(&t.db).unwrap();
    let body: String = c
        .query_row("SELECT body FROM hall_config ORDER BY id DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let hall = bangban::Hall::from_json(&body).unwrap();
    hall.specialists
        .iter()
        .filter(|s| s.department == dept)
        .map(|s| {
            (
                s.staff_id.clone(),
                s.name.clone(),
                format!("{:?}", s.role).to_lowercase(),
            )
        })
        .collect()
}

#[test]
fn the_attachments_are_exported_in_the_official_layout_and_import_back_unchanged() {
    use calamine::{Data, Reader};
    let t = demo_ledger();
    let a1 = t.dir.path().join("附件1.xlsx");
    let a2 = t.dir.path().join("附件2.xlsx");
    for (what, out) in [("attachment1", &a1), ("attachment2", &a2)] {
        let o = cli_env(
            &t.db,
            &["export", what, "--out", out.to_str().unwrap()],
            &[("BANGBAN_NOW", "2026-11-27T10:00:00+08:00")],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let text = |d: &Data| match d {
        Data::Float(f) => format!("{f}"),
        other => other.to_string(),
    };
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&a1).unwrap();
    assert_eq!(book.sheet_names().len(), 10, "one sheet per department");
    let r = book.worksheet_range("市场监督管理局").unwrap();
    let rows: Vec<Vec<String>> = r.rows().map(|row| row.iter().map(text).collect()).collect();
    assert_eq!(rows[0][0], "枣庄市民中心帮办代办服务专员信息登记表");
    assert_eq!(rows[1][0], "进驻部门单位：市场监督管理局");
    assert_eq!(rows[2][4], "2026 年 11 月 27 日");
    assert_eq!(rows[3], ["序号", "姓名", "业务范围", "联系电话", "职责"]);
    assert_eq!(
        rows[4],
        ["1", "王丽", "企业开办统筹协调", "13806321101", "统筹协调对接"]
    );
    assert_eq!(
        rows[5],
        ["2", "刘洋", "设立、变更、注销登记", "13806321102", "具体工作"]
    );
    assert!(rows[7][0].starts_with("备注：请各进驻部门单位明确 2 名帮办代办服务专员"));
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&a2).unwrap();
    let r = book.worksheet_range("不动产登记中心").unwrap();
    let rows: Vec<Vec<String>> = r.rows().map(|row| row.iter().map(text).collect()).collect();
    assert_eq!(rows[0][0], "枣庄市民中心帮办代办政务服务事项清单");
    assert_eq!(
        rows[3],
        ["序号", "主项名称", "子项名称", "受理窗口", "帮办代办人员", "联系电话"]
    );
    assert_eq!(rows[4][0..5], ["1", "不动产转移登记", "二手房买卖", "12号窗口", "褚伟"]);

    // What was filed comes back as it went out: the whole workbook, or one department's
    // sheet of it, changes nothing (names match the staff ids and item codes kept).
    let before = snapshot(&t);
    for (what, file) in [("specialists", &a1), ("items", &a2)] {
        let o = json(&cli(&t.db, &["import", what, file.to_str().unwrap(), "--json"]));
        assert_eq!(o["changed"], false, "{what}: {o}");
        assert_eq!(o["departments"].as_array().unwrap().len(), 10);
        let o = json(&cli(
            &t.db,
            &["import", what, file.to_str().unwrap(), "--department", "BDC", "--json"],
        ));
        assert_eq!(o["changed"], false, "{what} for BDC: {o}");
        assert_eq!(o["departments"], serde_json::json!(["BDC"]));
    }
    assert_eq!(snapshot(&t), before);
}

#[test]
fn an_official_form_replaces_only_its_department_and_names_row_and_column_on_error() {
    let t = demo_ledger();
    let items_before = json(&cli(&t.db, &["items", "--json"]));
    let gaj = team(&t, "GAJ");
    // Attachment 1 as the rules print it, filled in by 市场监督管理局: no staff ids, no
    // role column (the remark asks the scope to say who coordinates), one blank line.
    let form = |phone: &str| {
        format!(
            "枣庄市民中心帮办代办服务专员信息登记表\n\
             进驻部门单位：市场监督管理局\n\
             2026 年 11 月 27 日\n\
             序号,姓名,业务范围,联系电话\n\
             1,王丽,企业开办统筹协调对接,13806321101\n\
             2,刘洋,设立、变更、注销登记,13806321102\n\
             3,周敏,食品经营许可,{phone}\n\
             4,,,\n\
             备注：请各进驻部门单位明确 2 名帮办代办服务专员，1 人负责统筹协调对接，1 人负责具体工作。\n"
        )
    };
    let before = snapshot(&t);
    let f = write(&t, "附件1-市场监管.csv", &form("138-0632-11O3"));
    let out = cli(&t.db, &["import", "specialists", &f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("{f}:7: field `phone`")) && stderr(&out).contains("(column D 联系电话)"),
        "{}",
        stderr(&out)
    );
    // The form says whom it is for: imported as another department's, it is refused.
    let f = write(&t, "附件1-市场监管.csv", &form("13806321103"));
    let out = cli(&t.db, &["import", "specialists", &f, "--department", "GAJ"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("{f}:2: field `进驻部门单位`")),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&t), before, "a refused import changed the ledger");

    let o = json(&cli(&t.db, &["import", "specialists", &f, "--json"]));
    assert_eq!(o["departments"], serde_json::json!(["SCJG"]));
    assert_eq!(o["assigned"][0]["id"], "SCJG-01");
    assert_eq!(o["assigned"][0]["row"], 7);
    assert_eq!(
        team(&t, "SCJG"),
        [
            ("S101".into(), "王丽".into(), "coordinator".into()),
            ("S102".into(), "刘洋".into(), "handler".into()),
            ("SCJG-01".into(), "周敏".into(), "handler".into()),
        ]
    );
    assert_eq!(team(&t, "GAJ"), gaj, "another department's team changed");

    // Attachment 2 for the same department names people, not staff ids; an unknown name is
    // refused at its row and column, and the items of other departments stay as they were.
    let form2 = |who: &str| {
        format!(
            "枣庄市民中心帮办代办政务服务事项清单\n\
             进驻部门单位：,市场监督管理局\n\
             序号,主项名称,子项名称,受理窗口,帮办代办人员,联系电话\n\
             1,企业开办,有限责任公司设立登记,1号窗口,王丽,0632-3311101\n\
             2,企业开办,个体工商户设立登记,1号窗口,刘洋,0632-3311102\n\
             3,食品经营许可,新办,3号窗口,{who},0632-3311103\n"
        )
    };
    let f = write(&t, "附件2-市场监管.xlsx.csv", &form2("周明"));
    let out = cli(&t.db, &["import", "items", &f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("{f}:6: field `specialist`"))
            && stderr(&out).contains("(column E 帮办代办人员)"),
        "{}",
        stderr(&out)
    );
    let f = write(&t, "附件2-市场监管.csv", &form2("周敏、王丽"));
    let o = json(&cli(&t.db, &["import", "items", &f, "--json"]));
    assert_eq!(o["departments"], serde_json::json!(["SCJG"]));
    let items = json(&cli(&t.db, &["items", "--json"]));
    let of = |v: &serde_json::Value, dept: &str| -> Vec<serde_json::Value> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["department"] == dept)
            .cloned()
            .collect()
    };
    let scjg = of(&items, "SCJG");
    assert_eq!(
        scjg.len(),
        3,
        "the form's three rows replace the department's five items"
    );
    let food = scjg.iter().find(|i| i["main"] == "食品经营许可").unwrap();
    assert_eq!(food["code"], "A05", "a known item keeps its code");
    assert_eq!(food["specialist"], "SCJG-01", "the first person named serves it");
    assert_eq!(
        food["materials"],
        of(&items_before, "SCJG")[4]["materials"],
        "materials kept"
    );
    for d in ["GAJ", "BDC", "ZX"] {
        assert_eq!(of(&items, d), of(&items_before, d), "{d}'s items changed");
    }
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn a_featured_item_or_material_source_that_is_not_in_the_hall_names_its_line() {
    let t = demo_ledger();
    let src = demo_src()
        .replacen("featured = [\"A01\",", "featured = [\"A99\",", 1)
        .replacen("\"户口簿\" = ", "\"户口本\" = ", 1);
    let f = write(&t, "featured.toml", &src);
    let err = init_fails(&t, &f);
    let featured = line_of(&src, "featured = [\"A99\"");
    assert!(
        err.contains(&format!(
            "{f}:{featured}: field `featured`: featured item \"A99\" is not in the item list"
        )),
        "{err}"
    );
    let source = line_of(&src, "\"户口本\" = ");
    assert!(
        err.contains(&format!(
            "{f}:{source}: field `户口本`: \"户口本\" is not a material of any item"
        )),
        "{err}"
    );
}

#[test]
fn the_calendars_holidays_and_workdays_move_working_day_deadlines_and_a_typo_names_its_line() {
    let t = temp_ledger();
    // Monday 30 November a holiday: a complaint handed in on Friday is due five working days
    // later, Monday 7 December, not Friday 4 December.
    let src = demo_src().replace("[deadlines]", "[calendar]\nholidays = [\"2026-11-30\"]\n\n[deadlines]");
    let file = write(&t, "hall.toml", &src);
    let out = cli(&t.db, &["init", "--hall", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli_env(
        &t.db,
        &["--json", "feedback", "add", "--category", "wait"],
        &[("BANGBAN_NOW", "2026-11-27T10:00:00+08:00")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["due"], "2026-12-07T02:00:00.000Z");
    // A date that does not exist is refused with its file, line and field.
    let bad = demo_src().replace("[deadlines]", "[calendar]\nholidays = [\"2026-13-01\"]\n\n[deadlines]");
    let bad_file = write(&t, "bad.toml", &bad);
    let err = init_fails(&t, &bad_file);
    let line = line_of(&bad, "holidays = [\"2026-13-01\"]");
    assert!(err.contains(&format!("bad.toml:{line}: field `holidays`")), "{err}");
}

#[test]
fn a_name_the_hall_font_cannot_draw_is_refused_naming_the_character_and_one_beyond_gb2312_is_not() {
    let t = demo_ledger();
    // 许喆: 喆 is outside GB2312, inside the bundled font (GB18030's basic block).
    let src = demo_src().replacen("name = \"王丽\"", "name = \"许喆\"", 1);
    let f = write(&t, "xu-zhe.toml", &src);
    let out = cli(&t.db, &["init", "--hall", &f]);
    assert!(out.status.success(), "{}", stderr(&out));
    // 𠀀 (U+20000, CJK Extension B) is in no font the hall has: the screens would drop it.
    let src = demo_src().replacen("name = \"王丽\"", "name = \"张𠀀\"", 1);
    let f = write(&t, "extension-b.toml", &src);
    let err = init_fails(&t, &f);
    let line = line_of(&src, "张𠀀");
    assert!(err.contains(&format!("{f}:{line}: field `name`")), "{err}");
    assert!(err.contains("𠀀 (U+20000) is not in the hall's font"), "{err}");
    // The attachment forms go through the same check, row by row.
    let rows = format!(
        "部门,工号,姓名,负责业务范围,联系电话,角色\n{}",
        bangban::Hall::from_path(&demo_hall_path())
            .unwrap()
            .specialists
            .iter()
            .map(|s| {
                let name = if s.staff_id == "S101" {
                    "张𠀀"
                } else {
                    s.name.as_str()
                };
                let role = if s.role == bangban::hall::Role::Coordinator {
                    "统筹协调对接"
                } else {
                    "具体工作"
                };
                format!(
                    "{},{},{},{},{},{}\n",
                    s.department, s.staff_id, name, s.scope, s.phone, role
                )
            })
            .collect::<String>()
    );
    let f = write(&t, "attachment1.csv", &rows);
    let out = cli(&t.db, &["import", "specialists", &f]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let line = line_of(&rows, "张𠀀");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{f}:{line}: field `name`")) && err.contains("𠀀"),
        "{err}"
    );
}

#[test]
fn init_on_a_ledger_keeps_the_imported_person_refuses_to_drop_one_with_cases_and_hall_export_round_trips() {
    let t = demo_ledger();
    let demo = demo_hall_path();
    let demo = demo.to_str().unwrap();
    // A hall file with one more handler for 公安 (S209), applied and serving a visitor.
    let more = std::fs::read_to_string(demo_hall_path()).unwrap()
        + "\n[[specialists]]\nstaff_id = \"S209\"\ndepartment = \"GAJ\"\nname = \"王强\"\nscope = \"户籍\"\nphone = \"13806322209\"\nrole = \"handler\"\n";
    let more = write(&t, "hall-more.toml", &more);
    let out = cli(&t.db, &["init", "--hall", &more]);
    assert!(out.status.success(), "{}", stderr(&out));
    set_pins(&t.db, &["S209"]);
    for args in [
        &["issue", "--item", "B01"][..],
        &["call", "--window", "4", "--staff", "S209"],
        &["case", "B001", "start", "--staff", "S209"],
    ] {
        let out = cli(&t.db, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    // Attachment 1 for 公安 adds 许喆 (GAJ-01).
    let form = t.dir.path().join("附件1-公安.csv");
    let out = cli(
        &t.db,
        &[
            "export",
            "specialists",
            "--department",
            "GAJ",
            "--out",
            form.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&form).unwrap();
    let text = text.replacen("备注", "4,许喆,出入境证件,13806322203,具体工作\n备注", 1);
    std::fs::write(&form, text).unwrap();
    let out = cli(&t.db, &["import", "specialists", form.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The demo hall file again: it names neither. 王强 owns B001: refused, naming him; nothing
    // changed.
    let before = snapshot(&t);
    let out = cli(&t.db, &["init", "--hall", demo]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("S209 王强 (owns cases)") && stderr(&out).contains("--drop"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&t), before);
    // With 王强 in the file, the imported 许喆 is kept though the file does not name her.
    let applied = json(&cli(&t.db, &["--json", "init", "--hall", &more]));
    assert_eq!(applied["kept"], serde_json::json!(["GAJ-01 许喆"]), "{applied}");
    assert!(team(&t, "GAJ").iter().any(|p| p.1 == "许喆"), "{:?}", team(&t, "GAJ"));

    // `hall export` writes the hall in force; applied to a new ledger it is the same hall.
    let exported = t.dir.path().join("in-force.toml");
    let out = cli(&t.db, &["hall", "export", "--out", exported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(
        text.contains("许喆") && text.contains("王强") && text.starts_with("# 枣庄市民中心"),
        "{text}"
    );
    let fresh = temp_ledger();
    let again = json(&cli(
        &fresh.db,
        &["--json", "init", "--hall", exported.to_str().unwrap()],
    ));
    assert_eq!(
        again["sha256"], applied["sha256"],
        "the export reads back as the same hall"
    );
    let same = json(&cli(&t.db, &["--json", "init", "--hall", exported.to_str().unwrap()]));
    assert_eq!(same["changed"], false, "{same}");

    // --drop removes both; the case keeps its owner's id.
    let dropped = json(&cli(&t.db, &["--json", "init", "--hall", demo, "--drop"]));
    assert_eq!(
        dropped["dropped"],
        serde_json::json!(["S209 王强", "GAJ-01 许喆"]),
        "{dropped}"
    );
    assert!(team(&t, "GAJ").iter().all(|p| p.1 != "许喆" && p.1 != "王强"));
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn an_items_guide_comes_from_the_hall_file_or_an_import_and_reaches_the_visitors_status_page() {
    let t = demo_ledger();
    let status = |item: &str| {
        let mut l = bangban::Ledger::open(&t.db, bangban::LedgerOptions::default()).unwrap();
        let number = issue(&mut l, item);
        let token = l.find_case(&number).unwrap().token;
        l.ticket_status(&token).unwrap().guide
    };
    // The demo hall file publishes 二手房's guide; its time limit is the hall's default.
    assert_eq!(
        status("F01"),
        Some(bangban::api::GuideOnPage {
            time_limit_days: 10,
            legal_basis: "《不动产登记暂行条例》及其实施细则".into(),
            process: "申请 → 受理 → 审核 → 登簿 → 缴费领证".into(),
            fees: "住宅登记费 80 元/件".into(),
        })
    );
    // Attachment 2 with the guide's columns: a time limit that is no number is refused by
    // line and field; a good one is imported with the rest.
    let csv = |limit: &str| {
        format!(
            "编码,部门,主项,子项,受理窗口,专员,联系电话,所需材料,类别,承诺时限,法定依据,收费标准\n\
             B01,GAJ,居民身份证,换领,4,S202,0632-3312201,户口簿；原居民身份证,民生保障,{limit},《中华人民共和国居民身份证法》,不收费\n"
        )
    };
    let f = write(&t, "attachment2.csv", &csv("一周"));
    let out = cli(&t.db, &["import", "items", &f, "--department", "GAJ"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("{f}:2: field `time_limit_days`")),
        "{}",
        stderr(&out)
    );
    let f = write(&t, "attachment2.csv", &csv("5个工作日"));
    let out = cli(&t.db, &["import", "items", &f, "--department", "GAJ"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        status("B01"),
        Some(bangban::api::GuideOnPage {
            time_limit_days: 5,
            legal_basis: "《中华人民共和国居民身份证法》".into(),
            process: String::new(),
            fees: "不收费".into(),
        })
    );
}

#[test]
fn an_attachment_one_without_an_items_specialist_names_the_person_and_the_item() {
    let t = demo_ledger();
    let form = t.dir.path().join("附件1-公安.csv");
    let out = cli(
        &t.db,
        &[
            "export",
            "specialists",
            "--department",
            "GAJ",
            "--out",
            form.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // 李娜 (S202), the specialist of 居民身份证 and 户口迁移, left out of the form.
    let text: String = std::fs::read_to_string(&form)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("李娜"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&form, text).unwrap();
    let before = snapshot(&t);
    let out = cli(&t.db, &["import", "specialists", form.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("李娜 (S202) is not in the form, but item B01") && err.contains("Attachment 2"),
        "{err}"
    );
    assert!(!err.contains("unknown specialist"), "{err}");
    assert_eq!(snapshot(&t), before);
}
