//! The arrows between modules, checked: every `crate::…` and `super::…` path in `src/` is
//! read, and a path from one module into another the table below does not allow fails.
//!
//! The table is the map in `lib.rs` made executable: adapters (`grpc`, `rest`) → core
//! (`auth`) → storage (`store`) → the domain's nouns (`auth::model`), with `error` and
//! `clock` as leaves. The table itself must have no cycle, so editing it to let an arrow run
//! back also fails.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// Which modules each module may name. Modules not listed (the crate root, `main.rs`) may
/// name any.
const ALLOWED: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("clock", &[]),
    ("utc", &[]),
    ("demo", &[]),
    ("auth::model", &[]),
    ("store", &["auth::model", "error"]),
    ("auth", &["auth::model", "store", "error", "clock"]),
    ("grpc", &["auth", "auth::model", "error", "pb"]),
    ("rest", &["auth", "auth::model", "error", "demo", "utc"]),
    ("cors", &["error"]),
    ("listener", &[]),
    ("telemetry", &["auth"]),
    (
        "config",
        &["auth", "auth::model", "store", "listener", "telemetry"],
    ),
    ("key_file", &["auth", "config", "error", "store"]),
    (
        "server",
        &[
            "auth",
            "store",
            "grpc",
            "rest",
            "cors",
            "error",
            "clock",
            "config",
            "pb",
            "listener",
            "key_file",
            "pruning",
            "telemetry",
        ],
    ),
    ("pruning", &["auth"]),
    ("cli", &["auth", "config"]),
    (
        "admin",
        &[
            "auth",
            "auth::model",
            "cli",
            "clock",
            "config",
            "error",
            "server",
            "store",
            "utc",
        ],
    ),
];

/// The module a source file belongs to, as the table names it; `None` for the crate root.
fn module_of(relative: &Path) -> Option<String> {
    let parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [file] if file == "lib" || file == "main" || file == "architecture_tests" => None,
        [file] => Some(file.clone()),
        [dir, file] if dir == "auth" && file == "model" => Some("auth::model".into()),
        [dir, ..] => Some(dir.clone()),
        [] => None,
    }
}

/// The module `super::` names from a file: the directory's module for a file inside a
/// directory (other than its `mod.rs`), otherwise the crate root.
fn parent_of(relative: &Path) -> Option<String> {
    let parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().to_string())
        .collect();
    match parts.as_slice() {
        [dir, file] if file != "mod.rs" => Some(dir.clone()),
        _ => None,
    }
}

/// The module a path (its segments after `crate::`) lands in.
fn target_of(path: &[String]) -> Option<String> {
    match path {
        [first, second, ..] if first == "auth" && second == "model" => Some("auth::model".into()),
        [first, ..] if first.chars().all(|c| c.is_ascii_lowercase() || c == '_') => {
            Some(first.clone())
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Other,
}

/// Code without `//` comments (docs link to other modules freely), as tokens.
fn tokens(source: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut chars = code.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                c if c.is_alphanumeric() || c == '_' => {
                    let mut ident = c.to_string();
                    while let Some(&next) = chars.peek() {
                        if next.is_alphanumeric() || next == '_' {
                            ident.push(next);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    out.push(Token::Ident(ident));
                }
                ':' if chars.peek() == Some(&':') => {
                    chars.next();
                    out.push(Token::PathSep);
                }
                '{' => out.push(Token::Open),
                '}' => out.push(Token::Close),
                ',' => out.push(Token::Comma),
                c if c.is_whitespace() => {}
                _ => out.push(Token::Other),
            }
        }
    }
    out
}

/// Flattens the use tree (or plain path) starting at `tokens[at]` into full paths.
fn paths(tokens: &[Token], at: &mut usize, prefix: Vec<String>, into: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        match tokens.get(*at) {
            Some(Token::Ident(name)) if name != "as" => {
                path.push(name.clone());
                *at += 1;
                if tokens.get(*at) == Some(&Token::PathSep) {
                    *at += 1;
                    continue;
                }
                into.push(path);
                return;
            }
            Some(Token::Open) => {
                *at += 1;
                while !matches!(tokens.get(*at), Some(Token::Close) | None) {
                    paths(tokens, at, path.clone(), into);
                    // Skip `as alias` and anything else up to the next item.
                    while !matches!(tokens.get(*at), Some(Token::Comma | Token::Close) | None) {
                        *at += 1;
                    }
                    if tokens.get(*at) == Some(&Token::Comma) {
                        *at += 1;
                    }
                }
                *at += 1;
                return;
            }
            _ => {
                into.push(path);
                return;
            }
        }
    }
}

