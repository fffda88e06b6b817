//! The documentation of every configuration key, for `nmf config` (and so for shell
//! completion). A test holds it to the keys [`super::config::Options`] accepts.

/// One key of `[tool.nmf]` / `nmf.toml`.
#[derive(Debug)]
pub struct OptionDoc {
    /// As written in the file.
    pub name: &'static str,
    /// Its TOML type.
    pub kind: &'static str,
    pub default: &'static str,
    /// What it does, in Markdown.
    pub doc: &'static str,
    /// A line of TOML setting it.
    pub example: &'static str,
}

/// Every key, in the order the README lists them.
pub const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        name: "select",
        kind: "list[str]",
        default: r#"["NMF"]"#,
        doc: "The rules to enable: codes (`NMF001`), prefixes (`NMF`, `NMF0`), names \
              (`module-forward-call`) or `ALL`. Replaces the default; `--select` replaces it in turn.",
        example: r#"select = ["NMF001", "NMF002"]"#,
    },
    OptionDoc {
        name: "extend-select",
        kind: "list[str]",
        default: "[]",
        doc: "Rules to enable in addition to `select`, written as in `select`.",
        example: r#"extend-select = ["NMF005"]"#,
    },
    OptionDoc {
        name: "ignore",
        kind: "list[str]",
        default: "[]",
        doc: "Rules to disable, written as in `select`; a more specific selector wins over a less \
              specific one, and `ignore` wins a tie.",
        example: r#"ignore = ["NMF002"]"#,
    },
    OptionDoc {
        name: "exclude",
        kind: "list[str]",
        default: "[\".bzr\", \".direnv\", \".eggs\", \".git\", \".git-rewrite\", \".hg\", \
                  \".ipynb_checkpoints\", \".mypy_cache\", \".nox\", \".pants.d\", \".pyenv\", \
                  \".pytest_cache\", \".pytype\", \".ruff_cache\", \".svn\", \".tox\", \".venv\", \
                  \".vscode\", \"__pypackages__\", \"_build\", \"buck-out\", \"dist\", \
                  \"node_modules\", \"site-packages\", \"venv\"]",
        doc: "Glob patterns of files and folders a walk skips, replacing the default list. A \
              pattern matches a name, or a path relative to the configuration's folder. Paths \
              named on the command line are checked anyway, unless `force-exclude`.",
        example: r#"exclude = [".venv", "build"]"#,
    },
    OptionDoc {
        name: "extend-exclude",
        kind: "list[str]",
        default: "[]",
        doc: "Glob patterns to skip in addition to `exclude`.",
        example: r#"extend-exclude = ["generated"]"#,
    },
    OptionDoc {
        name: "include",
        kind: "list[str]",
        default: r#"["*.py", "*.pyi", "*.ipynb"]"#,
        doc: "Glob patterns of the files a folder walk checks. A file named on the command line \
              is checked whatever its name.",
        example: r#"include = ["*.py"]"#,
    },
    OptionDoc {
        name: "extend-include",
        kind: "list[str]",
        default: "[]",
        doc: "Glob patterns of files to check in addition to `include`.",
        example: r#"extend-include = ["*.pyw"]"#,
    },
    OptionDoc {
        name: "per-file-ignores",
        kind: "dict[str, list[str]]",
        default: "{}",
        doc: "Rules to disable in the files a glob matches (as in `exclude`).",
        example: r#"per-file-ignores = { "tests/*.py" = ["NMF001"] }"#,
    },
    OptionDoc {
        name: "output-format",
        kind: r#""concise" | "full" | "json" | "json-lines" | "github" | "sarif""#,
        default: r#""concise""#,
        doc: "How findings are printed: `concise` is flake8's `path:line:col: CODE message`; \
              `full` frames each finding in its code, as ruff's default; `github` makes workflow \
              annotations; `sarif` is for code scanning.",
        example: r#"output-format = "full""#,
    },
    OptionDoc {
        name: "known-modules-only",
        kind: "bool",
        default: "false",
        doc: "Report `.forward()` calls only on receivers known to be `nn.Module`s, not on those \
              nmf cannot type.",
        example: "known-modules-only = true",
    },
    OptionDoc {
        name: "not-module-packages",
        kind: "list[str]",
        default: "[]",
        doc: "Packages whose objects are never `nn.Module`s, added to nmf's own table: a \
              `.forward()` on them is not reported.",
        example: r#"not-module-packages = ["my_pipelines"]"#,
    },
    OptionDoc {
        name: "module-factories",
        kind: "list[str]",
        default: "[]",
        doc: "Callables that make `nn.Module`s, added to nmf's table of factories (timm, \
              torchvision, transformers, diffusers, `torch.jit`): qualified names of what is \
              called, `Class.method` for a class's method, `*` for any run of characters within \
              one dotted part. What they make is a known module.",
        example: r#"module-factories = ["mylib.build_model", "mylib.*.load"]"#,
    },
    OptionDoc {
        name: "not-module-factories",
        kind: "list[str]",
        default: "[]",
        doc: "Callables that make no `nn.Module`s, added to nmf's table of factories and \
              written as in `module-factories`: a `.forward()` on what they make is not reported.",
        example: r#"not-module-factories = ["mylib.make_pipeline"]"#,
    },
    OptionDoc {
        name: "extra-paths",
        kind: "list[str]",
        default: "[]",
        doc: "Folders to follow imports into after the project's own, relative to the \
              configuration's folder. One that does not exist is a warning.",
        example: r#"extra-paths = ["../shared/src"]"#,
    },
    OptionDoc {
        name: "python",
        kind: "str",
        default: "(none)",
        doc: "An interpreter whose site-packages to follow imports into: a path relative to the \
              configuration's folder, or `\"active\"` for the active virtual environment's.",
        example: r#"python = ".venv/bin/python""#,
    },
    OptionDoc {
        name: "respect-gitignore",
        kind: "bool",
        default: "true",
        doc: "Skip what `.gitignore`, `.ignore` and `.git/info/exclude` name when walking folders.",
        example: "respect-gitignore = false",
    },
    OptionDoc {
        name: "force-exclude",
        kind: "bool",
        default: "false",
        doc: "Apply `exclude` to paths named on the command line too (as pre-commit passes \
              them).",
        example: "force-exclude = true",
    },
    OptionDoc {
        name: "cache-dir",
        kind: "str",
        default: r#"".nmf_cache""#,
        doc: "Where the cache lives, relative to the configuration's folder.",
        example: r#"cache-dir = "~/.cache/nmf""#,
    },
    OptionDoc {
        name: "fix",
        kind: "bool",
        default: "false",
        doc: "Apply fixes by default, as `--fix` does (`--no-fix` turns it off).",
        example: "fix = true",
    },
    OptionDoc {
        name: "unsafe-fixes",
        kind: "bool",
        default: "false",
        doc: "Apply unsafe fixes too, as `--unsafe-fixes` does. Set to `false`, the summary \
              stops mentioning them.",
        example: "unsafe-fixes = true",
    },
];

