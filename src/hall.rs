//! The hall configuration: parsing and rule checks with file:line:field errors. The two
//! attachment tables' import and export live in `attachments`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::attachments::{import_csv, ImportKind};
use toml::Spanned;

/// One configuration problem, located in the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallIssue {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for HallIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: field `{}`: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

/// Every problem found in a hall file or import; nothing is written while any exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallErrors(pub Vec<HallIssue>);

impl fmt::Display for HallErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for HallErrors {}

/// The role a specialist plays in a department's team (rule 3 asks for both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 统筹协调对接
    Coordinator,
    /// 具体工作
    Handler,
    /// The management office (市政管办): schedules coordination meetings and records them.
    Office,
}

impl Role {
    /// How a meeting's record names the role: 专员 (具体工作), 统筹协调, 管理办公室.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Coordinator => "统筹协调",
            Role::Handler => "专员",
            Role::Office => "管理办公室",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "coordinator" | "统筹协调对接" | "统筹协调" | "统筹" => Some(Role::Coordinator),
            "handler" | "具体工作" | "具体办理" | "经办" => Some(Role::Handler),
            "office" | "管理办公室" | "市政管办" | "管办" => Some(Role::Office),
            _ => None,
        }
    }
}

/// Category tags from rule 4 (服务范围).
pub const TAGS: [&str; 5] = ["全链条", "民生保障", "市政公用", "工程建设", "企业开办"];
/// The tag that makes an item whole-chain: it needs a lead department and defaults to 全程.
pub const WHOLE_CHAIN: &str = "全链条";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub prefix: String,
    pub windows: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Specialist {
    pub staff_id: String,
    pub department: String,
    pub name: String,
    pub scope: String,
    pub phone: String,
    pub role: Role,
    /// The number on the specialist's badge (工号牌, 佩戴明显标志), shown on the counter's
    /// rating pad and the board; empty when the hall file gives none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub badge: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub code: String,
    pub department: String,
    pub main: String,
    #[serde(default)]
    pub sub: String,
    #[serde(default)]
    pub name_en: String,
    pub window: u32,
    pub specialist: String,
    pub phone: String,
    #[serde(default)]
    pub materials: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub lead: String,
    #[serde(default)]
    pub involved: Vec<String>,
    /// A whole-chain item's parts are worked one after another (true) or side by side.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_series: bool,
    /// 承诺时限: accepted work is finished within this many working days (0: the hall's
    /// `[deadlines] completion_days`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub time_limit_days: u32,
    /// At most this many tickets of this item a day (0: no limit): a matter whose office
    /// handles only so many cases a day.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub daily_quota: u32,
    /// 办事指南 beside the promised time limit: the legal basis (法定依据), the process
    /// (办理流程) and the fees (收费标准), as the office publishes them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub legal_basis: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub process: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fees: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Item {
    /// The 办事指南's one line for the kiosk: 「承诺时限 10 个工作日 · 不收费」.
    pub fn guide_line(&self, deadlines: &Deadlines) -> String {
        let mut line = format!("承诺时限 {} 个工作日", self.time_limit(deadlines));
        if !self.fees.is_empty() {
            line.push_str(&format!(" · {}", self.fees));
        }
        line
    }

    /// The working days accepted work of this item is promised in.
    pub fn time_limit(&self, deadlines: &Deadlines) -> u32 {
        if self.time_limit_days > 0 {
            self.time_limit_days
        } else {
            deadlines.completion_days
        }
    }

    /// The name shown to visitors: main item, then the sub-item when there is one.
    pub fn display_name(&self) -> String {
        if self.sub.is_empty() {
            self.main.clone()
        } else {
            format!("{}·{}", self.main, self.sub)
        }
    }

    /// The English name from the hall file, else the Chinese one (a visitor reading English
    /// sees a name rather than a blank).
    pub fn english_name(&self) -> String {
        if self.name_en.is_empty() {
            self.display_name()
        } else {
            self.name_en.clone()
        }
    }

    pub fn is_whole_chain(&self) -> bool {
        self.tags.iter().any(|t| t == WHOLE_CHAIN)
    }

    /// The service mode a visitor gets unless they choose another (rule 5): full-process
    /// service (全程代办) for a whole-chain matter, on-site help (现场帮办) otherwise.
    pub fn default_mode(&self) -> crate::model::Mode {
        if self.is_whole_chain() {
            crate::model::Mode::Fullprocess
        } else {
            crate::model::Mode::Onsite
        }
    }
}

/// How many appointments (预约) a department takes per time slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Slots {
    /// The length of a slot, in minutes from midnight (30: 9:00–9:30, 9:30–10:00 …).
    pub slot_minutes: u32,
    /// Appointments per department in one slot.
    pub per_slot: u32,
}

impl Default for Slots {
    fn default() -> Self {
        Slots {
            slot_minutes: 30,
            per_slot: 4,
        }
    }
}

impl Slots {
    pub fn is_default(&self) -> bool {
        *self == Slots::default()
    }
}

