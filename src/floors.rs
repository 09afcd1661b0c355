//! The floors of the code, from the ground up, and a test that fails when a module reaches a
//! floor above its own. `ARCHITECTURE.md` explains them; this table is what is enforced. Beside
//! it, the sizes a reader can hold in mind: no source file over 600 lines, no function over 80.
//!
//! A module may use its own floor and the floors below it, never one above: the practice's
//! rules know nothing of the database, the database nothing of HTTP, and nothing below the
//! wiring knows how the server is put together.

/// Each top-level module of the crate and its floor (0 is the ground).
pub const FLOORS: &[(&str, u8)] = &[
    // The practice's rules, the access policy and the settings: pure, no I/O.
    ("domain", 0),
    ("config", 0),
    ("fingerprint", 0),
    // Loading and storing.
    ("db", 1),
    // Who is calling; backups; the webhook delivery worker; logs and metrics.
    ("auth", 2),
    ("backup", 2),
    ("webhooks", 2),
    ("telemetry", 2),
    // The HTTP error type, the state every request shares, the use cases.
    ("error", 3),
    ("replica", 3),
    ("state", 3),
    // One unit of work per use case, called by the handlers.
    ("usecases", 3),
    // Handlers, extractors and middleware.
    ("api", 4),
    // Wiring: the OpenAPI document, the server, the demo practice.
    ("openapi", 5),
    ("startup", 5),
    ("demo", 5),
    // The command line.
    ("cli", 6),
];

/// The domain's deciding functions: triage, the engine and its trace, the step's windows, the
/// plan's gates and moves, today's prescription, recovery. `db` loads and stores and decides
/// nothing, so it names none of them; the use cases ask them.
pub const DECIDING: &[&str] = &[
    "triage",
    "bone_stress_risk",
    "emergency_number",
    "advisories",
    "recommend",
    "explain",
    "applies_itself",
    "weeks",
    "weekly_volume_cap",
    "over_weekly_cap",
    "counts_session",
    "counts_report",
    "counts_readiness",
    "next_step",
    "previous_step",
    "check_entry_gate",
    "check_recovery_floor",
    "check_oasi_hold",
    "apply_transition",
    "prescribe",
    "safety_notes",
    "r11_recovery",
    "recovery_week",
];

/// The names of `names` that a piece of source calls (`name(` or `name::<`, not part of a
/// longer name), comments skipped.
pub fn calls<'a>(source: &str, names: &[&'a str]) -> Vec<&'a str> {
    let mut found = Vec::new();
    for line in source.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for &name in names {
            let called = code.match_indices(name).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = &code[at + name.len()..];
                !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    && (after.starts_with('(') || after.starts_with("::<"))
            });
            if called && !found.contains(&name) {
                found.push(name);
            }
        }
    }
    found
}

/// The floor of a top-level module, if it has one.
pub fn floor(module: &str) -> Option<u8> {
    FLOORS.iter().find(|(m, _)| *m == module).map(|(_, f)| *f)
}

/// The top-level modules a piece of source names through `crate::` paths (comments skipped),
/// including each name of a `use crate::{a, b::c}` group.
pub fn modules_used(source: &str) -> Vec<String> {
    let mut used = Vec::new();
    for line in source.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let mut depth = 0;
                let mut piece = String::new();
                let mut pieces = Vec::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            pieces.push(std::mem::take(&mut piece));
                            continue;
                        }
                        _ => {}
                    }
                    piece.push(c);
                }
                pieces.push(piece);
                used.extend(pieces.iter().map(|p| leading_name(p.trim())));
            } else {
                used.push(leading_name(after));
            }
            rest = after;
        }
    }
    used.retain(|m| !m.is_empty());
    used
}

/// No source file is longer than this many lines.
pub const MAX_FILE_LINES: usize = 600;
/// No function is longer than this many lines, from its `fn` line to its closing brace.
pub const MAX_FUNCTION_LINES: usize = 80;

/// Each function of a piece of rustfmt-formatted source: its name and its length in lines.
pub fn function_lengths(source: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let mut rest = code;
        for prefix in [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "const ",
            "async ",
            "unsafe ",
        ] {
            rest = rest.strip_prefix(prefix).unwrap_or(rest);
        }
        let Some(signature) = rest.strip_prefix("fn ") else {
            continue;
        };
        let name = leading_name(signature);
        // A declaration without a body (in a trait) ends on its own line with `;`.
        if code.ends_with(';') {
            continue;
        }
        let closing = format!("{indent}}}");
        let end = (i..lines.len())
            .find(|&j| lines[j] == closing || (j == i && code.ends_with('}')))
            .unwrap_or(i);
        found.push((name, end - i + 1));
    }
    found
}

