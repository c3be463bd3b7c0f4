//! The layering, proved by reading the sources: each layer uses only those below it
//! (`docs/architecture.md`). A `use` of a higher layer anywhere in a module fails here.

use std::path::{Path, PathBuf};

/// Each module (a folder or a file under `src/`) and the crate modules it must never use.
const RULES: &[(&str, &[&str])] = &[
    (
        "domain",
        &[
            "protocol",
            "store",
            "auth",
            "federation",
            "service",
            "http",
            "stream",
        ],
    ),
    (
        "protocol",
        &["store", "auth", "federation", "service", "http", "stream"],
    ),
    (
        "store",
        &["auth", "federation", "service", "http", "stream"],
    ),
    ("auth.rs", &["federation", "service", "http", "stream"]),
    (
        "federation",
        &["protocol", "store", "auth", "service", "http", "stream"],
    ),
    ("service", &["http", "stream"]),
    (
        "telemetry.rs",
        &["protocol", "store", "service", "http", "stream"],
    ),
    ("stream.rs", &["http"]),
];

fn sources(at: &Path) -> Vec<PathBuf> {
    if at.is_file() {
        return vec![at.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(at).unwrap() {
        files.extend(sources(&entry.unwrap().path()));
    }
    files.retain(|f| f.extension().is_some_and(|e| e == "rs"));
    files
}

/// The ways a file can name crate module `module`: `crate::module`, `super::module` from a
/// file one level down, and `module::` inside a `use crate::{…}` group.
fn uses(source: &str, module: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let named = [
            format!("crate::{module}"),
            format!("super::{module}::"),
            format!("super::{module};"),
        ]
        .iter()
        .any(|p| code.contains(p.as_str()));
        if named {
            found.push(format!("{}: {}", n + 1, line.trim()));
        }
    }
    // `use crate::{a, b::c}` groups, across lines.
    let mut rest = source;
    while let Some(at) = rest.find("use crate::{") {
        let group = &rest[at..];
        let end = group.find("};").unwrap_or(group.len());
        let inner = &group["use crate::{".len()..end];
        let words = inner.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
        if words
            .filter(|w| !w.is_empty())
            .any(|w| w == module || w.starts_with(&format!("{module}::")))
        {
            found.push(format!("use crate::{{…{module}…}}"));
        }
        rest = &group[end.min(group.len())..];
        if end == group.len() {
            break;
        }
    }
    found
}

#[test]
fn every_layer_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (module, forbidden) in RULES {
        let files = sources(&src.join(module));
        assert!(!files.is_empty(), "{module} has no sources");
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            for higher in *forbidden {
                for hit in uses(&source, higher) {
                    violations.push(format!("{} uses {higher}: {hit}", file.display()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_check_sees_a_use_of_a_higher_layer() {
    assert_eq!(uses("use crate::http::admin;", "http").len(), 1);
    assert_eq!(uses("use crate::{protocol::X, http};", "http").len(), 1);
    assert_eq!(
        uses("use crate::{\n    store,\n    http::request,\n};", "http").len(),
        1
    );
    assert!(uses("use lambda_http::Body; // crate::http", "http").is_empty());
    assert!(uses("use crate::{protocol, store};", "http").is_empty());
}
