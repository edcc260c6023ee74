//! The web app's modules joined into one script, once, when the server
//! starts.
//!
//! A page that loads a graph of modules pays for every module: a request,
//! a response handled on the page's main thread, a compile and a link. On
//! this machine the app's 17 modules cost a session link 65 to 125 ms of
//! its load to first frame (docs/performance.md), on loopback and from the
//! browser's memory cache. The sources stay separate files (the unit tests
//! import them one by one, and the decoder worker still loads its module);
//! the page loads them as one script.
//!
//! The modules keep to a small subset of JavaScript's module syntax, and
//! anything outside it is an error rather than a silently broken bundle:
//! - imports on one line each: `import { a, b as c } from './x.js';`
//! - exports only as a prefix of a declaration at the start of a line:
//!   `export function`, `export async function`, `export class`,
//!   `export const`, `export let`;
//! - no dynamic `import(...)`;
//! - no import cycles.
//!
//! Each module becomes a function scope that runs once, in dependency
//! order, and returns its exports; its imports become constants taken from
//! the modules it imports. For an acyclic graph this is what the browser
//! does with the modules themselves. `import.meta.url` becomes the
//! module's own URL, so a URL built from it (the decoder worker's) stays
//! where it was; the bundle must therefore be served from the directory
//! the module paths are relative to.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// The bundle of `entry` and every module it imports, directly or not.
///
/// Paths are relative to one directory (`js/`), as `source` takes them;
/// `source` returns `None` for a file that does not exist.
pub fn bundle<'a>(entry: &str, source: impl Fn(&str) -> Option<&'a str>) -> Result<String> {
    let mut graph = Graph::default();
    graph.visit(entry, &source, &mut Vec::new())?;
    let index: HashMap<&str, usize> = graph
        .modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path.as_str(), i))
        .collect();
    let mut out = String::from(
        "// The Meshdesk web app: the modules under /assets/js/, joined by the server\n\
         // (signaling/src/bundle.rs). Each module is one function scope.\n",
    );
    for (i, module) in graph.modules.iter().enumerate() {
        out.push_str(&format!(
            "// --- {}\nconst $m{i} = (() => {{\n",
            module.path
        ));
        for line in &module.lines {
            match line {
                Line::Code(text) => out.push_str(text),
                Line::Import { names, from } => {
                    let at = index[from.as_str()];
                    let target = &graph.modules[at];
                    let mut bound = Vec::new();
                    for name in names {
                        if !target.exports.contains(&name.imported) {
                            return Err(Error::Internal(format!(
                                "{}: {} does not export {}",
                                module.path, target.path, name.imported
                            )));
                        }
                        bound.push(if name.imported == name.local {
                            name.local.clone()
                        } else {
                            format!("{}: {}", name.imported, name.local)
                        });
                    }
                    out.push_str(&format!("const {{ {} }} = $m{at};", bound.join(", ")));
                }
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "return {{ {} }};\n}})();\n",
            module.exports.join(", ")
        ));
    }
    Ok(out)
}

/// Modules in dependency order: each after everything it imports.
#[derive(Default)]
struct Graph {
    modules: Vec<Module>,
}

struct Module {
    path: String,
    lines: Vec<Line>,
    exports: Vec<String>,
}

enum Line {
    Code(String),
    Import { names: Vec<Name>, from: String },
}

struct Name {
    imported: String,
    local: String,
}

impl Graph {
    /// Adds `path` after its imports; `stack` is the chain of importers,
    /// to name a cycle.
    fn visit<'a>(
        &mut self,
        path: &str,
        source: &impl Fn(&str) -> Option<&'a str>,
        stack: &mut Vec<String>,
    ) -> Result<()> {
        if self.modules.iter().any(|m| m.path == path) {
            return Ok(());
        }
        if stack.iter().any(|p| p == path) {
            return Err(Error::Internal(format!(
                "import cycle: {} -> {path}",
                stack.join(" -> ")
            )));
        }
        let text = source(path).ok_or_else(|| {
            let by = stack
                .last()
                .map_or(String::new(), |p| format!(" (imported by {p})"));
            Error::Internal(format!("no module {path}{by}"))
        })?;
        let module = parse(path, text)?;
        stack.push(path.to_string());
        for line in &module.lines {
            if let Line::Import { from, .. } = line {
                self.visit(from, source, stack)?;
            }
        }
        stack.pop();
        self.modules.push(module);
        Ok(())
    }
}

/// Splits one module into code, imports and exports.
fn parse(path: &str, text: &str) -> Result<Module> {
    let bad = |n: usize, what: &str| Error::Internal(format!("{path}:{}: {what}", n + 1));
    // What `import.meta.url` becomes in this module, inside the bundle.
    let meta_url = format!("new URL('{path}', import.meta.url).href");
    let mut lines = Vec::new();
    let mut exports = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.contains("import(") {
            return Err(bad(n, "dynamic import() is not supported"));
        }
        let indented = line.starts_with(char::is_whitespace);
        let trimmed = line.trim_start();
        if indented && (trimmed.starts_with("import ") || trimmed.starts_with("export ")) {
            return Err(bad(n, "imports and exports must start their line"));
        }
        if let Some(rest) = line.strip_prefix("import ") {
            let (names, from) = parse_import(rest).ok_or_else(|| {
                bad(
                    n,
                    "an import must read `import { a, b as c } from './x.js';`",
                )
            })?;
            lines.push(Line::Import {
                names,
                from: resolve(path, from).ok_or_else(|| bad(n, "import outside js/"))?,
            });
            continue;
        }
        let code = if let Some(rest) = line.strip_prefix("export ") {
            let declared = ["function ", "async function ", "class ", "const ", "let "]
                .iter()
                .find_map(|kw| rest.strip_prefix(kw))
                .and_then(identifier)
                .ok_or_else(|| {
                    bad(
                        n,
                        "an export must prefix a function, class, const or let declaration",
                    )
                })?;
            exports.push(declared.to_string());
            rest
        } else {
            line
        };
        lines.push(Line::Code(code.replace("import.meta.url", &meta_url)));
    }
    Ok(Module {
        path: path.to_string(),
        lines,
        exports,
    })
}

