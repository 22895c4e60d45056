//! The layer rules of ARCHITECTURE.md ("Layers"), checked by reading `src/`.
//!
//! Every `crate::…` and `super::…` path in a source file (comments and `#[cfg(test)]` code
//! aside) is an edge from the file's module to the module it names. Each module belongs to one
//! layer, and a layer may only name the layers below it. `KNOWN_VIOLATIONS` lists the edges that
//! break a rule today; it may only shrink: a new violation fails the test, and so does an entry
//! that no longer occurs (remove it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Edges (from module, to module) that break a layer rule today. Only ever remove entries.
const KNOWN_VIOLATIONS: &[(&str, &str)] = &[];

/// Top-level modules that are still part of an import cycle. Only ever remove entries.
const KNOWN_CYCLE: &[&str] = &[];

/// The layers, lowest first. A module may name modules of its own layer and of the layers its
/// rule allows; nothing else.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Layer {
    /// `domain`: pure types.
    Domain,
    /// `config`, `markdown`, `metrics`, `telemetry`: leaves every layer may use.
    Base,
    /// `db`: sea-orm, the only code that touches the database.
    Db,
    /// ActivityPub on the wire: documents, activities, signatures, proofs, the outgoing client.
    Protocol,
    /// `node`: the running node's shared state (settings, database, client, keys, limiters).
    Node,
    /// The delivery worker and the outbox.
    Delivery,
    /// `service`: the use cases shared by every front door.
    Service,
    /// `error`: the HTTP error type, and its mapping from service errors.
    Edge,
    /// `web`: what the HTTP front doors share (query extraction, iCalendar responses).
    Web,
    /// `api`: the native JSON API.
    Api,
    /// The ActivityPub HTTP endpoints (inbox, actors, collections, discovery).
    FederationHttp,
    /// `ui`: the server-rendered HTML pages (accounts today, the web UI later).
    Ui,
    /// `app` (composition root), `cli`, `lib`, `main`.
    Root,
}

use Layer::*;

fn allowed(from: Layer, to: Layer) -> bool {
    from == to
        || match from {
            Domain => false,
            Base => to == Domain,
            Db => matches!(to, Domain | Base),
            Protocol => matches!(to, Domain | Base | Db),
            Node => matches!(to, Domain | Base | Db | Protocol),
            Delivery => matches!(to, Domain | Base | Db | Protocol | Node),
            Service => matches!(to, Domain | Base | Db | Protocol | Node | Delivery),
            Edge => matches!(to, Domain | Base | Db | Service),
            Web => to < Web,
            Api | FederationHttp | Ui => to < Api,
            Root => true,
        }
}

/// The layer of a module path such as `service::discussions` or `activitypub::client`.
fn layer_of(module: &str) -> Layer {
    match module.split("::").next().unwrap_or_default() {
        "domain" => Domain,
        "config" | "markdown" | "metrics" | "paging" | "telemetry" => Base,
        "db" => Db,
        "activitypub" => Protocol,
        "node" => Node,
        "delivery" | "mail" => Delivery,
        "service" => Service,
        "error" => Edge,
        "web" => Web,
        "api" => Api,
        "federation" => FederationHttp,
        "ui" => Ui,
        _ => Root,
    }
}

/// External crates a layer must not use.
fn forbidden_crates(layer: Layer) -> &'static [&'static str] {
    match layer {
        Domain => &["axum", "sea_orm", "reqwest", "hyper", "serde_json"],
        Db => &["axum", "reqwest", "hyper"],
        Protocol | Node | Delivery | Service => &["axum"],
        _ => &[],
    }
}

struct Source {
    module: String,
    /// The code, without comments and without `#[cfg(test)]` items.
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(&root)
                    .expect("a file under src/")
                    .with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
                    parts[0] = "lib".into();
                }
                let text = std::fs::read_to_string(&path).expect("source is UTF-8");
                out.push(Source {
                    module: parts.join("::"),
                    code: strip(&text),
                });
            }
        }
    }
    out.sort_by(|a, b| a.module.cmp(&b.module));
    out
}

