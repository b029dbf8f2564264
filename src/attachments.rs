//! The rules' two attachment tables as the office files them: reading a filled-in
//! Attachment 1 (specialists) or Attachment 2 (items) sheet — the official layout with its
//! title, 进驻部门单位 line and 序号 column, or a plain table with one heading row — into the
//! hall, one department at a time or the whole table; and laying both tables out again for
//! filing (登记备案). Spreadsheet files are read and written by the CLI; this module sees rows.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use crate::hall::{Hall, HallErrors, HallIssue, Item, Role, Specialist, Table};

/// Which attachment table a file fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Specialists,
    Items,
}

impl ImportKind {
    pub const ALL: [ImportKind; 2] = [ImportKind::Specialists, ImportKind::Items];
    /// The name on the command line: `specialists` (Attachment 1) or `items` (Attachment 2).
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Specialists => "specialists",
            ImportKind::Items => "items",
        }
    }

    /// The official title of the table (the rules' attachment).
    pub fn title(self) -> &'static str {
        match self {
            ImportKind::Specialists => "枣庄市民中心帮办代办服务专员信息登记表",
            ImportKind::Items => "枣庄市民中心帮办代办政务服务事项清单",
        }
    }

    /// `attachment1` or `attachment2`, as `bangban export` names them.
    pub fn attachment(self) -> &'static str {
        match self {
            ImportKind::Specialists => "attachment1",
            ImportKind::Items => "attachment2",
        }
    }

    fn columns(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            ImportKind::Specialists => SPECIALIST_COLUMNS,
            ImportKind::Items => ITEM_COLUMNS,
        }
    }

    /// The column that every layout of this table has: it finds the heading row.
    fn key_column(self) -> &'static str {
        match self {
            ImportKind::Specialists => "name",
            ImportKind::Items => "main",
        }
    }
}

/// Headings accepted for each column: English first, then the Chinese headings the
/// attachments use and the variants departments write.
const SPECIALIST_COLUMNS: &[(&str, &[&str])] = &[
    ("seq", &["序号", "no", "No.", "seq"]),
    (
        "department",
        &["department", "部门", "单位", "部门单位", "进驻部门单位"],
    ),
    ("staff_id", &["staff_id", "工号", "编号"]),
    ("name", &["name", "姓名"]),
    ("scope", &["scope", "业务范围", "负责业务范围"]),
    ("phone", &["phone", "联系电话", "电话"]),
    ("role", &["role", "角色", "职责", "分工"]),
];

const ITEM_COLUMNS: &[(&str, &[&str])] = &[
    ("seq", &["序号", "no", "No.", "seq"]),
    ("code", &["code", "编码", "事项编码"]),
    (
        "department",
        &["department", "部门", "单位", "部门单位", "进驻部门单位"],
    ),
    ("main", &["main", "主项", "主项名称"]),
    ("sub", &["sub", "子项", "子项名称"]),
    ("window", &["window", "受理窗口", "窗口"]),
    (
        "specialist",
        &["specialist", "帮办代办人员", "帮办代办专员", "专员", "专员工号"],
    ),
    ("phone", &["phone", "联系电话", "电话"]),
    ("materials", &["materials", "所需材料", "材料"]),
    ("tags", &["tags", "类别", "标签"]),
    ("lead", &["lead", "牵头部门"]),
    ("involved", &["involved", "协同部门", "涉及部门"]),
    (
        "time_limit_days",
        &["time_limit_days", "承诺时限", "承诺时限（工作日）"],
    ),
    ("legal_basis", &["legal_basis", "法定依据", "设定依据"]),
    ("process", &["process", "办理流程"]),
    ("fees", &["fees", "收费标准", "收费"]),
];

/// The line above the heading row that names the department filling in the form.
const UNIT_LABEL: &str = "进驻部门单位";
/// The official remark under Attachment 1.
pub const ATTACHMENT1_REMARK: &str =
    "备注：请各进驻部门单位明确 2 名帮办代办服务专员，1 人负责统筹协调对接，1 人负责具体工作。";

/// One row of a sheet with its row number in the file (1-based, as a spreadsheet shows it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

