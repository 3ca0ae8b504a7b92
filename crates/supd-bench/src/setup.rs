//! Getting the machine ready: the release binaries (built with the workspace's own cargo),
//! supervisord in a virtualenv, Debian's `entr`; and the facts about the machine printed
//! above the table.
//!
//! Nothing here measures anything. Every missing peer becomes a reason string that the
//! scenarios needing it print instead of a figure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::procfs;

/// The helper programs of this crate that scenarios run.
pub const HELPERS: &[&str] = &["bench-stamp", "bench-blast", "bench-ticker", "bench-seq"];

/// Where everything is.
#[derive(Clone, Debug)]
pub struct Tools {
    /// `target/release` (the directory of this executable).
    pub bin_dir: PathBuf,
    /// The virtualenv's `bin` directory, or why there is no supervisord.
    pub supervisor: Result<PathBuf, String>,
    /// Why `entr` cannot be used, if it cannot.
    pub entr: Result<(), String>,
    /// Why supervisors cannot run as PID 1 of a PID namespace here, if they cannot.
    pub pid1: Result<(), String>,
}

impl Tools {
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
    pub fn supd(&self) -> PathBuf {
        self.bin("supd")
    }
    pub fn supctl(&self) -> PathBuf {
        self.bin("supctl")
    }
    pub fn stamp(&self) -> String {
        self.bin("bench-stamp").display().to_string()
    }
}

/// The workspace root (this crate is `crates/supd-bench`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/supd-bench is two levels below the workspace root")
        .to_path_buf()
}

/// The directory of this executable: `target/release` under `cargo run --release`.
pub fn bin_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    Ok(exe
        .parent()
        .ok_or("this executable has no directory")?
        .to_path_buf())
}

/// `cargo build --release --locked --bin supd --bin supctl --bin bench-...`, with the
/// cargo that ran us (`$CARGO`), so the binaries measured are the sources of this checkout.
/// `cargo run` does not hold the build lock while the program runs, so this does not wait
/// on it.
pub fn build(bin_dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--release", "--locked"]);
    for bin in ["supd", "supctl"].iter().chain(HELPERS) {
        cmd.args(["--bin", bin]);
    }
    cmd.current_dir(workspace_root());
    eprintln!(
        "building: {} build --release --locked (supd, supctl, helpers)",
        Path::new(&cargo).display()
    );
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {}: {e}", Path::new(&cargo).display()))?;
    if !status.success() {
        return Err(format!("the release build failed ({status})"));
    }
    check_binaries(bin_dir)
}

/// Checks that the binaries are there (with `--no-build`).
pub fn check_binaries(bin_dir: &Path) -> Result<(), String> {
    for bin in ["supd", "supctl"].iter().chain(HELPERS) {
        if !bin_dir.join(bin).exists() {
            return Err(format!(
                "{} is missing: build with `cargo build --release --locked` or run without --no-build",
                bin_dir.join(bin).display()
            ));
        }
    }
    Ok(())
}

/// `target/bench/venv` with `pip install supervisor`, reused when it is there.
pub fn supervisor_venv(target: &Path) -> Result<PathBuf, String> {
    let venv = target.join("bench").join("venv");
    let bin = venv.join("bin");
    if bin.join("supervisord").exists() && bin.join("supervisorctl").exists() {
        return Ok(bin);
    }
    eprintln!(
        "preparing supervisord: python3 -m venv {} && pip install supervisor",
        venv.display()
    );
    let make_venv = || {
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !make_venv() {
        // Debian's python3 has no ensurepip without python3-venv.
        apt_install(&["python3", "python3-venv"])
            .map_err(|e| format!("cannot create a virtualenv (python3 -m venv): {e}"))?;
        if !make_venv() {
            return Err("python3 -m venv failed even after installing python3-venv".into());
        }
    }
    let pip = Command::new(bin.join("pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "supervisor",
        ])
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !pip.success() || !bin.join("supervisord").exists() {
        return Err("pip install supervisor failed".into());
    }
    Ok(bin)
}

/// True when `cmd` is on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit (supervisors started from here
/// inherit it: 1,000 programs need some 3,000 descriptors); says what the limits are now.
pub fn raise_open_files() -> String {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return "unknown (getrlimit failed)".into();
    };
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => format!("{hard} (soft limit raised from {soft} to the hard limit)"),
        Err(e) => format!("{soft} soft, {hard} hard (cannot raise the soft limit: {e})"),
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `entr`, installed from Debian when missing and we are root.
pub fn entr() -> Result<(), String> {
    if have("entr") {
        return Ok(());
    }
    apt_install(&["entr"]).map_err(|e| format!("entr is not installed and {e}"))?;
    if have("entr") {
        Ok(())
    } else {
        Err("entr is still missing after apt-get install entr".into())
    }
}

/// Can supervisors run as PID 1 of their own PID namespace here?
pub fn pid1() -> Result<(), String> {
    if !is_root() {
        return Err("needs root (unshare --pid --fork --mount-proc)".into());
    }
    if !have("unshare") {
        apt_install(&["util-linux"]).map_err(|e| format!("unshare is missing and {e}"))?;
    }
    let ok = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err("unshare --pid --fork --mount-proc does not work here".into())
    }
}

fn apt_install(packages: &[&str]) -> Result<(), String> {
    if !is_root() || !Path::new("/usr/bin/apt-get").exists() {
        return Err(format!(
            "cannot apt-get install {} here (needs root and apt-get)",
            packages.join(" ")
        ));
    }
    eprintln!("installing {} (apt-get)", packages.join(" "));
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600", "-qq"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend_from_slice(packages);
    // Try with the package lists as they are; when that fails, update them once and retry.
    let installed = apt(&install) || (apt(&["update"]) && apt(&install));
    if !installed {
        return Err(format!("apt-get install {} failed", packages.join(" ")));
    }
    Ok(())
}

/// `key: value` facts about the machine and the peers, in display order.
pub fn machine_info(tools: &Tools) -> Vec<(String, String)> {
    let mut info = Vec::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            let kib: u64 = t
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some(format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "unknown".into());
    info.push(("cpu".into(), format!("{cpu} ({nproc} cpus online)")));
    info.push(("memory".into(), mem));
    info.push((
        "kernel".into(),
        procfs::first_line("/proc/sys/kernel/osrelease").unwrap_or_default(),
    ));
    if let Some(os) = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
    {
        info.push(("os".into(), os));
    }
    info.push(("supd".into(), version(&tools.supd(), &["--version"])));
    match &tools.supervisor {
        Ok(bin) => {
            let v = version(&bin.join("supervisord"), &["--version"]);
            let py = version(&bin.join("python3"), &["--version"]);
            info.push(("supervisord".into(), format!("{v} (pip, {py})")));
        }
        Err(why) => info.push(("supervisord".into(), format!("unavailable: {why}"))),
    }
    info.push((
        "entr".into(),
        match &tools.entr {
            Ok(()) => dpkg_version("entr").unwrap_or_else(|| "installed".into()),
            Err(why) => format!("unavailable: {why}"),
        },
    ));
    info
}

fn version(bin: &Path, args: &[&str]) -> String {
    Command::new(bin)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text).trim().to_string()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn dpkg_version(package: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}
