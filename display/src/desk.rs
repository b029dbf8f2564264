//! The counter's desk: the IO side of the console, without any UI. It owns the hall client
//! (the ledger file or the hall server), who is signed in and which case is on the panel,
//! takes `Cmd`s and answers each with a `View` of plain data. It runs on its own thread so a
//! locked database or a slow network never freezes the console, and tests drive it directly.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bangban::api::{Act, Call, HallClient, PauseWindow, SignIn};
use bangban::connect::Door;
use bangban::{CaseAction, CaseState, ErrorKind, Hall, LedgerError, LedgerOptions};

/// What the console asks of the ledger.
#[derive(Debug, Clone)]
pub enum Cmd {
    Login {
        staff: String,
        pin: String,
    },
    Logout,
    CallNext,
    CallNumber(String),
    /// A past day's visitor came back (their token or DATE/NUMBER): today's next number for
    /// the same case, in line after the tickets issued before.
    Return(String),
    Act(CaseAction),
    /// Print the one-time notification slip of the case on the panel again (no ledger write).
    PrintSlip,
    TogglePause,
    Refresh,
    /// Show this case on the panel without calling it (None: the window's own case, else the
    /// first in line — for renders).
    Show(Option<String>),
    /// Open a case without a ticket (来电咨询, 网上帮办, 提前介入) and put it on the panel.
    Open(bangban::OpenCase),
    /// 预约 for a caller (来电): item, time (`YYYY-MM-DD HH:MM`), the caller's phone.
    Book {
        item: String,
        at: String,
        phone: String,
    },
    /// Show the panel as this specialist would see it, without signing in (renders only).
    Preview(String),
    /// Print (or save) the case's form of this kind on the hall's A4 printer.
    PrintForm(String),
    Stop,
}

/// The case on the panel, as plain data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PanelCase {
    pub number: String,
    pub item: String,
    /// The item's and the priority group's names in the hall file's English.
    pub item_en: String,
    pub priority_en: String,
    pub state: String,
    pub priority: String,
    pub recalls: u32,
    pub open_question: bool,
    pub materials: Vec<String>,
    /// The service mode's code (onsite, online, fullprocess).
    pub mode: String,
    /// 全链条: every department's part, and the state of the signed-in specialist's
    /// department's part ("" when it has none).
    pub parts: Vec<PartLine>,
    pub my_part: String,
    /// The specialist's department takes part in the case without leading it, or the
    /// management office has a case under coordination: the panel opens on the parts and the
    /// coordination.
    pub part_only: bool,
    /// Escalated to the management office, waiting for the coordination's outcome.
    pub under_coordination: bool,
    /// The case's forms with their numbers and signatures, and the one its stage calls for.
    pub forms: Vec<bangban::forms::FormLine>,
    pub stage_form: String,
    /// The principal as recorded, masked ("" when none).
    pub principal: String,
}

/// One department's part of a whole-chain case, as the panel lists it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PartLine {
    pub department: String,
    pub state: String,
    pub owner: String,
    /// Materials accepted without (容缺) and their dates.
    pub missing: String,
    pub mine: bool,
}

/// One alert for the window's department: overdue, due soon, or a part to claim.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertLine {
    /// The deadline's kind (`DeadlineKind`, snake case).
    pub kind: String,
    pub number: String,
    /// What opens the case on the panel (DATE/NUMBER); empty for a complaint.
    pub reference: String,
    /// When it is due, in the hall's time (MM-DD HH:MM).
    pub due: String,
    pub overdue: bool,
    pub material: String,
    /// The signed-in specialist's own (they own the case or the part).
    pub mine: bool,
}

/// One visitor in the window's queue.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueEntry {
    pub number: String,
    pub item: String,
    /// The item's and the priority group's English names (a console in English shows them).
    pub item_en: String,
    pub waited_min: i64,
    pub priority: String,
    pub priority_en: String,
}

