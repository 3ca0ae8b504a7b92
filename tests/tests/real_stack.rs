//! The seeds' stack for real under supd (issue 8): Django + Daphne + Channels, Celery on
//! Redis, a migrate oneshot, Vite (development) and nginx (production). The example's own
//! `setup.sh` installs what it needs (apt: nginx, redis-server; pip: django, daphne,
//! channels, celery, redis; npm: vite) and `check.py` drives both profiles end to end.
//! Needs root for apt on a bare machine; skips, saying why, where it cannot install.

use std::path::Path;
use std::process::Command;

use supd_tests::{bin_dir, is_root};

#[test]
fn the_real_django_stack_runs_under_supd_in_both_profiles() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/django-stack-real");
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    for tool in ["python3", "npm"] {
        if !have(tool) {
            eprintln!("skipped: {tool} is not installed");
            return;
        }
    }
    let installed = have("nginx") && have("redis-server");
    let installable = is_root() && have("apt-get");
    if !(installed || installable) {
        eprintln!(
            "skipped: nginx/redis-server missing and cannot be installed here (needs root and apt-get)"
        );
        return;
    }
    let setup = Command::new(example.join("setup.sh"))
        .status()
        .expect("run setup.sh");
    assert!(setup.success(), "setup.sh failed");
    let check = Command::new("python3")
        .arg(example.join("check.py"))
        .arg(bin_dir())
        .status()
        .expect("run check.py");
    assert!(
        check.success(),
        "check.py failed (its output above says where)"
    );
}