/// `{ a, b as c } from './x.js';` into names and the specifier.
fn parse_import(rest: &str) -> Option<(Vec<Name>, &str)> {
    let rest = rest.trim_end().strip_suffix(';')?;
    let (braced, from) = rest.split_once(" from ")?;
    let inner = braced.trim().strip_prefix('{')?.strip_suffix('}')?;
    let from = from.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    let mut names = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (imported, local) = match part.split_once(" as ") {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        names.push(Name {
            imported: identifier(imported).filter(|i| *i == imported)?.to_string(),
            local: identifier(local).filter(|l| *l == local)?.to_string(),
        });
    }
    Some((names, from))
}

/// The identifier at the start of `text`, if there is one.
fn identifier(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(text.len());
    let id = &text[..end];
    (!id.is_empty() && !id.starts_with(|c: char| c.is_ascii_digit())).then_some(id)
}

/// `./x.js` or `../x.js` from `importer`, as a path relative to `js/`.
fn resolve(importer: &str, specifier: &str) -> Option<String> {
    let mut parts: Vec<&str> = importer.split('/').collect();
    parts.pop();
    let relative = specifier.starts_with("./") || specifier.starts_with("../");
    if !relative {
        return None;
    }
    for part in specifier.split('/') {
        match part {
            "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files<'a>(list: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |p| list.iter().find(|(path, _)| *path == p).map(|(_, t)| *t)
    }

    #[test]
    fn modules_come_after_what_they_import_and_once_each() {
        let src = [
            ("app.js", "import { h } from './dom.js';\nimport { view } from './session/view.js';\nview(h);"),
            ("dom.js", "export function h() {}"),
            ("session/view.js", "import { h as make } from '../dom.js';\nexport const view = (f) => make(f);"),
        ];
        let out = bundle("app.js", files(&src)).expect("bundle");
        let at = |s: &str| {
            out.find(s)
                .unwrap_or_else(|| panic!("{s} missing in\n{out}"))
        };
        assert!(at("// --- dom.js") < at("// --- session/view.js"));
        assert!(at("// --- session/view.js") < at("// --- app.js"));
        assert_eq!(out.matches("// --- dom.js").count(), 1);
        assert!(out.contains("const { h: make } = $m0;"), "{out}");
        assert!(
            out.contains("const view = (f) => make(f);\nreturn { view };"),
            "{out}"
        );
        assert!(
            out.contains("const { h } = $m0;\nconst { view } = $m1;\nview(h);\nreturn {  };"),
            "{out}"
        );
    }

    #[test]
    fn import_meta_url_stays_the_modules_own() {
        let src = [(
            "session/surface.js",
            "const w = new URL('./w.js', import.meta.url);",
        )];
        let out = bundle("session/surface.js", files(&src)).expect("bundle");
        assert!(
            out.contains("new URL('./w.js', new URL('session/surface.js', import.meta.url).href)"),
            "{out}"
        );
    }

    #[test]
    fn what_the_bundle_cannot_keep_is_an_error_naming_the_place() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("a.js", "import x from './b.js';")],
                "a.js:1: an import must read",
            ),
            (
                &[("a.js", "import {\n  x,\n} from './b.js';")],
                "a.js:1: an import must read",
            ),
            (
                &[("a.js", "export default 1;")],
                "a.js:1: an export must prefix",
            ),
            (
                &[("a.js", "if (x) {\n  export const y = 1;\n}")],
                "a.js:2: imports and exports must start their line",
            ),
            (
                &[("a.js", "const x = 1;\nexport { x };")],
                "a.js:2: an export must prefix",
            ),
            (
                &[("a.js", "const m = await import('./b.js');")],
                "a.js:1: dynamic import()",
            ),
            (
                &[("a.js", "import { x } from 'lib';")],
                "a.js:1: import outside js/",
            ),
            (
                &[("a.js", "import { x } from './b.js';")],
                "no module b.js (imported by a.js)",
            ),
            (
                &[
                    ("a.js", "import { x } from './b.js';"),
                    ("b.js", "export const y = 1;"),
                ],
                "a.js: b.js does not export x",
            ),
            (
                &[
                    ("a.js", "import { x } from './b.js';"),
                    ("b.js", "import { y } from './a.js';\nexport const x = 1;"),
                ],
                "import cycle: a.js -> b.js -> a.js",
            ),
        ];
        for (src, want) in cases {
            let err = bundle("a.js", files(src)).expect_err(want).to_string();
            assert!(err.contains(want), "{err} does not say {want}");
        }
    }

    #[test]
    fn exports_of_every_declaration_kind_are_returned() {
        let src = [(
            "a.js",
            "export function f() {}\nexport async function g() {}\nexport class C {}\nexport const k = 1;\nexport let v = 2;",
        )];
        let out = bundle("a.js", files(&src)).expect("bundle");
        assert!(out.contains("return { f, g, C, k, v };"), "{out}");
        assert!(!out.contains("export "), "{out}");
    }
}