/// What the last command did, as data: the console puts it in words (translated there).
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// Nothing to say (after signing in or out): the line is cleared.
    Clear,
    /// A call or recall went out: the announcement, as the hall says it.
    Called(String),
    /// A case moved to a new state.
    Moved { number: String, state: CaseState },
    /// A past day's case stands in today's line again under this new number.
    Returned(String),
    /// The missing materials were recorded and the one-time notification slip printed.
    SlipPrinted(String),
    /// The window's signature pad was asked for the visitor's signature on this form.
    SignAsked(String),
    /// A form went to the A4 printer (or was saved): its title, and where.
    FormPrinted { title: String, to: String },
    /// The principal of the 委托书 was recorded for this case.
    PrincipalSaved(String),
    /// The window was paused (true) or opened again (false).
    WindowPaused(bool),
    /// An appointment was booked for a caller: its time, check-in code, and the phone masked.
    Booked { time: String, code: String, phone: String },
    /// The command failed: why, and the ledger's own words.
    Failed { kind: Refusal, detail: String },
}

/// Why a console command failed: the hall refused it (its `ErrorKind`), or the console
/// itself could not send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Ledger(ErrorKind),
    SignInFirst,
    NoNumber,
    NoCase,
    NoPrinter,
    SlipNotPrinted,
    NoA4,
    FormNotPrinted,
}

impl Refusal {
    /// The code the console's words are keyed by (`ConsoleWords.error` in the .slint).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Ledger(kind) => kind.as_str(),
            Refusal::SignInFirst => "sign_in_first",
            Refusal::NoNumber => "no_number",
            Refusal::NoCase => "no_case",
            Refusal::NoPrinter => "no_printer",
            Refusal::SlipNotPrinted => "slip_not_printed",
            Refusal::NoA4 => "no_a4",
            Refusal::FormNotPrinted => "form_not_printed",
        }
    }
}

impl Message {
    fn failed(e: &LedgerError) -> Message {
        Message::Failed {
            kind: Refusal::Ledger(e.kind()),
            detail: e.to_string(),
        }
    }
    fn refused(kind: Refusal, detail: &str) -> Message {
        Message::Failed {
            kind,
            detail: detail.into(),
        }
    }
    pub fn is_failure(&self) -> bool {
        matches!(self, Message::Failed { .. })
    }
}

/// Everything the console shows, produced after each command.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub logged_in: bool,
    pub staff_name: String,
    /// The signed-in specialist is of the management office (records coordination meetings).
    pub office: bool,
    /// `None` leaves the message line as it is (background refreshes).
    pub message: Option<Message>,
    pub paused: bool,
    pub waiting: Vec<QueueEntry>,
    /// What is overdue or due soon in the window's departments.
    pub alerts: Vec<AlertLine>,
    pub case: Option<PanelCase>,
    /// The hall server could not be reached on the last try; the console keeps retrying.
    pub offline: bool,
}

/// Where the console's forms go: the hall's A4 printer through CUPS (`lp:PRINTER`, printed
/// with `lp -d PRINTER`), or a directory they are saved in (`dir:PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum A4Target {
    Lp(String),
    Dir(PathBuf),
}

impl A4Target {
    /// `lp:PRINTER` or `dir:PATH`.
    pub fn parse(s: &str) -> Result<A4Target, String> {
        match s.split_once(':') {
            Some(("lp", p)) if !p.is_empty() && !p.starts_with('-') && !p.contains(char::is_whitespace) => {
                Ok(A4Target::Lp(p.to_string()))
            }
            Some(("dir", d)) if !d.is_empty() => Ok(A4Target::Dir(PathBuf::from(d))),
            _ => Err(format!(
                "{s:?}: use lp:PRINTER (a CUPS printer's name) or dir:PATH (a directory to save the forms in)"
            )),
        }
    }

