//! Spoken announcements on the board: the words of a call, read by the shared voice (a chime,
//! then the TTS command; `bangban_headless::voice`).

pub use bangban_headless::voice::{default_tts, Voice};

/// The words spoken for a call: the announcement the ledger wrote for it (the same text as
/// the JSON line and the board), with the ticket number's digits spelled out. Halls read
/// ticket digits one by one (A零一二号); left alone, the engine would read "012" as a quantity.
pub fn spoken_text(call: &bangban::Called) -> String {
    call.text
        .replacen(&call.number, &bangban_headless::voice::spell_digits(&call.number), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_read_one_by_one_in_the_announcement_itself() {
        let call = |number: &str, window: u32, recall: bool| bangban::Called {
            case_id: 1,
            number: number.into(),
            window,
            department: "SCJG".into(),
            department_name: "市场监督管理局".into(),
            item_name: String::new(),
            priority: None,
            recall,
            recalls: recall as u32,
            staff: "S101".into(),
            staff_name: "王丽".into(),
            badge: String::new(),
            at: String::new(),
            seq: 1,
            text: bangban::announcement(number, window, recall),
        };
        assert_eq!(spoken_text(&call("A012", 3, false)), "请A零一二号到3号窗口办理");
        assert_eq!(spoken_text(&call("F100", 12, true)), "重呼：请F一零零号到12号窗口办理");
    }
}
