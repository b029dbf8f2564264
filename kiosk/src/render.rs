//! Headless screenshots of the kiosk: every screen of the flow, both languages, both text
//! sizes, rendered to PNG with no display server.

pub use bangban_headless::{install, parse_size};

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use bangban_headless::snapshot;
use slint::platform::software_renderer::MinimalSoftwareWindow;
use slint::ComponentHandle;

use crate::{
    CheckInAdapter, ConfirmAdapter, DepartmentAdapter, FeedbackAdapter, ItemAdapter, KioskAdapter, KioskScreen, Notice,
    PhoneAdapter, PrintState, SearchAdapter, State, TicketAdapter, WelcomeAdapter,
};

/// Render every screen of the flow, in both languages, with large text on and off, at each
/// size, into `dir`, driving the real controllers on a scratch demo ledger. Returns the files.
pub fn render_screens(
    dir: &Path,
    sizes: &[(u32, u32)],
    window: &MinimalSoftwareWindow,
    state: &State,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut files = Vec::new();
    walk_screens(state, sizes, |name, size| {
        let path = dir.join(format!("kiosk-{name}.png"));
        snapshot(window, size, &path)?;
        files.push(path);
        Ok(())
    })?;
    Ok(files)
}

/// Drive the real controllers through every screen of the flow — in both languages, with
/// large text on and off, at each size — and call `at` on each with its name
/// (`1080x1920-zh-normal-04-confirm`) and size. Renders snapshot there; the layout test checks
/// every element's place there. The confirm and ticket screens show the hall's longest item
/// name, so the test sees the worst case.
pub fn walk_screens(
    state: &State,
    sizes: &[(u32, u32)],
    mut at: impl FnMut(&str, (u32, u32)) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let ui = &state.ui;
    ui.show().context("cannot show the kiosk window")?;
    // The departments' waiting counts come from the IO thread: the first screen shows them.
    state.wait_for(Duration::from_secs(10), |_| state.inner.borrow().counts_known);
    let (longest_dept, longest_item) = {
        let inner = state.inner.borrow();
        let item = inner
            .hall
            .items
            .iter()
            .max_by_key(|i| i.display_name().chars().count())
            .map(|i| (i.department.clone(), i.code.clone()))
            .unwrap_or_default();
        item
    };
    for &(w, h) in sizes {
        // The lists page by orientation (the search results): the window has its size first.
        ui.window().set_size(slint::PhysicalSize::new(w, h));
        for english in [false, true] {
            for large in [false, true] {
                let tag = format!(
                    "{w}x{h}-{}-{}",
                    if english { "en" } else { "zh" },
                    if large { "large" } else { "normal" }
                );
                // Back to the welcome screen in this render's language and text size.
                let fresh = |english: bool, large: bool| {
                    crate::flow::reset(ui, &state.inner);
                    crate::flow::set_english(ui, english);
                    crate::flow::set_large_text(ui, &state.inner, large);
                };
                let mut shot = |name: &str| -> anyhow::Result<()> {
                    // Renders are slow in debug builds; keep the idle timeout from cutting the flow short.
                    ui.global::<KioskAdapter>().invoke_touched();
                    at(&format!("{tag}-{name}"), (w, h))
                };
                fresh(english, large);
                shot("01-welcome")?;
                ui.global::<WelcomeAdapter>().invoke_start();
                state.wait_for(Duration::from_secs(5), |ui| {
                    let d = ui.global::<DepartmentAdapter>().get_departments();
                    slint::Model::iter(&d).any(|t| t.waiting > 0)
                });
                shot("02-departments")?;
                ui.global::<DepartmentAdapter>()
                    .invoke_choose(longest_dept.as_str().into());
                shot("03-items")?;
                ui.global::<ItemAdapter>().invoke_choose(longest_item.as_str().into());
                ui.global::<ConfirmAdapter>().invoke_choose_priority("elderly".into());
                shot("04-confirm")?;
                ui.global::<KioskAdapter>().set_busy(true);
                shot("05-issuing")?;
                ui.global::<KioskAdapter>().set_busy(false);
                ui.global::<ConfirmAdapter>().invoke_confirm();
                if !state.wait_for(Duration::from_secs(20), |ui| {
                    ui.global::<KioskAdapter>().get_screen() == KioskScreen::Ticket
                }) {
                    let k = ui.global::<KioskAdapter>();
                    anyhow::bail!(
                        "the demo ticket was not issued within 20 s ({:?}; the cause is in the log)",
                        k.get_notice()
                    );
                }
                // A hall that texts its visitors offers 短信提醒 beside 完成.
                ui.global::<TicketAdapter>().set_can_remind(true);
                ui.global::<TicketAdapter>().set_print_state(PrintState::Printed);
                shot("06-ticket")?;
                ui.global::<TicketAdapter>().set_print_state(PrintState::Failed);
                shot("07-ticket-print-failed")?;
                ui.global::<TicketAdapter>().set_print_state(PrintState::Printed);
                ui.global::<TicketAdapter>().set_reminder("139****5678".into());
                shot("07a-ticket-reminder-set")?;
                ui.global::<TicketAdapter>().set_reminder("".into());
                ui.global::<TicketAdapter>().invoke_remind();
                for key in ["1", "3", "9", "1", "2", "3", "4", "5", "6", "7", "8"] {
                    ui.global::<PhoneAdapter>().invoke_key(key.into());
                }
                shot("07b-phone")?;
                ui.global::<PhoneAdapter>().set_refusal("late".into());
                shot("07c-phone-refused")?;
                fresh(english, large);
                ui.global::<WelcomeAdapter>().invoke_not_sure();
                shot("08-consultation")?;
                let k = ui.global::<KioskAdapter>();
                k.set_notice(Notice::LedgerBusy);
                shot("09-could-not-issue")?;
                fresh(english, large);
                ui.global::<WelcomeAdapter>().invoke_appointment();
                for key in ["3", "0", "5", "1"] {
                    ui.global::<CheckInAdapter>().invoke_key(key.into());
                }
                shot("10-check-in")?;
                ui.global::<CheckInAdapter>().set_refusal("code_expired".into());
                shot("10b-check-in-refused")?;
                // Or the phone the visit was booked with: eleven digits, read back grouped.
                ui.global::<CheckInAdapter>().invoke_clear();
                for key in ["1", "3", "9", "1", "2", "3", "4", "5", "6", "7", "8"] {
                    ui.global::<CheckInAdapter>().invoke_key(key.into());
                }
                shot("10c-check-in-by-phone")?;
                fresh(english, large);
                ui.global::<KioskAdapter>().set_paused(true);
                shot("11-tickets-paused")?;
                ui.global::<KioskAdapter>().set_paused(false);
                fresh(english, large);
                ui.global::<KioskAdapter>().set_notice(Notice::DayClosed);
                shot("12-day-closed")?;
                fresh(english, large);
                ui.global::<WelcomeAdapter>().invoke_search();
                for key in ["Q", "Y", "K", "B"] {
                    ui.global::<SearchAdapter>().invoke_key(key.into());
                }
                shot("13-search")?;
                fresh(english, large);
                ui.global::<WelcomeAdapter>().invoke_feedback();
                for key in ["A", "0", "0", "1"] {
                    ui.global::<FeedbackAdapter>().invoke_key(key.into());
                }
                ui.global::<FeedbackAdapter>().invoke_set_level(2);
                shot("14-rating")?;
                ui.global::<FeedbackAdapter>().invoke_set_mode("complain".into());
                ui.global::<FeedbackAdapter>().invoke_set_category("wait".into());
                ui.global::<FeedbackAdapter>().invoke_key("1".into());
                ui.global::<FeedbackAdapter>().invoke_key("2".into());
                shot("15-complaint")?;
                ui.global::<FeedbackAdapter>().invoke_submit();
                if !state.wait_for(Duration::from_secs(20), |ui| ui.global::<FeedbackAdapter>().get_sent()) {
                    anyhow::bail!("the complaint was not taken within 20 s (the cause is in the log)");
                }
                shot("16-thanks")?;
            }
        }
    }
    crate::flow::reset(ui, &state.inner);
    Ok(())
}