    /// Send one PDF; where it went, in words.
    fn send(&self, pdf: &[u8], name: &str, title: &str) -> Result<String, String> {
        match self {
            A4Target::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let path = dir.join(name);
                let tmp = dir.join(format!(".{name}.tmp"));
                std::fs::write(&tmp, pdf)
                    .and_then(|_| std::fs::rename(&tmp, &path))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(path.display().to_string())
            }
            A4Target::Lp(printer) => {
                let file = tempfile::Builder::new()
                    .prefix("bangban-form-")
                    .suffix(".pdf")
                    .tempfile()
                    .map_err(|e| format!("a temporary file for the form: {e}"))?;
                std::fs::write(file.path(), pdf).map_err(|e| format!("{}: {e}", file.path().display()))?;
                let out = std::process::Command::new("lp")
                    .args(["-d", printer, "-t", title])
                    .arg(file.path())
                    .output()
                    .map_err(|e| format!("lp (CUPS) cannot be run: {e}"))?;
                if !out.status.success() {
                    return Err(format!(
                        "lp -d {printer}: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
                Ok(printer.clone())
            }
        }
    }
}

/// Where the desk's hall client comes from.
pub enum Source {
    /// The ledger file on this machine; writes wait at most this long for a locked ledger.
    Ledger(PathBuf, Duration),
    /// The hall server, as the counter device owning the token; `ca` is the hall CA an
    /// `https://` server's certificate must come from.
    Server {
        url: String,
        token: String,
        ca: Option<PathBuf>,
    },
}

impl Source {
    /// The door to the hall this source names; on the ledger file, events carry `actor`.
    pub fn door(self, actor: String) -> Door {
        match self {
            Source::Ledger(path, busy) => Door::File {
                path,
                opts: LedgerOptions {
                    busy_timeout: busy,
                    ..LedgerOptions::default()
                },
                actor,
                demo: false,
            },
            Source::Server { url, token, ca } => Door::Server { url, token, ca },
        }
    }
}

/// The IO side's state: the hall client, who is signed in, which case is on the panel.
pub struct Desk {
    client: Box<dyn HallClient>,
    /// The chain heads this console saw, kept outside the ledger.
    witness: bangban::witness::Witness,
    offline: bool,
    window: u32,
    depts: Vec<String>,
    staff: Option<String>,
    current: Option<String>,
    /// The counter's own printer, for the one-time notification slip (一次性告知书).
    printer: Option<bangban_printer::PrinterTarget>,
    /// The hall's A4 printer for the forms (委托书 …), or a directory they are saved in.
    a4: Option<A4Target>,
    /// The alerts as last read, and when: the console's 2-second refresh reads them again
    /// only every `ALERTS_EVERY` (or after an action), so hundreds of counters do not ask
    /// the server for the deadlines every two seconds.
    alerts: Vec<AlertLine>,
    alerts_read: Option<std::time::Instant>,
    /// A console over the network follows the hall's stream, and its 2-second refresh reads
    /// only what the stream says changed (`Cache`); one on the ledger file reads everything,
    /// which costs microseconds there.
    follower: Option<bangban::remote::Follower>,
    cache: Cache,
}

/// What a console over the network showed last, and when it was read: the stream says when
/// the window's departments' line changed, and the rest is read again only when stale, so
/// three hundred consoles do not ask the server four questions every two seconds.
#[derive(Default)]
struct Cache {
    hall: Option<(Arc<Hall>, std::time::Instant)>,
    /// The waiting and priority counts of the window's departments the stream last said.
    counts: Vec<(u32, u32)>,
    waiting: Option<(Vec<QueueEntry>, std::time::Instant)>,
    waiting_changed: bool,
    paused: Option<(bool, std::time::Instant)>,
    case: Option<(String, Option<bangban::api::CaseView>, std::time::Instant)>,
}

/// How old the alerts may be before a refresh reads them again.
const ALERTS_EVERY: Duration = Duration::from_secs(20);
/// Over the network, how old the hall, the waiting line (its minutes waited), the case on
/// the panel and the window's pause may be before a refresh reads them again without the
/// stream saying they changed (another console's action on this window's case, the clock).
const HALL_EVERY: Duration = Duration::from_secs(60);
const WAITING_EVERY: Duration = Duration::from_secs(30);
const CASE_EVERY: Duration = Duration::from_secs(10);
const PAUSED_EVERY: Duration = Duration::from_secs(30);

impl Desk {
    /// The specialist signed in here is of the management office.
    fn office_signed_in(&self, hall: Option<&Hall>) -> bool {
        self.staff
            .as_ref()
            .and_then(|id| hall?.specialist(id))
            .is_some_and(|s| s.role == bangban::hall::Role::Office)
    }

    /// Print (or save) the forms here.
    pub fn set_a4(&mut self, a4: Option<A4Target>) {
        self.a4 = a4;
    }

    /// The case's form on the A4 printer: the signed one once the visitor signed it on the
    /// pad, else the form as the case stands.
    fn print_form(&mut self, a4: A4Target, case_ref: &str, kind: &str) -> Message {
        let Some(kind) = bangban::forms::FormKind::parse(kind) else {
            return Message::refused(Refusal::FormNotPrinted, &format!("no form {kind:?}"));
        };
        let made = (|| -> Result<(Vec<u8>, String), String> {
            let hall = self.client.hall().map_err(|e| e.to_string())?;
            let signed = self
                .client
                .send(bangban::ops::SignedFormFind {
                    seq: None,
                    kind: Some(kind),
                    case: Some(case_ref.to_string()),
                })
                .map_err(|e| e.to_string())?;
            match signed {
                Some(sf) => {
                    let name = format!("{}-{}.pdf", sf.content.number, kind.as_str());
                    bangban_forms::render_signed(&sf, &hall)
                        .map(|pdf| (pdf, name))
                        .map_err(|e| e.to_string())
                }
                None => {
                    let content = self
                        .client
                        .send(bangban::ops::FormShow {
                            kind,
                            case: case_ref.to_string(),
                        })
                        .map_err(|e| e.to_string())?;
                    let name = format!("{}-{}.pdf", content.number, kind.as_str());
                    bangban_forms::render(&content, None)
                        .map(|pdf| (pdf, name))
                        .map_err(|e| e.to_string())
                }
            }
        })();
        let printed = made.and_then(|(pdf, name)| a4.send(&pdf, &name, kind.title()));
        match printed {
            Ok(to) => Message::FormPrinted {
                title: kind.title().into(),
                to,
            },
            Err(e) => {
                tracing::error!("the {} of {case_ref} did not print: {e}", kind.as_str());
                Message::refused(Refusal::FormNotPrinted, &e)
            }
        }
    }

    /// Print the one-time notification slip on this printer after each `notify`.
    pub fn set_printer(&mut self, printer: Option<bangban_printer::PrinterTarget>) {
        self.printer = printer.filter(|p| *p != bangban_printer::PrinterTarget::None);
    }

    /// Connect to the hall and check that the window belongs to a department. Returns the
    /// desk and the hall it found.
    pub fn open(source: Source, window: u32) -> Result<(Desk, Arc<Hall>), LedgerError> {
        let door = source.door(format!("counter-{window}"));
        let (db, url) = door.witness_source();
        let over_network = matches!(door, Door::Server { .. });
        let witness = bangban::witness::for_program("counter", db, url);
        let mut client = bangban::connect::connect(door)?;
        let hall = client.hall()?;
        let depts: Vec<String> = hall
            .departments_at_window(window)
            .iter()
            .map(|d| d.code.clone())
            .collect();
        if depts.is_empty() {
            return Err(LedgerError::UnknownWindow(window));
        }
        let follower = if over_network {
            let head = client.head_seq()?;
            Some(client.follow_departments(head, &depts, Box::new(|| {}))?)
        } else {
            None
        };
        let desk = Desk {
            client,
            witness,
            offline: false,
            window,
            depts,
            staff: None,
            current: None,
            printer: None,
            a4: None,
            alerts: vec![],
            alerts_read: None,
            follower,
            cache: Cache::default(),
        };
        Ok((desk, hall))
    }

    /// The slip for a notification just recorded, on the counter's printer. The notification
    /// stands either way; a failure says the slip is missing so it can be printed again.
    fn print_slip(&mut self, printer: bangban_printer::PrinterTarget, case: &bangban::Case) -> Message {
        let staff = self.staff.clone().unwrap_or_default();
        let printed = self.client.hall().map_err(|e| e.to_string()).and_then(|hall| {
            let slip = bangban_printer::Slip::of(&hall, case, &staff, self.window, chrono::Utc::now());
            bangban_printer::print_slip(&printer, &slip).map_err(|e| e.to_string())
        });
        match printed {
            Ok(()) => Message::SlipPrinted(case.number.clone()),
            Err(e) => {
                tracing::error!("the slip of {} did not print: {e}", case.number);
                Message::refused(Refusal::SlipNotPrinted, &e)
            }
        }
    }

    /// Do one command and say what the console should now show.
    pub fn handle(&mut self, cmd: Cmd) -> View {
        let message = match cmd {
            Cmd::Login { staff, pin } => Some(
                match self.client.sign_in(&SignIn {
                    staff: staff.trim().to_string(),
                    pin,
                    window: self.window,
                }) {
                    Ok(signed) => {
                        self.staff = Some(signed.staff);
                        // Whose alerts depends on who signed in (the office sees every
                        // department's escalations): read them afresh.
                        self.alerts_read = None;
                        Message::Clear
                    }
                    Err(e) => self.failed(e),
                },
            ),
            Cmd::Logout => {
                if let Err(e) = self.client.sign_out() {
                    tracing::warn!("sign-out: {e}");
                }
                self.staff = None;
                self.current = None;
                self.alerts_read = None;
                Some(Message::Clear)
            }
            Cmd::Refresh | Cmd::Stop => None,
            Cmd::Preview(staff) => {
                self.staff = Some(staff);
                self.alerts_read = None;
                None
            }
            Cmd::Show(number) => {
                // None: the case this window is working on, else the first in line.
                self.current = number.or_else(|| {
                    let at = self
                        .client
                        .at_window(self.window)
                        .ok()
                        .and_then(|v| v.last().map(|c| c.number.clone()));
                    at.or_else(|| {
                        self.client
                            .waiting(&self.depts)
                            .ok()
                            .and_then(|w| w.first().map(|w| w.number.clone()))
                    })
                });
                None
            }
            other => {
                // An action may have settled an alert: read them again.
                self.alerts_read = None;
                Some(self.as_staff(other))
            }
        };
        self.view(message)
    }

    /// A command only a signed-in specialist may give.
    fn as_staff(&mut self, cmd: Cmd) -> Message {
        if self.staff.is_none() {
            return Message::refused(Refusal::SignInFirst, "sign in first");
        }
        let done = match cmd {
            Cmd::CallNext | Cmd::CallNumber(_) => {
                let number = match cmd {
                    Cmd::CallNumber(n) if n.trim().is_empty() => {
                        return Message::refused(Refusal::NoNumber, "type or scan a number first")
                    }
                    Cmd::CallNumber(n) => Some(n.trim().to_string()),
                    _ => None,
                };
                self.client.call(&Call { number }).map(|c| {
                    self.current = Some(c.number.clone());
                    Message::Called(c.text)
                })
            }
            Cmd::Return(reference) => {
                let reference = reference.trim().to_string();
                if reference.is_empty() {
                    return Message::refused(Refusal::NoNumber, "type or scan a number first");
                }
                self.client
                    .act(&Act {
                        case: reference,
                        action: CaseAction::Return,
                    })
                    .map(|c| Message::Returned(c.number))
            }
            Cmd::Open(req) => self.client.open_case(&req).map(|c| {
                self.current = Some(format!("{}/{}", c.business_day, c.number));
                Message::Moved {
                    number: c.number,
                    state: c.state,
                }
            }),
            Cmd::Book { item, at, phone } => self
                .client
                .send(bangban::ops::AppointmentAdd {
                    item,
                    at,
                    phone,
                    channel: "phone".into(),
                    from_case: None,
                })
                .map(|a| Message::Booked {
                    time: a.local_time,
                    code: a.code,
                    phone: a.phone,
                }),
            Cmd::PrintSlip => {
                let Some(number) = self.current.clone() else {
                    return Message::refused(Refusal::NoCase, "no case on the panel: call a number first");
                };
                let Some(printer) = self.printer.clone() else {
                    return Message::refused(Refusal::NoPrinter, "this console has no printer (--printer)");
                };
                self.client.case(&number).map(|v| self.print_slip(printer, &v.case))
            }
            Cmd::PrintForm(kind) => {
                let Some(number) = self.current.clone() else {
                    return Message::refused(Refusal::NoCase, "no case on the panel: call a number first");
                };
                let Some(a4) = self.a4.clone() else {
                    return Message::refused(Refusal::NoA4, "this console has no A4 printer (--a4)");
                };
                Ok(self.print_form(a4, &number, &kind))
            }
            Cmd::Act(action @ (CaseAction::RequestSignature { .. } | CaseAction::Principal { .. })) => {
                let Some(number) = self.current.clone() else {
                    return Message::refused(Refusal::NoCase, "no case on the panel: call a number first");
                };
                let title = match &action {
                    CaseAction::RequestSignature { form } => {
                        bangban::forms::FormKind::parse(form).map(|k| k.title().to_string())
                    }
                    _ => None,
                };
                self.client.act(&Act { case: number, action }).map(|c| match title {
                    Some(t) => Message::SignAsked(t),
                    None => Message::PrincipalSaved(c.number),
                })
            }
            Cmd::Act(action) => {
                let Some(number) = self.current.clone() else {
                    return Message::refused(Refusal::NoCase, "no case on the panel: call a number first");
                };
                let notify = matches!(action, CaseAction::NotifyMissing { .. });
                self.client
                    .act(&Act { case: number, action })
                    .map(|c| match (&self.printer, notify) {
                        (Some(printer), true) => self.print_slip(printer.clone(), &c),
                        _ => Message::Moved {
                            number: c.number,
                            state: c.state,
                        },
                    })
            }
            Cmd::TogglePause => self.client.window_paused(self.window).and_then(|was| {
                self.client
                    .pause_window(&PauseWindow { paused: !was })
                    .map(|_| Message::WindowPaused(!was))
            }),
            _ => Ok(Message::Clear),
        };
        match done {
            Ok(m) => {
                self.offline = false;
                m
            }
            Err(e) => self.failed(e),
        }
    }

    /// The message for an error; a server out of reach marks the console as reconnecting.
    fn failed(&mut self, e: LedgerError) -> Message {
        if e.kind() == ErrorKind::Unreachable {
            self.offline = true;
        }
        Message::failed(&e)
    }

    /// The alerts of the window's departments, overdue first, then by due time.
    fn alerts(&mut self, hall: Option<&Hall>) -> Vec<AlertLine> {
        let Some(hall) = hall else { return vec![] };
        let mut list = Vec::new();
        for d in self.depts.clone() {
            match self.client.overdue(Some(&d)) {
                Ok(items) => list.extend(items),
                Err(e) => tracing::warn!("cannot read the alerts of {d}: {e}"),
            }
        }
        // The management office coordinates every department's escalations: at its console
        // they are all alerts, whichever window it sits at.
        if self.office_signed_in(Some(hall)) {
            match self.client.overdue(None) {
                Ok(items) => list.extend(items.into_iter().filter(|o| {
                    (o.kind == bangban::ledger::DeadlineKind::Coordination
                        && !self.depts.iter().any(|d| *d == o.department))
                        || o.kind == bangban::ledger::DeadlineKind::UnclosedDay
                })),
                Err(e) => tracing::warn!("cannot read the hall's coordination alerts: {e}"),
            }
        }
        list.sort_by(|a, b| b.overdue.cmp(&a.overdue).then_with(|| a.due.cmp(&b.due)));
        let local = |t: &str| {
            bangban::clock::parse_stamp(t)
                .map(|t| t.with_timezone(&hall.tz()).format("%m-%d %H:%M").to_string())
                .unwrap_or_default()
        };
        // A past day's number is shown with its date (「11-27 H001」): today's H001 is
        // another visitor.
        let today = bangban::clock::business_day(bangban::clock::Clock::now(&*bangban::clock::from_env()), hall.tz())
            .to_string();
        list.into_iter()
            .map(|o| {
                // A day left unclosed is no case: named by its date, nothing to open.
                let day_only = o.kind == bangban::ledger::DeadlineKind::UnclosedDay;
                (o, day_only)
            })
            .map(|(o, day_only)| AlertLine {
                kind: serde_json::to_value(o.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                reference: if o.number.starts_with('#') || day_only {
                    String::new()
                } else {
                    format!("{}/{}", o.business_day, o.number)
                },
                number: match o.business_day.get(5..) {
                    Some(md) if day_only => md.to_string(),
                    Some(md) if o.business_day != today && !o.number.starts_with('#') => format!("{md} {}", o.number),
                    _ => o.number,
                },
                due: local(&o.due),
                overdue: o.overdue,
                material: o.material.unwrap_or_default(),
                mine: o.owner.is_some() && o.owner == self.staff,
            })
            .collect()
    }

    /// What the stream said since the last refresh: whether the window's departments' line
    /// changed, and whether the server went away or came back.
    fn heard(&mut self) {
        let Some(f) = &self.follower else { return };
        while let Ok(h) = f.heard.try_recv() {
            match h {
                bangban::remote::Heard::Call(c) if self.depts.contains(&c.department) => {
                    self.cache.waiting_changed = true;
                }
                bangban::remote::Heard::Queues(q) => {
                    let mine = bangban::api::QueueLine::counts_of(&q, &self.depts);
                    if mine != self.cache.counts {
                        self.cache.counts = mine;
                        self.cache.waiting_changed = true;
                    }
                }
                // Back after a break: whatever happened meanwhile is read again.
                bangban::remote::Heard::Connected | bangban::remote::Heard::Lost(_) => {
                    self.cache = Cache::default();
                }
                _ => {}
            }
        }
    }

    fn view(&mut self, message: Option<Message>) -> View {
        self.heard();
        // After an action, offline, or on the ledger file: everything is read again.
        if message.is_some() || self.offline || self.follower.is_none() {
            self.cache = Cache::default();
        }
        let fresh = |t: &std::time::Instant, every: Duration| t.elapsed() < every;
        let hall = match &self.cache.hall {
            Some((h, t)) if fresh(t, HALL_EVERY) => Some(h.clone()),
            _ => match self.client.hall() {
                Ok(h) => {
                    self.offline = false;
                    self.cache.hall = Some((h.clone(), std::time::Instant::now()));
                    Some(h)
                }
                Err(e) => {
                    if e.kind() == ErrorKind::Unreachable {
                        self.offline = true;
                    }
                    None
                }
            },
        };
        let staff_name = match (&self.staff, &hall) {
            (Some(id), Some(h)) => format!("{}（{id}）", h.specialist(id).map(|s| s.name.as_str()).unwrap_or("")),
            _ => String::new(),
        };
        let waiting = match &self.cache.waiting {
            Some((w, t)) if fresh(t, WAITING_EVERY) && !self.cache.waiting_changed => w.clone(),
            _ => {
                let read = self.client.waiting(&self.depts).map(|list| {
                    list.into_iter()
                        .map(|w| QueueEntry {
                            number: w.number,
                            item: w.item_name,
                            item_en: w.item_name_en,
                            waited_min: w.waited_min,
                            priority: w.priority_name.unwrap_or_default(),
                            priority_en: w.priority_name_en.unwrap_or_default(),
                        })
                        .collect::<Vec<_>>()
                });
                match read {
                    Ok(w) => {
                        self.cache.waiting = Some((w.clone(), std::time::Instant::now()));
                        self.cache.waiting_changed = false;
                        w
                    }
                    Err(_) => Vec::new(),
                }
            }
        };
        if self.alerts_read.is_none_or(|t| t.elapsed() >= ALERTS_EVERY) {
            self.alerts = self.alerts(hall.as_deref());
            self.alerts_read = Some(std::time::Instant::now());
        }
        let alerts = self.alerts.clone();
        let office = self.office_signed_in(hall.as_deref());
        let my_dept = self
            .staff
            .as_ref()
            .and_then(|id| hall.as_ref()?.specialist(id).map(|s| s.department.clone()));
        let viewed = match (&self.current, &self.cache.case) {
            (None, _) => None,
            (Some(n), Some((of, v, t))) if of == n && fresh(t, CASE_EVERY) => v.clone(),
            (Some(n), _) => {
                let v = self.client.case(n).ok();
                self.cache.case = Some((n.clone(), v.clone(), std::time::Instant::now()));
                v
            }
        };
        let case = viewed.map(|v| {
            // The principal as the console shows it: masked already by the ledger.
            let principal = v
                .principal
                .map(|p| {
                    [Some(p.name), Some(p.id_number), p.phone]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · ")
                })
                .unwrap_or_default();
            let forms = v.forms;
            let c = v.case;
            let item = hall.as_ref().and_then(|h| h.item(&c.item));
            let name = |id: &str| {
                hall.as_ref()
                    .map(|h| h.specialist_name(id))
                    .unwrap_or_else(|| id.to_string())
            };
            let parts = c
                .parts
                .iter()
                .map(|p| PartLine {
                    department: hall
                        .as_ref()
                        .map(|h| h.department_name(&p.department))
                        .unwrap_or_else(|| p.department.clone()),
                    state: p.state.as_str().into(),
                    owner: p.owner.as_deref().map(name).unwrap_or_default(),
                    missing: p
                        .missing
                        .iter()
                        .map(|m| format!("{}（{}）", m.material, m.supply_by))
                        .collect::<Vec<_>>()
                        .join("、"),
                    mine: my_dept.as_deref() == Some(p.department.as_str()),
                })
                .collect();
            let my_part = c
                .parts
                .iter()
                .find(|p| my_dept.as_deref() == Some(p.department.as_str()))
                .map(|p| p.state.as_str().to_string())
                .unwrap_or_default();
            PanelCase {
                part_only: (!my_part.is_empty() && my_dept.as_deref() != Some(c.department.as_str()))
                    || (c.under_coordination && office),
                parts,
                my_part,
                under_coordination: c.under_coordination,
                number: c.number.clone(),
                item: item.map(|i| i.display_name()).unwrap_or_else(|| c.item.clone()),
                item_en: item.map(|i| i.english_name()).unwrap_or_else(|| c.item.clone()),
                priority_en: c
                    .priority
                    .as_deref()
                    .and_then(|p| hall.as_ref()?.priority(p))
                    .map(|p| p.english_name())
                    .unwrap_or_default(),
                state: c.state.as_str().into(),
                priority: c
                    .priority
                    .as_deref()
                    .and_then(|p| hall.as_ref()?.priority(p))
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                recalls: c.recalls,
                open_question: c.open_question,
                materials: item.map(|i| i.materials.clone()).unwrap_or_default(),
                mode: c.mode.as_str().into(),
                forms,
                stage_form: bangban::forms::FormKind::of_stage(c.state).as_str().to_string(),
                principal,
            }
        });
        View {
            logged_in: self.staff.is_some(),
            staff_name,
            office,
            message,
            paused: match self.cache.paused {
                Some((p, t)) if fresh(&t, PAUSED_EVERY) => p,
                _ => {
                    let p = self.client.window_paused(self.window).unwrap_or(false);
                    self.cache.paused = Some((p, std::time::Instant::now()));
                    p
                }
            },
            waiting,
            alerts,
            case,
            offline: self.offline,
        }
    }
}

/// The desk on its own thread: commands in, views out; `wake` runs after each view (the UI
/// uses it to pump views on its event loop).
pub struct DeskThread {
    pub jobs: Sender<Cmd>,
    pub views: Receiver<View>,
    pub handle: JoinHandle<()>,
}

pub fn spawn(mut desk: Desk, wake: impl Fn() + Send + 'static) -> std::io::Result<DeskThread> {
    let (job_tx, job_rx) = mpsc::channel::<Cmd>();
    let (view_tx, view_rx) = mpsc::channel::<View>();
    let handle = std::thread::Builder::new().name("counter-io".into()).spawn(move || {
        for cmd in job_rx {
            if matches!(cmd, Cmd::Stop) {
                break;
            }
            let view = desk.handle(cmd);
            bangban::witness::keep(&mut desk.witness, desk.client.as_mut());
            if view_tx.send(view).is_err() {
                break;
            }
            wake();
        }
    })?;
    Ok(DeskThread {
        jobs: job_tx,
        views: view_rx,
        handle,
    })
}