/// A sheet read from a CSV file or one worksheet of an XLSX file. `file` is how errors name
/// it (`attachment1.xlsx` or `attachment1.xlsx[市场监督管理局]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sheet {
    pub file: String,
    pub rows: Vec<Row>,
}

impl Sheet {
    /// Read a CSV file (UTF-8, with or without a byte-order mark). Rows may differ in length,
    /// as the official layout's title lines do.
    pub fn from_csv(src: &str, file: &str) -> Result<Sheet, HallErrors> {
        let src = src.trim_start_matches('\u{feff}');
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(src.as_bytes());
        let mut rows = Vec::new();
        for rec in rdr.records() {
            match rec {
                Ok(r) => rows.push(Row {
                    line: r.position().map(|p| p.line() as usize).unwrap_or(0),
                    cells: r.iter().map(|c| c.to_string()).collect(),
                }),
                Err(e) => {
                    let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                    return Err(HallErrors(vec![issue(file, line, "-", format!("malformed row: {e}"))]));
                }
            }
        }
        Ok(Sheet {
            file: file.to_string(),
            rows,
        })
    }
}

/// What an import changed, for the command's report.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub hall: Hall,
    /// The departments whose rows were replaced; empty when the whole table was.
    pub departments: Vec<String>,
    /// Rows read from the files.
    pub rows: usize,
    /// Identifiers given to new specialists or items: (file, row, name, id).
    pub assigned: Vec<(String, usize, String, String)>,
}

fn issue(file: &str, line: usize, field: &str, message: String) -> HallIssue {
    HallIssue {
        file: file.into(),
        line,
        field: field.into(),
        message,
    }
}

