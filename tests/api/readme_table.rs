//! The README's configuration table (with the Limits table it points to for the port's
//! limits) names every setting `authd --help` shows, with the environment variable `--help`
//! gives it: a flag added without a row (or renamed without its row) fails here.

use std::collections::BTreeMap;

/// `--flag` → `AUTHD_VARIABLE` (or `None`) as `authd --help` lists them.
fn settings_in_help() -> BTreeMap<String, Option<String>> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let mut settings = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in help.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("--") {
            let flag: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if flag != "help" && flag != "version" {
                settings.insert(format!("--{flag}"), None);
                last = Some(format!("--{flag}"));
            }
        }
        if let (Some(flag), Some(start)) = (&last, line.find("[env: ")) {
            let variable: String = line[start + 6..]
                .chars()
                .take_while(|c| *c != '=' && *c != ']')
                .collect();
            settings.insert(flag.clone(), Some(variable));
            last = None;
        }
    }
    settings
}

/// Each row of the README's configuration table, and of the Limits table its row for the
/// port's limits points to: the first two cells.
fn table_rows() -> Vec<(String, String)> {
    ["\n## Configuration", "\n## Limits"]
        .into_iter()
        .flat_map(section_rows)
        .collect()
}

fn section_rows(heading: &str) -> Vec<(String, String)> {
    let readme = include_str!("../../README.md");
    let start = readme.find(heading).expect("the README section");
    let section = &readme[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    section[..end]
        .lines()
        .filter(|line| line.starts_with("| `--") || line.starts_with("| —"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_string(),
                cells[2].trim_matches('`').to_string(),
            )
        })
        .collect()
}

#[test]
fn the_configuration_table_names_every_setting_with_its_variable() {
    let help = settings_in_help();
    assert!(help.len() > 30, "read {} settings from --help", help.len());
    let rows = table_rows();
    let missing: Vec<&String> = help
        .keys()
        .filter(|flag| !rows.iter().any(|(name, _)| name == *flag))
        .collect();
    assert!(
        missing.is_empty(),
        "README's configuration table has no row for {missing:?}"
    );
    for (flag, variable) in &help {
        let row = rows.iter().find(|(name, _)| name == flag);
        let Some((_, listed)) = row else {
            panic!("README's configuration table has no row for {flag}");
        };
        if let Some(variable) = variable {
            assert_eq!(
                listed, variable,
                "{flag}: README says {listed}, --help says {variable}"
            );
        }
    }
    for (flag, _) in rows
        .iter()
        .filter(|(name, _)| name.starts_with("--") && !name.contains(' '))
    {
        assert!(
            help.contains_key(flag),
            "README lists {flag}, which --help does not show"
        );
    }
}
