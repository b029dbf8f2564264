//! Cases, their states, the events that move them, and the one pure function (`apply`) that
//! folds an event into a case — used both when writing and when replaying the log.

use serde::{Deserialize, Serialize};

use crate::error::LedgerError;

/// How the visitor is served (rule 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 现场服务 / 现场帮办
    Onsite,
    /// 网上服务
    Online,
    /// 全程服务 / 全程代办
    Fullprocess,
}

impl Mode {
    /// Every mode, in the order a list shows them.
    pub const ALL: [Mode; 3] = [Mode::Onsite, Mode::Online, Mode::Fullprocess];
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "onsite" | "现场" => Some(Mode::Onsite),
            "online" | "网上" => Some(Mode::Online),
            "fullprocess" | "全程" => Some(Mode::Fullprocess),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Onsite => "onsite",
            Mode::Online => "online",
            Mode::Fullprocess => "fullprocess",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Mode::Onsite => "现场帮办",
            Mode::Online => "网上帮办",
            Mode::Fullprocess => "全程代办",
        }
    }
}

/// Where the case was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Kiosk,
    Counter,
    /// 来电咨询: a consultation by phone, recorded by a specialist, no ticket.
    Phone,
    /// 网上帮办: remote help with an online application.
    Online,
    /// 提前介入: a key project's case opened by a specialist before the visitor comes.
    Intervention,
}

impl Channel {
    /// Every channel, in the order a list shows them.
    pub const ALL: [Channel; 5] = [
        Channel::Kiosk,
        Channel::Counter,
        Channel::Phone,
        Channel::Online,
        Channel::Intervention,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Kiosk => "kiosk",
            Channel::Counter => "counter",
            Channel::Phone => "phone",
            Channel::Online => "online",
            Channel::Intervention => "intervention",
        }
    }

    /// Where a case came from, as the registers say it: 来访 (a ticket), 来电, 网上, 提前介入.
    pub fn source_zh(self) -> &'static str {
        match self {
            Channel::Kiosk | Channel::Counter => "来访",
            Channel::Phone => "来电",
            Channel::Online => "网上",
            Channel::Intervention => "提前介入",
        }
    }
}

/// The states of a case across the rules' four stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Waiting,
    Called,
    Serving,
    OnHold,
    NoShow,
    /// 咨询辅导 recorded.
    Consulted,
    /// 一次性告知 given; waiting for the visitor to come back with the rest.
    AwaitingMaterials,
    /// 受理委托: materials handed over and power of attorney signed.
    Accepted,
    InProgress,
    Ready,
    /// 结果交付 in person, completion slip signed.
    Delivered,
    /// 结果交付 by post; not finished until receipt is confirmed.
    Mailed,
    ReceiptConfirmed,
    /// 资料归档
    Archived,
    /// Sent to another department's queue, keeping its original waiting time.
    Transferred,
    Cancelled,
    /// 日结: still waiting (or on hold) when the day was closed; the visitor may come back on a
    /// later day, when the same case gets that day's number.
    Expired,
    /// 中止: the work waits for the visitor or another office, with a reason and an expected
    /// date; its deadlines pause until it resumes.
    Suspended,
    /// 终止: closed before it was finished, with the reason given in writing.
    Terminated,
}

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Waiting => "waiting",
            CaseState::Called => "called",
            CaseState::Serving => "serving",
            CaseState::OnHold => "on_hold",
            CaseState::NoShow => "no_show",
            CaseState::Consulted => "consulted",
            CaseState::AwaitingMaterials => "awaiting_materials",
            CaseState::Accepted => "accepted",
            CaseState::InProgress => "in_progress",
            CaseState::Ready => "ready",
            CaseState::Delivered => "delivered",
            CaseState::Mailed => "mailed",
            CaseState::ReceiptConfirmed => "receipt_confirmed",
            CaseState::Archived => "archived",
            CaseState::Transferred => "transferred",
            CaseState::Cancelled => "cancelled",
            CaseState::Expired => "expired",
            CaseState::Suspended => "suspended",
            CaseState::Terminated => "terminated",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            CaseState::Waiting => "等候中",
            CaseState::Called => "已叫号",
            CaseState::Serving => "办理中",
            CaseState::OnHold => "暂挂",
            CaseState::NoShow => "过号",
            CaseState::Consulted => "已咨询",
            CaseState::AwaitingMaterials => "待补材料",
            CaseState::Accepted => "已受理",
            CaseState::InProgress => "代办中",
            CaseState::Ready => "待交付",
            CaseState::Delivered => "已当面交付",
            CaseState::Mailed => "已邮寄",
            CaseState::ReceiptConfirmed => "已签收",
            CaseState::Archived => "已归档",
            CaseState::Transferred => "已转办",
            CaseState::Cancelled => "已取消",
            CaseState::Expired => "已过期",
            CaseState::Suspended => "已中止",
            CaseState::Terminated => "已终止",
        }
    }
    /// States in which the work on the case is over (only archiving may follow a delivery):
    /// it can no longer be handed over, escalated or change its service mode.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            CaseState::Cancelled
                | CaseState::Archived
                | CaseState::NoShow
                | CaseState::Expired
                | CaseState::Delivered
                | CaseState::ReceiptConfirmed
                | CaseState::Terminated
        )
    }
    /// States in which the case stands in a department's queue.
    pub fn is_queued(self) -> bool {
        matches!(self, CaseState::Waiting | CaseState::Transferred)
    }
}

/// A reference to free text kept out of the event log: the text (which may hold personal
/// data) lives in the notes table, the event carries only its id and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteRef {
    pub note: i64,
    pub sha256: String,
}

/// A note as kept: the case it belongs to (none for an appointment's or a feedback's), what it
/// is (`question`, `answer`, `appointment_phone` …) and its text ("" once purged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub case_id: Option<i64>,
    pub kind: String,
    pub body: String,
}

