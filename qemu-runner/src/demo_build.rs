//! `--build`: building the hypervisor demo for the bare-metal target and
//! finding its ELF.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// The package and binary that `--build` builds.
pub const DEMO: &str = "hypervisor-demo";
/// The target it is built for.
pub const TARGET: &str = "aarch64-unknown-none";

/// The `cargo` arguments that build the demo in release mode, with
/// machine-readable messages on standard output (and human-readable
/// diagnostics on standard error).
pub fn cargo_args() -> Vec<&'static str> {
    vec![
        "build",
        "--package",
        DEMO,
        "--target",
        TARGET,
        "--release",
        "--message-format=json-render-diagnostics",
    ]
}

/// Builds the demo with cargo in the workspace and returns its ELF's path.
pub fn build() -> Result<PathBuf> {
    // `CARGO` is set when the runner is started by `cargo run`.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the runner's manifest directory has no parent")?;
    let output = Command::new(&cargo)
        .args(cargo_args())
        .current_dir(workspace)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        bail!("building {DEMO} for {TARGET} failed ({})", output.status);
    }
    let messages = String::from_utf8_lossy(&output.stdout);
    executable(&messages, DEMO).with_context(|| format!("cargo built no {DEMO} executable"))
}

/// The executable of binary `name` among cargo's JSON messages (one per line).
pub fn executable(messages: &str, name: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_demo_for_the_bare_metal_target_in_release() {
        let args = cargo_args().join(" ");
        assert!(args.starts_with("build "), "{args}");
        assert!(args.contains("--package hypervisor-demo"), "{args}");
        assert!(args.contains("--target aarch64-unknown-none"), "{args}");
        assert!(args.contains("--release"), "{args}");
    }

    #[test]
    fn finds_the_executable_among_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"gic-driver","kind":["lib"]},"executable":null}
not json at all
{"reason":"compiler-artifact","target":{"name":"hypervisor-demo","kind":["bin"]},"executable":"/t/aarch64-unknown-none/release/hypervisor-demo"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable(messages, "hypervisor-demo"),
            Some(PathBuf::from(
                "/t/aarch64-unknown-none/release/hypervisor-demo"
            ))
        );
        assert_eq!(executable(messages, "gic-driver"), None);
        assert_eq!(executable("", "hypervisor-demo"), None);
    }
}
