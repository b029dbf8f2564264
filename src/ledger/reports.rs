//! Reports: the day's ledger (台账) per department.

use super::*;

impl Ledger {
    /// The day's ledger (台账) per department.
    pub fn report(&mut self, date: NaiveDate) -> Result<DayReport> {
        let hall = self.hall()?;
        let mut stmt = self.conn.prepare_cached(hot::DAY_CASES)?;
        let rows = stmt.query_map([date.to_string()], |r| r.get::<_, String>(0))?;
        let mut by_dept: BTreeMap<String, Vec<Case>> = BTreeMap::new();
        for data in rows {
            let c = parse_case(&data?)?;
            by_dept.entry(c.department.clone()).or_default().push(c);
        }
        let line = |code: &str, name: &str, cases: &[&Case]| {
            let minutes = |a: &Option<String>, b: &Option<String>| match (
                a.as_deref().and_then(parse_stamp),
                b.as_deref().and_then(parse_stamp),
            ) {
                // A clock that stepped back must not make a wait or a service negative.
                (Some(a), Some(b)) => Some(((b - a).num_milliseconds() as f64 / 60_000.0).max(0.0)),
                _ => None,
            };
            let waits: Vec<f64> = cases
                .iter()
                .filter_map(|c| minutes(&Some(c.issued_at.clone()), &c.called_at))
                .collect();
            let services: Vec<f64> = cases
                .iter()
                .filter_map(|c| minutes(&c.started_at, &c.service_end_at))
                .collect();
            DepartmentDay {
                department: code.into(),
                name: name.into(),
                issued: cases.len() as u32,
                served: cases.iter().filter(|c| c.started_at.is_some()).count() as u32,
                no_shows: cases.iter().filter(|c| c.state == CaseState::NoShow).count() as u32,
                avg_wait_min: mean(&waits),
                avg_service_min: mean(&services),
            }
        };
        let mut departments = Vec::new();
        for d in &hall.departments {
            let cases: Vec<&Case> = by_dept.get(&d.code).map(|v| v.iter().collect()).unwrap_or_default();
            departments.push(line(&d.code, &d.name, &cases));
        }
        let all: Vec<&Case> = by_dept.values().flatten().collect();
        let total = line("ALL", "合计", &all);
        Ok(DayReport {
            date: date.to_string(),
            hall: hall.name.clone(),
            departments,
            total,
        })
    }
}

pub(super) fn mean(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        None
    } else {
        Some(v.iter().sum::<f64>() / v.len() as f64)
    }
}
