//! One way from an app to the hall: the ledger file on this machine or the hall server's URL,
//! chosen by the shared `--db` / `--server --token` flags, opened by one `connect`.

use std::path::PathBuf;

use crate::api::HallClient;
use crate::error::Result;
use crate::ledger::LedgerOptions;
use crate::local::LocalClient;
use crate::remote::RemoteClient;

/// Where an app finds its hall.
#[derive(Clone)]
pub enum Door {
    /// `--db FILE`: the ledger on this machine, opened in this process. It must exist and be
    /// set up (`bangban init`), unless `demo` asks for the demo hall in a new file.
    File {
        path: PathBuf,
        opts: LedgerOptions,
        /// Who this program is in the ledger's events (kiosk-1, board, counter-3, cli …).
        actor: String,
        demo: bool,
    },
    /// `--server URL --token TOKEN`: the hall server, as the device owning the token;
    /// `ca` is the hall CA an `https://` server's certificate must come from (`--ca FILE`).
    Server {
        url: String,
        token: String,
        ca: Option<PathBuf>,
    },
}

impl Door {
    /// The door the shared flags name: the server when `--server` is given, else the file.
    pub fn from_flags(
        server: Option<&str>,
        token: Option<&str>,
        ca: Option<&std::path::Path>,
        db: PathBuf,
        opts: LedgerOptions,
        actor: &str,
    ) -> Door {
        match server {
            Some(url) => Door::Server {
                url: url.to_string(),
                token: token.unwrap_or("").to_string(),
                ca: ca.map(|p| p.to_path_buf()),
            },
            None => Door::File {
                path: db,
                opts,
                actor: actor.to_string(),
                demo: false,
            },
        }
    }

    /// The ledger file (for `--db`) or the server's URL (for `--server`), as the witness
    /// files name what a program followed.
    pub fn witness_source(&self) -> (Option<&std::path::Path>, Option<&str>) {
        match self {
            Door::File { path, .. } => (Some(path.as_path()), None),
            Door::Server { url, .. } => (None, Some(url.as_str())),
        }
    }
}

/// Open the hall behind `door`. Apps hold the result as a `Box<dyn HallClient>` and never see
/// which client it is: reads, writes, sign-ins and following the calls (`HallClient::follow`)
/// work the same through both.
pub fn connect(door: Door) -> Result<Box<dyn HallClient>> {
    Ok(match door {
        Door::File {
            path,
            opts,
            actor,
            demo,
        } => {
            let ledger = if demo {
                crate::open_or_demo(&path, opts, &actor)?
            } else {
                crate::open_existing(&path, opts)?
            };
            Box::new(LocalClient::new(ledger, &actor))
        }
        Door::Server { url, token, ca } => Box::new(RemoteClient::with_ca(&url, &token, ca.as_deref())?),
    })
}

/// The device token: the first line of `file` (`--token-file`, `BANGBAN_TOKEN_FILE`) when one
/// is given, else `token` (`--token`, `BANGBAN_TOKEN`). A file that cannot be read or holds no
/// token is an error naming it.
pub fn device_token(token: Option<String>, file: Option<&std::path::Path>) -> crate::Result<Option<String>> {
    let Some(file) = file else { return Ok(token) };
    let text = std::fs::read_to_string(file).map_err(|e| crate::LedgerError::Open {
        path: file.display().to_string(),
        reason: format!("cannot read the device token: {e}"),
    })?;
    match text.lines().next().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Ok(Some(t.to_string())),
        None => Err(crate::LedgerError::Invalid(format!(
            "{}: line 1: no device token in the file (it should hold the token `bangban device add` printed)",
            file.display()
        ))),
    }
}

/// What a program warns when `--token` or `--pin` was typed on its command line: every user of
/// the machine can read a process's arguments (`ps`, /proc). None when neither was.
pub fn secrets_on_command_line<I: IntoIterator<Item = std::ffi::OsString>>(args: I) -> Option<String> {
    let mut typed: Vec<&str> = Vec::new();
    for a in args {
        let a = a.to_string_lossy();
        for flag in ["--token", "--pin"] {
            if (a == flag || a.starts_with(&format!("{flag}="))) && !typed.contains(&flag) {
                typed.push(flag);
            }
        }
    }
    if typed.is_empty() {
        return None;
    }
    Some(format!(
        "{} on the command line can be read by every user of this machine (ps): use --token-file FILE or BANGBAN_TOKEN for the token and BANGBAN_PIN (or the prompt) for the PIN",
        typed.join(" and ")
    ))
}
