//! The hazard log (`docs/CLINICAL_SAFETY.md`) names, for every hazard, the tests that hold its
//! control. A name that points at no test would make the log a promise nobody keeps.

use std::path::Path;

/// The `file::function` test names the log mentions, in the order written.
fn named_tests(log: &str) -> Vec<(String, String)> {
    log.split('`')
        .filter_map(|quoted| {
            let (file, function) = quoted.split_once(".rs::")?;
            let file = format!("{file}.rs");
            let plain = |s: &str, extra: &str| {
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c))
            };
            (plain(&file, "/.")
                && plain(function, "")
                && (file.starts_with("src/") || file.starts_with("tests/")))
            .then(|| (file, function.to_string()))
        })
        .collect()
}

#[test]
fn every_test_the_hazard_log_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let log = std::fs::read_to_string(root.join("docs/CLINICAL_SAFETY.md")).unwrap();
    let named = named_tests(&log);
    assert!(named.len() >= 30, "the log names {} tests", named.len());
    let missing: Vec<String> = named
        .iter()
        .filter(|(file, function)| {
            let source = std::fs::read_to_string(root.join(file)).unwrap_or_default();
            !source.contains(&format!("fn {function}("))
        })
        .map(|(file, function)| format!("{file}::{function}"))
        .collect();
    assert!(
        missing.is_empty(),
        "named in the hazard log but not found: {missing:#?}"
    );
    // Every hazard names at least one test.
    let hazards = log
        .split("\n## H")
        .skip(1)
        .filter(|s| s.starts_with(|c: char| c.is_ascii_digit()));
    assert!(hazards.clone().count() >= 8, "the log lists the hazards");
    for section in hazards {
        let title = section.lines().next().unwrap_or_default();
        assert!(
            !named_tests(section).is_empty(),
            "hazard H{title} names no test"
        );
    }
}

#[test]
fn a_misnamed_test_is_caught() {
    let named = named_tests("see `tests/api/safety.rs::no_such_test` and `src/x.rs::y`, not `R1`");
    assert_eq!(
        named,
        [
            (
                "tests/api/safety.rs".to_string(),
                "no_such_test".to_string()
            ),
            ("src/x.rs".to_string(), "y".to_string())
        ]
    );
}
