//! Fetches the front-end libraries (htmx, Apache ECharts) and the PDF font (Noto Sans JP) from the npm registry, pinned by
//! `package-lock.json`, when they are not installed yet. The crate embeds their dist files; none
//! of them is committed to the repository.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::Command;

/// The files `src/assets.rs` embeds.
const NEEDED: &[&str] = &[
    "node_modules/htmx.org/dist/htmx.min.js",
    "node_modules/echarts/dist/echarts.min.js",
    "node_modules/@expo-google-fonts/noto-sans-jp/400Regular/NotoSansJP_400Regular.ttf",
    "node_modules/@expo-google-fonts/noto-sans-jp/700Bold/NotoSansJP_700Bold.ttf",
];

fn main() {
    println!("cargo:rerun-if-changed=package.json");
    println!("cargo:rerun-if-changed=package-lock.json");
    // npm writes this file on every install; its absence (a fresh clone) reruns this script.
    println!("cargo:rerun-if-changed=node_modules/.package-lock.json");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&dir);
    if NEEDED.iter().all(|f| dir.join(f).is_file()) {
        return;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let status = Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .current_dir(dir)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "`npm ci` in {} failed ({s}); the web UI needs htmx and ECharts from the npm registry",
            dir.display()
        ),
        Err(e) => panic!(
            "cannot run `npm` ({e}); install Node.js 18 or newer with npm to build the web UI"
        ),
    }
    for f in NEEDED {
        if !dir.join(f).is_file() {
            panic!("`npm ci` did not install {f}");
        }
    }
}