/// What happened. Serialized (with its `kind` tag) as the canonical event payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    HallConfigured {
        sha256: String,
        departments: usize,
        specialists: usize,
        items: usize,
        source: String,
    },
    CaseIssued {
        business_day: String,
        number: String,
        token: String,
        item: String,
        department: String,
        window: u32,
        priority: Option<String>,
        priority_rank: u32,
        mode: Mode,
        channel: Channel,
    },
    /// A call describes itself: what the hall announced (number, department, window) stays
    /// in the log as it was, whatever happens to the case later. Events written before these
    /// fields existed read them as empty; the feed then falls back to the case.
    CaseCalled {
        window: u32,
        staff: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        number: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        department: String,
    },
    CaseRecalled {
        window: u32,
        staff: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        number: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        department: String,
    },
    CaseStarted {
        window: u32,
        staff: String,
    },
    CaseNoShow {
        staff: String,
    },
    CaseHeld {
        staff: String,
    },
    CaseResumed {
        window: u32,
        staff: String,
    },
    CaseTransferred {
        staff: String,
        from_department: String,
        to_department: String,
        to_window: u32,
        note: Option<NoteRef>,
    },
    ConsultationRecorded {
        staff: String,
        question: NoteRef,
        answer: Option<NoteRef>,
        resolved: bool,
    },
    QuestionAnswered {
        staff: String,
        answer: NoteRef,
    },
    MaterialsMissing {
        staff: String,
        missing: Vec<String>,
    },
    MaterialsReturned {
        window: u32,
        staff: String,
    },
    CaseAccepted {
        staff: String,
        materials: Vec<String>,
        power_of_attorney: bool,
        /// 容缺受理: the checklist's materials accepted without, each with its due day.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        missing: Vec<MissingMaterial>,
    },
    WorkStarted {
        staff: String,
    },
    ResultReady {
        staff: String,
    },
    DeliveredInPerson {
        staff: String,
        completion_slip_signed: bool,
    },
    Mailed {
        staff: String,
        tracking: NoteRef,
        /// The recipient, the courier and the address (notes); the day it was sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recipient: Option<NoteRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        courier: Option<NoteRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<NoteRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sent_on: Option<String>,
    },
    ReceiptConfirmed {
        staff: String,
    },
    Archived {
        staff: String,
        handover: Option<NoteRef>,
        /// Who received the files (a note).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receiver: Option<NoteRef>,
    },
    /// A stuck case is escalated to the management office for a coordination meeting (协调会议).
    CoordinationRequested {
        staff: String,
        reason: NoteRef,
    },
    /// The office held a coordination meeting on the case: when, who took part, the minutes
    /// and the decision (both notes), and the date to follow it up.
    CoordinationMeeting {
        staff: String,
        held_at: String,
        participants: Vec<String>,
        minutes: NoteRef,
        decision: NoteRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        follow_up: Option<String>,
        /// The departments' chief representatives (首席代表) and the outside parties (name and
        /// unit) who took part, as notes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chiefs: Option<NoteRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outside: Option<NoteRef>,
    },
    /// The coordination's outcome is recorded: the case is no longer under coordination.
    CoordinationResolved {
        staff: String,
        outcome: NoteRef,
    },
    /// 好差评: the visitor rated the visit, 1 (非常不满意) to 5 (非常满意), once per case.
    CaseRated {
        level: u8,
        /// Where the rating was given (kiosk, status page, the counter's pad, a desk).
        channel: String,
        /// For 不满意 and 非常不满意: the reasons ticked, as codes of
        /// `ledger::RATING_REASONS` (nothing typed).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasons: Vec<String>,
    },
    /// The department's coordinator replied to a bad rating's follow-up.
    RatingReplied {
        staff: String,
        reply: NoteRef,
    },
    /// The specialist walked the visitor to a receiving window (陪同至受理窗口).
    Accompanied {
        staff: String,
        to_window: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<NoteRef>,
    },
    /// How a walk to the receiving window ended.
    AccompanyResult {
        staff: String,
        result: NoteRef,
    },
    /// The service mode was set or changed at the counter.
    ModeChanged {
        staff: String,
        mode: Mode,
    },
    /// The case passes to another specialist of its department (首问负责制: only the owner or
    /// the department's coordinator hands over); the note says where it stands.
    CaseHandedOver {
        staff: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<NoteRef>,
    },
    /// A specialist opened the case without a ticket (a phone call, online help, a key
    /// project's early intervention): it is theirs and at their counter from the start; the
    /// key project's name is a note.
    CaseOpened {
        staff: String,
        window: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<NoteRef>,
        /// 来电: the caller's number (a `phone` note) for the call-back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<NoteRef>,
    },
    /// A whole-chain case's parts are opened, one per department, in the hall file's order.
    PartsOpened {
        staff: String,
        departments: Vec<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        in_series: bool,
    },
    /// A specialist of the department claims its part (责任认领).
    PartClaimed {
        staff: String,
        department: String,
    },
    /// The part moves on; accepted with materials still missing is 容缺受理.
    PartMoved {
        staff: String,
        department: String,
        state: PartState,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        missing: Vec<MissingMaterial>,
    },
    /// A material the part was accepted without has been supplied.
    PartMaterialSupplied {
        staff: String,
        department: String,
        material: String,
    },
    /// An appointment (预约) was booked; the code's SHA-256 only, the phone as a note.
    AppointmentBooked {
        appointment: i64,
        item: String,
        /// The appointment's time, stamped UTC.
        at: String,
        code_sha256: String,
        phone: NoteRef,
        /// How it was booked: counter, phone (来电), online.
        channel: String,
    },
    /// The appointment's visitor checked in at the kiosk; the event names the case issued.
    AppointmentCheckedIn {
        appointment: i64,
    },
    /// A booked appointment was cancelled (the visitor called off); its code checks in no more.
    AppointmentCancelled {
        appointment: i64,
    },
    /// A complaint (找茬吐槽 / 意见箱) or suggestion came in, to be replied to by `due`.
    FeedbackReceived {
        feedback: i64,
        /// complaint, suggestion, department_suggestion
        feedback_kind: String,
        category: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        department: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        staff: Option<String>,
        channel: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<NoteRef>,
        due: String,
    },
    /// The reply to a complaint or suggestion.
    FeedbackReplied {
        feedback: i64,
        staff: String,
        reply: NoteRef,
    },
    CaseCancelled {
        actor: String,
        /// Only in events written before reasons went to the notes; empty since.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
        /// Why, as a note (free text never enters the log).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_note: Option<NoteRef>,
    },
    TicketPrinted {
        device: String,
        reprint: bool,
    },
    /// The visitor left a phone number at the kiosk for messages about this ticket
    /// (「前面还有 3 人」, the result ready, the one-time notification): the number is a note.
    PhoneLeft {
        phone: NoteRef,
    },
    /// 网上帮办: a step of the remote help given on an online application (what was done,
    /// as a note).
    OnlineStep {
        staff: String,
        note: NoteRef,
    },
    /// A ticket that did not print. `error` is the failure's code (`offline`, `not_confirmed`
    /// …; free text in events written before codes), the printer's own words are in the note
    /// `detail`.
    PrintFailed {
        device: String,
        error: String,
        reprint: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<NoteRef>,
    },
    /// A PIN was set. `pin_check` is the SHA-256 of the stored argon2 hash (never of the PIN),
    /// so `verify` can tell a hash planted in `staff_auth` from the one the log set; events
    /// written before it existed have none.
    /// A specialist's training (培训记录): the day, the course (a note) and its length.
    StaffTrained {
        staff: String,
        date: String,
        course: NoteRef,
        minutes: u32,
    },
    StaffPinSet {
        staff: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin_check: Option<String>,
    },
    /// A sign-in attempt; a PIN stored again under newer hashing parameters carries the new
    /// hash's check.
    StaffLogin {
        staff: String,
        window: u32,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin_check: Option<String>,
    },
    /// A session opened on a device at a window after a good PIN. `session` is the SHA-256 of
    /// the stored token hash: it names the row without giving anything that signs in.
    StaffSignedIn {
        staff: String,
        window: u32,
        device: String,
        session: String,
    },
    /// A specialist signed out (or the session was ended by a new sign-in at that window).
    StaffSignedOut {
        staff: String,
        window: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    /// A device was enrolled on the server host with a role (its token is never logged;
    /// `key` is the SHA-256 of the stored token hash, so a planted row is found).
    DeviceEnrolled {
        name: String,
        role: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// A counter bound to one window (`device add --window`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<u32>,
    },
    DeviceRevoked {
        name: String,
    },
    WindowPaused {
        window: u32,
        staff: String,
    },
    WindowResumed {
        window: u32,
        staff: String,
    },
    /// Note bodies written before `before` (ids up to `up_to_note`) were erased at the end of
    /// their retention period; their hashes stay, so the events that name them still verify.
    NotesPurged {
        before: String,
        up_to_note: i64,
        notes: u64,
        /// Appointments whose slot was before this time (UTC stamp of the day's midnight) and
        /// that are no longer open had their check-in code and its salt erased.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        codes_before: Option<String>,
    },
    /// 中止: the work waits (for the visitor or another office) until about `until`; the
    /// reason is a note. The case's deadlines pause.
    CaseSuspended {
        staff: String,
        reason: NoteRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<String>,
    },
    /// The suspension is lifted: the work resumes where it stood.
    SuspensionLifted {
        staff: String,
    },
    /// 终止: the case is closed unfinished; the reason is a note.
    CaseTerminated {
        staff: String,
        reason: NoteRef,
    },
    /// The principal (委托人) of the power of attorney, typed at the counter: name, ID number
    /// and phone are notes (personal data, purged with the notes); the event keeps their
    /// salted hashes only.
    PrincipalRecorded {
        staff: String,
        name: NoteRef,
        id_number: NoteRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<NoteRef>,
    },
    /// A specialist asked the window's signature pad for the visitor's signature on a form.
    SignatureRequested {
        window: u32,
        staff: String,
        form: String,
    },
    /// The visitor signed a form. On the pad: the form's words as signed are the note `form`
    /// (its salted SHA-256 is the form's hash) and the signature is the PNG in the note
    /// `signature`, whose plain SHA-256 is `signature_sha256`. On paper: `paper` is the printed
    /// form's number, and there are no notes.
    FormSigned {
        form: String,
        staff: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<NoteRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<NoteRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature_sha256: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        paper: Option<String>,
    },
    /// 日结: the case was still waiting, called or on hold when its business day was closed.
    CaseExpired {
        business_day: String,
    },
    /// The visitor came back on a later day: the same case takes that day's number and queues
    /// again (a number is only ever today's, so a past day's number is never called).
    CaseReturned {
        business_day: String,
        number: String,
        window: u32,
        staff: String,
        queue_pos: i64,
    },
    /// 日结: the business day is closed. The chain head at the close is the anchor the office
    /// prints and files; `figures_sha256` is the hash of the day's report as it was written.
    DayClosed {
        business_day: String,
        head_seq: i64,
        head_hash: String,
        expired: u32,
        figures_sha256: String,
    },
}

