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
    /// `--server URL --token TOKEN`: the hall server, as the device owning the token.
    Server { url: String, token: String },
}

impl Door {
    /// The door the shared flags name: the server when `--server` is given, else the file.
    pub fn from_flags(
        server: Option<&str>,
        token: Option<&str>,
        db: PathBuf,
        opts: LedgerOptions,
        actor: &str,
    ) -> Door {
        match server {
            Some(url) => Door::Server {
                url: url.to_string(),
                token: token.unwrap_or("").to_string(),
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
        Door::Server { url, token } => Box::new(RemoteClient::new(&url, &token)?),
    })
}
