//! The dependency check: no module of src/ may reach, through its imports, back to itself.
//!
//! Dependencies point one way (routes -> services -> models and live -> db, with domain, clock
//! and the other leaves below), so that each layer can be read, tested and changed without the
//! ones above it. The compiler allows cycles between modules of one crate; this test does not.
//! It reads every path that names a module of the crate (`use crate::...`, grouped imports,
//! `crate::x::` and `super::` paths written inline) and checks each folder of src/ on its own:
//! the top-level modules against each other (src/X.rs or src/X/ is module X), then the files of
//! each folder (a folder's mod.rs counts as one of them, but its `pub use` lines do not: a
//! re-export is a window, not a use, and a name reached through one counts as the file that
//! defines it).
//!
//! Only the standard library is used, so the check builds in a moment and needs no crate of its
//! own.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

#[test]
fn no_module_of_src_depends_on_itself_through_others() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let crate_ = Crate::read(&src);
    let cycles = crate_.cycles();
    assert!(
        cycles.is_empty(),
        "import cycles in src/ (each line: the module, the path it uses, where):\n\n{}",
        cycles.join("\n")
    );
}

#[test]
fn a_cycle_in_a_hand_made_graph_is_found_and_named() {
    let mut graph = Graph::default();
    graph.add("routes", "chat", "routes.rs:1");
    graph.add("chat", "models", "chat.rs:1");
    graph.add("models", "db", "models.rs:1");
    graph.add("db", "errors", "db.rs:1");
    graph.add("errors", "models", "errors.rs:1");
    graph.add("clock", "clock", "a module using itself is no cycle");
    let cycles = graph.cycles();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    let names: Vec<&str> = cycles[0].iter().map(|(from, _, _)| from.as_str()).collect();
    assert_eq!(names, ["db", "errors", "models"]);
    assert_eq!(cycles[0][0].1, "errors");

    let mut one_way = Graph::default();
    one_way.add("routes", "chat", "");
    one_way.add("chat", "db", "");
    one_way.add("routes", "db", "");
    assert!(one_way.cycles().is_empty());
}

#[test]
fn grouped_nested_and_relative_paths_are_read() {
    let uses = paths_in(
        "use crate::{a, b::{c, d::e}, f as g};\n\
         // use crate::commented::out;\n\
         let s = \"crate::in_a_string\";\n\
         fn x() { crate::h::call(); super::sibling::y(); }\n\
         pub use self::child::Thing;\n\
         pub(crate) use crate::shown::Item;\n\
         mod inner { use super::super::up; }\n",
        &["p".into(), "q".into()],
    );
    let found: Vec<(String, bool)> = uses
        .iter()
        .map(|u| (u.path.join("::"), u.re_export))
        .collect();
    assert_eq!(
        found,
        [
            ("a".to_string(), false),
            ("b::c".to_string(), false),
            ("b::d::e".to_string(), false),
            ("f".to_string(), false),
            ("h::call".to_string(), false),
            ("p::sibling::y".to_string(), false),
            ("p::q::child::Thing".to_string(), true),
            ("shown::Item".to_string(), true),
            ("p::up".to_string(), false),
        ]
    );
}

/// One path to an item of the crate, made absolute (`crate` is the empty path).
struct Use {
    path: Vec<String>,
    line: usize,
    /// A `pub use`: the file shows the item, it does not use it.
    re_export: bool,
}

/// Every module file of src/, by its module path.
struct Crate {
    files: BTreeMap<Vec<String>, (PathBuf, Vec<Use>)>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        let mut stack = vec![(src.to_path_buf(), Vec::<String>::new())];
        while let Some((dir, module)) = stack.pop() {
            for entry in fs::read_dir(&dir).expect("src/ is readable") {
                let path = entry.expect("src/ is readable").path();
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .expect("file names are UTF-8")
                    .to_string();
                let mut child = module.clone();
                if path.is_dir() {
                    child.push(name);
                    stack.push((path, child));
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                // lib.rs only declares the modules; main.rs is another crate.
                if module.is_empty() && (name == "lib" || name == "main") {
                    continue;
                }
                if name != "mod" {
                    child.push(name);
                }
                let text = fs::read_to_string(&path).expect("a source file is readable");
                let uses = paths_in(&text, &child);
                files.insert(child, (path, uses));
            }
        }
        Crate { files }
    }