impl EventBody {
    /// The notes this event names, in the order they were written.
    pub fn note_refs(&self) -> Vec<&NoteRef> {
        match self {
            EventBody::ConsultationRecorded { question, answer, .. } => {
                std::iter::once(question).chain(answer.as_ref()).collect()
            }
            EventBody::QuestionAnswered { answer, .. } => vec![answer],
            EventBody::CaseTransferred { note, .. } => note.iter().collect(),
            EventBody::Mailed {
                tracking,
                recipient,
                courier,
                address,
                ..
            } => std::iter::once(tracking)
                .chain(recipient.iter())
                .chain(courier.iter())
                .chain(address.iter())
                .collect(),
            EventBody::Archived { handover, receiver, .. } => handover.iter().chain(receiver.iter()).collect(),
            EventBody::CaseCancelled { reason_note, .. } => reason_note.iter().collect(),
            EventBody::CaseHandedOver { note, .. } => note.iter().collect(),
            EventBody::CoordinationRequested { reason, .. } => vec![reason],
            EventBody::CoordinationResolved { outcome, .. } => vec![outcome],
            EventBody::Accompanied { result, .. } => result.iter().collect(),
            EventBody::RatingReplied { reply, .. } => vec![reply],
            EventBody::AccompanyResult { result, .. } => vec![result],
            EventBody::AppointmentBooked { phone, .. } => vec![phone],
            EventBody::PhoneLeft { phone } => vec![phone],
            EventBody::OnlineStep { note, .. } => vec![note],
            EventBody::CaseOpened { project, caller, .. } => project.iter().chain(caller.iter()).collect(),
            EventBody::StaffTrained { course, .. } => vec![course],
            EventBody::CoordinationMeeting {
                minutes,
                decision,
                chiefs,
                outside,
                ..
            } => [Some(minutes), Some(decision), chiefs.as_ref(), outside.as_ref()]
                .into_iter()
                .flatten()
                .collect(),
            EventBody::FeedbackReceived { text, .. } => text.iter().collect(),
            EventBody::FeedbackReplied { reply, .. } => vec![reply],
            EventBody::PrintFailed { detail, .. } => detail.iter().collect(),
            EventBody::CaseSuspended { reason, .. } => vec![reason],
            EventBody::CaseTerminated { reason, .. } => vec![reason],
            EventBody::PrincipalRecorded {
                name, id_number, phone, ..
            } => [Some(name), Some(id_number), phone.as_ref()]
                .into_iter()
                .flatten()
                .collect(),
            EventBody::FormSigned { content, signature, .. } => content.iter().chain(signature.iter()).collect(),
            _ => vec![],
        }
    }

    /// The kind tag, as stored beside the payload.
    /// The event's kind, as its `kind` tag is serialized (a test checks they agree).
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::HallConfigured { .. } => "hall_configured",
            EventBody::CaseIssued { .. } => "case_issued",
            EventBody::CaseCalled { .. } => "case_called",
            EventBody::CaseRecalled { .. } => "case_recalled",
            EventBody::CaseStarted { .. } => "case_started",
            EventBody::CaseNoShow { .. } => "case_no_show",
            EventBody::CaseHeld { .. } => "case_held",
            EventBody::CaseResumed { .. } => "case_resumed",
            EventBody::CaseTransferred { .. } => "case_transferred",
            EventBody::ConsultationRecorded { .. } => "consultation_recorded",
            EventBody::QuestionAnswered { .. } => "question_answered",
            EventBody::MaterialsMissing { .. } => "materials_missing",
            EventBody::MaterialsReturned { .. } => "materials_returned",
            EventBody::CaseAccepted { .. } => "case_accepted",
            EventBody::WorkStarted { .. } => "work_started",
            EventBody::ResultReady { .. } => "result_ready",
            EventBody::DeliveredInPerson { .. } => "delivered_in_person",
            EventBody::Mailed { .. } => "mailed",
            EventBody::ReceiptConfirmed { .. } => "receipt_confirmed",
            EventBody::Archived { .. } => "archived",
            EventBody::CaseCancelled { .. } => "case_cancelled",
            EventBody::CaseHandedOver { .. } => "case_handed_over",
            EventBody::PartsOpened { .. } => "parts_opened",
            EventBody::CaseOpened { .. } => "case_opened",
            EventBody::AppointmentBooked { .. } => "appointment_booked",
            EventBody::AppointmentCheckedIn { .. } => "appointment_checked_in",
            EventBody::AppointmentCancelled { .. } => "appointment_cancelled",
            EventBody::FeedbackReceived { .. } => "feedback_received",
            EventBody::FeedbackReplied { .. } => "feedback_replied",
            EventBody::PartClaimed { .. } => "part_claimed",
            EventBody::PartMoved { .. } => "part_moved",
            EventBody::PartMaterialSupplied { .. } => "part_material_supplied",
            EventBody::ModeChanged { .. } => "mode_changed",
            EventBody::CoordinationRequested { .. } => "coordination_requested",
            EventBody::Accompanied { .. } => "accompanied",
            EventBody::CaseRated { .. } => "case_rated",
            EventBody::RatingReplied { .. } => "rating_replied",
            EventBody::AccompanyResult { .. } => "accompany_result",
            EventBody::CoordinationMeeting { .. } => "coordination_meeting",
            EventBody::CoordinationResolved { .. } => "coordination_resolved",
            EventBody::TicketPrinted { .. } => "ticket_printed",
            EventBody::PhoneLeft { .. } => "phone_left",
            EventBody::OnlineStep { .. } => "online_step",
            EventBody::PrintFailed { .. } => "print_failed",
            EventBody::StaffPinSet { .. } => "staff_pin_set",
            EventBody::StaffTrained { .. } => "staff_trained",
            EventBody::StaffLogin { .. } => "staff_login",
            EventBody::StaffSignedIn { .. } => "staff_signed_in",
            EventBody::StaffSignedOut { .. } => "staff_signed_out",
            EventBody::DeviceEnrolled { .. } => "device_enrolled",
            EventBody::DeviceRevoked { .. } => "device_revoked",
            EventBody::WindowPaused { .. } => "window_paused",
            EventBody::WindowResumed { .. } => "window_resumed",
            EventBody::NotesPurged { .. } => "notes_purged",
            EventBody::CaseExpired { .. } => "case_expired",
            EventBody::CaseSuspended { .. } => "case_suspended",
            EventBody::SuspensionLifted { .. } => "suspension_lifted",
            EventBody::CaseTerminated { .. } => "case_terminated",
            EventBody::PrincipalRecorded { .. } => "principal_recorded",
            EventBody::SignatureRequested { .. } => "signature_requested",
            EventBody::FormSigned { .. } => "form_signed",
            EventBody::CaseReturned { .. } => "case_returned",
            EventBody::DayClosed { .. } => "day_closed",
        }
    }
    /// Whether this event changes the case it names (as opposed to recording a side fact).
    pub fn moves_case(&self) -> bool {
        !matches!(
            self,
            EventBody::HallConfigured { .. }
                | EventBody::AppointmentBooked { .. }
                | EventBody::AppointmentCheckedIn { .. }
                | EventBody::AppointmentCancelled { .. }
                | EventBody::FeedbackReceived { .. }
                | EventBody::FeedbackReplied { .. }
                | EventBody::TicketPrinted { .. }
                | EventBody::PhoneLeft { .. }
                | EventBody::OnlineStep { .. }
                | EventBody::PrincipalRecorded { .. }
                | EventBody::SignatureRequested { .. }
                | EventBody::PrintFailed { .. }
                | EventBody::StaffPinSet { .. }
                | EventBody::StaffTrained { .. }
                | EventBody::StaffLogin { .. }
                | EventBody::StaffSignedIn { .. }
                | EventBody::StaffSignedOut { .. }
                | EventBody::DeviceEnrolled { .. }
                | EventBody::DeviceRevoked { .. }
                | EventBody::WindowPaused { .. }
                | EventBody::WindowResumed { .. }
                | EventBody::NotesPurged { .. }
                | EventBody::DayClosed { .. }
        )
    }
}

