//! What the C test programs (`c_programs.rs`) and the C examples
//! (`examples.rs`) both need: where the repository is, and the
//! `libmfplat.so` this cargo build made, found and loaded reliably.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `crates/mfwq-ffi`.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository root.
pub fn workspace_dir() -> PathBuf {
    manifest_dir().join("..").join("..")
}

/// The public headers, `include/`.
pub fn include_dir() -> PathBuf {
    workspace_dir().join("include")
}

/// The cargo output directory of this test: the parent of `deps/`.
fn output_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test binary has a parent directory");
    let dir = if deps.file_name().is_some_and(|name| name == "deps") {
        deps.parent().expect("deps/ has a parent")
    } else {
        deps
    };
    dir.to_path_buf()
}

/// The directory holding `libmfplat.so`, building it if it is missing.
///
/// `deps/` first: cargo writes the cdylib this test was built with there,
/// and copies it up to `target/<profile>/` only when the library itself is
/// a requested target, so the copy up there may be stale.
pub fn library_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = output_dir();
        let deps = dir.join("deps");
        if deps.join("libmfplat.so").is_file() {
            return deps;
        }
        if dir.join("libmfplat.so").is_file() {
            return dir;
        }
        // A separate target dir: the running `cargo test` holds the lock on ours.
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("libmfplat-build");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let release = dir.file_name().is_some_and(|name| name == "release");
        let mut build = Command::new(cargo);
        build
            .current_dir(workspace_dir())
            .args(["build", "-p", "mfwq-ffi", "--target-dir"])
            .arg(&target);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build -p mfwq-ffi");
        assert!(status.success(), "cargo build -p mfwq-ffi failed: {status}");
        let built = target.join(if release { "release" } else { "debug" });
        assert!(
            built.join("libmfplat.so").is_file(),
            "cargo build -p mfwq-ffi made no {}",
            built.join("libmfplat.so").display()
        );
        built
    })
}

/// `LD_LIBRARY_PATH` for running a linked program: `cargo test` puts
/// target/<profile> on it, which beats the binary's RUNPATH and may hold a
/// stale copy of the library (see [`library_dir`]), so the library this
/// test was built with comes first.
pub fn library_path() -> OsString {
    let mut path = OsString::from(library_dir());
    if let Some(inherited) = std::env::var_os("LD_LIBRARY_PATH") {
        path.push(":");
        path.push(inherited);
    }
    path
}

/// Which of the two system compilers a test program needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    /// C: `$CC`, else `cc`.
    C,
    /// C++: `$CXX`, else `c++`.
    Cxx,
}

impl Language {
    /// The environment variable that names the compiler.
    pub fn variable(self) -> &'static str {
        match self {
            Language::C => "CC",
            Language::Cxx => "CXX",
        }
    }

    fn default_compiler(self) -> &'static str {
        match self {
            Language::C => "cc",
            Language::Cxx => "c++",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Language::C => "C",
            Language::Cxx => "C++",
        }
    }

    /// The Debian package that provides the default compiler.
    fn debian_package(self) -> &'static str {
        match self {
            Language::C => "gcc",
            Language::Cxx => "g++",
        }
    }
}

/// The compiler for `language`: `$CC` / `$CXX` when set and not blank, split
/// on white space so that a wrapper works (`CC="ccache gcc"`), else `cc` /
/// `c++`.
#[derive(Clone, Debug)]
pub struct Compiler {
    language: Language,
    words: Vec<String>,
    from_env: bool,
}

impl Compiler {
    /// The compiler the environment names for `language`, or the default.
    pub fn for_language(language: Language) -> Compiler {
        let words: Vec<String> = std::env::var(language.variable())
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if words.is_empty() {
            Compiler {
                language,
                words: vec![language.default_compiler().to_owned()],
                from_env: false,
            }
        } else {
            Compiler {
                language,
                words,
                from_env: true,
            }
        }
    }

    /// A command that runs the compiler (with the wrapper's own arguments,
    /// if any); the caller adds the rest.
    pub fn command(&self) -> Command {
        let (program, args) = self
            .words
            .split_first()
            .expect("a compiler command has a program");
        let mut command = Command::new(program);
        command.args(args);
        command
    }

    /// Why the compiler could not be started, naming the tool and the
    /// variable to set: "the C++ compiler `c++` was not found: install it
    /// (Debian: apt-get install g++) or set CXX".
    pub fn spawn_error(&self, error: &std::io::Error) -> String {
        let language = self.language;
        let shown = self.words.join(" ");
        let origin = if self.from_env {
            format!(" (from {})", language.variable())
        } else {
            String::new()
        };
        let what = if error.kind() == std::io::ErrorKind::NotFound {
            "was not found".to_owned()
        } else {
            format!("cannot be run ({error})")
        };
        let remedy = if self.from_env {
            format!(
                "install it or set {} to a {} compiler that is installed",
                language.variable(),
                language.name()
            )
        } else {
            format!(
                "install it (Debian: apt-get install {}) or set {}",
                language.debian_package(),
                language.variable()
            )
        };
        format!(
            "the {} compiler `{shown}`{origin} {what}: {remedy}",
            language.name()
        )
    }
}