/// Messages to visitors' phones (`[notify]`): a command (given the phone and the text in its
/// environment and as JSON on its standard input) or an HTTP endpoint (the same JSON POSTed),
/// as the hall's SMS or WeChat gateway takes them. Neither set: nothing is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notify {
    /// Run with `sh -c`; environment BANGBAN_NOTIFY_PHONE, BANGBAN_NOTIFY_TEXT,
    /// BANGBAN_NOTIFY_KIND; exit 0 means sent.
    pub command: String,
    /// POST `{"phone","text","kind"}` here; a 2xx answer means sent.
    pub url: String,
    /// A failed message is tried again after this many seconds, doubling each time.
    pub retry_seconds: u32,
    /// Tries before a message is given up (and logged as such).
    pub attempts: u32,
    /// A command or request that takes longer than this has failed.
    pub timeout_seconds: u32,
    /// 「前面还有 N 人」 is sent once when this many or fewer stand ahead.
    pub ahead: u32,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            command: String::new(),
            url: String::new(),
            retry_seconds: 30,
            attempts: 6,
            timeout_seconds: 20,
            ahead: 3,
        }
    }
}

impl Notify {
    pub fn is_default(&self) -> bool {
        *self == Notify::default()
    }
    /// Whether the hall sends messages at all.
    pub fn enabled(&self) -> bool {
        !self.command.trim().is_empty() || !self.url.trim().is_empty()
    }
}

/// Which days are working days: Monday to Friday, except the public holidays (法定节假日)
/// listed, plus the weekend days worked in their stead (调休上班) listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Calendar {
    pub holidays: Vec<chrono::NaiveDate>,
    pub workdays: Vec<chrono::NaiveDate>,
}

impl Calendar {
    pub fn is_empty(&self) -> bool {
        self.holidays.is_empty() && self.workdays.is_empty()
    }

    pub fn is_working_day(&self, d: chrono::NaiveDate) -> bool {
        use chrono::Datelike;
        if self.holidays.contains(&d) {
            return false;
        }
        self.workdays.contains(&d) || !matches!(d.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)
    }
}

/// The hall's deadlines per stage. Working days skip Saturdays, Sundays and the `[calendar]`'s
/// holidays, and count its 调休 workdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deadlines {
    /// A priority visitor waits no longer than this many minutes.
    pub priority_wait_min: u32,
    /// A deferred consultation (待研究) is answered within this many working days.
    pub consultation_answer_days: u32,
    /// A ready result is delivered (in person or posted) within this many working days.
    pub delivery_days: u32,
    /// A posted result's receipt is confirmed within this many days.
    pub receipt_days: u32,
    /// A delivered case is archived within this many days.
    pub archive_days: u32,
    /// A bad rating (不满意, 非常不满意) is answered within this many working days.
    pub rating_reply_days: u32,
    /// A complaint (找茬吐槽) or suggestion is answered within this many working days.
    pub feedback_reply_days: u32,
    /// A whole-chain part is claimed (责任认领) by its department within this many working days.
    pub part_claim_days: u32,
    /// An escalated case's coordination meeting (协调会商) is held within this many working days
    /// (a meeting's own follow-up date takes over once it is recorded).
    pub coordination_days: u32,
    /// Accepted work is finished (承诺办结) within this many working days, unless the item
    /// names its own time limit (`time_limit_days`); a suspension (中止) stops the clock.
    pub completion_days: u32,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            priority_wait_min: 10,
            consultation_answer_days: 2,
            delivery_days: 3,
            receipt_days: 7,
            archive_days: 5,
            rating_reply_days: 2,
            feedback_reply_days: 5,
            part_claim_days: 1,
            coordination_days: 2,
            completion_days: 10,
        }
    }
}

impl Deadlines {
    pub fn is_default(&self) -> bool {
        *self == Deadlines::default()
    }
}

/// The priority code of a ticket issued at an appointment's check-in.
pub const APPOINTMENT: &str = "appointment";

static APPOINTMENT_CLASS: std::sync::LazyLock<PriorityClass> = std::sync::LazyLock::new(|| PriorityClass {
    code: APPOINTMENT.into(),
    name: "预约".into(),
    name_en: "Appointment".into(),
    rank: 1,
});

/// A priority group a visitor may declare (rule 4, 主动优先).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityClass {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// Higher ranks are called first; regular visitors have rank 0.
    #[serde(default = "default_rank")]
    pub rank: u32,
}

fn default_rank() -> u32 {
    1
}

impl PriorityClass {
    /// The English name from the hall file, else the Chinese one.
    pub fn english_name(&self) -> String {
        if self.name_en.is_empty() {
            self.name.clone()
        } else {
            self.name_en.clone()
        }
    }
}

impl Department {
    /// The English name from the hall file, else the Chinese one.
    pub fn english_name(&self) -> String {
        if self.name_en.is_empty() {
            self.name.clone()
        } else {
            self.name_en.clone()
        }
    }
}