/// Drops `//` comments (doc comments included) and everything from the first `#[cfg(test)]`.
fn strip(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let line = match line.find("//") {
            // `//` inside a string (a URL) is not a comment.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    code
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands the use tree (or plain path) starting at `text` into its paths, each as segments.
fn use_tree(text: &str) -> Vec<Vec<String>> {
    fn tree(chars: &[char], at: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        loop {
            while *at < chars.len() && chars[*at].is_whitespace() {
                *at += 1;
            }
            if *at < chars.len() && chars[*at] == '{' {
                *at += 1;
                loop {
                    tree(chars, at, &path, out);
                    while *at < chars.len() && chars[*at].is_whitespace() {
                        *at += 1;
                    }
                    match chars.get(*at) {
                        Some(',') => *at += 1,
                        Some('}') => {
                            *at += 1;
                            return;
                        }
                        _ => return,
                    }
                    while *at < chars.len() && chars[*at].is_whitespace() {
                        *at += 1;
                    }
                    if chars.get(*at) == Some(&'}') {
                        *at += 1;
                        return;
                    }
                }
            }
            let start = *at;
            while *at < chars.len() && is_ident(chars[*at]) {
                *at += 1;
            }
            if start == *at {
                break;
            }
            let segment: String = chars[start..*at].iter().collect();
            if segment != "self" {
                path.push(segment);
            }
            if chars.get(*at) == Some(&':') && chars.get(*at + 1) == Some(&':') {
                *at += 2;
            } else {
                break;
            }
        }
        out.push(path);
    }
    let chars: Vec<char> = text.chars().take(4000).collect();
    let mut out = Vec::new();
    tree(&chars, &mut 0, &[], &mut out);
    out
}

/// The modules each module names, resolved to the longest known module prefix.
fn edges(sources: &[Source]) -> BTreeSet<(String, String)> {
    let modules: BTreeSet<&str> = sources.iter().map(|s| s.module.as_str()).collect();
    let mut out = BTreeSet::new();
    for source in sources {
        let code = &source.code;
        let own: Vec<&str> = if source.module == "lib" {
            Vec::new()
        } else {
            source.module.split("::").collect()
        };
        let mut starts: Vec<usize> = code
            .match_indices("crate::")
            .chain(code.match_indices("super::"))
            .map(|(at, _)| at)
            .collect();
        starts.sort_unstable();
        for start in starts {
            let before = code[..start].chars().next_back();
            if before.is_some_and(|c| is_ident(c) || c == ':') {
                continue;
            }
            let rest = &code[start..];
            let (base, tail): (Vec<&str>, &str) = if let Some(tail) = rest.strip_prefix("crate::") {
                (Vec::new(), tail)
            } else if let Some(mut tail) = rest.strip_prefix("super::") {
                let mut base = own.clone();
                base.pop();
                while let Some(more) = tail.strip_prefix("super::") {
                    base.pop();
                    tail = more;
                }
                (base, tail)
            } else {
                continue;
            };
            for path in use_tree(tail) {
                let mut full: Vec<String> = base.iter().map(|s| s.to_string()).collect();
                full.extend(path);
                let target = (1..=full.len())
                    .rev()
                    .map(|n| full[..n].join("::"))
                    .find(|m| modules.contains(m.as_str()));
                if let Some(target) = target {
                    if target != source.module && !source.module.starts_with(&format!("{target}::"))
                    {
                        out.insert((source.module.clone(), target));
                    }
                }
            }
        }
    }
    out
}

fn violations(sources: &[Source]) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (from, to) in edges(sources) {
        if !allowed(layer_of(&from), layer_of(&to)) {
            out.insert((from, to));
        }
    }
    for source in sources {
        for name in forbidden_crates(layer_of(&source.module)) {
            let used = source.code.match_indices(name).any(|(at, _)| {
                let before = source.code[..at].chars().next_back();
                let after = &source.code[at + name.len()..];
                !before.is_some_and(|c| is_ident(c) || c == ':')
                    && (after.starts_with("::") || after.starts_with(';'))
            });
            if used {
                out.insert((source.module.clone(), format!("extern {name}")));
            }
        }
    }
    out
}

/// Top-level modules that sit on a cycle of the top-level import graph.
fn top_level_cycle(sources: &[Source]) -> BTreeSet<String> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in edges(sources) {
        let from = from.split("::").next().unwrap_or_default().to_string();
        let to = to.split("::").next().unwrap_or_default().to_string();
        if from != to && from != "lib" {
            graph.entry(from).or_default().insert(to);
        }
    }
    let reaches = |start: &str, goal: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.to_string()];
        while let Some(node) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == goal {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        false
    };
    graph.keys().filter(|m| reaches(m, m)).cloned().collect()
}

#[test]
fn layers_import_downward_only() {
    let sources = sources();
    assert!(
        sources.len() > 40,
        "src/ was not read: {} files",
        sources.len()
    );
    let found = violations(&sources);
    let known: BTreeSet<(String, String)> = KNOWN_VIOLATIONS
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        new.is_empty(),
        "imports that break a layer rule (see ARCHITECTURE.md, Layers): {new:#?}"
    );
    assert!(
        gone.is_empty(),
        "no longer violated, remove from KNOWN_VIOLATIONS: {gone:#?}"
    );
}

#[test]
fn top_level_modules_form_no_cycle() {
    let cycle = top_level_cycle(&sources());
    let known: BTreeSet<String> = KNOWN_CYCLE.iter().map(|m| m.to_string()).collect();
    assert_eq!(
        cycle, known,
        "top-level modules on an import cycle (KNOWN_CYCLE may only shrink)"
    );
}

#[test]
fn the_checker_sees_what_it_should() {
    // The checker itself: a grouped use, a `super` path and a comment.
    let sources = vec![
        Source {
            module: "db".into(),
            code: strip("use crate::{domain::Name, service::discussions::{self, X}};\n"),
        },
        Source {
            module: "domain".into(),
            code: strip("// crate::db is only mentioned\nuse axum::Json;\n"),
        },
        Source {
            module: "service::discussions".into(),
            code: strip("fn f() { super::events::g(); crate::api::h() }\n"),
        },
        Source {
            module: "service::events".into(),
            code: strip("use crate::db::Row;\n"),
        },
        Source {
            module: "service".into(),
            code: String::new(),
        },
        Source {
            module: "api".into(),
            code: String::new(),
        },
    ];
    let edges = edges(&sources);
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert!(edges.contains(&pair("db", "domain")));
    assert!(edges.contains(&pair("db", "service::discussions")));
    assert!(edges.contains(&pair("service::discussions", "service::events")));
    assert!(!edges.iter().any(|(from, _)| from == "domain"));
    let found = violations(&sources);
    assert!(found.contains(&pair("db", "service::discussions")));
    assert!(found.contains(&pair("service::discussions", "api")));
    assert!(found.contains(&pair("domain", "extern axum")));
    assert!(!found.contains(&pair("db", "domain")));
    assert_eq!(
        top_level_cycle(&sources),
        BTreeSet::from(["db".to_string(), "service".to_string()])
    );
}
