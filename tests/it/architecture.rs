//! The shape ARCHITECTURE.md promises, checked: no cycle between the library's source files,
//! no `use` that points up its list of layers, and no source file past the size a reader can
//! hold. A module and the modules it declares
//! are one unit (a folder's `mod.rs` re-exports its children), so only references between
//! files that are not each other's ancestors count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library's files by module path (`plan::stack`), without the binary's `main` and `cli/`.
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let rel = file.strip_prefix(&src).unwrap().with_extension("");
            let parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .filter(|p| p != "mod")
                .collect();
            match parts.join("::").as_str() {
                "main" | "cli" => None,
                binary if binary.starts_with("cli::") => None,
                "lib" => Some((String::new(), file)),
                name => Some((name.to_string(), file)),
            }
        })
        .collect()
}

/// The code of a file without its comments and its unit tests (the `#[cfg(test)] mod` at
/// its end; a test-only item elsewhere is code like any other).
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("#[cfg(test)]")
            && lines.peek().is_some_and(|next| next.starts_with("mod "))
        {
            break;
        }
        if !line.trim_start().starts_with("//") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The paths a file names after `crate::` or `super::`, groups (`{a, b::c}`) spread out.
fn paths(code: &str) -> Vec<(bool, Vec<String>)> {
    fn spread(text: &str, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
        // Reads `a::b::{c, d::e}` from the start of `text`; returns how much was read.
        let mut path = prefix.to_vec();
        let mut i = 0;
        let bytes = text.as_bytes();
        loop {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if i > start {
                path.push(text[start..i].to_string());
            }
            if text[i..].starts_with("::{") {
                i += 3;
                loop {
                    while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\n') {
                        i += 1;
                    }
                    if i >= bytes.len() || bytes[i] == b'}' {
                        return i + 1;
                    }
                    i += spread(&text[i..], &path, out);
                    while i < bytes.len() && matches!(bytes[i], b' ' | b'\n' | b',') {
                        i += 1;
                    }
                }
            } else if text[i..].starts_with("::") {
                i += 2;
            } else {
                out.push(path);
                // Skip `as name`.
                return i;
            }
        }
    }
    let mut found = Vec::new();
    for (root, from_crate) in [("crate::", true), ("super::", false)] {
        for (at, _) in code.match_indices(root) {
            let before = code[..at].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut out = Vec::new();
            spread(&code[at + root.len()..], &[], &mut out);
            found.extend(out.into_iter().map(|p| (from_crate, p)));
        }
    }
    found
}

/// Edges between modules that are not each other's ancestor or descendant.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let mut graph = BTreeMap::new();
    for (name, file) in &modules {
        let mut deps = BTreeSet::new();
        let own: Vec<&str> = name.split("::").filter(|s| !s.is_empty()).collect();
        for (from_crate, path) in paths(&code(file)) {
            let mut full: Vec<String> = if from_crate {
                Vec::new()
            } else {
                own[..own.len().saturating_sub(1)]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            };
            full.extend(path);
            // The longest prefix that is a module is what the path reaches into.
            let target = (1..=full.len())
                .rev()
                .map(|n| full[..n].join("::"))
                .find(|m| modules.contains_key(m));
            let Some(target) = target else { continue };
            let related = |a: &str, b: &str| a == b || b.starts_with(&format!("{a}::"));
            if name.is_empty() || related(name, &target) || related(&target, name) {
                continue;
            }
            deps.insert(target);
        }
        graph.insert(name.clone(), deps);
    }
    graph
}

/// A cycle through the graph, if there is one, as the modules along it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn the_reader_finds_references_in_every_form() {
    let found = paths(
        "use crate::a::{b, c::{d, e}};\nuse super::f;\nlet x = crate::g::h(1);\nfoo_crate::z();",
    );
    let found: Vec<String> = found
        .into_iter()
        .map(|(c, p)| format!("{}{}", if c { "crate::" } else { "super::" }, p.join("::")))
        .collect();
    assert_eq!(
        found,
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e",
            "crate::g::h",
            "super::f"
        ]
    );
    let looped: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
        .map(|(a, b)| (a.to_string(), BTreeSet::from([b.to_string()])))
        .into();
    assert_eq!(cycle(&looped).unwrap(), ["a", "b", "c", "a"]);
}

#[test]
fn no_cycle_between_source_files() {
    let graph = graph();
    assert!(graph.len() > 20, "the source files were found: {graph:?}");
    assert!(
        graph["plan"].contains("facts") && !graph["facts"].contains("plan"),
        "the reader sees `use` lines: {:?}",
        graph["plan"]
    );
    if let Some(cycle) = cycle(&graph) {
        panic!("a cycle between source files: {}", cycle.join(" → "));
    }
}

