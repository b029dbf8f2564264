//! The hot queries: what every issue, call, board refresh and console view runs, kept here so
//! their plans can be checked (`Ledger::query_plans`). Each reads today's rows through an
//! index, never the whole history: a hall's ledger holds a million cases within a year.

/// The board's latest calls of one business day, newest first (`calls_day`).
pub const RECENT_CALLS: &str = "SELECT e.seq, e.at, e.actor, e.kind, e.case_id, e.payload, e.prev_hash, e.hash
     FROM calls k JOIN events e ON e.seq = k.seq
     WHERE k.business_day = ?1 ORDER BY k.seq DESC LIMIT ?2";

/// The priority ranks of the latest first calls for one department today, newest first: the
/// priority cap's look-back (`calls_day_department`).
pub const LATEST_CALL_RANKS: &str =
    "SELECT '', '', k.seq, c.priority_rank FROM calls k JOIN cases c ON c.id = k.case_id
     WHERE k.business_day = ?1 AND k.department = ?2 AND k.recall = 0 ORDER BY k.seq DESC LIMIT ?3";

/// Whether anybody waits for these departments today: asked before taking the write lock, so
/// a counter polling an empty queue never holds up a kiosk (`cases_queue`).
pub const ANYONE_WAITING: &str = "SELECT 1 FROM cases WHERE business_day = ?1 AND department = ?2
     AND state IN ('waiting', 'transferred') LIMIT 1";

/// How many are ahead of a case in its queue (`cases_queue`).
pub const AHEAD: &str = "SELECT count(*) FROM cases WHERE business_day = ?1 AND department = ?2
     AND state IN ('waiting', 'transferred') AND (priority_rank > ?3 OR (priority_rank = ?3 AND coalesce(queue_pos, id * 1024) < ?4))";

/// A department's latest finished services, for the wait estimate (`cases_service`).
pub const RECENT_SERVICES: &str = "SELECT data FROM cases WHERE department = ?1 AND service_end_at IS NOT NULL
     ORDER BY service_end_at DESC LIMIT ?2";

/// Today's queue in calling order (`cases_queue`).
pub const WAITING: &str = "SELECT data FROM cases WHERE business_day = ?1 AND state IN ('waiting', 'transferred')
     ORDER BY priority_rank DESC, coalesce(queue_pos, id * 1024)";

/// One department's waiting list, in calling order, straight from the queue index: a
/// console asks for its window's departments only (reading the whole hall's queue and
/// parsing every case in it, 160 times a second, took both cores of a busy hall's server).
pub const WAITING_IN: &str = "SELECT data FROM cases WHERE business_day = ?1 AND department = ?2
     AND state IN ('waiting', 'transferred')
     ORDER BY priority_rank DESC, coalesce(queue_pos, id * 1024)";

/// Today's cases at the counters (the console's view; the unique (business_day, number) index).
pub const AT_COUNTERS: &str =
    "SELECT data FROM cases WHERE business_day = ?1 AND state IN ('called', 'serving', 'on_hold') ORDER BY id";

/// Today's tickets per department and item: the kiosk offers the most issued matters when
/// the hall file names none (the unique (business_day, number) index).
pub const ISSUED_TODAY: &str =
    "SELECT department, coalesce(json_extract(data, '$.item'), '') AS item, count(*), 0 FROM cases
     WHERE business_day = ?1 GROUP BY department, item";

/// The case a window has called or is serving today, if any: asked before each call, since a
/// window serves one visitor at a time (the unique (business_day, number) index).
pub const UNSETTLED_AT_WINDOW: &str = "SELECT data FROM cases WHERE state IN ('called', 'serving')
     AND json_extract(data, '$.called_window') = ?2 AND business_day = ?1 LIMIT 1";

/// Today's priority visitors still waiting, with when they joined the line (`cases_queue`).
pub const PRIORITY_WAITING: &str = "SELECT data FROM cases WHERE business_day = ?1
     AND state IN ('waiting', 'transferred') AND priority_rank > 0";

/// Waiting visitors per department today, and of them priority visitors (`cases_queue`).
pub const QUEUE_SIZES: &str = "SELECT department, '', count(*), sum(priority_rank > 0) FROM cases
     WHERE business_day = ?1 AND state IN ('waiting', 'transferred') GROUP BY department";

/// The cases a deadline watches, whatever their day (`cases_watched`, a partial index of
/// only those: the expression is the index's own).
pub const WATCHED: &str = "SELECT data FROM cases WHERE
    state IN ('ready', 'mailed', 'delivered', 'receipt_confirmed', 'accepted', 'in_progress', 'suspended')
    OR (state IN ('consulted', 'serving', 'on_hold', 'accepted', 'in_progress', 'awaiting_materials')
        AND json_extract(data, '$.open_question'))
    OR json_extract(data, '$.follow_up_open')
    OR (state IN ('accepted', 'in_progress', 'on_hold') AND json_extract(data, '$.parts') IS NOT NULL)
    OR json_extract(data, '$.under_coordination')";

/// One business day's cases, for its report.
pub const DAY_CASES: &str = "SELECT data FROM cases WHERE business_day = ?1 ORDER BY id";

/// Tickets of an item taken on a day at the kiosk or the counter, for its daily quota (the
/// unique (business_day, number) index: one day's cases).
pub const ITEM_TICKETS: &str = "SELECT count(*) FROM cases WHERE business_day = ?1
     AND json_extract(data, '$.item') = ?2 AND json_extract(data, '$.channel') IN ('kiosk', 'counter')";

/// The latest case of a day before a business day: the last day the hall worked, whose close
/// is due (the unique (business_day, number) index, read backwards).
pub const LATEST_BEFORE: &str =
    "SELECT data FROM cases WHERE business_day < ?1 ORDER BY business_day DESC, number DESC LIMIT 1";

/// Each hot query and the index it must use (alternatives separated by `|`: both bounded by
/// the business day, the planner may take either).
pub const PLANNED: &[(&str, &str, &str)] = &[
    ("board recent calls", RECENT_CALLS, "calls_day"),
    ("priority cap look-back", LATEST_CALL_RANKS, "calls_day_department"),
    ("anyone waiting", ANYONE_WAITING, "cases_queue"),
    ("ahead count", AHEAD, "cases_queue"),
    ("recent service times", RECENT_SERVICES, "cases_service"),
    ("waiting list", WAITING, "cases_queue|sqlite_autoindex_cases_2"),
    ("a department's waiting list", WAITING_IN, "cases_queue"),
    ("console view", AT_COUNTERS, "sqlite_autoindex_cases_2"),
    ("day report", DAY_CASES, "sqlite_autoindex_cases_2"),
    ("issued today per item", ISSUED_TODAY, "sqlite_autoindex_cases_2"),
    ("an item's tickets today", ITEM_TICKETS, "sqlite_autoindex_cases_2"),
    ("the last day worked", LATEST_BEFORE, "sqlite_autoindex_cases_2"),
    ("window's unsettled case", UNSETTLED_AT_WINDOW, "cases_at_window"),
    (
        "priority visitors waiting",
        PRIORITY_WAITING,
        "cases_queue|sqlite_autoindex_cases_2",
    ),
    ("deadline alerts", WATCHED, "cases_watched"),
    ("queue sizes", QUEUE_SIZES, "cases_queue|sqlite_autoindex_cases_2"),
];
