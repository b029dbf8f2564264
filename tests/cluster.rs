//! Throwaway PostgreSQL clusters for the tests: Debian's `postgresql` (from `scripts/setup`),
//! `initdb` into a temporary folder, reached over a Unix socket in that folder only, run as
//! the `postgres` user when the tests run as root, and removed when the test process ends.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The PostgreSQL programs' folder: on the PATH, else Debian's versioned folder (the newest).
pub fn pg_bin() -> PathBuf {
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
                return std::fs::canonicalize(dir.join("initdb"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .unwrap_or(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed: run ./scripts/setup (it installs Debian's postgresql)")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no initdb under /usr/lib/postgresql: run ./scripts/setup")
        .1
}

fn as_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// A command of the PostgreSQL programs, as the `postgres` user when we are root (PostgreSQL
/// refuses to run as root).
fn pg_cmd(program: &str) -> Command {
    let exe = pg_bin().join(program);
    if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

/// One running cluster in a temporary folder.
pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    /// `postgres` running in the foreground as our child (stopped by `kill`).
    server: Option<Child>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A new empty folder for a cluster, the `postgres` user's when we are root.
fn fresh_dir() -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("bangban-pg-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if as_root() {
        let ok = Command::new("chown").arg("postgres:").arg(&dir).status().unwrap();
        assert!(ok.success(), "chown the cluster folder to postgres");
    }
    dir
}

impl Cluster {
    /// A new cluster: `initdb` and a started server on a Unix socket in its own folder
    /// (nothing listens on TCP).
    pub fn start(extra: &[&str]) -> Cluster {
        let dir = fresh_dir();
        let out = pg_cmd("initdb")
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The port only names the socket file in the cluster's own folder: nothing listens on TCP.
        let port = 5432;
        let mut c = Cluster {
            dir,
            port,
            server: None,
        };
        c.launch(extra);
        cleanup_when_we_exit(&c.dir);
        c
    }

    /// A streaming-replication standby of `primary` (`pg_basebackup -R`), started with `extra`
    /// (e.g. `-c cluster_name=standby1`, the name a synchronous primary waits for).
    pub fn standby_of(primary: &Cluster, extra: &[&str]) -> Cluster {
        let dir = fresh_dir();
        let out = pg_cmd("pg_basebackup")
            .args([
                "-h",
                primary.dir.to_str().unwrap(),
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-R", "-X", "stream", "--no-sync", "--checkpoint=fast"])
            .output()
            .expect("pg_basebackup runs");
        assert!(
            out.status.success(),
            "pg_basebackup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = primary.port;
        let mut c = Cluster {
            dir,
            port,
            server: None,
        };
        c.launch(extra);
        cleanup_when_we_exit(&c.dir);
        c
    }

    /// Promote a standby to primary (`pg_ctl promote`), waiting until it takes writes.
    pub fn promote(&self) {
        let out = pg_cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["promote", "-w", "-t", "30"])
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "promote failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start (or start again) the server in the foreground, as our child.
    pub fn launch(&mut self, extra: &[&str]) {
        let mut cmd = pg_cmd("postgres");
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .arg("-k")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses="])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(self.dir.join("log"))
                    .map(Stdio::from)
                    .unwrap_or(Stdio::null()),
            );
        self.server = Some(cmd.spawn().expect("postgres starts"));
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = pg_cmd("pg_isready")
                .args(["-h", self.dir.to_str().unwrap(), "-p", &self.port.to_string(), "-q"])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not start: {}",
                std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The postmaster's process id (from its pid file: under `runuser` our child is runuser).
    pub fn pid(&self) -> i32 {
        std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
            .expect("the postmaster's pid file")
    }

    /// Kill the postmaster outright (`kill -9`), as a power cut or a dead board would stop it.
    pub fn kill9(&mut self) {
        unsafe {
            libc::kill(self.pid(), libc::SIGKILL);
        }
        if let Some(mut s) = self.server.take() {
            let _ = s.wait();
        }
    }

    /// A URL for database `db` of this cluster, as the superuser, over the socket.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@/{db}?host={}&port={}",
            self.dir.display(),
            self.port
        )
    }

    /// Make a database.
    pub fn create_db(&self, db: &str) {
        let mut c = postgres::Client::connect(&self.url("postgres"), postgres::NoTls).expect("connect to the cluster");
        c.batch_execute(&format!("CREATE DATABASE \"{db}\""))
            .expect("create the database");
    }

    /// A superuser connection to database `db`.
    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(db), postgres::NoTls).expect("connect to the cluster")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut s) = self.server.take() {
            // SIGQUIT: an immediate shutdown, like `pg_ctl stop -m immediate`.
            if let Some(pid) = std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
            {
                unsafe {
                    libc::kill(pid, libc::SIGQUIT);
                }
            }
            let _ = s.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A watcher that stops the cluster and removes its folder once this test process is gone,
/// however it ends (statics are never dropped; a failed test may abort).
fn cleanup_when_we_exit(dir: &Path) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {pg_ctl} -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        pg_ctl = if as_root() {
            format!("runuser -u postgres -- '{}'", pg_bin().join("pg_ctl").display())
        } else {
            format!("'{}'", pg_bin().join("pg_ctl").display())
        },
        data = dir.join("data").display(),
        dir = dir.display(),
    );
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// The test run's shared cluster, with a database `bangban` in it; each test takes a hall of
/// its own there (`new_hall_url`), so the tests share a database as halls of a city do.
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        let c = Cluster::start(&["-c", "fsync=off", "-c", "max_connections=300"]);
        c.create_db("bangban");
        c
    })
}

/// A URL naming a hall of its own in the shared cluster's database.
pub fn new_hall_url() -> String {
    static HALLS: AtomicU32 = AtomicU32::new(0);
    let n = HALLS.fetch_add(1, Ordering::Relaxed);
    format!("{}&hall=t{n}", shared().url("bangban"))
}