/// Where one department's part of a whole-chain case (全链条) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartState {
    /// Opened, waiting for the department's specialist to claim it (责任认领).
    Open,
    Claimed,
    /// Collecting the department's materials.
    Materials,
    Accepted,
    InProgress,
    Done,
}

impl PartState {
    pub const ALL: [PartState; 6] = [
        PartState::Open,
        PartState::Claimed,
        PartState::Materials,
        PartState::Accepted,
        PartState::InProgress,
        PartState::Done,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            PartState::Open => "open",
            PartState::Claimed => "claimed",
            PartState::Materials => "materials",
            PartState::Accepted => "accepted",
            PartState::InProgress => "in_progress",
            PartState::Done => "done",
        }
    }
    pub fn parse(s: &str) -> Option<PartState> {
        PartState::ALL.into_iter().find(|p| p.as_str() == s.trim())
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            PartState::Open => "待认领",
            PartState::Claimed => "已认领",
            PartState::Materials => "收取材料",
            PartState::Accepted => "已受理",
            PartState::InProgress => "办理中",
            PartState::Done => "已办结",
        }
    }
}

/// A material a part was accepted without (容缺受理), and the day it is to be supplied by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingMaterial {
    pub material: String,
    /// YYYY-MM-DD, in the hall's time zone; overdue from the day after.
    pub supply_by: String,
}

/// One involved department's part of a whole-chain case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub department: String,
    pub state: PartState,
    /// The specialist who claimed the part: it is theirs (首问负责制 for parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingMaterial>,
}

/// The projection of one case, rebuilt exactly by folding its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: i64,
    pub business_day: String,
    pub number: String,
    pub token: String,
    pub item: String,
    pub department: String,
    /// The receiving window of the item, or of the transfer target.
    pub window: u32,
    pub priority: Option<String>,
    pub priority_rank: u32,
    pub mode: Mode,
    pub channel: Channel,
    pub state: CaseState,
    /// 首问负责制: the specialist who first served the case owns it.
    pub owner: Option<String>,
    /// The window that last called the case.
    pub called_window: Option<u32>,
    pub recalls: u32,
    pub issued_at: String,
    /// The time that orders the queue; a transfer keeps the original waiting time.
    pub queued_at: String,
    pub called_at: Option<String>,
    pub started_at: Option<String>,
    pub service_end_at: Option<String>,
    pub closed_at: Option<String>,
    pub updated_at: String,
    pub open_question: bool,
    pub missing: Vec<String>,
    pub materials: Vec<String>,
    pub power_of_attorney: bool,
    pub delivery: Option<String>,
    pub last_seq: i64,
    /// 好差评: the visitor's rating of the visit, 1 to 5, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// A bad rating (1 or 2) waits for the department coordinator's reply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow_up_open: bool,
    /// Escalated to the management office and not yet resolved (协调中).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub under_coordination: bool,
    /// Where a case that came back on a later day stands in that day's line (see `queue_key`);
    /// absent for a case issued that day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_pos: Option<i64>,
    /// 全链条: one part per department involved, opened when the lead department accepts the
    /// case in 全程 mode (or opens it for a key project); empty for every other case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    /// The parts are worked one after another (each claimed after the one before is done)
    /// rather than side by side.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub parts_in_series: bool,
    /// 中止: the state the work resumes in when the suspension is lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_from: Option<CaseState>,
    /// The forms the visitor has signed (on the pad or on paper), by kind (`poa`, `completion` …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed: Vec<String>,
    /// 容缺受理: the materials the case was accepted without, until each is supplied (a
    /// whole-chain case keeps them on its parts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_without: Vec<MissingMaterial>,
}

/// How many queue places lie between two issue orders: room for the cases that come back on a
/// later day between two new tickets.
pub const QUEUE_SCALE: i64 = 1024;

impl Case {
    /// The order of the case in its line among equal priorities (the `cases_queue` index's
    /// `coalesce(queue_pos, id * 1024)`): issue order, or where the case came back.
    pub fn queue_key(&self) -> i64 {
        self.queue_pos.unwrap_or(self.id * QUEUE_SCALE)
    }
}

/// The whole case is finished only when every part is: the lead department delivers last.
fn parts_done(c: &Case) -> Result<(), LedgerError> {
    let pending: Vec<String> = c
        .parts
        .iter()
        .filter(|p| p.state != PartState::Done)
        .map(|p| format!("{} ({})", p.department, p.state.as_str()))
        .collect();
    if pending.is_empty() {
        Ok(())
    } else {
        Err(LedgerError::PartsPending {
            number: c.number.clone(),
            parts: pending.join(", "),
        })
    }
}

fn part_index(c: &Case, department: &str) -> Result<usize, LedgerError> {
    c.parts
        .iter()
        .position(|p| p.department == department)
        .ok_or_else(|| LedgerError::Invalid(format!("case {} has no part for department {department}", c.number)))
}

fn illegal(case: &Before, number: &str, action: &str) -> LedgerError {
    LedgerError::IllegalTransition {
        number: number.to_string(),
        state: case.state.as_str().into(),
        action: action.into(),
    }
}

