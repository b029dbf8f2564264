//! Where a ledger may live: a local disk with room on it. SQLite's WAL needs shared memory
//! and byte-range locks that network file systems do not provide, so a ledger on NFS, SMB or
//! sshfs corrupts quietly; and a full disk must be reported as such, not as "disk I/O error".

use std::path::Path;

/// `statfs` magic numbers of network file systems (from linux/magic.h and the file systems'
/// own headers).
const NETWORK_MAGIC: &[(i64, &str)] = &[
    (0x6969, "NFS"),
    (0x517B, "SMB"),
    (0xFF53_4D42, "CIFS/SMB"),
    (0xFE53_4D42, "SMB2/SMB3"),
    (0x5346_414F, "AFS"),
    (0x6B41_4653, "AFS"),
    (0x7375_7245, "Coda"),
    (0x564C, "NCP"),
    (0x00C3_6400, "Ceph"),
    (0x0102_1997, "9P"),
    (0x0116_1970, "GFS2"),
    (0x7461_636F, "OCFS2"),
    (0x0BD0_0BD0, "Lustre"),
];

const FUSE_MAGIC: i64 = 0x6573_5546;

/// FUSE file systems that reach over the network (the subtype after `fuse.` in mountinfo).
const NETWORK_FUSE: &[&str] = &[
    "sshfs",
    "rclone",
    "s3fs",
    "gcsfuse",
    "davfs",
    "davfs2",
    "glusterfs",
    "curlftpfs",
    "smbnetfs",
];

/// The name of the network file system a `statfs` answer (and, for FUSE, the mount's subtype)
/// describes, or `None` for a local one.
pub fn network_fs_name(magic: i64, fuse_subtype: Option<&str>) -> Option<String> {
    if let Some((_, name)) = NETWORK_MAGIC.iter().find(|(m, _)| *m == magic) {
        return Some((*name).to_string());
    }
    if magic == FUSE_MAGIC {
        if let Some(sub) = fuse_subtype.filter(|s| NETWORK_FUSE.contains(s)) {
            return Some(sub.to_string());
        }
    }
    None
}

/// The nearest existing directory at or above the ledger's path (the file may not exist yet).
fn existing_dir(path: &Path) -> Option<std::path::PathBuf> {
    // Through a symlinked ledger to the file it names: the link's own directory may be on a
    // local disk while the ledger is on a network share.
    let real = std::fs::canonicalize(path).ok();
    let path = real.as_deref().unwrap_or(path);
    let mut p = if path.is_dir() { Some(path) } else { path.parent() };
    while let Some(d) = p {
        let d = if d.as_os_str().is_empty() { Path::new(".") } else { d };
        if d.is_dir() {
            return d.canonicalize().ok();
        }
        p = d.parent();
    }
    None
}

/// The file system type of the mount holding `dir`, from /proc/self/mountinfo (longest
/// matching mount point wins).
fn mount_fstype(dir: &Path) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let (Some(mount), Some(dash)) = (fields.get(4), fields.iter().position(|f| *f == "-")) else {
            continue;
        };
        let Some(fstype) = fields.get(dash + 1) else { continue };
        let mount = mount.replace("\\040", " ");
        if dir.starts_with(&mount) && best.as_ref().map_or(true, |(len, _)| mount.len() > *len) {
            best = Some((mount.len(), fstype.to_string()));
        }
    }
    best.map(|(_, t)| t)
}

#[cfg(target_os = "linux")]
fn statfs_magic(dir: &Path) -> Option<i64> {
    // Rehearsals and tests stand in for an NFS mount they cannot make: the simulated answer
    // can only make a ledger be refused, never let a network one through.
    if let Ok(v) = std::env::var("BANGBAN_SIMULATE_STATFS_MAGIC") {
        let v = v.trim();
        let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
            Some(hex) => i64::from_str_radix(hex, 16).ok(),
            None => v.parse().ok(),
        };
        if parsed.is_some() {
            return parsed;
        }
    }
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    (rc == 0).then_some(st.f_type as i64)
}

#[cfg(not(target_os = "linux"))]
fn statfs_magic(_dir: &Path) -> Option<i64> {
    None
}

/// Why the ledger must not live at `path`, if it is on a network file system.
pub fn refuse_network(path: &Path) -> Option<String> {
    let dir = existing_dir(path)?;
    let magic = statfs_magic(&dir)?;
    let sub = if magic == FUSE_MAGIC {
        mount_fstype(&dir).and_then(|t| t.strip_prefix("fuse.").map(String::from))
    } else {
        None
    };
    let fs = network_fs_name(magic, sub.as_deref())?;
    Some(format!(
        "{} is on a network file system ({fs}); SQLite's write-ahead log cannot be shared across machines and \
         the ledger would be corrupted: keep the ledger on a local disk of its host and run `bangban serve` \
         there, so kiosks, boards and counters reach it over the network",
        path.display()
    ))
}

/// Whether the file system holding `path` has no room left for the ledger to grow.
pub fn is_full(path: &Path) -> bool {
    let Some(dir) = existing_dir(path) else { return false };
    free_bytes(&dir).is_some_and(|free| free < 64 * 1024)
}

#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as in `statfs_magic`.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_file_systems_are_named_and_local_ones_pass() {
        assert_eq!(network_fs_name(0x6969, None).as_deref(), Some("NFS"));
        assert_eq!(network_fs_name(0xFF53_4D42, None).as_deref(), Some("CIFS/SMB"));
        assert_eq!(network_fs_name(FUSE_MAGIC, Some("sshfs")).as_deref(), Some("sshfs"));
        // ext4, xfs, btrfs, tmpfs, overlayfs, and a local FUSE file system.
        for local in [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0x794C_7630] {
            assert_eq!(network_fs_name(local, None), None, "{local:#x}");
        }
        assert_eq!(network_fs_name(FUSE_MAGIC, Some("bindfs")), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_ledger_is_checked_where_its_file_lives_not_where_the_link_is() {
        let here = tempfile::tempdir().unwrap();
        let there = tempfile::tempdir().unwrap();
        let real = there.path().join("ledger.sqlite3");
        std::fs::write(&real, b"").unwrap();
        let link = here.path().join("ledger.sqlite3");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(existing_dir(&link), Some(there.path().canonicalize().unwrap()));
        // A ledger not made yet is checked in the directory it will be made in.
        let new = here.path().join("new.sqlite3");
        assert_eq!(existing_dir(&new), Some(here.path().canonicalize().unwrap()));
    }
}