    /// Whether `module` is a file (or folder) of its own.
    fn is_module(&self, module: &[String]) -> bool {
        self.files.contains_key(module)
    }

    /// The folders: every module that has a module file below it, the crate itself included.
    fn folders(&self) -> BTreeSet<Vec<String>> {
        let mut folders = BTreeSet::new();
        for module in self.files.keys() {
            for len in 0..module.len() {
                folders.insert(module[..len].to_vec());
            }
        }
        folders
    }

    /// The child of `folder` that owns `path`, following the folder's re-exports; `None` when the
    /// path leaves the folder, and the folder itself (its mod.rs) when no child owns it.
    fn owner_in(&self, folder: &[String], path: &[String]) -> Option<String> {
        if path.len() <= folder.len() || path[..folder.len()] != *folder {
            return None;
        }
        let first = &path[folder.len()];
        let child: Vec<String> = folder.iter().chain([first]).cloned().collect();
        if self.is_module(&child) {
            return Some(first.clone());
        }
        // A name that the folder's mod.rs shows from one of its children.
        if let Some((_, uses)) = self.files.get(folder) {
            for shown in uses.iter().filter(|u| u.re_export) {
                let itself =
                    shown.path.len() == folder.len() + 1 && shown.path[..folder.len()] == *folder;
                if shown.path.last() == Some(first) && !itself {
                    // Shown from outside the folder (`pub use crate::db::X`): no file of it.
                    match self.owner_in(folder, &shown.path) {
                        None => return None,
                        Some(owner) if owner != "mod" => return Some(owner),
                        Some(_) => {}
                    }
                }
            }
        }
        Some("mod".to_string())
    }

    fn cycles(&self) -> Vec<String> {
        let mut report = Vec::new();
        for folder in self.folders() {
            let mut graph = Graph::default();
            for (module, (file, uses)) in &self.files {
                let Some(from) = self
                    .owner_in(&folder, module)
                    .or_else(|| (*module == folder).then(|| "mod".to_string()))
                else {
                    continue;
                };
                let shown = file
                    .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")))
                    .unwrap_or(file)
                    .display()
                    .to_string();
                for used in uses {
                    if used.re_export && *module == folder {
                        continue;
                    }
                    if let Some(to) = self.owner_in(&folder, &used.path) {
                        let what =
                            format!("crate::{} ({shown}:{})", used.path.join("::"), used.line);
                        graph.add(&from, &to, &what);
                    }
                }
            }
            // LAYERS_SHOW=models (or `src` for the top level) prints a folder's whole graph.
            let shown_folder = if folder.is_empty() {
                "src".to_string()
            } else {
                folder.join("/")
            };
            if std::env::var("LAYERS_SHOW").is_ok_and(|f| f == shown_folder) {
                for (from, tos) in &graph.edges {
                    for (to, what) in tos {
                        eprintln!("{from} -> {to}: {what}");
                    }
                }
            }
            let name = if folder.is_empty() {
                "src/".to_string()
            } else {
                format!("src/{}/", folder.join("/"))
            };
            for (group, cycle) in graph.groups().iter().zip(graph.cycles()) {
                let members: Vec<&str> = group.iter().map(String::as_str).collect();
                report.push(format!(
                    "between the modules of {name} ({} reach each other), one cycle:",
                    members.join(", ")
                ));
                for (from, to, what) in cycle {
                    report.push(format!("  {from} -> {to}: {what}"));
                }
            }
        }
        report
    }
}

/// Which module uses which, with the first place that shows it.
#[derive(Default)]
struct Graph {
    edges: BTreeMap<String, BTreeMap<String, String>>,
}

impl Graph {
    fn add(&mut self, from: &str, to: &str, what: &str) {
        if from == to {
            return;
        }
        self.edges
            .entry(from.to_string())
            .or_default()
            .entry(to.to_string())
            .or_insert_with(|| what.to_string());
        self.edges.entry(to.to_string()).or_default();
    }