/// The layers of ARCHITECTURE.md, lowest first: each numbered item of "Layers, lowest first"
/// names its modules in bold (`**`inputs/`**`, `**`policy.rs`**, **`template.rs`**`).
fn layers() -> BTreeMap<String, usize> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    let section = text
        .split("## Layers, lowest first")
        .nth(1)
        .expect("ARCHITECTURE.md has its layers")
        .split("\n## ")
        .next()
        .unwrap();
    let mut layers = BTreeMap::new();
    for line in section.lines() {
        let Some((number, rest)) = line.split_once(". **") else {
            continue;
        };
        let Ok(layer) = number.parse::<usize>() else {
            continue;
        };
        // The bold names at the start: `**`a/`**, **`b.rs`**` or `**`a.rs`, `b.rs`**`.
        let mut bold = String::new();
        let mut rest = rest;
        while let Some((names, after)) = rest.split_once("**") {
            bold.push_str(names);
            match after.strip_prefix(", **") {
                Some(more) => rest = more,
                None => break,
            }
        }
        for name in bold.split('`').skip(1).step_by(2) {
            let module = name.trim_end_matches('/').trim_end_matches(".rs");
            layers.insert(module.to_string(), layer);
        }
    }
    layers
}

#[test]
fn every_use_points_down_the_layers() {
    let layers = layers();
    assert!(
        layers.get("inputs") == Some(&1) && layers.get("commands") > layers.get("plan"),
        "the layers were read: {layers:?}"
    );
    let top = |module: &str| module.split("::").next().unwrap().to_string();
    let mut unplaced = BTreeSet::new();
    let mut upward = Vec::new();
    for (from, deps) in graph() {
        // Unit tests may reach anywhere; the crate root declares everything.
        if from.is_empty() || from.split("::").any(|part| part == "tests") {
            continue;
        }
        let Some(&here) = layers.get(&top(&from)) else {
            unplaced.insert(top(&from));
            continue;
        };
        for to in deps {
            match layers.get(&top(&to)) {
                Some(&there) if there > here => {
                    upward.push(format!("{from} (layer {here}) uses {to} (layer {there})"))
                }
                Some(_) => {}
                None => {
                    unplaced.insert(top(&to));
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules that ARCHITECTURE.md does not place in a layer: {unplaced:?}"
    );
    assert!(
        upward.is_empty(),
        "uses against the layers:\n{}",
        upward.join("\n")
    );
}

/// A file a reader can hold: past this, it holds more than one concern and wants splitting.
const MAX_LINES: usize = 600;

#[test]
fn no_source_file_is_longer_than_a_reader_can_hold() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut long = Vec::new();
    let cli = std::fs::read_dir(src.join("cli"))
        .unwrap()
        .map(|entry| entry.unwrap().path());
    for file in modules()
        .into_values()
        .chain([src.join("main.rs")])
        .chain(cli)
    {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        if lines > MAX_LINES {
            long.push(format!("{} ({lines} lines)", file.display()));
        }
    }
    assert!(
        long.is_empty(),
        "longer than {MAX_LINES} lines: {}",
        long.join(", ")
    );
}

/// One HTTPS stack: the AWS SDK's default features would build two (hyper 0.14 with rustls
/// 0.21 beside hyper 1 with rustls 0.23) and aws-lc's C library; Cargo.toml takes them without
/// (see `aws::http_client`). A dependency that brings a second back fails here.
#[test]
fn the_lock_file_holds_one_https_stack() {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
        .expect("Cargo.lock");
    let versions = |name: &str| -> Vec<String> {
        lock.split("[[package]]")
            .filter(|p| p.contains(&format!("\nname = \"{name}\"\n")))
            .filter_map(|p| {
                p.lines()
                    .find_map(|l| l.strip_prefix("version = "))
                    .map(|v| v.trim_matches('"').to_string())
            })
            .collect()
    };
    for name in [
        "hyper",
        "rustls",
        "h2",
        "http",
        "http-body",
        "hyper-rustls",
        "tokio-rustls",
    ] {
        let found = versions(name);
        assert!(found.len() <= 1, "{name} {found:?}: a second HTTP(S) stack");
    }
    for absent in ["aws-lc-sys", "aws-lc-rs"] {
        assert!(versions(absent).is_empty(), "{absent} is built again");
    }
}
