//! `poll = "auto"`: is a watched directory on a file system where inotify misses changes?
//!
//! inotify reports what this kernel does to a file system. Network and shared-folder file
//! systems are also changed by other machines — the Windows side of WSL2, the macOS or
//! Windows host of Docker Desktop, an NFS server — and those changes never produce an event
//! here. For those, supd polls.
//!
//! Detection uses two signals, both read once at start:
//! - `statfs(2)` `f_type` magic numbers: 9p/v9fs (WSL2 Windows drives, VM shared folders),
//!   FUSE (every FUSE file system: virtiofs under Docker Desktop for Mac and Linux — virtiofs
//!   reports the FUSE magic —, grpcfuse and osxfs under older Docker Desktop, sshfs...),
//!   NFS, CIFS, SMB2, SMB.
//! - the file system type name of the mount holding the path, from `/proc/self/mountinfo`:
//!   the same families by name, plus `fakeowner`, the overlay Docker Desktop (4.15 and
//!   later) puts over host bind mounts, whose magic number is not documented.
//!
//! Two FUSE file systems are local — every change to them goes through this kernel, so
//! inotify sees it — and keep native events: `fuseblk` (ntfs-3g on a local disk) and
//! `fuse.fuse-overlayfs` (the root file system of rootless Podman containers).

use std::path::Path;

/// Magic numbers (`statfs.f_type`) of file systems changed from outside this machine.
const REMOTE_MAGIC: &[(u32, &str)] = &[
    (0x0102_1997, "9p"),
    (0x6573_5546, "FUSE"),
    (0x6969, "NFS"),
    (0xFF53_4D42, "CIFS"),
    (0xFE53_4D42, "SMB2"),
    (0x517B, "SMB"),
];

/// File system type names (mountinfo) of the same kind.
fn remote_name(fstype: &str) -> bool {
    matches!(
        fstype,
        "9p" | "v9fs"
            | "virtiofs"
            | "fakeowner"
            | "grpcfuse"
            | "osxfs"
            | "nfs"
            | "nfs4"
            | "cifs"
            | "smb3"
            | "smbfs"
            | "fuse"
    ) || fstype.starts_with("fuse.")
}

/// FUSE file systems whose changes all go through this kernel.
fn local_fuse(fstype: &str) -> bool {
    matches!(fstype, "fuseblk" | "fuse.fuse-overlayfs")
}

/// When `dir` is on a file system inotify cannot fully see, what it is (for the log line:
/// `a 9p file system`, `a FUSE file system (fakeowner)`).
pub fn remote_fs(dir: &Path) -> Option<String> {
    let magic = nix::sys::statfs::statfs(dir)
        .ok()
        .map(|s| (s.filesystem_type().0 as u64 & 0xFFFF_FFFF) as u32);
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let name = mount_fstype(&mountinfo, dir);
    decide(magic, name.as_deref())
}

fn decide(magic: Option<u32>, name: Option<&str>) -> Option<String> {
    if name.is_some_and(local_fuse) {
        return None;
    }
    let by_magic = magic.and_then(|m| {
        REMOTE_MAGIC
            .iter()
            .find(|(known, _)| *known == m)
            .map(|(_, what)| *what)
    });
    match (by_magic, name) {
        (Some(what), Some(name)) if !what.eq_ignore_ascii_case(name) => {
            Some(format!("a {what} file system ({name})"))
        }
        (Some(what), _) => Some(format!("a {what} file system")),
        (None, Some(name)) if remote_name(name) => Some(format!("a {name} file system")),
        _ => None,
    }
}

/// The type of the mount that holds `path` (the longest mount point that is a prefix of
/// it; the last one listed when several are stacked).
fn mount_fstype(mountinfo: &str, path: &Path) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(mount_point) = fields.get(4).map(|m| unescape(m)) else {
            continue;
        };
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let Some(fstype) = fields.get(dash + 1) else {
            continue;
        };
        if path.starts_with(&mount_point) {
            let len = mount_point.len();
            if best.as_ref().is_none_or(|(l, _)| len >= *l) {
                best = Some((len, fstype.to_string()));
            }
        }
    }
    best.map(|(_, t)| t)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let digit = |b: u8| u16::from(b - b'0');
            let v = digit(bytes[i + 1]) * 64 + digit(bytes[i + 2]) * 8 + digit(bytes[i + 3]);
            out.push((v & 0xFF) as u8);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /mnt/c rw,noatime - 9p drvfs rw,dirsync,aname=drvfs
41 22 0:36 / /app rw,relatime - fakeowner /run/host_mark/Users rw,fakeowner
42 41 0:37 / /app/node_modules rw - ext4 /dev/vdb1 rw
43 22 0:38 / /my\\040dir rw - nfs4 server:/export rw
44 22 0:39 / /data rw - fuse.sshfs host:/data rw
45 22 0:40 / /usb rw - fuseblk /dev/sdb1 rw
";

    #[test]
    fn the_longest_mount_point_wins() {
        let t = |p: &str| mount_fstype(MOUNTINFO, Path::new(p));
        assert_eq!(t("/home/me").as_deref(), Some("ext4"));
        assert_eq!(t("/mnt/c/Users/me/app").as_deref(), Some("9p"));
        assert_eq!(t("/mnt/cc").as_deref(), Some("ext4"));
        assert_eq!(t("/app/src").as_deref(), Some("fakeowner"));
        assert_eq!(t("/app/node_modules/x").as_deref(), Some("ext4"));
        assert_eq!(t("/my dir/x").as_deref(), Some("nfs4"));
    }

    #[test]
    fn remote_file_systems_are_recognised_by_magic_or_by_name() {
        assert_eq!(decide(Some(0xEF53), Some("ext4")), None);
        assert_eq!(
            decide(Some(0x0102_1997), Some("9p")).unwrap(),
            "a 9p file system"
        );
        assert_eq!(
            decide(Some(0x6573_5546), Some("virtiofs")).unwrap(),
            "a FUSE file system (virtiofs)"
        );
        assert_eq!(
            decide(Some(0x1234), Some("fakeowner")).unwrap(),
            "a fakeowner file system"
        );
        assert_eq!(decide(Some(0x6969), None).unwrap(), "a NFS file system");
        assert_eq!(
            decide(Some(0xFF53_4D42), Some("cifs")).unwrap(),
            "a CIFS file system"
        );
        assert!(decide(None, Some("fuse.sshfs")).is_some());
        assert_eq!(decide(Some(0x6573_5546), Some("fuseblk")), None);
        assert_eq!(decide(Some(0x6573_5546), Some("fuse.fuse-overlayfs")), None);
        assert_eq!(decide(None, None), None);
    }

    #[test]
    fn the_temp_dir_is_inspected_without_error() {
        // Whatever it is, asking must not fail or panic.
        let _ = remote_fs(&std::env::temp_dir());
        let _ = remote_fs(Path::new("/no/such/dir"));
    }
}
