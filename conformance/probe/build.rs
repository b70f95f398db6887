//! Links the probe with `link.x` (bare-metal target only) and gathers the
//! scenario corpus, `../scenarios/*.gic` in file-name order, into one text
//! in `OUT_DIR/corpus.gic` that the probe embeds.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=link.x");
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-search={}", dir.display());
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
    }

    let scenarios = dir.join("../scenarios");
    println!("cargo:rerun-if-changed={}", scenarios.display());
    let mut files: Vec<PathBuf> = fs::read_dir(&scenarios)
        .expect("conformance/scenarios is readable")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "gic"))
        .collect();
    files.sort();
    let mut corpus = String::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        corpus.push_str(&fs::read_to_string(file).expect("a scenario file is UTF-8 text"));
        corpus.push('\n');
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("corpus.gic"), corpus).expect("OUT_DIR is writable");
}
