//! supd as the ENTRYPOINT of a real OCI container (issue 3, acceptance 6): an image built
//! FROM scratch with the static supd and supctl plus a static busybox, run with podman;
//! `podman exec supctl status`, `podman logs`, and `podman stop` (TERM to PID 1).
//!
//! Needs root and podman (installed with apt-get when missing: podman, runc,
//! busybox-static); skips, saying why, where it cannot have them. No image is pulled.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use supd_tests::{DEADLINE, ensure_tools, is_root, wait_until};

const PODMAN: [&str; 5] = [
    "--runtime",
    "runc",
    "--cgroup-manager",
    "cgroupfs",
    "--log-level=error",
];

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(PODMAN)
        .args(args)
        .output()
        .expect("run podman")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Builds supd and supctl as static executables, the way docker/Dockerfile does, in a
/// target directory of their own (so this does not contend with the running `cargo test`).
fn static_binaries() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = root.join("target/static");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--bin",
            "supd",
            "--bin",
            "supctl",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .status()
        .expect("run cargo");
    assert!(status.success(), "static build of supd and supctl failed");
    target.join("x86_64-unknown-linux-gnu/release")
}

#[test]
fn supd_as_container_entrypoint_runs_programs_and_stops_with_the_container() {
    if !is_root() {
        eprintln!("skipped: podman containers need root here; CI runs as root");
        return;
    }
    if cfg!(not(target_arch = "x86_64")) {
        eprintln!("skipped: the static build targets x86_64-unknown-linux-gnu");
        return;
    }
    if let Err(why) = ensure_tools(
        &["podman", "runc", "busybox"],
        &["podman", "runc", "busybox-static"],
    ) {
        eprintln!("skipped: {why}");
        return;
    }
    if let Err(why) = podman_works() {
        eprintln!("skipped: podman does not work on this machine: {why}");
        return;
    }
    let bins = static_binaries();
    let ctx = tempfile::tempdir().unwrap();
    let put = |name: &str, body: &str| std::fs::write(ctx.path().join(name), body).unwrap();
    for b in ["supd", "supctl"] {
        std::fs::copy(bins.join(b), ctx.path().join(b)).unwrap();
    }
    std::fs::copy("/bin/busybox", ctx.path().join("busybox")).unwrap();
    put(
        "passwd",
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
    );
    put("group", "root:x:0:\napp:x:1000:\n");
    put(
        "supd.toml",
        r#"[supd]
socket = "/run/supd.sock"
shutdown_timeout = "10s"

[program.web]
command = ["/bin/sh", "-c", "echo web is up; exec sleep 1000"]
min_uptime = "0s"

[program.worker]
command = ["/bin/sh", "-c", "echo worker runs as $(id -un); while :; do sleep 1; done"]
user = "app"
min_uptime = "0s"
"#,
    );
    put(
        "Containerfile",
        "FROM scratch\n\
         COPY busybox /bin/busybox\n\
         RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
         COPY passwd group /etc/\n\
         COPY supd supctl /usr/local/bin/\n\
         COPY supd.toml /etc/supd/supd.toml\n\
         ENV PATH=/usr/local/bin:/bin SUPD_CONFIG=/etc/supd/supd.toml\n\
         ENTRYPOINT [\"/usr/local/bin/supd\"]\n",
    );
    let tag = format!("localhost/supd-e2e-{}", std::process::id());
    let name = format!("supd-e2e-{}", std::process::id());
    let build = podman(&["build", "-q", "-t", &tag, ctx.path().to_str().unwrap()]);
    assert!(build.status.success(), "podman build: {}", text(&build));
    let _cleanup = Cleanup {
        name: name.clone(),
        tag: tag.clone(),
    };

    let run = podman(&[
        "run",
        "-d",
        "--name",
        &name,
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        &tag,
    ]);
    assert!(run.status.success(), "podman run: {}", text(&run));

    let status = wait_until("both programs to run in the container", DEADLINE, || {
        let out = podman(&["exec", &name, "supctl", "status"]);
        out.status.success().then(|| text(&out))
    });
    let rows: Vec<&str> = status.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{status}");
    assert!(
        rows.iter()
            .all(|r| r.split_whitespace().nth(1) == Some("running")),
        "{status}"
    );

    let logs = wait_until("both programs' output in podman logs", DEADLINE, || {
        let logs = text(&podman(&["logs", &name]));
        (logs.contains("web    | web is up") && logs.contains("worker | worker runs as app"))
            .then_some(logs)
    });
    assert!(
        logs.contains("(pid 1, PID 1,"),
        "supd runs as PID 1:\n{logs}"
    );

    let started = Instant::now();
    let stop = podman(&["stop", "-t", "10", &name]);
    let took = started.elapsed();
    assert!(stop.status.success(), "podman stop: {}", text(&stop));
    eprintln!("podman stop took {took:?} (timeout 10 s)");
    let code = podman(&["inspect", &name, "--format", "{{.State.ExitCode}}"]);
    // 0 means supd handled TERM as PID 1 and stopped everything; had it ignored TERM,
    // podman would have KILLed it after the timeout and the code would be 137.
    assert_eq!(text(&code).trim(), "0", "exit code of the container");
    let logs = text(&podman(&["logs", &name]));
    assert!(logs.contains("supd   | exiting with code 0"), "{logs}");
}

/// Whether this machine can build and run a container at all (some CI sandboxes cannot
/// create the namespaces podman needs): a FROM scratch image with busybox running `true`.
fn podman_works() -> Result<(), String> {
    let ctx = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::copy("/bin/busybox", ctx.path().join("busybox")).map_err(|e| e.to_string())?;
    std::fs::write(
        ctx.path().join("Containerfile"),
        "FROM scratch\nCOPY busybox /busybox\nENTRYPOINT [\"/busybox\", \"true\"]\n",
    )
    .map_err(|e| e.to_string())?;
    let tag = format!("localhost/supd-e2e-probe-{}", std::process::id());
    let build = podman(&[
        "build",
        "-q",
        "-t",
        &tag,
        ctx.path().to_str().unwrap_or("."),
    ]);
    if !build.status.success() {
        return Err(text(&build)
            .lines()
            .last()
            .unwrap_or("build failed")
            .to_string());
    }
    let run = podman(&[
        "run",
        "--rm",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        &tag,
    ]);
    let _ = podman(&["rmi", "-f", &tag]);
    if run.status.success() {
        Ok(())
    } else {
        Err(text(&run)
            .lines()
            .last()
            .unwrap_or("run failed")
            .to_string())
    }
}

/// Removes the container and the image, whatever happened.
struct Cleanup {
    name: String,
    tag: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", &self.name]);
        let _ = podman(&["rmi", "-f", &self.tag]);
    }
}