    /// One cycle for each group of modules that reach each other (Tarjan's strongly connected
    /// components), each as its edges in order, starting from the group's first module by name.
    fn cycles(&self) -> Vec<Vec<(String, String, String)>> {
        let mut cycles = Vec::new();
        for group in self.groups() {
            let start = group.iter().next().expect("a group is never empty").clone();
            // The shortest way back to the start, inside the group (breadth first).
            let mut came_from: BTreeMap<String, String> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start.clone()]);
            let mut last = None;
            'search: while let Some(node) = queue.pop_front() {
                for next in self.edges[&node].keys() {
                    if !group.contains(next) {
                        continue;
                    }
                    if *next == start {
                        last = Some(node.clone());
                        break 'search;
                    }
                    if !came_from.contains_key(next) {
                        came_from.insert(next.clone(), node.clone());
                        queue.push_back(next.clone());
                    }
                }
            }
            let mut node = last.expect("a group of two or more holds a cycle");
            let mut path = vec![start.clone()];
            while node != start {
                path.push(node.clone());
                node = came_from[&node].clone();
            }
            path.push(start.clone());
            path.reverse();
            let cycle = path
                .windows(2)
                .map(|pair| {
                    let what = self.edges[&pair[0]][&pair[1]].clone();
                    (pair[0].clone(), pair[1].clone(), what)
                })
                .collect();
            cycles.push(cycle);
        }
        cycles
    }

    /// The strongly connected components of two or more modules.
    fn groups(&self) -> Vec<BTreeSet<String>> {
        struct State<'a> {
            graph: &'a Graph,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            groups: Vec<BTreeSet<String>>,
        }
        fn visit<'a>(s: &mut State<'a>, node: &'a str) {
            let i = s.index.len();
            s.index.insert(node, i);
            s.low.insert(node, i);
            s.stack.push(node);
            for next in s.graph.edges[node].keys() {
                if !s.index.contains_key(next.as_str()) {
                    visit(s, next);
                    let low = s.low[node].min(s.low[next.as_str()]);
                    s.low.insert(node, low);
                } else if s.stack.contains(&next.as_str()) {
                    let low = s.low[node].min(s.index[next.as_str()]);
                    s.low.insert(node, low);
                }
            }
            if s.low[node] == s.index[node] {
                let mut group = BTreeSet::new();
                while let Some(member) = s.stack.pop() {
                    group.insert(member.to_string());
                    if member == node {
                        break;
                    }
                }
                if group.len() > 1 {
                    s.groups.push(group);
                }
            }
        }
        let mut state = State {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            groups: Vec::new(),
        };
        for node in self.edges.keys() {
            if !state.index.contains_key(node.as_str()) {
                visit(&mut state, node);
            }
        }
        state.groups.sort();
        state.groups
    }
}

/// A token of Rust source, as far as paths need: words, `::`, and single punctuation.
#[derive(Clone, PartialEq, Debug)]
enum Token {
    Word(String),
    Punct(char),
    PathSep,
}

