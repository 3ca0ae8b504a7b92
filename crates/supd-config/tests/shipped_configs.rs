//! Every config the project ships (examples/, docker/, config/) stays valid.

use std::path::{Path, PathBuf};

fn tomls(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            tomls(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

#[test]
fn every_shipped_config_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["examples", "docker", "config"] {
        tomls(&root.join(dir), &mut files);
    }
    assert!(files.len() >= 5, "found {files:?}");
    for file in files {
        if let Err(problems) = supd_config::load(&file) {
            panic!("{} is not valid:\n{problems}", file.display());
        }
    }
}
