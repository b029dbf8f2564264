//! Value parsers over the library's own types, and the `bangban case` actions built from one
//! table that maps flags onto `CaseAction`'s fields (no enum mirrors the library's).

use bangban::CaseAction;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};
use serde_json::{json, Map, Value};

/// A parser that accepts exactly the names a library enum gives its values.
pub fn one_of<T: Copy + Send + Sync + 'static>(
    all: &'static [T],
    name: fn(T) -> &'static str,
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(all.iter().map(|t| name(*t)))
        .map(move |s| *all.iter().find(|t| name(**t) == s).expect("clap checked the name"))
}

/// An attachment table as named on the command line: `specialists` or `attachment1`,
/// `items` or `attachment2`.
pub fn attachment_kind() -> impl TypedValueParser<Value = bangban::hall::ImportKind> {
    use bangban::hall::ImportKind;
    PossibleValuesParser::new(["specialists", "attachment1", "items", "attachment2"]).map(|s| {
        if s == "specialists" || s == "attachment1" {
            ImportKind::Specialists
        } else {
            ImportKind::Items
        }
    })
}

/// What `bangban export` writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExportWhat {
    Attachment(bangban::hall::ImportKind),
    Ratings,
}

pub fn export_what() -> impl TypedValueParser<Value = ExportWhat> {
    use bangban::hall::ImportKind;
    PossibleValuesParser::new(["specialists", "attachment1", "items", "attachment2", "ratings"]).map(|s| {
        match s.as_str() {
            "specialists" | "attachment1" => ExportWhat::Attachment(ImportKind::Specialists),
            "ratings" => ExportWhat::Ratings,
            _ => ExportWhat::Attachment(ImportKind::Items),
        }
    })
}

