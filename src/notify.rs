//! Sending one message through the hall's hook (`[notify]`): a command given the phone and
//! the text in its environment and as JSON on standard input, or an HTTP endpoint given the
//! same JSON. A hook that hangs is stopped at `timeout_seconds`; whatever went wrong comes
//! back as words for the outbox (never with the phone in them).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::hall::Notify;
use crate::ledger::Outgoing;

/// The JSON a hook is given.
#[derive(serde::Serialize)]
struct Body<'a> {
    phone: &'a str,
    text: &'a str,
    kind: &'a str,
}

/// Send `m` through the hall's hook; `Err` with what went wrong.
pub fn deliver(cfg: &Notify, m: &Outgoing) -> Result<(), String> {
    deliver_text(cfg, &m.phone, &m.text, &m.kind)
}

/// Send one text (a booking page's verification code goes straight through here).
pub fn deliver_text(cfg: &Notify, phone: &str, text: &str, kind: &str) -> Result<(), String> {
    let body = serde_json::to_string(&Body { phone, text, kind }).map_err(|e| e.to_string())?;
    let timeout = Duration::from_secs(cfg.timeout_seconds.clamp(1, 600) as u64);
    if !cfg.command.trim().is_empty() {
        return run_command(&cfg.command, phone, text, kind, &body, timeout);
    }
    if !cfg.url.trim().is_empty() {
        let agent = ureq::AgentBuilder::new().timeout(timeout).build();
        return match agent
            .post(cfg.url.trim())
            .set("content-type", "application/json")
            .send_string(&body)
        {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, _)) => Err(format!("the endpoint answered HTTP {code}")),
            Err(e) => Err(format!("the endpoint could not be reached: {}", e.kind())),
        };
    }
    Err("the hall file names no [notify] command or url".into())
}

fn run_command(
    command: &str,
    phone: &str,
    text: &str,
    kind: &str,
    body: &str,
    timeout: Duration,
) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("BANGBAN_NOTIFY_PHONE", phone)
        .env("BANGBAN_NOTIFY_TEXT", text)
        .env("BANGBAN_NOTIFY_KIND", kind)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("the notify command could not start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its input must not block us: ignore a broken pipe.
        let _ = stdin.write_all(body.as_bytes());
    }
    let end = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                if status.success() {
                    return Ok(());
                }
                let mut words = String::new();
                if let Some(mut err) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut err, &mut words);
                }
                // The hook's own words, without the phone should it echo it.
                let words = words.replace(phone, "***").trim().chars().take(300).collect::<String>();
                return Err(match status.code() {
                    Some(c) if words.is_empty() => format!("the notify command exited with {c}"),
                    Some(c) => format!("the notify command exited with {c}: {words}"),
                    None => "the notify command was killed by a signal".into(),
                });
            }
            Ok(None) if Instant::now() >= end => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the notify command took longer than {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("the notify command: {e}")),
        }
    }
}
