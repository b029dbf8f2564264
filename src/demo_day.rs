//! A busy morning in the demo hall, as the screens must hold it: the fixture the board's and
//! the console's layout tests and README's screenshots are made from (`bangban demo-day`).
//!
//! Half past ten on a working day: every department has visitors waiting (80 in all, 29 at
//! one department, priority visitors among them, some waiting past their deadline), every department's
//! first window has served one visitor and serves the next, one number was called again, one
//! visitor did not come, one was transferred, a case waits for the management office's
//! coordination, a whole-chain 企业开办 case has parts no department has taken up, and four
//! specialists carry names GB2312 lacks (许喆, 李玥, 王堃, 陈赟).

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::clock::{Clock, ManualClock};
use crate::error::{LedgerError, Result};
use crate::hall::Hall;
use crate::ledger::{CallRequest, CaseAction, IssueRequest, Ledger, LedgerOptions};
use crate::model::Channel;

/// The specialists renamed for the busy day: names with characters outside GB2312.
pub const RARE_NAMES: [(&str, &str); 4] = [("S101", "许喆"), ("S202", "李玥"), ("S301", "王堃"), ("S602", "陈赟")];

/// Visitors waiting per department at half past ten, in the hall file's order: 29 for 市场
/// 监督, more than any console's queue shows at once.
const WAITING: [usize; 10] = [29, 10, 8, 7, 6, 6, 5, 4, 4, 3];

/// The busy day's ledger and the clock it was written with (standing at 10:30 of `day`).
pub struct BusyDay {
    pub ledger: Ledger,
    pub clock: ManualClock,
}

/// The demo hall with four specialists renamed (`RARE_NAMES`) and a long notice.
pub fn hall() -> Result<Hall> {
    let mut hall = Hall::from_toml(crate::DEMO_HALL, "examples/demo-hall.toml")?;
    for (id, name) in RARE_NAMES {
        if let Some(s) = hall.specialists.iter_mut().find(|s| s.staff_id == id) {
            s.name = name.to_string();
        }
    }
    hall.notice = "今日上午办理人数较多，请留意叫号；老年人、残疾人、孕妇、现役军人等优先群体请告知工作人员，将为您优先办理。帮办代办服务免费，请勿相信任何收费代办。".into();
    Ok(hall)
}

/// Write the busy morning of `day` into a new ledger at `db` (it must not exist yet: the
/// fixture never touches a hall's real ledger).
pub fn build(db: &Path, day: NaiveDate) -> Result<BusyDay> {
    if db.exists() && std::fs::metadata(db).map(|m| m.len() > 0).unwrap_or(true) {
        return Err(LedgerError::Invalid(format!(
            "{} exists: the busy day is written into a new ledger file only",
            db.display()
        )));
    }
    let hall = hall()?;
    let tz = hall.tz();
    let at = |h: u32, m: u32| -> DateTime<Utc> {
        tz.from_local_datetime(&day.and_hms_opt(h, m, 0).unwrap_or_default())
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    let clock = ManualClock::new(at(8, 25));
    let opts = LedgerOptions {
        clock: Arc::new(clock.clone()),
        ..LedgerOptions::default()
    };
    let mut l = Ledger::open(db, opts)?;
    l.configure(&hall, "demo-day", "demo-day")?;
    let mut day = Day {
        l: &mut l,
        clock: &clock,
        hall: &hall,
    };
    day.morning(at(8, 30))?;
    // The morning's events end before half past ten; the screens are looked at then.
    if clock.now() < at(10, 30) {
        clock.set(at(10, 30));
    }
    Ok(BusyDay { ledger: l, clock })
}

struct Day<'a> {
    l: &'a mut Ledger,
    clock: &'a ManualClock,
    hall: &'a Hall,
}