fn leading_name(path: &str) -> String {
    path.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The sibling modules a file of module `parent::own` names: `super::x` from `own`'s own file,
/// `super::super::x` from a file one folder down, and `crate::parent::x` from anywhere (comments
/// skipped). `depth` is 1 for `src/parent/own.rs`, 2 for `src/parent/own/child.rs`.
pub fn siblings_used(source: &str, parent: &str, depth: usize) -> Vec<String> {
    let supers = "super::".repeat(depth);
    let absolute = format!("crate::{parent}::");
    let mut used = Vec::new();
    for line in source.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for prefix in [supers.as_str(), absolute.as_str()] {
            for (at, _) in code.match_indices(prefix) {
                let before = code[..at].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let name = leading_name(&code[at + prefix.len()..]);
                if !name.is_empty() && name != "super" && !used.contains(&name) {
                    used.push(name);
                }
            }
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sources(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn groups_and_paths_are_read_and_comments_skipped() {
        let text = "use crate::{db::{self, audit}, domain::plan::Step};\n\
                    // see crate::startup\n\
                    let x = crate::api::forwarded::client_ip(r);\n\
                    /// [`crate::cli`]\n";
        assert_eq!(modules_used(text), vec!["db", "domain", "api"]);
    }

    #[test]
    fn function_lengths_are_counted_to_the_closing_brace() {
        let text = "fn one() {}\n\
                    pub async fn two(\n    a: u8,\n) -> u8 {\n    a\n}\n\
                    impl X {\n    pub(crate) fn three(&self) {\n        if x {\n        }\n    }\n}\n\
                    trait T {\n    fn four(&self);\n}\n";
        assert_eq!(
            function_lengths(text),
            vec![("one".into(), 1), ("two".into(), 5), ("three".into(), 4)]
        );
    }

    #[test]
    fn no_file_is_over_600_lines_and_no_function_over_80() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut long = Vec::new();
        for file in &files {
            let relative = file
                .strip_prefix(&src)
                .expect("under src")
                .display()
                .to_string();
            let text = std::fs::read_to_string(file).expect("readable source");
            let lines = text.lines().count();
            if lines > MAX_FILE_LINES {
                long.push(format!("{relative}: {lines} lines"));
            }
            for (name, length) in function_lengths(&text) {
                if length > MAX_FUNCTION_LINES {
                    long.push(format!("{relative}: fn {name} is {length} lines"));
                }
            }
        }
        assert!(
            long.is_empty(),
            "too long to read at once:\n{}",
            long.join("\n")
        );
    }

    #[test]
    fn calls_are_told_from_longer_names_and_comments() {
        let text = "let t = triage::triage(a, b);\n\
                    let l = f.triage_level();\n\
                    // engine::recommend(&input)\n\
                    let w = engine::weeks::<u8>(x);\n";
        assert_eq!(calls(text, DECIDING), vec!["triage", "weeks"]);
    }

    #[test]
    fn the_database_floor_decides_nothing() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut domain = Vec::new();
        sources(&src.join("domain"), &mut domain);
        let domain: String = domain
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("readable source"))
            .collect();
        for name in DECIDING {
            assert!(
                domain.contains(&format!("pub fn {name}("))
                    || domain.contains(&format!("pub fn {name}<")),
                "{name} is not a function of domain: keep DECIDING true"
            );
        }
        let mut files = Vec::new();
        sources(&src.join("db"), &mut files);
        let mut deciding = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(file).expect("readable source");
            // A function of the file's own with the same name (`tls::explain`) is not the rule.
            let own = |name: &str| {
                text.contains(&format!("fn {name}(")) || text.contains(&format!("fn {name}<"))
            };
            for name in calls(&text, DECIDING) {
                if !own(name) {
                    deciding.push(format!("{} calls {name}", file.display()));
                }
            }
        }
        assert!(files.len() > 10, "the database floor's sources were found");
        assert!(
            deciding.is_empty(),
            "the database floor decides:\n{}",
            deciding.join("\n")
        );
    }

    #[test]
    fn no_module_uses_a_floor_above_its_own() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut wrong = Vec::new();
        for file in &files {
            let relative = file.strip_prefix(&src).expect("under src");
            let first = relative.components().next().expect("a path");
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            // The crate root, the binary, and this checker (whose test text names floors on purpose).
            if matches!(module.as_str(), "lib" | "main" | "floors") {
                continue;
            }
            let Some(own) = floor(&module) else {
                wrong.push(format!("{module} has no floor in floors::FLOORS"));
                continue;
            };
            let text = std::fs::read_to_string(file).expect("readable source");
            for used in modules_used(&text) {
                match floor(&used) {
                    Some(f) if f <= own => {}
                    Some(f) => wrong.push(format!(
                        "{} (floor {own}) uses {used} (floor {f})",
                        relative.display()
                    )),
                    None => wrong.push(format!(
                        "{} uses {used}, which has no floor",
                        relative.display()
                    )),
                }
            }
        }
        assert!(files.len() > 50, "the sources were found");
        assert!(wrong.is_empty(), "floors crossed:\n{}", wrong.join("\n"));
    }

    /// Modules of one folder depend one way: no two of them name each other, however far
    /// round (a circle means neither can be read, tested or moved without the other).
    #[test]
    fn no_import_circle_between_the_modules_of_a_folder() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut edges: std::collections::BTreeMap<(String, String), Vec<String>> =
            Default::default();
        for file in &files {
            let relative = file.strip_prefix(&src).expect("under src");
            let parts: Vec<String> = relative
                .components()
                .map(|c| {
                    c.as_os_str()
                        .to_string_lossy()
                        .trim_end_matches(".rs")
                        .to_string()
                })
                .collect();
            if parts.len() < 2
                || parts
                    .iter()
                    .any(|p| p.ends_with("tests") || p == "properties")
            {
                continue;
            }
            let (parent, own) = (&parts[0], &parts[1]);
            let text = std::fs::read_to_string(file).expect("readable source");
            let used = siblings_used(&text, parent, parts.len() - 1);
            let key = (parent.clone(), own.clone());
            let entry = edges.entry(key).or_default();
            entry.extend(used.into_iter().filter(|u| u != own && u != "mod"));
        }
        // A module is on a circle when it can reach itself through its siblings.
        let mut circles = Vec::new();
        for ((parent, own), used) in &edges {
            let mut seen: Vec<&String> = Vec::new();
            let mut next: Vec<&String> = used.iter().collect();
            while let Some(module) = next.pop() {
                if seen.contains(&module) {
                    continue;
                }
                seen.push(module);
                if let Some(further) = edges.get(&(parent.clone(), module.clone())) {
                    next.extend(further);
                }
            }
            if seen.contains(&own) {
                circles.push(format!("{parent}/{own} reaches itself"));
            }
        }
        assert!(edges.len() > 30, "the modules were found");
        assert!(
            circles.is_empty(),
            "import circles:\n{}",
            circles.join("\n")
        );
    }

    #[test]
    fn siblings_are_read_from_super_and_crate_paths() {
        let text = "use super::clients::Client;\nuse crate::db::plans::{Plan};\n\
                    // use super::flags;\nlet x = super::super::audit::record(a);\n";
        assert_eq!(siblings_used(text, "db", 1), ["clients", "plans"]);
        assert_eq!(siblings_used(text, "db", 2), ["plans", "audit"]);
    }

    /// A module says what it takes from its parent: a child file that begins with
    /// `use super::*` is a piece cut off at a length, not a module (test files excepted).
    #[test]
    fn no_module_takes_its_parent_whole() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let whole: Vec<String> = files
            .iter()
            .filter(|f| {
                let name = f.file_stem().unwrap_or_default().to_string_lossy();
                !name.ends_with("tests") && name != "properties"
            })
            .filter(|f| {
                std::fs::read_to_string(f)
                    .expect("readable source")
                    .lines()
                    .any(|l| l == "use super::*;")
            })
            .map(|f| {
                f.strip_prefix(&src)
                    .expect("under src")
                    .display()
                    .to_string()
            })
            .collect();
        assert!(
            whole.is_empty(),
            "modules taking their parent whole:\n{}",
            whole.join("\n")
        );
    }
}