/// The validated description of one hall, as stored in the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hall {
    pub name: String,
    /// The hall's code (`zz-smzx`): how a database of many halls (PostgreSQL) names it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    #[serde(default)]
    pub name_en: String,
    pub timezone: String,
    pub open: String,
    pub close: String,
    pub notice: String,
    pub default_service_min: u32,
    pub priority_cap: u32,
    /// How many years the free-text notes (questions, answers, tracking numbers, reasons) are
    /// kept before `bangban purge` may erase them (default 3).
    #[serde(default = "default_retention_years")]
    pub retention_years: u32,
    pub ticket_url_base: String,
    pub printer: String,
    /// The hall's most requested matters, offered on the kiosk's welcome screen (item codes);
    /// empty: today's most issued items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub featured: Vec<String>,
    /// Whether the kiosk speaks its prompts from the start (the visitor's 「语音」 toggle
    /// still turns it on or off).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub voice: bool,
    /// Tickets are issued only on working days (the `[calendar]`) between `open` and
    /// `last_ticket`; off by default (a 24-hour self-service area, the demo), so a hall turns
    /// it on in its file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub issue_only_in_hours: bool,
    /// The last ticket of the day (HH:MM, before `close`); empty: until `close`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_ticket: String,
    /// `bangban serve` closes the day by itself once the hall has closed (日结), recorded like
    /// the office's own close; off by default (the office closes it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close_automatically: bool,
    /// The reverse proxies in front of `bangban serve` (IP addresses): only from these is the
    /// client's address taken from `X-Forwarded-For`, so the status page's allowance counts
    /// each phone, not the proxy that carries them all. Empty: the header is ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
    /// Where a visitor gets each material (material name → place), printed on the
    /// one-time notification slip (一次性告知书).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub material_sources: BTreeMap<String, String>,
    /// How long each stage may take before it is overdue (`[deadlines]`; defaults otherwise).
    #[serde(default, skip_serializing_if = "Deadlines::is_default")]
    pub deadlines: Deadlines,
    /// Public holidays and 调休 workdays, for the working-day deadlines (`[calendar]`).
    #[serde(default, skip_serializing_if = "Calendar::is_empty")]
    pub calendar: Calendar,
    /// Appointment slots (`[appointments]`).
    #[serde(default, skip_serializing_if = "Slots::is_default")]
    pub appointments: Slots,
    /// Messages to visitors' phones (`[notify]`).
    #[serde(default, skip_serializing_if = "Notify::is_default")]
    pub notify: Notify,
    pub departments: Vec<Department>,
    pub specialists: Vec<Specialist>,
    pub items: Vec<Item>,
    pub priority_classes: Vec<PriorityClass>,
}