/// `--department CODE` must name one of the hall's departments (exit 2 otherwise).
pub fn known_department(hall: &bangban::Hall, department: Option<&str>) -> Result<(), crate::out::Exit> {
    match department {
        Some(d) if hall.department(d).is_none() => Err(crate::out::Exit::usage(format!(
            "unknown department {d:?} for --department (the hall has: {})",
            hall.departments
                .iter()
                .map(|d| d.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        _ => Ok(()),
    }
}

/// A window number as typed: 1 to 9999 (whether the hall has it is checked by the ledger).
pub fn window_number(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(w) if (1..=9999).contains(&w) => Ok(w),
        _ => Err(format!("{s:?} is not a window number (1 to 9999)")),
    }
}

/// What `bangban case NUMBER …` asks for: the case shown, or an action on it.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseArg {
    Show,
    Act(CaseAction),
}

/// How one flag fills one field of the action.
#[derive(Clone, Copy)]
enum Fill {
    /// A required text.
    Text,
    /// An optional text (null when absent).
    MaybeText,
    /// A text that may be left out (empty when absent).
    TextOrEmpty,
    /// An optional window number.
    Window,
    /// A required window number.
    RequiredWindow,
    /// A list: repeat the flag for each, at least one.
    List,
    /// A list that may be left out (empty when absent).
    MaybeList,
    /// A switch that sets the field to false when given.
    SwitchOff,
}

struct Flag {
    /// The field of `CaseAction` (its serde name).
    field: &'static str,
    long: &'static str,
    help: &'static str,
    fill: Fill,
}

/// One subcommand of `bangban case`: its name, the action's serde tag, help and flags.
struct Action {
    name: &'static str,
    tag: &'static str,
    help: &'static str,
    flags: &'static [Flag],
}

const fn flag(field: &'static str, long: &'static str, fill: Fill, help: &'static str) -> Flag {
    Flag {
        field,
        long,
        help,
        fill,
    }
}

const fn action(name: &'static str, tag: &'static str, help: &'static str, flags: &'static [Flag]) -> Action {
    Action { name, tag, help, flags }
}

const ACTIONS: &[Action] = &[
    action("recall", "recall", "Call the number again (重呼)", &[]),
    action("start", "start", "The visitor arrived at the counter", &[]),
    action(
        "no-show",
        "no_show",
        "The visitor did not come after a recall (过号)",
        &[],
    ),
    action("hold", "hold", "Put the case aside at the counter (暂挂)", &[]),
    action("resume", "resume", "Take a held case up again", &[]),
    action(
        "return",
        "return",
        "A past day's visitor came back: the case takes today's number and queues again",
        &[],
    ),
    action(
        "transfer",
        "transfer",
        "Send the case to another department's queue (转办)",
        &[
            flag(
                "department",
                "department",
                Fill::Text,
                "The receiving department's code",
            ),
            flag(
                "window",
                "to-window",
                Fill::Window,
                "The receiving window [default: the department's first]",
            ),
            flag("note", "note", Fill::MaybeText, "Why, for the receiving specialist"),
        ],
    ),
    action(
        "consult",
        "consult",
        "咨询辅导: record the question and the answer (or defer it)",
        &[
            flag("question", "question", Fill::Text, "The visitor's question"),
            flag("answer", "answer", Fill::MaybeText, "The answer given"),
            flag(
                "resolved",
                "deferred",
                Fill::SwitchOff,
                "The question needs study; it stays open until answered",
            ),
        ],
    ),
    action(
        "answer",
        "answer",
        "Answer a deferred question",
        &[flag("answer", "answer", Fill::Text, "The answer given")],
    ),
    action(
        "notify",
        "notify_missing",
        "一次性告知: the materials still missing",
        &[flag(
            "missing",
            "missing",
            Fill::List,
            "A missing material (repeat the flag for each)",
        )],
    ),
    action(
        "returned",
        "materials_returned",
        "The visitor came back with the missing materials",
        &[],
    ),
    action(
        "accept",
        "accept",
        "受理委托: each material of the item's list handed over, or accepted without it (容缺受理: --missing and --supply-by); the 委托书 signed first: request-signature or signed-on-paper",
        &[
            flag(
                "materials",
                "material",
                Fill::List,
                "A material handed over (repeat the flag for each)",
            ),
            flag(
                "missing",
                "missing",
                Fill::MaybeList,
                "A material accepted without (容缺), to be supplied later; repeat for each",
            ),
            flag(
                "supply_by",
                "supply-by",
                Fill::MaybeText,
                "The day the missing materials are due, YYYY-MM-DD",
            ),
        ],
    ),
    action("start-work", "start_work", "Start the proxy work (代办中)", &[]),
    action("ready", "ready", "The result is ready to deliver (办结待交付)", &[]),
    action(
        "deliver",
        "deliver_in_person",
        "结果交付 in person (the 办结单 signed first: request-signature or signed-on-paper)",
        &[],
    ),
    action(
        "mail",
        "mail",
        "结果交付 by post: the tracking number, recipient and courier (邮寄登记)",
        &[
            flag("tracking", "tracking", Fill::Text, "The postal tracking number"),
            flag("recipient", "recipient", Fill::Text, "Who it is addressed to (kept in the notes)"),
            flag("courier", "courier", Fill::Text, "The courier (EMS, 顺丰 …)"),
            flag("address", "address", Fill::MaybeText, "The postal address (kept in the notes)"),
            flag("sent_on", "sent-on", Fill::MaybeText, "The day it was sent, YYYY-MM-DD [default: today]"),
        ],
    ),
    action(
        "confirm-receipt",
        "confirm_receipt",
        "The visitor confirmed receipt of the mailed result",
        &[],
    ),
    action(
        "archive",
        "archive",
        "资料归档: what was handed over, and to whom",
        &[
            flag(
                "handover",
                "handover",
                Fill::Text,
                "What was handed over and filed (materials, file box)",
            ),
            flag("receiver", "receiver", Fill::Text, "Who received it (kept in the notes)"),
        ],
    ),
    action(
        "rating-reply",
        "rating_reply",
        "好差评: the department coordinator's reply to a bad rating (closes its follow-up)",
        &[flag(
            "reply",
            "reply",
            Fill::Text,
            "The reply given to the visitor (kept in the notes)",
        )],
    ),
    action(
        "accompany",
        "accompany",
        "陪同至受理窗口: the visitor was walked to a receiving window",
        &[
            flag("to_window", "to-window", Fill::RequiredWindow, "The receiving window"),
            flag("result", "result", Fill::MaybeText, "How it went (kept in the notes)"),
        ],
    ),
    action(
        "accompany-result",
        "accompany_result",
        "How an earlier walk to the receiving window ended",
        &[flag("result", "result", Fill::Text, "How it went (kept in the notes)")],
    ),
    action(
        "escalate",
        "escalate",
        "协调会议: escalate a stuck case to the management office (owner or coordinator)",
        &[flag(
            "reason",
            "reason",
            Fill::Text,
            "Why the case is stuck (kept in the notes)",
        )],
    ),
    action(
        "meeting",
        "meeting",
        "The management office records the coordination meeting on the case",
        &[
            flag(
                "held_at",
                "at",
                Fill::Text,
                "When: 2026-11-27T15:00:00+08:00 or YYYY-MM-DD HH:MM",
            ),
            flag(
                "participants",
                "participant",
                Fill::List,
                "A staff id who took part (repeat the flag)",
            ),
            flag("minutes", "minutes", Fill::Text, "The minutes (kept in the notes)"),
            flag(
                "decision",
                "decision",
                Fill::Text,
                "What was decided (kept in the notes)",
            ),
            flag(
                "follow_up",
                "follow-up",
                Fill::MaybeText,
                "The follow-up date, YYYY-MM-DD",
            ),
            flag(
                "chiefs",
                "chief-representatives",
                Fill::MaybeText,
                "The departments' chief representatives (首席代表) who took part (kept in the notes)",
            ),
            flag(
                "outside",
                "outside",
                Fill::MaybeText,
                "Outside parties who took part, name and unit (kept in the notes)",
            ),
        ],
    ),
    action(
        "resolve",
        "resolve",
        "The management office records the coordination's outcome: the case resumes",
        &[flag(
            "outcome",
            "outcome",
            Fill::Text,
            "The outcome (kept in the notes)",
        )],
    ),
    action(
        "mode",
        "set_mode",
        "Set or change the service mode: onsite (现场帮办), online or fullprocess (全程代办)",
        &[flag("mode", "mode", Fill::Text, "onsite, online or fullprocess")],
    ),
    action(
        "handover",
        "handover",
        "首问负责: hand the case to another specialist of its department (owner or coordinator)",
        &[
            flag("to", "to", Fill::Text, "The specialist who takes the case over"),
            flag(
                "note",
                "note",
                Fill::MaybeText,
                "Where the case stands (kept in the notes)",
            ),
        ],
    ),
    action(
        "claim",
        "claim",
        "责任认领: claim your department's part of a whole-chain case",
        &[],
    ),
    action(
        "part",
        "part",
        "Move your department's part on: materials, accepted, in_progress, done (容缺受理: accepted with --missing and --supply-by)",
        &[
            flag(
                "state",
                "state",
                Fill::Text,
                "materials, accepted, in_progress or done",
            ),
            flag(
                "missing",
                "missing",
                Fill::MaybeList,
                "A material accepted without (容缺), from the hall's lists; repeat for each",
            ),
            flag(
                "supply_by",
                "supply-by",
                Fill::MaybeText,
                "The day the missing materials are due, YYYY-MM-DD",
            ),
        ],
    ),
    action(
        "online-step",
        "online_step",
        "网上帮办: record what was done remotely on the visitor's online application (a note per step)",
        &[flag("note", "note", Fill::Text, "What was done (kept in the notes)")],
    ),
    action(
        "supplied",
        "supplied",
        "A material the case (or your part of a whole-chain case) was accepted without (容缺) has been handed in",
        &[flag("material", "material", Fill::Text, "The material, as the hall's lists name it")],
    ),
    action(
        "suspend",
        "suspend",
        "中止: the accepted work waits for the visitor or another office; its deadlines pause",
        &[
            flag("reason", "reason", Fill::Text, "Why (kept in the notes, printed on the 中止告知单)"),
            flag("until", "until", Fill::MaybeText, "The day the work is expected to resume, YYYY-MM-DD"),
        ],
    ),
    action(
        "resume-work",
        "resume_work",
        "The suspension's cause is gone: the work resumes, its deadlines run again",
        &[],
    ),
    action(
        "terminate",
        "terminate",
        "终止: close the case unfinished, with the reason given in writing",
        &[flag(
            "reason",
            "reason",
            Fill::Text,
            "Why (kept in the notes, printed on the 终止告知单)",
        )],
    ),
    action(
        "principal",
        "principal",
        "The principal (委托人) of the power of attorney: kept as personal data, shown masked",
        &[
            flag("name", "name", Fill::Text, "The principal's name"),
            flag("id_number", "id", Fill::Text, "The 18-digit resident ID number"),
            flag("phone", "phone", Fill::MaybeText, "A mobile number"),
        ],
    ),
    action(
        "request-signature",
        "request_signature",
        "Ask this window's signature pad (display sign) for the visitor's signature on a form",
        &[flag(
            "form",
            "form",
            Fill::Text,
            "The form: poa, acceptance, notice, suspension, termination, completion, handover",
        )],
    ),
    action(
        "signed-on-paper",
        "signed_on_paper",
        "纸质签署: the visitor signed the printed form (its number, as printed on it)",
        &[
            flag("form", "form", Fill::Text, "The form: poa, completion …"),
            flag("number", "number", Fill::Text, "The form's number (WT-20261207-000042)"),
        ],
    ),
    action(
        "cancel",
        "cancel",
        "Cancel the case",
        &[flag(
            "reason",
            "reason",
            Fill::TextOrEmpty,
            "Why (kept in the notes, not in the event log)",
        )],
    ),
];

fn arg(f: &Flag) -> Arg {
    // The flag's own name is its id: the field names (window, …) would clash with the global
    // flags of `bangban case` (`--window`, `--staff`).
    let a = Arg::new(f.long).long(f.long).help(f.help);
    match f.fill {
        Fill::Text => a.required(true),
        Fill::MaybeText | Fill::TextOrEmpty => a,
        Fill::Window => a.value_parser(window_number),
        Fill::RequiredWindow => a.value_parser(window_number).required(true),
        Fill::List => a.required(true).action(ArgAction::Append),
        Fill::MaybeList => a.action(ArgAction::Append),
        Fill::SwitchOff => a.action(ArgAction::SetTrue),
    }
}

fn value(f: &Flag, m: &ArgMatches) -> Value {
    let text = |m: &ArgMatches| m.get_one::<String>(f.long).cloned();
    match f.fill {
        Fill::Text | Fill::MaybeText => json!(text(m)),
        Fill::TextOrEmpty => json!(text(m).unwrap_or_default()),
        Fill::Window | Fill::RequiredWindow => json!(m.get_one::<u32>(f.long)),
        Fill::List | Fill::MaybeList => json!(m
            .get_many::<String>(f.long)
            .map(|v| v.cloned().collect::<Vec<_>>())
            .unwrap_or_default()),
        Fill::SwitchOff => json!(!m.get_flag(f.long)),
    }
}

impl clap::Subcommand for CaseArg {
    fn augment_subcommands(cmd: Command) -> Command {
        let cmd = cmd.subcommand(Command::new("show").about("Show the case and its events"));
        ACTIONS.iter().fold(cmd, |cmd, a| {
            cmd.subcommand(Command::new(a.name).about(a.help).args(a.flags.iter().map(arg)))
        })
    }
    fn augment_subcommands_for_update(cmd: Command) -> Command {
        Self::augment_subcommands(cmd)
    }
    fn has_subcommand(name: &str) -> bool {
        name == "show" || ACTIONS.iter().any(|a| a.name == name)
    }
}

impl FromArgMatches for CaseArg {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let Some((name, sub)) = m.subcommand() else {
            return Err(clap::Error::raw(
                clap::error::ErrorKind::MissingSubcommand,
                "a case needs an action: show, recall, start, …",
            ));
        };
        if name == "show" {
            return Ok(CaseArg::Show);
        }
        let a = ACTIONS.iter().find(|a| a.name == name).ok_or_else(|| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidSubcommand,
                format!("unknown case action {name}"),
            )
        })?;
        let mut fields = Map::new();
        fields.insert("action".into(), json!(a.tag));
        for f in a.flags {
            fields.insert(f.field.into(), value(f, sub));
        }
        // The library's own deserialiser turns the fields into the action, so a field renamed
        // there fails here at once (and in the test that parses every action).
        serde_json::from_value(Value::Object(fields))
            .map(CaseArg::Act)
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::InvalidValue, e.to_string()))
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(subcommand)]
        action: CaseArg,
    }

    fn parse(args: &[&str]) -> CaseArg {
        T::try_parse_from(std::iter::once("case").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .action
    }

    #[test]
    fn every_case_action_parses_into_the_library_action() {
        use CaseAction::*;
        let s = |x: &str| x.to_string();
        let cases: Vec<(&[&str], CaseAction)> = vec![
            (&["recall"], Recall),
            (&["start"], Start),
            (&["no-show"], NoShow),
            (&["hold"], Hold),
            (&["resume"], Resume),
            (
                &["transfer", "--department", "GAJ", "--to-window", "7", "--note", "n"],
                Transfer {
                    department: s("GAJ"),
                    window: Some(7),
                    note: Some(s("n")),
                },
            ),
            (
                &["consult", "--question", "q", "--deferred"],
                Consult {
                    question: s("q"),
                    answer: None,
                    resolved: false,
                },
            ),
            (
                &["consult", "--question", "q", "--answer", "a"],
                Consult {
                    question: s("q"),
                    answer: Some(s("a")),
                    resolved: true,
                },
            ),
            (&["answer", "--answer", "a"], Answer { answer: s("a") }),
            (
                &["notify", "--missing", "x", "--missing", "y"],
                NotifyMissing {
                    missing: vec![s("x"), s("y")],
                },
            ),
            (&["returned"], MaterialsReturned),
            (
                &["accept", "--material", "m"],
                Accept {
                    materials: vec![s("m")],
                    missing: vec![],
                    supply_by: None,
                },
            ),
            (
                &[
                    "accept",
                    "--material",
                    "m",
                    "--missing",
                    "n",
                    "--supply-by",
                    "2026-12-10",
                ],
                Accept {
                    materials: vec![s("m")],
                    missing: vec![s("n")],
                    supply_by: Some(s("2026-12-10")),
                },
            ),
            (&["start-work"], StartWork),
            (&["ready"], Ready),
            (&["deliver"], DeliverInPerson),
            (
                &["mail", "--tracking", "SF1", "--recipient", "r", "--courier", "EMS"],
                Mail {
                    tracking: s("SF1"),
                    recipient: s("r"),
                    courier: s("EMS"),
                    address: None,
                    sent_on: None,
                },
            ),
            (&["confirm-receipt"], ConfirmReceipt),
            (
                &["archive", "--handover", "h", "--receiver", "r"],
                Archive {
                    handover: Some(s("h")),
                    receiver: Some(s("r")),
                },
            ),
            (&["cancel"], Cancel { reason: String::new() }),
            (
                &["suspend", "--reason", "r", "--until", "2026-12-20"],
                Suspend {
                    reason: s("r"),
                    until: Some(s("2026-12-20")),
                },
            ),
            (&["resume-work"], ResumeWork),
            (&["terminate", "--reason", "r"], Terminate { reason: s("r") }),
            (
                &["principal", "--name", "许喆", "--id", "11010519491231002X"],
                Principal {
                    name: s("许喆"),
                    id_number: s("11010519491231002X"),
                    phone: None,
                },
            ),
            (
                &["request-signature", "--form", "poa"],
                RequestSignature { form: s("poa") },
            ),
            (
                &["signed-on-paper", "--form", "poa", "--number", "WT-1"],
                SignedOnPaper {
                    form: s("poa"),
                    number: s("WT-1"),
                },
            ),
        ];
        for (args, want) in cases {
            assert_eq!(parse(args), CaseArg::Act(want), "{args:?}");
        }
        assert_eq!(parse(&["show"]), CaseArg::Show);
    }

    #[test]
    fn the_acting_window_and_the_transfer_window_stay_apart() {
        let cli = crate::Cli::try_parse_from([
            "bangban",
            "case",
            "A001",
            "transfer",
            "--department",
            "GAJ",
            "--to-window",
            "7",
            "--window",
            "3",
            "--staff",
            "S101",
        ])
        .unwrap();
        let crate::Cmd::Case {
            window, staff, action, ..
        } = cli.cmd
        else {
            panic!("not a case command")
        };
        assert_eq!((window, staff.as_str()), (Some(3), "S101"));
        assert_eq!(
            action,
            CaseArg::Act(CaseAction::Transfer {
                department: "GAJ".into(),
                window: Some(7),
                note: None
            })
        );
    }

    #[test]
    fn required_case_flags_are_usage_errors() {
        for args in [&["transfer"][..], &["notify"], &["mail"], &["accept"]] {
            let e = T::try_parse_from(std::iter::once("case").chain(args.iter().copied()))
                .err()
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument, "{args:?}");
        }
    }
}