/// What an event's checks read of the case as it was before the event (the number is read
/// from the case itself: only `CaseReturned` changes it, and it checks nothing by it).
struct Before {
    state: CaseState,
    recalls: u32,
    open_question: bool,
}

/// Fold one event into a case. `case` is `None` only for `CaseIssued`. Returns the new case
/// or the reason the transition is illegal; this is the whole state machine.
pub fn apply(case: Option<&Case>, case_id: i64, seq: i64, at: &str, body: &EventBody) -> Result<Case, LedgerError> {
    apply_owned(case.cloned(), case_id, seq, at, body)
}

/// `apply` on a case the caller owns (replay and verify fold millions of events: no copy of
/// the case per event).
pub fn apply_owned(
    case: Option<Case>,
    case_id: i64,
    seq: i64,
    at: &str,
    body: &EventBody,
) -> Result<Case, LedgerError> {
    use CaseState as S;
    if let EventBody::CaseIssued {
        business_day,
        number,
        token,
        item,
        department,
        window,
        priority,
        priority_rank,
        mode,
        channel,
    } = body
    {
        if case.is_some() {
            return Err(LedgerError::Invalid(format!("case {case_id} already exists")));
        }
        return Ok(Case {
            id: case_id,
            business_day: business_day.clone(),
            number: number.clone(),
            token: token.clone(),
            item: item.clone(),
            department: department.clone(),
            window: *window,
            priority: priority.clone(),
            priority_rank: *priority_rank,
            mode: *mode,
            channel: *channel,
            state: S::Waiting,
            owner: None,
            called_window: None,
            recalls: 0,
            issued_at: at.into(),
            queued_at: at.into(),
            called_at: None,
            started_at: None,
            service_end_at: None,
            closed_at: None,
            updated_at: at.into(),
            open_question: false,
            missing: vec![],
            materials: vec![],
            power_of_attorney: false,
            delivery: None,
            last_seq: seq,
            queue_pos: None,
            under_coordination: false,
            rating: None,
            follow_up_open: false,
            parts: vec![],
            parts_in_series: false,
            suspended_from: None,
            signed: vec![],
            accepted_without: vec![],
        });
    }
    let mut c = case.ok_or(LedgerError::UnknownCase(format!("#{case_id}")))?;
    let old = &Before {
        state: c.state,
        recalls: c.recalls,
        open_question: c.open_question,
    };
    // Reuse the string's buffer: replay folds millions of events.
    c.updated_at.clear();
    c.updated_at.push_str(at);
    c.last_seq = seq;
    // Leaving the counter for the first time ends the measured service time.
    let end_service = |c: &mut Case| {
        if c.service_end_at.is_none() && c.started_at.is_some() {
            c.service_end_at = Some(at.to_string());
        }
    };
    let own = |c: &mut Case, staff: &str| {
        if c.owner.is_none() {
            c.owner = Some(staff.to_string());
        }
    };
    match body {
        EventBody::CaseCalled { window, .. } => {
            if !matches!(
                old.state,
                S::Waiting | S::Transferred | S::NoShow | S::AwaitingMaterials | S::OnHold
            ) {
                return Err(illegal(old, &c.number, "call"));
            }
            c.state = S::Called;
            c.called_window = Some(*window);
            if c.called_at.is_none() {
                c.called_at = Some(at.into());
            }
        }
        EventBody::CaseRecalled { window, .. } => {
            if old.state != S::Called {
                return Err(illegal(old, &c.number, "recall"));
            }
            c.recalls += 1;
            c.called_window = Some(*window);
        }
        EventBody::CaseOpened { staff, window, .. } => {
            if old.state != S::Waiting || c.channel == Channel::Kiosk {
                return Err(illegal(old, &c.number, "open at the counter"));
            }
            c.state = S::Serving;
            c.called_window = Some(*window);
            c.called_at = Some(at.into());
            c.started_at = Some(at.into());
            own(&mut c, staff);
        }
        EventBody::CaseStarted { window, staff } => {
            if old.state != S::Called {
                return Err(illegal(old, &c.number, "start"));
            }
            c.state = S::Serving;
            c.called_window = Some(*window);
            own(&mut c, staff);
            if c.started_at.is_none() {
                c.started_at = Some(at.into());
            }
        }
        EventBody::CaseNoShow { .. } => {
            if old.state != S::Called {
                return Err(illegal(old, &c.number, "mark no-show"));
            }
            // The hall calls a visitor again before giving up (过号 only after a recall).
            if old.recalls == 0 {
                return Err(LedgerError::Invalid(format!(
                    "case {}: recall the number at least once before marking a no-show",
                    c.number
                )));
            }
            c.state = S::NoShow;
            c.closed_at = Some(at.into());
        }
        EventBody::CaseHeld { .. } => {
            if !matches!(old.state, S::Called | S::Serving) {
                return Err(illegal(old, &c.number, "hold"));
            }
            c.state = S::OnHold;
        }
        EventBody::CaseResumed { window, staff } => {
            if old.state != S::OnHold {
                return Err(illegal(old, &c.number, "resume"));
            }
            c.state = S::Serving;
            c.called_window = Some(*window);
            own(&mut c, staff);
            if c.started_at.is_none() {
                c.started_at = Some(at.into());
            }
        }
        EventBody::CaseTransferred {
            to_department,
            to_window,
            ..
        } => {
            if !matches!(
                old.state,
                S::Waiting | S::Transferred | S::Called | S::Serving | S::OnHold | S::Consulted
            ) {
                return Err(illegal(old, &c.number, "transfer"));
            }
            end_service(&mut c);
            c.state = S::Transferred;
            c.department = to_department.clone();
            c.window = *to_window;
            c.called_window = None;
            c.recalls = 0;
        }
        EventBody::ConsultationRecorded { staff, resolved, .. } => {
            if !matches!(old.state, S::Serving | S::Consulted) {
                return Err(illegal(old, &c.number, "record a consultation"));
            }
            own(&mut c, staff);
            c.state = S::Consulted;
            c.open_question = !resolved;
        }
        EventBody::QuestionAnswered { .. } => {
            if !old.open_question {
                return Err(illegal(old, &c.number, "answer (no open question)"));
            }
            c.open_question = false;
        }
        EventBody::MaterialsMissing { missing, staff } => {
            if !matches!(old.state, S::Serving | S::Consulted) {
                return Err(illegal(old, &c.number, "give a one-time notification"));
            }
            if missing.is_empty() {
                return Err(LedgerError::Invalid(
                    "a one-time notification must name at least one missing material".into(),
                ));
            }
            own(&mut c, staff);
            end_service(&mut c);
            c.state = S::AwaitingMaterials;
            c.missing = missing.clone();
        }
        EventBody::MaterialsReturned { window, staff } => {
            if old.state != S::AwaitingMaterials {
                return Err(illegal(old, &c.number, "take returned materials"));
            }
            own(&mut c, staff);
            c.state = S::Serving;
            c.called_window = Some(*window);
        }
        EventBody::CaseAccepted {
            staff,
            materials,
            power_of_attorney,
            missing,
        } => {
            if !matches!(old.state, S::Serving | S::Consulted) {
                return Err(illegal(old, &c.number, "accept"));
            }
            if !power_of_attorney {
                return Err(LedgerError::Invalid(
                    "acceptance needs the signed power of attorney (委托书)".into(),
                ));
            }
            if materials.is_empty() {
                return Err(LedgerError::Invalid(
                    "acceptance needs the materials handed over".into(),
                ));
            }
            own(&mut c, staff);
            end_service(&mut c);
            c.state = S::Accepted;
            c.materials = materials.clone();
            c.missing.clear();
            c.accepted_without = missing.clone();
            c.power_of_attorney = true;
        }
        EventBody::WorkStarted { .. } => {
            if old.state != S::Accepted {
                return Err(illegal(old, &c.number, "start the work"));
            }
            c.state = S::InProgress;
        }
        EventBody::ResultReady { .. } => {
            if !matches!(old.state, S::Accepted | S::InProgress) {
                return Err(illegal(old, &c.number, "mark the result ready"));
            }
            parts_done(&c)?;
            c.state = S::Ready;
        }
        EventBody::DeliveredInPerson {
            completion_slip_signed, ..
        } => {
            if old.state != S::Ready {
                return Err(illegal(old, &c.number, "deliver"));
            }
            parts_done(&c)?;
            if !completion_slip_signed {
                return Err(LedgerError::Invalid(
                    "delivery in person needs the visitor's signature on the completion slip (办结单)".into(),
                ));
            }
            c.state = S::Delivered;
            c.delivery = Some("in_person".into());
        }
        EventBody::Mailed { .. } => {
            if old.state != S::Ready {
                return Err(illegal(old, &c.number, "mail"));
            }
            parts_done(&c)?;
            c.state = S::Mailed;
            c.delivery = Some("post".into());
        }
        EventBody::ReceiptConfirmed { .. } => {
            if old.state != S::Mailed {
                return Err(illegal(old, &c.number, "confirm receipt"));
            }
            c.state = S::ReceiptConfirmed;
        }
        EventBody::Archived { .. } => {
            if !matches!(
                old.state,
                S::Delivered | S::ReceiptConfirmed | S::Consulted | S::Terminated
            ) {
                return Err(illegal(old, &c.number, "archive"));
            }
            if old.open_question {
                return Err(LedgerError::Invalid(format!(
                    "case {}: the deferred question must be answered before archiving",
                    c.number
                )));
            }
            c.state = S::Archived;
            c.closed_at = Some(at.into());
        }
        EventBody::CaseRated { level, .. } => {
            if c.rating.is_some() {
                return Err(LedgerError::AlreadyRated(c.number.clone()));
            }
            if c.started_at.is_none() || matches!(old.state, S::Waiting | S::Called | S::Transferred) {
                return Err(LedgerError::NotServed(c.number.clone()));
            }
            if !(1..=5).contains(level) {
                return Err(LedgerError::Invalid(format!(
                    "rating {level}: use 1 (非常不满意) to 5 (非常满意)"
                )));
            }
            c.rating = Some(*level);
            // 不满意 and 非常不满意 open a follow-up for the department's coordinator.
            c.follow_up_open = *level <= 2;
        }
        EventBody::RatingReplied { .. } => {
            if !c.follow_up_open {
                return Err(LedgerError::Invalid(format!(
                    "case {} has no open rating follow-up",
                    c.number
                )));
            }
            c.follow_up_open = false;
        }
        EventBody::Accompanied { .. } => {
            if !matches!(old.state, S::Serving | S::Consulted | S::AwaitingMaterials) {
                return Err(illegal(old, &c.number, "walk to a receiving window"));
            }
        }
        EventBody::AccompanyResult { .. } => {
            if matches!(old.state, S::Waiting | S::Called | S::Expired) {
                return Err(illegal(old, &c.number, "record the walk's result of"));
            }
        }
        EventBody::CoordinationRequested { .. } => {
            if old.state.is_finished() || c.under_coordination {
                return Err(illegal(old, &c.number, "escalate"));
            }
            c.under_coordination = true;
        }
        EventBody::CoordinationMeeting { .. } => {
            if !c.under_coordination {
                return Err(illegal(old, &c.number, "record a coordination meeting on"));
            }
        }
        EventBody::CoordinationResolved { .. } => {
            if !c.under_coordination {
                return Err(illegal(old, &c.number, "record a coordination outcome on"));
            }
            c.under_coordination = false;
        }
        EventBody::ModeChanged { mode, .. } => {
            if old.state.is_finished() {
                return Err(illegal(old, &c.number, "change the service mode of"));
            }
            c.mode = *mode;
        }
        EventBody::PartsOpened {
            departments, in_series, ..
        } => {
            if !c.parts.is_empty() || old.state.is_finished() || departments.is_empty() {
                return Err(illegal(old, &c.number, "open the parts of"));
            }
            c.parts = departments
                .iter()
                .map(|d| Part {
                    department: d.clone(),
                    state: PartState::Open,
                    owner: None,
                    missing: vec![],
                })
                .collect();
            c.parts_in_series = *in_series;
        }
        EventBody::PartClaimed { staff, department } => {
            let series = c.parts_in_series;
            let i = part_index(&c, department)?;
            if series {
                if let Some(before) = c.parts[..i].iter().find(|p| p.state != PartState::Done) {
                    return Err(LedgerError::Invalid(format!(
                        "case {}: the parts are worked in series and {}'s part is not done yet",
                        c.number, before.department
                    )));
                }
            }
            let p = &mut c.parts[i];
            if p.state != PartState::Open {
                return Err(LedgerError::Invalid(format!(
                    "case {}: {}'s part is claimed already",
                    c.number, department
                )));
            }
            p.state = PartState::Claimed;
            p.owner = Some(staff.clone());
        }
        EventBody::PartMoved {
            department,
            state,
            missing,
            ..
        } => {
            let i = part_index(&c, department)?;
            let number = c.number.clone();
            let p = &mut c.parts[i];
            if p.state == PartState::Open || p.state == PartState::Done || *state <= p.state {
                return Err(LedgerError::Invalid(format!(
                    "case {number}: {department}'s part is {} and cannot move to {}",
                    p.state.as_str(),
                    state.as_str()
                )));
            }
            if !missing.is_empty() && *state != PartState::Accepted {
                return Err(LedgerError::Invalid(format!(
                    "case {number}: materials may be missing only when a part is accepted (容缺受理)"
                )));
            }
            if *state == PartState::Done && !p.missing.is_empty() {
                let names: Vec<&str> = p.missing.iter().map(|m| m.material.as_str()).collect();
                return Err(LedgerError::Invalid(format!(
                    "case {number}: {department}'s part still misses {} (容缺): record them supplied first",
                    names.join("、")
                )));
            }
            p.state = *state;
            p.missing.extend(missing.iter().cloned());
        }
        EventBody::PartMaterialSupplied {
            department, material, ..
        } => {
            // What the case itself was accepted without (容缺受理 at the counter), else the
            // department's part's.
            let number = c.number.clone();
            let own = *department == c.department && c.accepted_without.iter().any(|m| &m.material == material);
            let missing = if own || c.parts.is_empty() {
                &mut c.accepted_without
            } else {
                let i = part_index(&c, department)?;
                &mut c.parts[i].missing
            };
            let Some(m) = missing.iter().position(|m| &m.material == material) else {
                return Err(LedgerError::Invalid(format!(
                    "case {number}: {department} did not accept it without {material} (容缺)"
                )));
            };
            missing.remove(m);
        }
        EventBody::CaseHandedOver { to, .. } => {
            if old.state.is_finished() {
                return Err(illegal(old, &c.number, "hand over"));
            }
            c.owner = Some(to.clone());
        }
        EventBody::CaseCancelled { .. } => {
            // In service too: the visitor walked away from the counter (with the reason).
            if !matches!(
                old.state,
                S::Waiting | S::Transferred | S::Called | S::OnHold | S::AwaitingMaterials | S::Serving | S::Consulted
            ) {
                return Err(illegal(old, &c.number, "cancel"));
            }
            end_service(&mut c);
            c.state = S::Cancelled;
            c.closed_at = Some(at.into());
        }
        EventBody::CaseExpired { business_day } => {
            if !matches!(old.state, S::Waiting | S::Transferred | S::Called | S::OnHold) {
                return Err(illegal(old, &c.number, "expire"));
            }
            if *business_day != c.business_day {
                return Err(LedgerError::Invalid(format!(
                    "case {} is of {}, not of the closed day {business_day}",
                    c.number, c.business_day
                )));
            }
            end_service(&mut c);
            c.state = S::Expired;
            c.closed_at = Some(at.into());
        }
        EventBody::CaseReturned {
            business_day,
            number,
            window,
            queue_pos,
            ..
        } => {
            if !matches!(old.state, S::Expired | S::AwaitingMaterials | S::NoShow) {
                return Err(illegal(old, &c.number, "take back on a new day"));
            }
            // Business days are ISO dates, so their order is the strings' order.
            if business_day.as_str() <= c.business_day.as_str() {
                return Err(LedgerError::Invalid(format!(
                    "case {} is of {}: it keeps its number that day and comes back only on a later one",
                    c.number, c.business_day
                )));
            }
            c.business_day.clone_from(business_day);
            c.number.clone_from(number);
            c.window = *window;
            c.state = S::Waiting;
            c.queue_pos = Some(*queue_pos);
            c.queued_at = at.into();
            c.called_window = None;
            c.recalls = 0;
            c.closed_at = None;
        }
        EventBody::CaseSuspended { .. } => {
            if !matches!(old.state, S::Accepted | S::InProgress) {
                return Err(illegal(old, &c.number, "suspend (中止)"));
            }
            c.suspended_from = Some(old.state);
            c.state = S::Suspended;
        }
        EventBody::SuspensionLifted { .. } => {
            if old.state != S::Suspended {
                return Err(illegal(old, &c.number, "resume the suspended work of"));
            }
            c.state = c.suspended_from.take().unwrap_or(S::Accepted);
        }
        EventBody::CaseTerminated { .. } => {
            if !matches!(
                old.state,
                S::Serving
                    | S::OnHold
                    | S::Consulted
                    | S::AwaitingMaterials
                    | S::Accepted
                    | S::InProgress
                    | S::Suspended
                    | S::Ready
            ) {
                return Err(illegal(old, &c.number, "terminate (终止)"));
            }
            end_service(&mut c);
            c.suspended_from = None;
            c.state = S::Terminated;
            c.closed_at = Some(at.into());
        }
        EventBody::FormSigned { form, .. } => {
            if matches!(old.state, S::Cancelled | S::Expired | S::Archived) {
                return Err(illegal(old, &c.number, "sign a form of"));
            }
            if !c.signed.iter().any(|f| f == form) {
                c.signed.push(form.clone());
            }
        }
        EventBody::CaseIssued { .. } => unreachable!("handled above"),
        other => {
            // Side facts (printing, logins) do not change the case; the caller never folds them.
            return Err(LedgerError::Invalid(format!(
                "event {} does not move a case",
                other.kind()
            )));
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_kind_is_the_tag_its_payload_is_written_with() {
        let kinds = [
            "hall_configured",
            "case_issued",
            "case_called",
            "case_recalled",
            "case_started",
            "case_no_show",
            "case_held",
            "case_resumed",
            "case_transferred",
            "consultation_recorded",
            "question_answered",
            "materials_missing",
            "materials_returned",
            "case_accepted",
            "work_started",
            "result_ready",
            "delivered_in_person",
            "mailed",
            "receipt_confirmed",
            "archived",
            "case_cancelled",
            "ticket_printed",
            "print_failed",
            "staff_pin_set",
            "staff_login",
            "staff_signed_out",
            "device_enrolled",
            "device_revoked",
            "window_paused",
            "window_resumed",
            "notes_purged",
            "case_expired",
            "case_returned",
            "day_closed",
        ];
        let note = serde_json::json!({ "note": 1, "sha256": "" });
        for kind in kinds {
            // Every field any event has, so each kind finds what it needs.
            let v = serde_json::json!({
                "kind": kind, "sha256": "", "departments": 0, "specialists": 0, "items": 0, "source": "",
                "business_day": "", "number": "", "token": "", "item": "", "department": "", "window": 0,
                "priority": null, "priority_rank": 0, "mode": "onsite", "channel": "kiosk", "staff": "",
                "from_department": "", "to_department": "", "to_window": 0, "note": null, "question": note,
                "answer": note, "resolved": false, "missing": [], "materials": [], "power_of_attorney": false,
                "completion_slip_signed": false, "tracking": note, "handover": null, "actor": "", "reason": "",
                "device": "", "reprint": false, "error": "", "ok": false, "name": "", "role": "",
                "before": "", "up_to_note": 0, "notes": 0,
            });
            let more = serde_json::json!({
                "head_seq": 0, "head_hash": "", "expired": 0, "queue_pos": 0, "figures_sha256": "",
            });
            let mut v = v;
            v.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
            let body: EventBody = serde_json::from_value(v).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(body.kind(), kind);
            assert_eq!(serde_json::to_value(&body).unwrap()["kind"], kind);
        }
    }

    use super::*;

    const T0: &str = "2026-11-25T01:00:00.000Z";

    fn issued() -> Case {
        apply(
            None,
            1,
            1,
            T0,
            &EventBody::CaseIssued {
                business_day: "2026-11-25".into(),
                number: "F001".into(),
                token: "tok".into(),
                item: "F01".into(),
                department: "BDC".into(),
                window: 12,
                priority: Some("elderly".into()),
                priority_rank: 1,
                mode: Mode::Fullprocess,
                channel: Channel::Kiosk,
            },
        )
        .unwrap()
    }

    fn staff() -> String {
        "S602".into()
    }

    fn note() -> NoteRef {
        NoteRef {
            note: 1,
            sha256: "ab".repeat(32),
        }
    }

    /// Fold events in order, each at minute `i` after T0; panics on the first refusal.
    fn walk(mut c: Case, events: &[EventBody]) -> Case {
        for (i, e) in events.iter().enumerate() {
            let at = format!("2026-11-25T01:{:02}:00.000Z", i + 1);
            c = apply(Some(&c), 1, c.last_seq + 1, &at, e).unwrap_or_else(|err| panic!("{}: {err}", e.kind()));
        }
        c
    }

    #[test]
    fn a_case_walks_the_four_stages_and_records_who_and_when() {
        let c = walk(
            issued(),
            &[
                EventBody::CaseCalled {
                    window: 12,
                    staff: staff(),
                    number: "F001".into(),
                    department: "BDC".into(),
                },
                EventBody::CaseStarted {
                    window: 12,
                    staff: staff(),
                },
                EventBody::ConsultationRecorded {
                    staff: staff(),
                    question: note(),
                    answer: Some(note()),
                    resolved: true,
                },
                EventBody::CaseAccepted {
                    staff: staff(),
                    materials: vec!["不动产权证书".into()],
                    power_of_attorney: true,
                    missing: vec![],
                },
                EventBody::WorkStarted { staff: staff() },
                EventBody::ResultReady { staff: staff() },
                EventBody::Mailed {
                    staff: staff(),
                    tracking: note(),
                    recipient: None,
                    courier: None,
                    address: None,
                    sent_on: None,
                },
                EventBody::ReceiptConfirmed { staff: staff() },
                EventBody::Archived {
                    staff: staff(),
                    handover: None,
                    receiver: None,
                },
            ],
        );
        assert_eq!(c.state, CaseState::Archived);
        assert_eq!(
            c.owner.as_deref(),
            Some("S602"),
            "首问负责: the first specialist owns it"
        );
        assert_eq!(c.called_at.as_deref(), Some("2026-11-25T01:01:00.000Z"));
        assert_eq!(c.started_at.as_deref(), Some("2026-11-25T01:02:00.000Z"));
        assert_eq!(
            c.service_end_at.as_deref(),
            Some("2026-11-25T01:04:00.000Z"),
            "acceptance ends the visit"
        );
        assert_eq!(c.closed_at.as_deref(), Some("2026-11-25T01:09:00.000Z"));
        assert_eq!(c.delivery.as_deref(), Some("post"));
        assert_eq!(c.last_seq, 10);
    }

    #[test]
    fn refused_transitions_say_why_and_name_the_state() {
        let c = issued();
        let err = apply(Some(&c), 1, 2, T0, &EventBody::WorkStarted { staff: staff() }).unwrap_err();
        assert_eq!(err.to_string(), "case F001: cannot start the work while it is waiting");
        let again = apply(
            Some(&c),
            1,
            2,
            T0,
            &EventBody::CaseIssued {
                business_day: "2026-11-25".into(),
                number: "F001".into(),
                token: "tok".into(),
                item: "F01".into(),
                department: "BDC".into(),
                window: 12,
                priority: None,
                priority_rank: 0,
                mode: Mode::Onsite,
                channel: Channel::Kiosk,
            },
        );
        assert!(again.is_err(), "a case is issued once");
        let side = apply(
            Some(&c),
            1,
            2,
            T0,
            &EventBody::TicketPrinted {
                device: "p".into(),
                reprint: false,
            },
        );
        assert!(side.is_err(), "a print is not a case transition");
        assert!(apply(
            None,
            1,
            2,
            T0,
            &EventBody::CaseCalled {
                window: 1,
                staff: staff(),
                number: String::new(),
                department: String::new()
            }
        )
        .is_err());
    }

    #[test]
    fn a_no_show_needs_a_recall_first() {
        let called = walk(
            issued(),
            &[EventBody::CaseCalled {
                window: 12,
                staff: staff(),
                number: "F001".into(),
                department: "BDC".into(),
            }],
        );
        let err = apply(Some(&called), 1, 3, T0, &EventBody::CaseNoShow { staff: staff() }).unwrap_err();
        assert!(err.to_string().contains("recall the number at least once"), "{err}");
        let c = walk(
            called,
            &[
                EventBody::CaseRecalled {
                    window: 12,
                    staff: staff(),
                    number: "F001".into(),
                    department: "BDC".into(),
                },
                EventBody::CaseNoShow { staff: staff() },
            ],
        );
        assert_eq!(c.state, CaseState::NoShow);
        assert_eq!(c.recalls, 1);
        assert!(c.closed_at.is_some());
    }

    #[test]
    fn acceptance_needs_the_power_of_attorney_and_the_materials() {
        let serving = walk(
            issued(),
            &[
                EventBody::CaseCalled {
                    window: 12,
                    staff: staff(),
                    number: "F001".into(),
                    department: "BDC".into(),
                },
                EventBody::CaseStarted {
                    window: 12,
                    staff: staff(),
                },
            ],
        );
        let no_poa = EventBody::CaseAccepted {
            staff: staff(),
            materials: vec!["x".into()],
            power_of_attorney: false,
            missing: vec![],
        };
        assert!(apply(Some(&serving), 1, 4, T0, &no_poa)
            .unwrap_err()
            .to_string()
            .contains("委托书"));
        let nothing = EventBody::CaseAccepted {
            staff: staff(),
            materials: vec![],
            power_of_attorney: true,
            missing: vec![],
        };
        assert!(apply(Some(&serving), 1, 4, T0, &nothing).is_err());
        let empty_notice = EventBody::MaterialsMissing {
            staff: staff(),
            missing: vec![],
        };
        assert!(apply(Some(&serving), 1, 4, T0, &empty_notice).is_err());
    }

    #[test]
    fn a_transfer_keeps_the_place_in_line_and_clears_the_call() {
        let c = walk(
            issued(),
            &[
                EventBody::CaseCalled {
                    window: 12,
                    staff: staff(),
                    number: "F001".into(),
                    department: "BDC".into(),
                },
                EventBody::CaseRecalled {
                    window: 12,
                    staff: staff(),
                    number: "F001".into(),
                    department: "BDC".into(),
                },
                EventBody::CaseTransferred {
                    staff: staff(),
                    from_department: "BDC".into(),
                    to_department: "SWJ".into(),
                    to_window: 15,
                    note: None,
                },
            ],
        );
        assert_eq!(c.state, CaseState::Transferred);
        assert_eq!((c.department.as_str(), c.window), ("SWJ", 15));
        assert_eq!(c.queued_at, T0, "the original waiting time is kept");
        assert_eq!((c.called_window, c.recalls), (None, 0));
        assert!(c.state.is_queued());
    }

    #[test]
    fn a_deferred_question_blocks_archiving_until_answered() {
        let c = walk(
            issued(),
            &[
                EventBody::CaseCalled {
                    window: 12,
                    staff: staff(),
                    number: "F001".into(),
                    department: "BDC".into(),
                },
                EventBody::CaseStarted {
                    window: 12,
                    staff: staff(),
                },
                EventBody::ConsultationRecorded {
                    staff: staff(),
                    question: note(),
                    answer: None,
                    resolved: false,
                },
            ],
        );
        assert!(c.open_question);
        let archive = EventBody::Archived {
            staff: staff(),
            handover: None,
            receiver: None,
        };
        assert!(apply(Some(&c), 1, 9, T0, &archive)
            .unwrap_err()
            .to_string()
            .contains("answered before archiving"));
        let c = walk(
            c,
            &[
                EventBody::QuestionAnswered {
                    staff: staff(),
                    answer: note(),
                },
                archive,
            ],
        );
        assert_eq!(c.state, CaseState::Archived);
        assert!(apply(
            Some(&c),
            1,
            9,
            T0,
            &EventBody::QuestionAnswered {
                staff: staff(),
                answer: note()
            }
        )
        .is_err());
    }

    #[test]
    fn delivery_in_person_needs_the_signed_completion_slip() {
        let ready = walk(
            issued(),
            &[
                EventBody::CaseCalled {
                    window: 12,
                    staff: staff(),
                    number: "F001".into(),
                    department: "BDC".into(),
                },
                EventBody::CaseStarted {
                    window: 12,
                    staff: staff(),
                },
                EventBody::CaseAccepted {
                    staff: staff(),
                    materials: vec!["x".into()],
                    power_of_attorney: true,
                    missing: vec![],
                },
                EventBody::ResultReady { staff: staff() },
            ],
        );
        let unsigned = EventBody::DeliveredInPerson {
            staff: staff(),
            completion_slip_signed: false,
        };
        assert!(apply(Some(&ready), 1, 9, T0, &unsigned)
            .unwrap_err()
            .to_string()
            .contains("办结单"));
        let c = walk(
            ready,
            &[EventBody::DeliveredInPerson {
                staff: staff(),
                completion_slip_signed: true,
            }],
        );
        assert_eq!(
            (c.state, c.delivery.as_deref()),
            (CaseState::Delivered, Some("in_person"))
        );
    }
}