impl Hall {
    pub fn tz(&self) -> chrono_tz::Tz {
        // Validation guarantees the name parses; Shanghai is the documented default.
        self.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
    /// The time the last ticket of a day may be taken: `last_ticket`, else the closing time.
    pub fn last_ticket_time(&self) -> &str {
        if self.last_ticket.is_empty() {
            &self.close
        } else {
            &self.last_ticket
        }
    }
    /// Whether a ticket may be taken at `now`: always, unless the hall issues only in its
    /// hours (a working day, from `open` until `last_ticket`).
    pub fn issues_at(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        if !self.issue_only_in_hours {
            return true;
        }
        let local = now.with_timezone(&self.tz());
        let t = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M").ok();
        let (Some(open), Some(last)) = (t(&self.open), t(self.last_ticket_time())) else {
            return true;
        };
        self.calendar.is_working_day(local.date_naive()) && local.time() >= open && local.time() < last
    }
    /// The hours in words for a refusal: 「每个工作日 09:00–17:00，16:30 停止取号」.
    pub fn hours_zh(&self) -> String {
        if self.last_ticket.is_empty() || self.last_ticket == self.close {
            format!("每个工作日 {}–{}", self.open, self.close)
        } else {
            format!("每个工作日 {}–{}，{} 停止取号", self.open, self.close, self.last_ticket)
        }
    }
    pub fn department(&self, code: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.code == code)
    }
    pub fn item(&self, code: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.code.eq_ignore_ascii_case(code))
    }
    /// A department's name for display; empty for a code the hall no longer has.
    pub fn department_name(&self, code: &str) -> String {
        self.department(code).map(|d| d.name.clone()).unwrap_or_default()
    }
    /// An item's full name for display (main·sub); the code itself for an item the hall no
    /// longer has.
    pub fn item_name(&self, code: &str) -> String {
        self.item(code)
            .map(|i| i.display_name())
            .unwrap_or_else(|| code.to_string())
    }
    /// A meeting participant as the records name them: 「王丽（专员）」.
    pub fn participant(&self, staff_id: &str) -> String {
        match self.specialist(staff_id) {
            Some(s) => format!("{}（{}）", s.name, s.role.label_zh()),
            None => staff_id.to_string(),
        }
    }
    /// A specialist's name for display and print; empty for an id the hall no longer has.
    pub fn specialist_name(&self, staff_id: &str) -> String {
        self.specialist(staff_id).map(|s| s.name.clone()).unwrap_or_default()
    }
    /// Whether this specialist is the coordinator (统筹协调对接) of that department.
    pub fn coordinates(&self, staff_id: &str, department: &str) -> bool {
        self.specialist(staff_id)
            .is_some_and(|s| s.role == Role::Coordinator && s.department == department)
    }
    /// What a ticket's QR code says for a case token: the status page's URL when the hall
    /// has a `ticket_url_base`, else the token itself.
    pub fn qr_payload(&self, token: &str) -> String {
        if self.ticket_url_base.is_empty() {
            token.to_string()
        } else {
            format!("{}{token}", self.ticket_url_base)
        }
    }
    pub fn specialist(&self, staff_id: &str) -> Option<&Specialist> {
        self.specialists.iter().find(|s| s.staff_id == staff_id)
    }
    /// A priority group by code or name; `appointment` (预约) is every hall's: the kiosk gives
    /// it at check-in, never to a walk-in.
    pub fn priority(&self, code: &str) -> Option<&PriorityClass> {
        self.priority_classes
            .iter()
            .find(|p| p.code == code || p.name == code)
            .or_else(|| (code == APPOINTMENT).then(|| &*APPOINTMENT_CLASS))
    }
    /// Departments served at a window (a window may serve several).
    pub fn departments_at_window(&self, window: u32) -> Vec<&Department> {
        self.departments
            .iter()
            .filter(|d| d.windows.contains(&window))
            .collect()
    }
    pub fn all_windows(&self) -> BTreeSet<u32> {
        self.departments
            .iter()
            .flat_map(|d| d.windows.iter().copied())
            .collect()
    }

    /// Parse and check a hall file; `file` names it in errors.
    pub fn from_toml(src: &str, file: &str) -> Result<Hall, HallErrors> {
        let raw: RawHall = toml::from_str(src).map_err(|e| {
            let line = e.span().map(|s| line_of(src, s.start)).unwrap_or(1);
            // "unknown field `materails`" names the key itself, also for a table header line.
            let named = e
                .message()
                .split_once("unknown field `")
                .and_then(|(_, rest)| rest.split_once('`'))
                .map(|(k, _)| k.to_string());
            HallErrors(vec![HallIssue {
                file: file.to_string(),
                line,
                field: named.unwrap_or_else(|| field_at(src, line)),
                message: e.message().trim().to_string(),
            }])
        })?;
        raw.into_hall(src, file)
    }

    pub fn from_path(path: &Path) -> Result<Hall, HallErrors> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| {
            HallErrors(vec![HallIssue {
                file: file.clone(),
                line: 0,
                field: "-".into(),
                message: format!("cannot read the hall file: {e}"),
            }])
        })?;
        let src = utf8(&bytes, &file)?;
        Hall::from_toml(src, &file)
    }

    /// Check the rules that span tables. `locate` maps (table, index, field) to a line.
    pub(crate) fn check(&self, file: &str, locate: &dyn Fn(Table, usize, &str) -> usize) -> Vec<HallIssue> {
        let mut out = Vec::new();
        let mut push = |t: Table, i: usize, field: &str, message: String| {
            out.push(HallIssue {
                file: file.to_string(),
                line: locate(t, i, field),
                field: field.to_string(),
                message,
            })
        };
        if !self.code.is_empty() {
            if let Err(e) = crate::ledger::pg::check_hall_code(&self.code) {
                push(Table::Hall, 0, "code", e.to_string());
            }
        }
        let mut text = |t: Table, i: usize, field: &str, v: &str| {
            if let Some(c) = control_char(v) {
                push(
                    t,
                    i,
                    field,
                    format!(
                        "control character U+{:04X} is not allowed in text shown or printed",
                        c as u32
                    ),
                );
            } else if let Some(c) = crate::font::first_undrawable(v) {
                // The screens would drop it without even a box (「专员 许」 for 许喆).
                push(
                    t,
                    i,
                    field,
                    format!(
                        "the character {c} (U+{:04X}) is not in the hall's font, so the kiosk, the board and the consoles could not show it: write it another way",
                        c as u32
                    ),
                );
            }
        };
        for (f, v) in [
            ("name", &self.name),
            ("name_en", &self.name_en),
            ("notice", &self.notice),
            ("ticket_url_base", &self.ticket_url_base),
            ("printer", &self.printer),
            ("timezone", &self.timezone),
        ] {
            text(Table::Hall, 0, f, v);
        }
        for (i, d) in self.departments.iter().enumerate() {
            for (f, v) in [
                ("code", &d.code),
                ("name", &d.name),
                ("name_en", &d.name_en),
                ("prefix", &d.prefix),
            ] {
                text(Table::Department, i, f, v);
            }
        }
        for (i, sp) in self.specialists.iter().enumerate() {
            for (f, v) in [
                ("staff_id", &sp.staff_id),
                ("department", &sp.department),
                ("name", &sp.name),
                ("scope", &sp.scope),
                ("phone", &sp.phone),
            ] {
                text(Table::Specialist, i, f, v);
            }
        }
        for (i, it) in self.items.iter().enumerate() {
            for (f, v) in [
                ("code", &it.code),
                ("department", &it.department),
                ("main", &it.main),
                ("sub", &it.sub),
                ("name_en", &it.name_en),
                ("specialist", &it.specialist),
                ("phone", &it.phone),
                ("lead", &it.lead),
            ] {
                text(Table::Item, i, f, v);
            }
            for v in it.materials.iter() {
                text(Table::Item, i, "materials", v);
            }
            for v in it.tags.iter() {
                text(Table::Item, i, "tags", v);
            }
            for v in it.involved.iter() {
                text(Table::Item, i, "involved", v);
            }
        }
        for (i, p) in self.priority_classes.iter().enumerate() {
            for (f, v) in [("code", &p.code), ("name", &p.name), ("name_en", &p.name_en)] {
                text(Table::Priority, i, f, v);
            }
        }
        for (material, place) in &self.material_sources {
            text(Table::Sources, 0, material, material);
            text(Table::Sources, 0, material, place);
        }
        if self.name.trim().is_empty() {
            push(Table::Hall, 0, "name", "the hall needs a name".into());
        }
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            push(
                Table::Hall,
                0,
                "timezone",
                format!(
                    "unknown time zone {:?} (use an IANA name such as Asia/Shanghai)",
                    self.timezone
                ),
            );
        }
        for (f, v) in [("open", &self.open), ("close", &self.close)] {
            if chrono::NaiveTime::parse_from_str(v, "%H:%M").is_err() {
                push(Table::Hall, 0, f, format!("{v:?} is not a time of day like 08:30"));
            }
        }
        if !self.last_ticket.is_empty() {
            let t = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M").ok();
            match (t(&self.last_ticket), t(&self.open), t(&self.close)) {
                (None, ..) => push(
                    Table::Hall,
                    0,
                    "last_ticket",
                    format!("{:?} is not a time of day like 16:30", self.last_ticket),
                ),
                (Some(last), Some(open), Some(close)) if last <= open || last > close => push(
                    Table::Hall,
                    0,
                    "last_ticket",
                    format!(
                        "the last ticket at {} must come after the opening at {} and by the closing at {}",
                        self.last_ticket, self.open, self.close
                    ),
                ),
                _ => {}
            }
        }
        if self.departments.is_empty() {
            push(Table::Hall, 0, "departments", "the hall has no departments".into());
        }
        let mut codes = HashSet::new();
        let mut prefixes = HashSet::new();
        for (i, d) in self.departments.iter().enumerate() {
            if d.code.trim().is_empty() {
                push(Table::Department, i, "code", "a department needs a code".into());
            } else if !codes.insert(d.code.as_str()) {
                push(
                    Table::Department,
                    i,
                    "code",
                    format!("department code {:?} is used twice", d.code),
                );
            }
            if d.name.trim().is_empty() {
                push(Table::Department, i, "name", "a department needs a name".into());
            }
            let p = d.prefix.as_bytes();
            if p.len() != 1 || !p[0].is_ascii_uppercase() {
                push(
                    Table::Department,
                    i,
                    "prefix",
                    format!("queue prefix {:?} must be one capital letter A-Z", d.prefix),
                );
            } else if !prefixes.insert(d.prefix.as_str()) {
                push(
                    Table::Department,
                    i,
                    "prefix",
                    format!("queue prefix {:?} is used by another department", d.prefix),
                );
            }
            if d.windows.is_empty() {
                push(
                    Table::Department,
                    i,
                    "windows",
                    format!("department {:?} has no windows", d.code),
                );
            }
            if d.windows.contains(&0) {
                push(Table::Department, i, "windows", "window numbers start at 1".into());
            }
        }
        let mut staff = HashSet::new();
        for (i, s) in self.specialists.iter().enumerate() {
            if s.staff_id.trim().is_empty() {
                push(Table::Specialist, i, "staff_id", "a specialist needs a staff id".into());
            } else if !staff.insert(s.staff_id.as_str()) {
                push(
                    Table::Specialist,
                    i,
                    "staff_id",
                    format!("staff id {:?} is used twice", s.staff_id),
                );
            }
            if self.department(&s.department).is_none() {
                push(
                    Table::Specialist,
                    i,
                    "department",
                    format!("unknown department {:?}", s.department),
                );
            }
            if s.name.trim().is_empty() {
                push(Table::Specialist, i, "name", "a specialist needs a name".into());
            }
            if !valid_phone(&s.phone) {
                push(
                    Table::Specialist,
                    i,
                    "phone",
                    "phone must be 7 to 12 digits (dashes allowed)".into(),
                );
            }
        }
        for (i, d) in self.departments.iter().enumerate() {
            let team: Vec<_> = self.specialists.iter().filter(|s| s.department == d.code).collect();
            if team.len() < 2 {
                push(
                    Table::Department,
                    i,
                    "specialists",
                    format!(
                    "department {:?} has {} specialist(s); the rules require at least 2 (one coordinator, one handler)",
                    d.code, team.len()
                ),
                );
            } else {
                for (role, word) in [(Role::Coordinator, "coordinator"), (Role::Handler, "handler")] {
                    if !team.iter().any(|s| s.role == role) {
                        push(
                            Table::Department,
                            i,
                            "specialists",
                            format!("department {:?} has no {word}", d.code),
                        );
                    }
                }
            }
        }
        let mut items = HashSet::new();
        for (i, it) in self.items.iter().enumerate() {
            if it.code.trim().is_empty() {
                push(Table::Item, i, "code", "an item needs a code".into());
            } else if !items.insert(it.code.to_ascii_uppercase()) {
                push(Table::Item, i, "code", format!("item code {:?} is used twice", it.code));
            }
            if it.main.trim().is_empty() {
                push(Table::Item, i, "main", "an item needs a main item name".into());
            }
            match self.department(&it.department) {
                None => push(
                    Table::Item,
                    i,
                    "department",
                    format!("unknown department {:?}", it.department),
                ),
                Some(d) => {
                    if !d.windows.contains(&it.window) {
                        push(
                            Table::Item,
                            i,
                            "window",
                            format!(
                                "unknown window {} for department {:?} (its windows: {:?})",
                                it.window, d.code, d.windows
                            ),
                        );
                    }
                }
            }
            match self.specialist(&it.specialist) {
                None => push(
                    Table::Item,
                    i,
                    "specialist",
                    format!("unknown specialist {:?}", it.specialist),
                ),
                Some(s) if s.department != it.department => push(
                    Table::Item,
                    i,
                    "specialist",
                    format!(
                        "specialist {:?} belongs to {:?}, not {:?}",
                        s.staff_id, s.department, it.department
                    ),
                ),
                Some(_) => {}
            }
            if !valid_phone(&it.phone) {
                push(
                    Table::Item,
                    i,
                    "phone",
                    "phone must be 7 to 12 digits (dashes allowed)".into(),
                );
            }
            for t in &it.tags {
                if !TAGS.contains(&t.as_str()) {
                    push(
                        Table::Item,
                        i,
                        "tags",
                        format!("unknown tag {t:?} (known: {})", TAGS.join(" ")),
                    );
                }
            }
            if it.is_whole_chain() && it.lead.is_empty() {
                push(
                    Table::Item,
                    i,
                    "lead",
                    "a whole-chain (全链条) item needs a lead department (牵头部门)".into(),
                );
            }
            if !it.lead.is_empty() && self.department(&it.lead).is_none() {
                push(Table::Item, i, "lead", format!("unknown department {:?}", it.lead));
            }
            for d in &it.involved {
                if self.department(d).is_none() {
                    push(Table::Item, i, "involved", format!("unknown department {d:?}"));
                }
            }
        }
        for p in &self.trusted_proxies {
            if p.trim().parse::<std::net::IpAddr>().is_err() {
                push(
                    Table::Hall,
                    0,
                    "trusted_proxies",
                    format!("{p:?} is not an IP address (a proxy is named by its address, e.g. \"10.0.0.2\")"),
                );
            }
        }
        for code in &self.featured {
            if self.item(code).is_none() {
                push(
                    Table::Hall,
                    0,
                    "featured",
                    format!("featured item {code:?} is not in the item list"),
                );
            }
        }
        let mut pcodes = HashSet::new();
        for (i, p) in self.priority_classes.iter().enumerate() {
            if p.code.trim().is_empty() || !pcodes.insert(p.code.as_str()) {
                push(
                    Table::Priority,
                    i,
                    "code",
                    format!("priority class code {:?} is empty or used twice", p.code),
                );
            }
            if p.rank == 0 {
                push(
                    Table::Priority,
                    i,
                    "rank",
                    "rank 0 is the regular queue; priority ranks start at 1".into(),
                );
            }
        }
        out
    }

    /// Read the stored (canonical JSON) form back.
    pub fn from_json(json: &str) -> Result<Hall, String> {
        serde_json::from_str(json).map_err(|e| format!("stored hall configuration unreadable: {e}"))
    }

    /// Canonical JSON of the hall, the form stored and hashed by the ledger.
    /// The hall written back as a hall file (`bangban hall export`): the `[hall]` table, then
    /// departments, specialists, items, priority groups and the optional tables, so that
    /// reading it again gives this very hall (the same canonical JSON).
    pub fn to_toml(&self) -> String {
        const INFO: [&str; 18] = [
            "name",
            "name_en",
            "timezone",
            "open",
            "close",
            "notice",
            "default_service_min",
            "priority_cap",
            "retention_years",
            "ticket_url_base",
            "printer",
            "featured",
            "voice",
            "close_automatically",
            "issue_only_in_hours",
            "last_ticket",
            "trusted_proxies",
            "code",
        ];
        // TOML has no null: an absent value is simply not written.
        fn strip(v: serde_json::Value) -> Option<serde_json::Value> {
            use serde_json::Value as V;
            match v {
                V::Null => None,
                V::Array(a) => Some(V::Array(a.into_iter().filter_map(strip).collect())),
                V::Object(m) => Some(V::Object(
                    m.into_iter().filter_map(|(k, v)| strip(v).map(|v| (k, v))).collect(),
                )),
                v => Some(v),
            }
        }
        let Some(serde_json::Value::Object(mut all)) = strip(serde_json::to_value(self).unwrap_or_default()) else {
            return String::new();
        };
        let mut info = serde_json::Map::new();
        for key in INFO {
            if let Some(v) = all.remove(key) {
                info.insert(key.to_string(), v);
            }
        }
        // Each table written on its own, in the hall file's order ([hall] first): a TOML
        // map of them all would come out sorted by name.
        let mut out = String::new();
        let mut write = |key: &str, v: serde_json::Value| {
            let mut one = toml::map::Map::new();
            if let Ok(v) = toml::Value::try_from(v) {
                one.insert(key.to_string(), v);
            }
            if let Ok(text) = toml::to_string(&toml::Value::Table(one)) {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&text);
            }
        };
        write("hall", serde_json::Value::Object(info));
        for key in [
            "departments",
            "specialists",
            "items",
            "priority_classes",
            "material_sources",
            "deadlines",
            "calendar",
            "appointments",
            "notify",
        ] {
            if let Some(v) = all.remove(key) {
                write(key, v);
            }
        }
        out
    }

    pub fn canonical_json(&self) -> String {
        // Serializing a plain struct is deterministic: fields in declaration order.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The text of a file that must be UTF-8; a bad byte is reported at its line.
pub fn utf8<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, HallErrors> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
        let field = String::from_utf8_lossy(&good[line_start..])
            .split_once('=')
            .map(|(k, _)| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "-".into());
        HallErrors(vec![HallIssue {
            file: file.to_string(),
            line,
            field,
            message: format!(
                "byte {:#04x} is not UTF-8: save the file as UTF-8 (GBK or GB18030 files must be converted)",
                bytes[e.valid_up_to()]
            ),
        }])
    })
}