/// A spreadsheet column letter: 0 → A, 26 → AA.
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Split a list cell: materials and tags are separated by ；, ;, 、 or |.
fn split_list(s: &str) -> Vec<String> {
    s.split(['；', ';', '、', '|'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// Split the names in a 帮办代办人员 cell: 王丽、刘洋 or 王丽/刘洋.
fn split_names(s: &str) -> Vec<String> {
    s.split(['、', '，', ',', '；', ';', '/', '／', ' ', '\u{3000}'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// The department a cell names, by code or by name.
fn department_code(hall: &Hall, v: &str) -> Option<String> {
    let v = v.trim();
    hall.departments
        .iter()
        .find(|d| d.code == v || d.name == v)
        .map(|d| d.code.clone())
}

fn known_departments(hall: &Hall) -> String {
    hall.departments
        .iter()
        .map(|d| format!("{} {}", d.code, d.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The department named on the form's 进驻部门单位 line above `before`, if the line is filled in.
/// Returns (row, text after the label).
fn unit_line(rows: &[Row]) -> Option<(usize, String)> {
    for r in rows {
        for (i, c) in r.cells.iter().enumerate() {
            let t = c.trim();
            if let Some(rest) = t.strip_prefix(UNIT_LABEL) {
                let rest = rest.trim_start_matches([':', '：', ' ', '\u{3000}']).trim();
                let value = if rest.is_empty() {
                    r.cells[i + 1..]
                        .iter()
                        .map(|c| c.trim())
                        .find(|c| !c.is_empty())
                        .unwrap_or("")
                        .to_string()
                } else {
                    rest.to_string()
                };
                return Some((r.line, value));
            }
        }
    }
    None
}

/// The department a form names on its 进驻部门单位 line (its code), if it names a known one.
pub fn form_department(hall: &Hall, sheet: &Sheet) -> Option<String> {
    unit_line(&sheet.rows).and_then(|(_, unit)| department_code(hall, &unit))
}

/// A sheet's parsed layout: the heading row, where each column is, and the rows under it.
struct Layout<'a> {
    columns: HashMap<&'static str, (usize, String)>,
    data: Vec<&'a Row>,
    unit: Option<(usize, String)>,
}

fn layout<'a>(sheet: &'a Sheet, kind: ImportKind) -> Result<Layout<'a>, HallIssue> {
    let spec = kind.columns();
    let heading = sheet.rows.iter().position(|r| {
        let found: Vec<&str> = spec
            .iter()
            .filter(|(_, aliases)| r.cells.iter().any(|c| aliases.contains(&c.trim())))
            .map(|(name, _)| *name)
            .collect();
        found.contains(&kind.key_column()) && found.len() >= 2
    });
    let Some(h) = heading else {
        let expected = match kind {
            ImportKind::Specialists => "序号, 姓名, 业务范围, 联系电话",
            ImportKind::Items => "序号, 主项名称, 子项名称, 受理窗口, 帮办代办人员, 联系电话",
        };
        return Err(issue(
            &sheet.file,
            sheet.rows.first().map(|r| r.line).unwrap_or(1),
            "-",
            format!(
                "no heading row: expected the headings of {} ({expected})",
                match kind {
                    ImportKind::Specialists => "Attachment 1",
                    ImportKind::Items => "Attachment 2",
                }
            ),
        ));
    };
    let head = &sheet.rows[h];
    let mut columns = HashMap::new();
    for (name, aliases) in spec {
        if let Some(i) = head.cells.iter().position(|c| aliases.contains(&c.trim())) {
            columns.insert(*name, (i, head.cells[i].trim().to_string()));
        }
    }
    let mut data = Vec::new();
    for r in &sheet.rows[h + 1..] {
        let first = r.cells.iter().map(|c| c.trim()).find(|c| !c.is_empty());
        match first {
            // The official form ends with its remark (备注); nothing under it is a row.
            Some(f) if f.starts_with("备注") => break,
            None => continue,
            Some(_) => {}
        }
        // A blank line of the printed form keeps only its 序号.
        let filled = r
            .cells
            .iter()
            .enumerate()
            .any(|(i, c)| !c.trim().is_empty() && columns.get("seq").map(|(s, _)| *s != i).unwrap_or(true));
        if filled {
            data.push(r);
        }
    }
    Ok(Layout {
        columns,
        data,
        unit: unit_line(&sheet.rows[..h]),
    })
}

/// Apply filled-in attachment sheets to the hall. A sheet whose 进驻部门单位 line names a
/// department (or any sheet, with `department`) replaces only that department's rows;
/// a sheet without one replaces the whole table and needs a department column. Nothing is
/// returned unless every row of every sheet is right; errors name the file, the row and the
/// column (letter and heading).
pub fn import_sheets(
    hall: &Hall,
    kind: ImportKind,
    sheets: &[Sheet],
    department: Option<&str>,
) -> Result<Imported, HallErrors> {
    let mut issues = Vec::new();
    if let Some(d) = department {
        if hall.department(d).is_none() {
            let file = sheets.first().map(|s| s.file.as_str()).unwrap_or("-");
            return Err(HallErrors(vec![issue(
                file,
                0,
                "--department",
                format!("unknown department {d:?} (the hall has: {})", known_departments(hall)),
            )]));
        }
    }
    let mut new = hall.clone();
    // Where each row of the new table came from (file, row), to point the hall's own checks
    // at it: `origin` maps a table row to an index into `origins`.
    let mut origins: Vec<(String, usize)> = Vec::new();
    let mut origin: HashMap<(Table, usize), usize> = HashMap::new();
    // The rows read, in file order; each one's index in `origins` is its place here too.
    let mut fresh_specialists: Vec<Specialist> = Vec::new();
    let mut fresh_items: Vec<Item> = Vec::new();
    let mut replaced: Vec<String> = Vec::new();
    let mut whole = false;
    let mut rows = 0;
    let mut assigned = Vec::new();
    let mut col_of: HashMap<String, HashMap<&'static str, (usize, String)>> = HashMap::new();
    for sheet in sheets {
        let lay = match layout(sheet, kind) {
            Ok(l) => l,
            Err(e) => {
                issues.push(e);
                continue;
            }
        };
        col_of.insert(sheet.file.clone(), lay.columns.clone());
        let at = |line: usize, field: &'static str, message: String| {
            let message = match lay.columns.get(field) {
                Some((i, h)) => format!("{message} (column {} {h})", column_letter(*i)),
                None => message,
            };
            issue(&sheet.file, line, field, message)
        };
        // Which department this sheet is for.
        let mut scope: Option<String> = department.map(String::from);
        if let Some((line, unit)) = &lay.unit {
            if !unit.is_empty() {
                match department_code(hall, unit) {
                    Some(code) if scope.as_ref().is_some_and(|s| *s != code) => {
                        issues.push(issue(
                            &sheet.file,
                            *line,
                            UNIT_LABEL,
                            format!(
                                "the form is filled in for {unit} but --department is {}",
                                department.unwrap_or_default()
                            ),
                        ));
                        continue;
                    }
                    Some(code) => scope = Some(code),
                    None => {
                        issues.push(issue(
                            &sheet.file,
                            *line,
                            UNIT_LABEL,
                            format!(
                                "unknown department {unit:?} (the hall has: {})",
                                known_departments(hall)
                            ),
                        ));
                        continue;
                    }
                }
            }
        }
        if scope.is_none() && !lay.columns.contains_key("department") {
            issues.push(issue(
                &sheet.file,
                lay.unit.as_ref().map(|u| u.0).unwrap_or(1),
                "department",
                "the sheet does not say which department it is for: fill in 进驻部门单位, add a 部门 column or give --department CODE".into(),
            ));
            continue;
        }
        match &scope {
            Some(d) => {
                if replaced.contains(d) {
                    issues.push(issue(
                        &sheet.file,
                        lay.unit.as_ref().map(|u| u.0).unwrap_or(1),
                        UNIT_LABEL,
                        format!("department {d} is filled in twice in this import"),
                    ));
                    continue;
                }
                replaced.push(d.clone());
            }
            None => whole = true,
        }
        // The rows this sheet replaces, kept to match new rows with the ones they update.
        let in_scope = |dept: &str| scope.as_deref().map(|s| s == dept).unwrap_or(true);
        let old_specialists: Vec<Specialist> = hall
            .specialists
            .iter()
            .filter(|s| in_scope(&s.department))
            .cloned()
            .collect();
        let old_items: Vec<Item> = hall.items.iter().filter(|i| in_scope(&i.department)).cloned().collect();
        for r in &lay.data {
            rows += 1;
            let line = r.line;
            let get = |name: &str| {
                lay.columns
                    .get(name)
                    .and_then(|(i, _)| r.cells.get(*i))
                    .map(|c| c.trim().to_string())
                    .unwrap_or_default()
            };
            if let Some(extra) = r
                .cells
                .iter()
                .enumerate()
                .find(|(i, c)| !c.trim().is_empty() && !lay.columns.values().any(|(ci, _)| ci == i))
            {
                issues.push(issue(
                    &sheet.file,
                    line,
                    "-",
                    format!(
                        "column {} holds {:?} but has no heading this table knows",
                        column_letter(extra.0),
                        extra.1.trim()
                    ),
                ));
            }
            let dept = match (get("department"), &scope) {
                (v, Some(s)) if v.is_empty() => s.clone(),
                (v, scope) => match department_code(hall, &v) {
                    Some(code) if scope.as_ref().is_some_and(|s| *s != code) => {
                        issues.push(at(
                            line,
                            "department",
                            format!(
                                "this row is for {v} but the sheet is for {}",
                                scope.clone().unwrap_or_default()
                            ),
                        ));
                        code
                    }
                    Some(code) => code,
                    None => {
                        issues.push(at(
                            line,
                            "department",
                            if v.is_empty() {
                                "the department is empty".to_string()
                            } else {
                                format!("unknown department {v:?} (the hall has: {})", known_departments(hall))
                            },
                        ));
                        v
                    }
                },
            };
            match kind {
                ImportKind::Specialists => {
                    let name = get("name");
                    let scope_text = get("scope");
                    let same_name: Vec<&Specialist> = old_specialists
                        .iter()
                        .filter(|s| s.department == dept && s.name == name)
                        .collect();
                    let mut staff_id = get("staff_id");
                    let earlier = if staff_id.is_empty() {
                        match same_name.as_slice() {
                            [one] => Some(*one),
                            [] => None,
                            _ => {
                                issues.push(at(
                                    line,
                                    "name",
                                    format!(
                                        "two specialists of {dept} are called {name}: add a 工号 column to tell them apart"
                                    ),
                                ));
                                None
                            }
                        }
                    } else {
                        old_specialists.iter().find(|s| s.staff_id == staff_id)
                    };
                    if staff_id.is_empty() {
                        staff_id = earlier.map(|s| s.staff_id.clone()).unwrap_or_default();
                    }
                    let role = match get("role") {
                        v if !v.is_empty() => Role::parse(&v).unwrap_or_else(|| {
                            issues.push(at(
                                line,
                                "role",
                                format!("role {v:?} must be coordinator (统筹协调对接) or handler (具体工作)"),
                            ));
                            Role::Handler
                        }),
                        // The official form has no role column: its remark asks that the
                        // scope say who coordinates, so read it from there, else keep it.
                        _ if scope_text.contains("统筹") || scope_text.contains("协调") => Role::Coordinator,
                        _ => earlier.map(|s| s.role).unwrap_or(Role::Handler),
                    };
                    origins.push((sheet.file.clone(), line));
                    fresh_specialists.push(Specialist {
                        staff_id,
                        department: dept,
                        name,
                        scope: scope_text,
                        phone: get("phone"),
                        role,
                        // The attachment has no badge column: a re-imported person keeps theirs.
                        badge: earlier.map(|s| s.badge.clone()).unwrap_or_default(),
                    });
                }
                ImportKind::Items => {
                    let (main, sub) = (get("main"), get("sub"));
                    let code = get("code");
                    let earlier = if code.is_empty() {
                        old_items
                            .iter()
                            .find(|i| i.department == dept && i.main == main && i.sub == sub)
                    } else {
                        old_items.iter().find(|i| i.code == code)
                    };
                    let window_text = get("window");
                    let window = match window_text
                        .trim_end_matches("号窗口")
                        .trim_end_matches("窗口")
                        .trim_end_matches('号')
                        .trim()
                        .parse::<u32>()
                    {
                        Ok(w) => w,
                        Err(_) => {
                            issues.push(at(
                                line,
                                "window",
                                format!("window {window_text:?} is not a window number"),
                            ));
                            0
                        }
                    };
                    // 承诺时限 in working days: 「10」, 「10个工作日」, or empty for the hall's default.
                    let limit_text = get("time_limit_days");
                    let limit = limit_text
                        .trim()
                        .trim_end_matches("个工作日")
                        .trim_end_matches("工作日")
                        .trim();
                    let time_limit_days = match limit.parse::<u32>() {
                        Ok(n) => Some(n),
                        Err(_) if limit.is_empty() => Some(0),
                        Err(_) => {
                            issues.push(at(
                                line,
                                "time_limit_days",
                                format!("承诺时限 {limit_text:?} is not a number of working days"),
                            ));
                            None
                        }
                    };
                    // 帮办代办人员 holds names (or staff ids); the first is the item's specialist.
                    let people = split_names(&get("specialist"));
                    let mut specialist = String::new();
                    for p in &people {
                        let found = hall
                            .specialists
                            .iter()
                            .find(|s| s.staff_id == *p || (s.department == dept && s.name == *p));
                        match found {
                            Some(s) if specialist.is_empty() => specialist = s.staff_id.clone(),
                            Some(_) => {}
                            None => issues.push(at(
                                line,
                                "specialist",
                                format!(
                                    "{p:?} is not a specialist of {dept} (Attachment 1 lists: {})",
                                    hall.specialists
                                        .iter()
                                        .filter(|s| s.department == dept)
                                        .map(|s| s.name.as_str())
                                        .collect::<Vec<_>>()
                                        .join("、")
                                ),
                            )),
                        }
                    }
                    if people.is_empty() {
                        issues.push(at(line, "specialist", "no specialist is named".into()));
                    }
                    let keep = |name: &str, from: fn(&Item) -> Vec<String>| {
                        if lay.columns.contains_key(name) {
                            split_list(&get(name))
                        } else {
                            earlier.map(from).unwrap_or_default()
                        }
                    };
                    origins.push((sheet.file.clone(), line));
                    fresh_items.push(Item {
                        code: if code.is_empty() {
                            earlier.map(|i| i.code.clone()).unwrap_or_default()
                        } else {
                            code
                        },
                        department: dept,
                        main,
                        sub,
                        name_en: earlier.map(|i| i.name_en.clone()).unwrap_or_default(),
                        window,
                        specialist,
                        phone: get("phone"),
                        materials: keep("materials", |i| i.materials.clone()),
                        tags: keep("tags", |i| i.tags.clone()),
                        lead: if lay.columns.contains_key("lead") {
                            get("lead")
                        } else {
                            earlier.map(|i| i.lead.clone()).unwrap_or_default()
                        },
                        involved: keep("involved", |i| i.involved.clone()),
                        in_series: earlier.is_some_and(|i| i.in_series),
                        time_limit_days: if lay.columns.contains_key("time_limit_days") {
                            time_limit_days.unwrap_or_default()
                        } else {
                            earlier.map(|i| i.time_limit_days).unwrap_or_default()
                        },
                        daily_quota: earlier.map(|i| i.daily_quota).unwrap_or_default(),
                        legal_basis: if lay.columns.contains_key("legal_basis") {
                            get("legal_basis")
                        } else {
                            earlier.map(|i| i.legal_basis.clone()).unwrap_or_default()
                        },
                        process: if lay.columns.contains_key("process") {
                            get("process")
                        } else {
                            earlier.map(|i| i.process.clone()).unwrap_or_default()
                        },
                        fees: if lay.columns.contains_key("fees") {
                            get("fees")
                        } else {
                            earlier.map(|i| i.fees.clone()).unwrap_or_default()
                        },
                    });
                }
            }
        }
    }
    if whole && !replaced.is_empty() {
        issues.push(issue(
            sheets.first().map(|s| s.file.as_str()).unwrap_or("-"),
            1,
            UNIT_LABEL,
            "a whole table and single departments cannot be imported together".into(),
        ));
    }
    // The rows read take the place of the rows they replace, so a department's form that
    // changes nothing leaves the hall exactly as it was (and its hash too).
    match kind {
        ImportKind::Specialists => {
            let rows = splice(
                &hall.specialists,
                |s| &s.department,
                whole,
                &replaced,
                &fresh_specialists,
            );
            new.specialists = placed(Table::Specialist, rows, &mut origin);
        }
        ImportKind::Items => {
            let rows = splice(&hall.items, |i| &i.department, whole, &replaced, &fresh_items);
            new.items = placed(Table::Item, rows, &mut origin);
        }
    }
    // New rows get identifiers the office can read: SCJG-03 for a specialist, A06 for an item.
    match kind {
        ImportKind::Specialists => {
            let mut used: HashSet<String> = new.specialists.iter().map(|s| s.staff_id.clone()).collect();
            for (i, s) in new.specialists.iter_mut().enumerate() {
                if s.staff_id.is_empty() && !s.name.is_empty() {
                    let id = (1..)
                        .map(|n| format!("{}-{n:02}", s.department))
                        .find(|id| !used.contains(id))
                        .unwrap_or_default();
                    used.insert(id.clone());
                    s.staff_id = id.clone();
                    if let Some((f, l)) = origin.get(&(Table::Specialist, i)).map(|k| &origins[*k]) {
                        assigned.push((f.clone(), *l, s.name.clone(), id));
                    }
                }
            }
        }
        ImportKind::Items => {
            let mut used: HashSet<String> = new.items.iter().map(|i| i.code.clone()).collect();
            for (i, it) in new.items.iter_mut().enumerate() {
                if it.code.is_empty() && !it.main.is_empty() {
                    let prefix = hall
                        .department(&it.department)
                        .map(|d| d.prefix.clone())
                        .unwrap_or_else(|| it.department.clone());
                    let id = (1..)
                        .map(|n| format!("{prefix}{n:02}"))
                        .find(|id| !used.contains(id))
                        .unwrap_or_default();
                    used.insert(id.clone());
                    it.code = id.clone();
                    if let Some((f, l)) = origin.get(&(Table::Item, i)).map(|k| &origins[*k]) {
                        assigned.push((f.clone(), *l, it.display_name(), id));
                    }
                }
            }
        }
    }
    // The hall's own rules, pointed at the row that broke them; a rule about a department
    // as a whole (its team) points at the sheet's heading.
    let first_file = sheets.first().map(|s| s.file.clone()).unwrap_or_default();
    let locate = |t: Table, i: usize, _field: &str| origin.get(&(t, i)).map(|k| k + 1).unwrap_or(0);
    // Attachment 1 without a person an item names as its specialist: say who and which item,
    // rather than the hall's own "unknown specialist" at no row of the form.
    let mut orphaned = false;
    if matches!(kind, ImportKind::Specialists) {
        for it in &new.items {
            if new.specialist(&it.specialist).is_some() {
                continue;
            }
            orphaned = true;
            let who = hall
                .specialist(&it.specialist)
                .map(|p| format!("{} ({})", p.name, p.staff_id))
                .unwrap_or_else(|| it.specialist.clone());
            issues.push(issue(
                &first_file,
                1,
                "specialist",
                format!(
                    "{who} is not in the form, but item {} ({}) names them as its specialist: keep their row, or give the item another specialist in Attachment 2 first",
                    it.code,
                    it.display_name()
                ),
            ));
        }
    }
    for mut c in new.check(&first_file, &locate) {
        if orphaned && c.field == "specialist" && c.line == 0 {
            continue;
        }
        match c.line.checked_sub(1).and_then(|k| origins.get(k)) {
            Some((f, l)) => {
                c.file = f.clone();
                c.line = *l;
            }
            None => c.line = 1,
        }
        if let Some((i, h)) = col_of.get(&c.file).and_then(|cols| cols.get(c.field.as_str())) {
            c.message = format!("{} (column {} {h})", c.message, column_letter(*i));
        }
        issues.push(c);
    }
    if issues.is_empty() {
        Ok(Imported {
            hall: new,
            departments: replaced,
            rows,
            assigned,
        })
    } else {
        issues.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        issues.dedup();
        Err(HallErrors(issues))
    }
}

/// The table after an import: the whole table is the rows read; otherwise each replaced
/// department's rows read stand where its old rows stood, new departments at the end. Each
/// row comes with its index among the rows read — which is its index in `origins` — or
/// None for a row kept.
fn splice<T: Clone>(
    old: &[T],
    dept: fn(&T) -> &String,
    whole: bool,
    replaced: &[String],
    fresh: &[T],
) -> Vec<(T, Option<usize>)> {
    let read = || fresh.iter().cloned().enumerate().map(|(k, t)| (t, Some(k)));
    if whole {
        return read().collect();
    }
    let mut out = Vec::new();
    let mut placed: HashSet<&String> = HashSet::new();
    for o in old {
        let d = dept(o);
        if !replaced.contains(d) {
            out.push((o.clone(), None));
        } else if placed.insert(d) {
            out.extend(read().filter(|(t, _)| dept(t) == d));
        }
    }
    out.extend(read().filter(|(t, _)| !placed.contains(dept(t))));
    out
}

/// The spliced rows as the new table, noting where each row read now stands.
fn placed<T>(table: Table, rows: Vec<(T, Option<usize>)>, origin: &mut HashMap<(Table, usize), usize>) -> Vec<T> {
    rows.into_iter()
        .enumerate()
        .map(|(i, (row, k))| {
            if let Some(k) = k {
                origin.insert((table, i), k);
            }
            row
        })
        .collect()
}

/// Replace the hall's specialists or items with the rows of a CSV file and check the result.
/// Errors name the CSV file, its line and the column.
pub fn import_csv(hall: &Hall, kind: ImportKind, src: &str, file: &str) -> Result<Hall, HallErrors> {
    let sheet = Sheet::from_csv(src, file)?;
    import_sheets(hall, kind, &[sheet], None).map(|i| i.hall)
}

/// One department's attachment table laid out as the rules print it.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub title: String,
    /// 进驻部门单位：市场监督管理局
    pub unit: String,
    /// 2026 年 11 月 27 日
    pub date: String,
    pub headings: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    /// The official remark under the table (Attachment 1 only).
    pub remark: Option<&'static str>,
    /// The department's name, for the sheet's tab.
    pub department: String,
}

/// The headings of each table as the attachments print them. Attachment 1 adds 职责 after
/// the official columns, because its remark asks every department to name who coordinates
/// and who does the work; the import reads it back.
pub fn headings(kind: ImportKind) -> Vec<&'static str> {
    match kind {
        ImportKind::Specialists => vec!["序号", "姓名", "业务范围", "联系电话", "职责"],
        ImportKind::Items => vec!["序号", "主项名称", "子项名称", "受理窗口", "帮办代办人员", "联系电话"],
    }
}

/// The department's table in the official layout, dated `date`.
pub fn form(hall: &Hall, kind: ImportKind, department: &str, date: NaiveDate) -> Option<Form> {
    use chrono::Datelike;
    let d = hall.department(department)?;
    let rows = match kind {
        ImportKind::Specialists => hall
            .specialists
            .iter()
            .filter(|s| s.department == d.code)
            .enumerate()
            .map(|(n, s)| {
                vec![
                    (n + 1).to_string(),
                    s.name.clone(),
                    s.scope.clone(),
                    s.phone.clone(),
                    match s.role {
                        Role::Coordinator => "统筹协调对接",
                        Role::Handler => "具体工作",
                        Role::Office => "管理办公室",
                    }
                    .to_string(),
                ]
            })
            .collect(),
        ImportKind::Items => hall
            .items
            .iter()
            .filter(|i| i.department == d.code)
            .enumerate()
            .map(|(n, i)| {
                vec![
                    (n + 1).to_string(),
                    i.main.clone(),
                    i.sub.clone(),
                    format!("{}号窗口", i.window),
                    hall.specialist(&i.specialist)
                        .map(|s| s.name.clone())
                        .unwrap_or_else(|| i.specialist.clone()),
                    i.phone.clone(),
                ]
            })
            .collect(),
    };
    Some(Form {
        title: kind.title().to_string(),
        unit: format!("{UNIT_LABEL}：{}", d.name),
        date: format!("{} 年 {} 月 {} 日", date.year(), date.month(), date.day()),
        headings: headings(kind),
        rows,
        remark: (kind == ImportKind::Specialists).then_some(ATTACHMENT1_REMARK),
        department: d.name.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Hall {
        Hall::from_toml(crate::DEMO_HALL, "demo-hall.toml").unwrap()
    }

    fn sheet(file: &str, rows: &[&[&str]]) -> Sheet {
        Sheet {
            file: file.into(),
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| Row {
                    line: i + 1,
                    cells: r.iter().map(|c| c.to_string()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn column_letters_follow_the_spreadsheet() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
    }

    #[test]
    fn an_official_attachment1_replaces_only_its_department_and_keeps_staff_ids_by_name() {
        let hall = demo();
        let s = sheet(
            "a1.csv",
            &[
                &["枣庄市民中心帮办代办服务专员信息登记表"],
                &["进驻部门单位：市场监督管理局"],
                &["2026 年 11 月 27 日"],
                &["序号", "姓名", "业务范围", "联系电话"],
                &["1", "王丽", "企业开办统筹协调对接", "13806321101"],
                &["2", "刘洋", "设立、变更、注销登记", "13806321102"],
                &["3", "周敏", "食品经营许可", "13806321103"],
                &["4", "", "", ""],
                &["备注：请各进驻部门单位明确 2 名帮办代办服务专员"],
            ],
        );
        let out = import_sheets(&hall, ImportKind::Specialists, &[s], None).unwrap();
        assert_eq!(out.departments, vec!["SCJG".to_string()]);
        assert_eq!(out.rows, 3);
        let scjg: Vec<_> = out.hall.specialists.iter().filter(|s| s.department == "SCJG").collect();
        assert_eq!(
            scjg.iter().map(|s| (s.staff_id.as_str(), s.role)).collect::<Vec<_>>(),
            vec![
                ("S101", Role::Coordinator),
                ("S102", Role::Handler),
                ("SCJG-01", Role::Handler)
            ]
        );
        assert_eq!(
            out.assigned,
            vec![("a1.csv".into(), 7, "周敏".into(), "SCJG-01".into())]
        );
        let others = |h: &Hall| {
            h.specialists
                .iter()
                .filter(|s| s.department != "SCJG")
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(others(&out.hall), others(&hall));
    }
}