/// Every module a source file names through `crate::` or `super::`.
fn targets(source: &str, parent: Option<&str>) -> BTreeSet<String> {
    let tokens = tokens(source);
    let mut found = Vec::new();
    for at in 0..tokens.len() {
        let prefix = match &tokens[at] {
            Token::Ident(word) if word == "crate" => Vec::new(),
            Token::Ident(word) if word == "super" => match parent {
                Some(parent) => vec![parent.to_string()],
                None => continue,
            },
            _ => continue,
        };
        if tokens.get(at + 1) != Some(&Token::PathSep) {
            continue;
        }
        let mut cursor = at + 2;
        paths(&tokens, &mut cursor, prefix, &mut found);
    }
    found.iter().filter_map(|path| target_of(path)).collect()
}

fn source_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            source_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    ALLOWED
        .iter()
        .map(|(module, targets)| (*module, targets.iter().copied().collect()))
        .collect()
}

#[test]
fn every_arrow_between_modules_is_one_the_map_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let allowed = allowed();
    let mut violations = Vec::new();
    let mut arrows = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(module) = module_of(relative) else {
            continue;
        };
        let permitted = allowed
            .get(module.as_str())
            .unwrap_or_else(|| panic!("{module} ({}) is not in the table", relative.display()));
        let source = fs::read_to_string(file).unwrap();
        for target in targets(&source, parent_of(relative).as_deref()) {
            if target == module {
                continue;
            }
            arrows.insert((module.clone(), target.clone()));
            if !permitted.contains(target.as_str()) {
                violations.push(format!("{} ({module}) names {target}", relative.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "arrows the map forbids:\n{}",
        violations.join("\n")
    );
    // The reading found the arrows that must be there, so an empty list above means something.
    for expected in [
        ("grpc", "auth"),
        ("rest", "auth"),
        ("auth", "store"),
        ("store", "auth::model"),
    ] {
        let expected = (expected.0.to_string(), expected.1.to_string());
        assert!(
            arrows.contains(&expected),
            "{expected:?} not found in {arrows:?}"
        );
    }
}

#[test]
fn the_map_has_no_cycle() {
    let allowed = allowed();
    // Kahn's algorithm: repeatedly remove modules that name nothing left.
    let mut remaining = allowed.clone();
    while !remaining.is_empty() {
        let leaves: Vec<&str> = remaining
            .iter()
            .filter(|(_, targets)| targets.iter().all(|t| !remaining.contains_key(t)))
            .map(|(module, _)| *module)
            .collect();
        assert!(
            !leaves.is_empty(),
            "the map has a cycle among {:?}",
            remaining.keys()
        );
        for leaf in leaves {
            remaining.remove(leaf);
        }
    }
}

#[test]
fn use_trees_paths_and_super_are_all_read() {
    let source = "
        use crate::{auth::{Auth, model::User}, error::Error as E};
        use super::{rows::UserRow, Store};
        fn f() { crate::store::Pools::Sqlite; } // crate::demo in a comment is no arrow
    ";
    let found = targets(source, Some("rest"));
    let expected: BTreeSet<String> = ["auth", "auth::model", "error", "rest", "store"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, expected);
    // A forbidden arrow in that shape is reported.
    assert!(targets("use crate::{error::Error, store::Store};", None).contains("store"));
}