/// The first control character in a text (newlines included): such characters reach the
/// ticket printer and the screens, where ESC or BEL would be taken as commands.
fn control_char(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control())
}

fn valid_phone(p: &str) -> bool {
    let digits: String = p.chars().filter(|c| *c != '-' && *c != ' ').collect();
    (7..=12).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
}

/// Mask a phone number for screens and tickets: 13812341234 → 138****1234.
pub fn mask_phone(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let tail = chars.len() - 4;
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i >= 3 && i < tail { '*' } else { *c })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub(crate) enum Table {
    Hall,
    Department,
    Specialist,
    Item,
    Priority,
    /// The `[material_sources]` table; the field is the material's name.
    Sources,
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// The key on a line, used as the field name of a parse error.
fn field_at(src: &str, line: usize) -> String {
    src.lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| "-".into())
}

/// Line of `key = …` inside the table whose header is at `header_line`; the header line if absent.
fn key_line(src: &str, header_line: usize, key: &str) -> usize {
    for (n, l) in src.lines().enumerate().skip(header_line) {
        let t = l.trim_start();
        if t.starts_with('[') {
            break;
        }
        if let Some((k, _)) = t.split_once('=') {
            if k.trim().trim_matches(['"', '\'']) == key {
                return n + 1;
            }
        }
    }
    header_line
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHallInfo {
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_en: String,
    #[serde(default = "default_tz")]
    timezone: String,
    #[serde(default = "default_open")]
    open: String,
    #[serde(default = "default_close")]
    close: String,
    #[serde(default)]
    notice: String,
    #[serde(default = "default_service_min")]
    default_service_min: u32,
    #[serde(default = "default_priority_cap")]
    priority_cap: u32,
    #[serde(default = "default_retention_years")]
    retention_years: u32,
    #[serde(default)]
    ticket_url_base: String,
    #[serde(default)]
    printer: String,
    #[serde(default)]
    featured: Vec<String>,
    #[serde(default)]
    voice: bool,
    #[serde(default)]
    issue_only_in_hours: bool,
    #[serde(default)]
    last_ticket: String,
    #[serde(default)]
    close_automatically: bool,
    #[serde(default)]
    trusted_proxies: Vec<String>,
}

fn default_tz() -> String {
    "Asia/Shanghai".into()
}
fn default_open() -> String {
    "09:00".into()
}
fn default_close() -> String {
    "17:00".into()
}
fn default_service_min() -> u32 {
    10
}
fn default_priority_cap() -> u32 {
    3
}
fn default_retention_years() -> u32 {
    3
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpecialist {
    staff_id: String,
    department: String,
    name: String,
    #[serde(default)]
    scope: String,
    phone: String,
    role: String,
    #[serde(default)]
    badge: String,
}

// Unknown keys and tables are errors everywhere: a typo such as `materails =` or `[[item]]`
// must not silently drop what the hall meant to say.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHall {
    hall: Spanned<RawHallInfo>,
    #[serde(default)]
    departments: Vec<Spanned<Department>>,
    #[serde(default)]
    specialists: Vec<Spanned<RawSpecialist>>,
    #[serde(default)]
    items: Vec<Spanned<Item>>,
    #[serde(default)]
    priority_classes: Vec<Spanned<PriorityClass>>,
    #[serde(default)]
    material_sources: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    deadlines: Deadlines,
    #[serde(default)]
    calendar: Calendar,
    #[serde(default)]
    appointments: Slots,
    #[serde(default)]
    notify: Notify,
}

/// The priority groups of rule 4 when a hall file lists none.
pub fn default_priority_classes() -> Vec<PriorityClass> {
    [
        ("elderly", "老年人", "Senior"),
        ("disabled", "残疾人", "Disabled"),
        ("pregnant", "孕妇", "Pregnant"),
        ("sick", "病弱", "Sick or frail"),
        ("mobility", "行动不便", "Reduced mobility"),
        ("military", "军人", "Military"),
        ("talent", "高层次人才", "High-level talent"),
        ("keyproject", "重点项目", "Key project"),
    ]
    .into_iter()
    .map(|(code, name, en)| PriorityClass {
        code: code.into(),
        name: name.into(),
        name_en: en.into(),
        rank: 1,
    })
    .collect()
}

impl RawHall {
    fn into_hall(self, src: &str, file: &str) -> Result<Hall, HallErrors> {
        let header = |span: std::ops::Range<usize>| line_of(src, span.start);
        let hall_line = header(self.hall.span());
        let dept_lines: Vec<usize> = self.departments.iter().map(|d| header(d.span())).collect();
        let spec_lines: Vec<usize> = self.specialists.iter().map(|d| header(d.span())).collect();
        let item_lines: Vec<usize> = self.items.iter().map(|d| header(d.span())).collect();
        let prio_lines: Vec<usize> = self.priority_classes.iter().map(|d| header(d.span())).collect();
        let sources_line = self
            .material_sources
            .as_ref()
            .map(|s| header(s.span()))
            .unwrap_or(hall_line);
        let mut issues = Vec::new();
        let info = self.hall.into_inner();
        let mut specialists = Vec::new();
        for (i, s) in self.specialists.into_iter().enumerate() {
            let s = s.into_inner();
            let role = Role::parse(&s.role).unwrap_or_else(|| {
                issues.push(HallIssue {
                    file: file.into(),
                    line: key_line(src, spec_lines[i], "role"),
                    field: "role".into(),
                    message: format!(
                        "role {:?} must be coordinator (统筹协调对接) or handler (具体工作)",
                        s.role
                    ),
                });
                Role::Handler
            });
            specialists.push(Specialist {
                staff_id: s.staff_id,
                department: s.department,
                name: s.name,
                scope: s.scope,
                phone: s.phone,
                role,
                badge: s.badge,
            });
        }
        let priority_classes = if self.priority_classes.is_empty() {
            default_priority_classes()
        } else {
            self.priority_classes.into_iter().map(Spanned::into_inner).collect()
        };
        let hall = Hall {
            name: info.name,
            name_en: info.name_en,
            timezone: info.timezone,
            open: info.open,
            close: info.close,
            notice: info.notice,
            default_service_min: info.default_service_min,
            priority_cap: info.priority_cap,
            retention_years: info.retention_years,
            ticket_url_base: info.ticket_url_base,
            printer: info.printer,
            featured: info.featured,
            voice: info.voice,
            issue_only_in_hours: info.issue_only_in_hours,
            code: info.code,
            last_ticket: info.last_ticket,
            close_automatically: info.close_automatically,
            trusted_proxies: info.trusted_proxies,
            material_sources: self.material_sources.map(Spanned::into_inner).unwrap_or_default(),
            deadlines: self.deadlines,
            calendar: self.calendar,
            appointments: self.appointments,
            notify: self.notify,
            departments: self.departments.into_iter().map(Spanned::into_inner).collect(),
            specialists,
            items: self.items.into_iter().map(Spanned::into_inner).collect(),
            priority_classes,
        };
        let locate = |t: Table, i: usize, field: &str| {
            let h = match t {
                Table::Hall => hall_line,
                Table::Department => dept_lines.get(i).copied().unwrap_or(hall_line),
                Table::Specialist => spec_lines.get(i).copied().unwrap_or(hall_line),
                Table::Item => item_lines.get(i).copied().unwrap_or(hall_line),
                Table::Priority => prio_lines.get(i).copied().unwrap_or(hall_line),
                Table::Sources => sources_line,
            };
            key_line(src, h, field)
        };
        issues.extend(hall.check(file, &locate));
        // A place for a material no item asks for is a typo in the file (an import that drops
        // the last item asking for it is not refused for this).
        for material in hall.material_sources.keys() {
            if !hall.items.iter().any(|i| i.materials.contains(material)) {
                issues.push(HallIssue {
                    file: file.into(),
                    line: locate(Table::Sources, 0, material),
                    field: material.clone(),
                    message: format!(
                        "{material:?} is not a material of any item (check the spelling against the items' materials)"
                    ),
                });
            }
        }
        if issues.is_empty() {
            Ok(hall)
        } else {
            issues.sort_by_key(|i| i.line);
            Err(HallErrors(issues))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phone_numbers() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("0632-3311234"), "063*****1234");
    }
}