impl Day<'_> {
    fn tick(&self, minutes: i64) {
        self.clock.advance(chrono::Duration::minutes(minutes));
    }

    fn issue(&mut self, item: &str, priority: Option<&str>) -> Result<String> {
        Ok(self
            .l
            .issue(&IssueRequest {
                item: item.into(),
                priority: priority.map(str::to_string),
                mode: None,
                channel: Channel::Kiosk,
                actor: "kiosk-1".into(),
            })?
            .number)
    }

    fn call(&mut self, window: u32, staff: &str, number: Option<&str>) -> Result<String> {
        Ok(self
            .l
            .call(&CallRequest {
                window,
                staff: staff.into(),
                number: number.map(str::to_string),
            })?
            .number)
    }

    fn act(&mut self, number: &str, window: u32, staff: &str, action: CaseAction) -> Result<()> {
        self.l.act(number, window, staff, &action).map(|_| ())
    }

    /// 纸质签署: the visitor signed the printed form (the demo has no pad at every window).
    fn signed_on_paper(&mut self, number: &str, window: u32, staff: &str, kind: crate::forms::FormKind) -> Result<()> {
        let form_number = self.l.form_number(kind, number)?;
        self.act(
            number,
            window,
            staff,
            CaseAction::SignedOnPaper {
                form: kind.as_str().into(),
                number: form_number,
            },
        )
    }

    /// Serve `number` at `window` from start to delivery, so the window is free again.
    fn serve_whole(&mut self, number: &str, window: u32, staff: &str, item: &str) -> Result<()> {
        let materials = self.hall.item(item).map(|i| i.materials.clone()).unwrap_or_default();
        self.act(number, window, staff, CaseAction::Start)?;
        self.tick(1);
        if materials.is_empty() {
            // A question answered on the spot (咨询) is the whole of its service.
            return self.act(
                number,
                window,
                staff,
                CaseAction::Consult {
                    question: "社保卡补办需要带什么".into(),
                    answer: Some("身份证原件，当场可办".into()),
                    resolved: true,
                },
            );
        }
        self.signed_on_paper(number, window, staff, crate::forms::FormKind::Poa)?;
        self.act(number, window, staff, CaseAction::accept(materials))?;
        self.act(number, window, staff, CaseAction::StartWork)?;
        self.tick(1);
        self.act(number, window, staff, CaseAction::Ready)?;
        self.signed_on_paper(number, window, staff, crate::forms::FormKind::Completion)?;
        self.act(number, window, staff, CaseAction::DeliverInPerson)
    }

    fn morning(&mut self, opening: DateTime<Utc>) -> Result<()> {
        self.clock.set(opening);
        let hall = self.hall;
        // Per department: its first window, the specialist there, and its items (whole-chain
        // items left for the one whole-chain case below).
        let desks: Vec<(String, u32, String, Vec<String>)> = hall
            .departments
            .iter()
            .filter_map(|d| {
                let window = *d.windows.first()?;
                let staff = hall
                    .specialists
                    .iter()
                    .find(|s| s.department == d.code)?
                    .staff_id
                    .clone();
                let items: Vec<String> = hall
                    .items
                    .iter()
                    .filter(|i| i.department == d.code && !i.is_whole_chain())
                    .map(|i| i.code.clone())
                    .collect();
                (!items.is_empty()).then_some((d.code.clone(), window, staff, items))
            })
            .collect();
        // The first visitors of the day, each department's two.
        let mut first = Vec::new();
        for (_, _, _, items) in &desks {
            first.push((
                self.issue(&items[0], None)?,
                self.issue(&items[items.len().min(2) - 1], None)?,
            ));
            self.tick(1);
        }
        // The whole-chain case: 企业开办, lead 市场监督 (its second window).
        let chain_item = hall.items.iter().find(|i| i.is_whole_chain()).map(|i| i.code.clone());
        let chain = match &chain_item {
            Some(code) => Some(self.issue(code, None)?),
            None => None,
        };
        self.tick(5);
        // Each first window serves its first visitor whole and calls the second.
        for (i, ((_, window, staff, items), (a, b))) in desks.iter().zip(&first).enumerate() {
            let called = self.call(*window, staff, None)?;
            debug_assert_eq!(&called, a);
            self.serve_whole(a, *window, staff, &items[0])?;
            // The visitors rate on the counter's pad as they leave (好差评, 一次一评): most are
            // pleased, one waited too long.
            let case = self.l.find_case(a)?.id;
            // The first department's visitor left without rating: the status page offers it.
            match i {
                0 => {}
                2 => {
                    self.l
                        .rate_at_window(case, *window, 2, &["wait".into()], &format!("pad-{window}"))?;
                }
                _ => {
                    let level = if i % 3 == 1 { 4 } else { 5 };
                    self.l
                        .rate_at_window(case, *window, level, &[], &format!("pad-{window}"))?;
                }
            }
            self.tick(1);
            let next = self.call(*window, staff, None)?;
            debug_assert_eq!(&next, b);
            self.act(b, *window, staff, CaseAction::Start)?;
        }
        // The morning's queue builds up, priority visitors among it (some from before 10:20,
        // now waiting past the ten minutes the hall promises them).
        let mut n = 0;
        for round in 0..WAITING[0] {
            for ((_, _, _, items), &count) in desks.iter().zip(WAITING.iter()) {
                if round < count {
                    let item = &items[round % items.len()];
                    let priority = match n % 9 {
                        3 => Some("elderly"),
                        7 => Some("disabled"),
                        _ => None,
                    };
                    self.issue(item, priority)?;
                    n += 1;
                }
            }
            self.tick(2);
        }
        // Second windows: a recall, a no-show, a transfer and an escalation.
        let second = |code: &str| -> Option<(u32, String)> {
            let d = hall.department(code)?;
            let window = *d.windows.get(1).or(d.windows.first())?;
            let staff = hall
                .specialists
                .iter()
                .filter(|s| s.department == code)
                .nth(1)
                .or_else(|| hall.specialists.iter().find(|s| s.department == code))?
                .staff_id
                .clone();
            Some((window, staff))
        };
        // 公安: a visitor called twice, then not come.
        if let Some((window, staff)) = second("GAJ") {
            let number = self.call(window, &staff, None)?;
            self.tick(2);
            self.l.recall(&number, window, &staff)?;
            self.tick(3);
            self.act(&number, window, &staff, CaseAction::NoShow)?;
            let next = self.call(window, &staff, None)?;
            self.act(&next, window, &staff, CaseAction::Start)?;
        }
        // 人社: a visitor at the wrong desk, sent on to 医保.
        if let Some((window, staff)) = second("RSJ") {
            let number = self.call(window, &staff, None)?;
            self.act(
                &number,
                window,
                &staff,
                CaseAction::Transfer {
                    department: "YBJ".into(),
                    window: None,
                    note: None,
                },
            )?;
        }
        // 不动产: a case the department cannot settle alone goes to the office.
        if let Some((window, staff)) = second("BDC") {
            let number = self.call(window, &staff, None)?;
            self.act(&number, window, &staff, CaseAction::Start)?;
            self.tick(8);
            self.act(
                &number,
                window,
                &staff,
                CaseAction::Escalate {
                    reason: "不动产与税务对历史遗留房产的计税价格意见不一，需协调会商".into(),
                },
            )?;
        }
        // 企业开办 whole chain (全程代办 by default for a whole-chain item): accepted by the
        // lead, its own part taken up (a claim needs the parts opened); 税务, 人社 and 公积金
        // have not claimed theirs.
        if let (Some(number), Some(code)) = (&chain, &chain_item) {
            if let Some((window, staff)) = second("SCJG") {
                self.call(window, &staff, Some(number))?;
                self.act(number, window, &staff, CaseAction::Start)?;
                let materials = hall.item(code).map(|i| i.materials.clone()).unwrap_or_default();
                self.signed_on_paper(number, window, &staff, crate::forms::FormKind::Poa)?;
                self.act(number, window, &staff, CaseAction::accept(materials))?;
                self.act(number, window, &staff, CaseAction::Claim)?;
            }
        }
        Ok(())
    }
}