/// The tokens of `text` with their lines, comments, strings and character literals left out.
fn tokens(text: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == 'r'
            && (at(i + 1) == '"' || (at(i + 1) == '#' && matches!(at(i + 2), '"' | '#')))
        {
            // A raw string: r"..." or r#"..."#.
            let mut hashes = 0;
            i += 1;
            while at(i) == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                if chars[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{1F600}'), or else a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // b"..." and b'x' are strings and characters too.
            if word == "b" && matches!(at(i), '"' | '\'') {
                continue;
            }
            out.push((Token::Word(word), line));
        } else if c == ':' && at(i + 1) == ':' {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            out.push((Token::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// Every path to the crate's own items in the source of module `module`, made absolute.
///
/// Read are `use` trees (grouped ones too) and paths written inline that begin with `crate`,
/// `super` or `self`; `super` counts the inline modules (`mod tests { ... }`) it leaves.
fn paths_in(text: &str, module: &[String]) -> Vec<Use> {
    let tokens = tokens(text);
    let word = |i: usize| match tokens.get(i) {
        Some((Token::Word(w), _)) => Some(w.as_str()),
        _ => None,
    };
    let is = |i: usize, t: &Token| tokens.get(i).is_some_and(|(x, _)| x == t);
    let mut uses = Vec::new();
    // The inline modules open around the current token, with the brace depth inside each.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(name, _)| name.clone()))
            .collect();
        // A module's unit tests are its clients, not its dependencies: a test may well build
        // its fixtures with the modules above it.
        let in_tests = inline.iter().any(|(name, _)| name == "tests");
        match &tokens[i].0 {
            Token::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Token::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
                i += 1;
            }
            Token::Word(w)
                if w == "mod" && word(i + 1).is_some() && is(i + 2, &Token::Punct('{')) =>
            {
                depth += 1;
                inline.push((word(i + 1).unwrap_or_default().to_string(), depth));
                i += 3;
            }
            Token::Word(w) if w == "use" => {
                // `pub use`, `pub(crate) use`, `pub(super) use`.
                let re_export = word(i.wrapping_sub(1)) == Some("pub")
                    || (is(i.wrapping_sub(1), &Token::Punct(')'))
                        && word(i.wrapping_sub(4)) == Some("pub"));
                let end = (i..tokens.len())
                    .find(|&k| is(k, &Token::Punct(';')))
                    .unwrap_or(tokens.len());
                let mut leaves = Vec::new();
                use_tree(&tokens[i + 1..end], &[], &mut leaves);
                for (relative, line) in leaves {
                    if in_tests {
                        continue;
                    }
                    if let Some(path) = absolute(&relative, &here, true) {
                        uses.push(Use {
                            path,
                            line,
                            re_export,
                        });
                    }
                }
                i = end + 1;
            }
            Token::Word(w)
                if matches!(w.as_str(), "crate" | "super" | "self")
                    && is(i + 1, &Token::PathSep) =>
            {
                let line = tokens[i].1;
                let mut relative = vec![w.clone()];
                let mut k = i + 1;
                while is(k, &Token::PathSep) {
                    match word(k + 1) {
                        Some(next) => relative.push(next.to_string()),
                        None => break,
                    }
                    k += 2;
                }
                if let Some(path) = absolute(&relative, &here, false)
                    && !in_tests
                {
                    uses.push(Use {
                        path,
                        line,
                        re_export: false,
                    });
                }
                i = k;
            }
            _ => i += 1,
        }
    }
    uses
}

/// The leaves of a use tree (`a::{b, c::{d, e as f}}`), each as its path and line; `*` and
/// `self` leaves end at the module they name.
fn use_tree(tokens: &[(Token, usize)], prefix: &[String], out: &mut Vec<(Vec<String>, usize)>) {
    let mut path = prefix.to_vec();
    let mut line = tokens.first().map_or(0, |(_, l)| *l);
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].0 {
            Token::Word(w) if w == "as" => i += 2,
            Token::Word(w) => {
                if w != "self" || path.is_empty() {
                    path.push(w.clone());
                }
                line = tokens[i].1;
                i += 1;
            }
            Token::PathSep => i += 1,
            Token::Punct('{') => {
                // The matching brace, then each comma-separated subtree at depth one.
                let mut depth = 0;
                let mut start = i + 1;
                let mut k = i;
                while k < tokens.len() {
                    match tokens[k].0 {
                        Token::Punct('{') => depth += 1,
                        Token::Punct('}') => {
                            depth -= 1;
                            if depth == 0 {
                                if start < k {
                                    use_tree(&tokens[start..k], &path, out);
                                }
                                break;
                            }
                        }
                        Token::Punct(',') if depth == 1 => {
                            if start < k {
                                use_tree(&tokens[start..k], &path, out);
                            }
                            start = k + 1;
                        }
                        _ => {}
                    }
                    k += 1;
                }
                return;
            }
            Token::Punct('*') => i += 1,
            _ => i += 1,
        }
    }
    if !path.is_empty() {
        out.push((path, line));
    }
}

/// `relative` made absolute from module `here`; `None` for a path outside the crate. A use path
/// may also begin with a child module's name (`use child::Item` in a mod.rs), which `bare` allows:
/// it is kept, resolved against `here`, and the check drops it if no such module exists.
fn absolute(relative: &[String], here: &[String], bare: bool) -> Option<Vec<String>> {
    let mut path: Vec<String> = here.to_vec();
    let mut rest = relative;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            path.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                path.pop()?;
                rest = &rest[1..];
            }
        }
        Some(_) if bare => {}
        _ => return None,
    }
    path.extend(rest.iter().cloned());
    Some(path)
}