/// The key named `name`.
pub fn find(name: &str) -> Option<&'static OptionDoc> {
    OPTIONS.iter().find(|option| option.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::config::Options;

    /// The keys `Options` accepts, as serde names them when refusing an unknown one.
    fn accepted_keys() -> Vec<String> {
        let error = toml::from_str::<Options>("not-a-key = 1").expect_err("unknown key");
        let message = error.to_string();
        let (_, listed) = message
            .split_once("expected one of ")
            .expect("serde lists the keys");
        listed
            .split(',')
            .map(|key| key.trim().trim_matches('`').to_string())
            .filter(|key| !key.is_empty())
            .collect()
    }

    #[test]
    fn every_key_is_documented_once_and_every_documented_key_exists() {
        let mut accepted = accepted_keys();
        let mut documented: Vec<String> = OPTIONS
            .iter()
            .map(|option| option.name.to_string())
            .collect();
        assert!(accepted.len() > 10, "{accepted:?}");
        accepted.sort();
        documented.sort();
        assert_eq!(documented, accepted);
    }

    #[test]
    fn every_example_is_valid_configuration() {
        for option in OPTIONS {
            let parsed = toml::from_str::<Options>(option.example);
            assert!(parsed.is_ok(), "{}: {parsed:?}", option.example);
        }
    }
}