/// A hall big enough for `bangban loadtest` and for the screens' layout tests: 25 departments
/// (queue prefixes A–Y) of 13 windows each, one coordinator and 13 handlers per department,
/// three items each.
pub fn big_hall_toml() -> String {
    let mut s = String::from(
        "[hall]\nname = \"压力测试市民中心\"\ntimezone = \"Asia/Shanghai\"\nopen = \"09:00\"\nclose = \"17:00\"\nnotice = \"压力测试\"\ndefault_service_min = 8\npriority_cap = 3\n",
    );
    let mut window = 1;
    for d in 0..25u32 {
        let prefix = (b'A' + d as u8) as char;
        let windows: Vec<String> = (0..13).map(|i| (window + i).to_string()).collect();
        s += &format!(
            "\n[[departments]]\ncode = \"D{d:02}\"\nname = \"部门{d:02}\"\nprefix = \"{prefix}\"\nwindows = [{}]\n",
            windows.join(", ")
        );
        s += &format!(
            "\n[[specialists]]\nstaff_id = \"C{d:02}\"\ndepartment = \"D{d:02}\"\nname = \"统筹{d:02}\"\nphone = \"0632-1000{d:03}\"\nrole = \"coordinator\"\n"
        );
        for h in 0..13 {
            s += &format!(
                "\n[[specialists]]\nstaff_id = \"S{d:02}{h:02}\"\ndepartment = \"D{d:02}\"\nname = \"专员{d:02}{h:02}\"\nphone = \"0632-2{d:02}{h:02}00\"\nrole = \"handler\"\n"
            );
        }
        for i in 0..3 {
            s += &format!(
                "\n[[items]]\ncode = \"I{d:02}{i}\"\ndepartment = \"D{d:02}\"\nmain = \"事项{d:02}-{i}\"\nwindow = {window}\nspecialist = \"S{d:02}00\"\nphone = \"0632-3{d:02}0{i}00\"\nmaterials = [\"身份证\", \"申请表\"]\n"
            );
        }
        window += 13;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_morning_holds_what_the_screens_must_show() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("busy.sqlite3");
        let day = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
        let BusyDay { mut ledger, .. } = build(&db, day).unwrap();
        let queues = ledger.queues().unwrap();
        let waiting: u32 = queues.iter().map(|q| q.waiting).sum();
        assert!(waiting >= 60, "{waiting} waiting");
        assert!(queues.iter().filter(|q| q.waiting > 0).count() >= 10);
        assert!(
            queues.iter().any(|q| !q.overdue_priority.is_empty()),
            "priority visitors waiting past their deadline"
        );
        let recent = ledger.recent_calls(12).unwrap();
        assert_eq!(recent.len(), 12);
        let all = ledger.recent_calls(100).unwrap();
        assert!(all.iter().any(|c| c.recall), "a recall");
        assert!(all.iter().any(|c| c.staff_name == "许喆"), "许喆 called");
        assert!(ledger.verify().unwrap().ok);
        // A second build into the same file is refused.
        drop(ledger);
        assert!(build(&db, day).is_err());
    }
}
