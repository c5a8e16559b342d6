//! What to run and how often: command-line arguments over environment
//! variables over defaults.
//!
//! `cargo bench -p mfwq-bench -- [FILTER...] [--rounds N] [--warmup N]
//! [--scale X] [--idle-ms MS] [--only CONTESTANT] [--out PATH] [--no-write] [--list]`
//!
//! A FILTER selects the workloads whose name contains it (`fanout` selects
//! `fanout-mt` and `fanout-serial`). Without `--bench` (which `cargo bench`
//! passes, and `cargo test --benches` does not) the run is a quick smoke test:
//! one round, no warm-up, 1% of the work, no file written.

use std::path::PathBuf;
use std::time::Duration;

/// Command-line arguments one at a time, where a flag's value may follow
/// it (`--rounds 9`) or be joined to it (`--rounds=9`): how every option
/// parser of the benches reads its arguments.
pub(crate) struct Flags<I> {
    args: I,
    /// The value joined to the last flag returned, if any.
    joined: Option<String>,
}

impl<I: Iterator<Item = String>> Flags<I> {
    pub(crate) fn new(args: I) -> Flags<I> {
        Flags { args, joined: None }
    }

    /// The next argument: its flag (the part before `=` of `--name=value`,
    /// else the whole argument) and the argument as given.
    pub(crate) fn next_arg(&mut self) -> Option<(String, String)> {
        let arg = self.args.next()?;
        let (flag, joined) = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        self.joined = joined;
        Some((flag, arg))
    }

    /// The value of the flag [`next_arg`](Self::next_arg) returned last
    /// (`name` names it in the error).
    pub(crate) fn value(&mut self, name: &str) -> Result<String, String> {
        self.joined
            .take()
            .or_else(|| self.args.next())
            .ok_or_else(|| format!("{name} needs a value"))
    }
}

/// Rounds per contestant (after warm-up).
pub const ENV_ROUNDS: &str = "MFWQ_BENCH_ROUNDS";
/// Warm-up rounds per contestant.
pub const ENV_WARMUP: &str = "MFWQ_BENCH_WARMUP";
/// Multiplier on every workload's item count.
pub const ENV_SCALE: &str = "MFWQ_BENCH_SCALE";
/// Comma-separated workload filters (used when no filter argument is given).
pub const ENV_FILTER: &str = "MFWQ_BENCH_FILTER";
/// Where the Markdown report goes.
pub const ENV_OUT: &str = "MFWQ_BENCH_OUT";
/// The idle measurement window in milliseconds.
pub const ENV_IDLE_MS: &str = "MFWQ_BENCH_IDLE_MS";

/// Measured rounds of a `cargo bench` run: on the 2-CPU machine the whole
/// bench then takes about two minutes, and medians of 15 hold still where
/// single rounds scatter by 2x (the ping-pong hand-offs are bimodal).
pub const DEFAULT_ROUNDS: usize = 15;

/// The run's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `--bench` was given: a real measurement (else a smoke test).
    pub bench_mode: bool,
    /// Measured rounds per contestant.
    pub rounds: usize,
    /// Unmeasured warm-up rounds per contestant.
    pub warmup: usize,
    /// Multiplier on item counts.
    pub scale: f64,
    /// Workload name filters (substring match); empty selects all.
    pub filters: Vec<String>,
    /// Contestant name filters (substring match, `--only`); empty selects all.
    /// For profiling one contestant: targets against a skipped peer then fail.
    pub contestants: Vec<String>,
    /// How long the idle workload watches the CPU.
    pub idle_window: Duration,
    /// Markdown output path; `None`: the default under the target directory.
    pub out: Option<PathBuf>,
    /// Whether to write the Markdown file.
    pub write: bool,
    /// Only list the workloads.
    pub list: bool,
    /// Print usage and exit.
    pub help: bool,
}

impl Config {
    /// Reads the process arguments and environment.
    pub fn from_process() -> Result<Config, String> {
        Config::parse(std::env::args().skip(1), |key| std::env::var(key).ok())
    }

    /// Parses `args` (without the program name) over `env` over the defaults.
    pub fn parse<I, S>(args: I, env: impl Fn(&str) -> Option<String>) -> Result<Config, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        let bench_mode = args.iter().any(|a| a == "--bench");
        let mut config = if bench_mode {
            Config {
                bench_mode,
                rounds: DEFAULT_ROUNDS,
                warmup: 1,
                scale: 1.0,
                filters: Vec::new(),
                contestants: Vec::new(),
                idle_window: Duration::from_secs(1),
                out: None,
                write: true,
                list: false,
                help: false,
            }
        } else {
            Config {
                bench_mode,
                rounds: 1,
                warmup: 0,
                scale: 0.01,
                filters: Vec::new(),
                contestants: Vec::new(),
                idle_window: Duration::from_millis(100),
                out: None,
                write: false,
                list: false,
                help: false,
            }
        };

        if let Some(v) = env(ENV_ROUNDS) {
            config.rounds = parse_count(ENV_ROUNDS, &v)?;
        }
        if let Some(v) = env(ENV_WARMUP) {
            config.warmup = parse_num(ENV_WARMUP, &v)?;
        }
        if let Some(v) = env(ENV_SCALE) {
            config.scale = parse_scale(ENV_SCALE, &v)?;
        }
        if let Some(v) = env(ENV_IDLE_MS) {
            config.idle_window = Duration::from_millis(parse_num(ENV_IDLE_MS, &v)?);
        }
        if let Some(v) = env(ENV_OUT) {
            config.out = Some(PathBuf::from(v));
        }
        if let Some(v) = env(ENV_FILTER) {
            config.filters = v
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
        }

        let mut filters = Vec::new();
        let mut args = Flags::new(args.into_iter());
        while let Some((flag, arg)) = args.next_arg() {
            let mut value = |name: &str| args.value(name);
            match flag.as_str() {
                "--bench" => {}
                "--rounds" => config.rounds = parse_count("--rounds", &value("--rounds")?)?,
                "--warmup" => config.warmup = parse_num("--warmup", &value("--warmup")?)?,
                "--scale" => config.scale = parse_scale("--scale", &value("--scale")?)?,
                "--idle-ms" => {
                    config.idle_window =
                        Duration::from_millis(parse_num("--idle-ms", &value("--idle-ms")?)?)
                }
                "--only" => config.contestants.push(value("--only")?),
                "--out" => config.out = Some(PathBuf::from(value("--out")?)),
                "--no-write" => config.write = false,
                "--write" => config.write = true,
                "--list" => config.list = true,
                "--help" | "-h" => config.help = true,
                // Flags meant for libtest (`--nocapture`, ...) are ignored.
                other if other.starts_with('-') => {}
                _ => filters.push(arg),
            }
        }
        if !filters.is_empty() {
            config.filters = filters;
        }
        Ok(config)
    }

    /// Whether the workload `name` is selected.
    pub fn selected(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// Whether the contestant `name` is selected (`--only`).
    pub fn runs_contestant(&self, name: &str) -> bool {
        self.contestants.is_empty() || self.contestants.iter().any(|f| name.contains(f.as_str()))
    }

    /// `n` items scaled by [`Config::scale`], at least 1.
    pub fn scaled(&self, n: usize) -> usize {
        ((n as f64 * self.scale).round() as usize).max(1)
    }

    /// The usage text.
    pub fn usage() -> String {
        format!(
            "usage: cargo bench -p mfwq-bench -- [FILTER...] [--rounds N] [--warmup N] \
             [--scale X] [--idle-ms MS] [--only CONTESTANT] [--out PATH] [--no-write] [--list]\n\
             environment: {ENV_ROUNDS}, {ENV_WARMUP}, {ENV_SCALE}, {ENV_FILTER} (comma-separated), \
             {ENV_IDLE_MS}, {ENV_OUT}\n\
             FILTER selects the workloads whose name contains it."
        )
    }
}

fn parse_num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{name}: not a number: {value:?}"))
}

fn parse_count(name: &str, value: &str) -> Result<usize, String> {
    match parse_num(name, value)? {
        0 => Err(format!("{name}: must be at least 1")),
        n => Ok(n),
    }
}

fn parse_scale(name: &str, value: &str) -> Result<f64, String> {
    let scale: f64 = parse_num(name, value)?;
    if scale.is_finite() && scale > 0.0 {
        Ok(scale)
    } else {
        Err(format!("{name}: must be a positive number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_take_their_value_joined_or_next_and_say_when_it_is_missing() {
        let args = ["--a=1", "--b", "2", "plain", "--c"].map(String::from);
        let mut flags = Flags::new(args.into_iter());
        assert_eq!(flags.next_arg(), Some(("--a".into(), "--a=1".into())));
        assert_eq!(flags.value("--a"), Ok("1".into()));
        assert_eq!(flags.next_arg(), Some(("--b".into(), "--b".into())));
        assert_eq!(flags.value("--b"), Ok("2".into()));
        // An argument whose value is not asked for leaves the next one alone.
        assert_eq!(flags.next_arg(), Some(("plain".into(), "plain".into())));
        assert_eq!(flags.next_arg(), Some(("--c".into(), "--c".into())));
        assert_eq!(flags.value("--c"), Err("--c needs a value".into()));
        assert_eq!(flags.next_arg(), None);
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn bench_defaults_and_smoke_defaults() {
        let bench = Config::parse(["--bench"], no_env).unwrap();
        assert!(bench.bench_mode);
        assert_eq!(
            (bench.rounds, bench.warmup, bench.scale),
            (DEFAULT_ROUNDS, 1, 1.0)
        );
        assert!(bench.write);
        let smoke = Config::parse(Vec::<String>::new(), no_env).unwrap();
        assert!(!smoke.bench_mode);
        assert_eq!((smoke.rounds, smoke.warmup), (1, 0));
        assert!(smoke.scale < 1.0);
        assert!(!smoke.write);
    }

    #[test]
    fn args_override_env_override_defaults() {
        let env = |key: &str| match key {
            ENV_ROUNDS => Some("3".to_owned()),
            ENV_SCALE => Some("0.5".to_owned()),
            ENV_FILTER => Some("chain, churn".to_owned()),
            _ => None,
        };
        let c = Config::parse(["--bench"], env).unwrap();
        assert_eq!(c.rounds, 3);
        assert_eq!(c.scale, 0.5);
        assert_eq!(c.filters, ["chain", "churn"]);
        let c = Config::parse(["--bench", "--rounds", "7", "--scale=2", "fanout"], env).unwrap();
        assert_eq!(c.rounds, 7);
        assert_eq!(c.scale, 2.0);
        assert_eq!(c.filters, ["fanout"]);
    }

    #[test]
    fn filters_select_by_substring() {
        let c = Config::parse(["--bench", "fanout", "idle"], no_env).unwrap();
        assert!(c.selected("fanout-mt"));
        assert!(c.selected("fanout-serial"));
        assert!(c.selected("idle"));
        assert!(!c.selected("chain"));
        assert!(Config::parse(["--bench"], no_env)
            .unwrap()
            .selected("chain"));
    }

    #[test]
    fn other_flags_and_values() {
        let c = Config::parse(
            [
                "--bench",
                "--nocapture",
                "--warmup",
                "0",
                "--idle-ms=250",
                "--no-write",
                "--list",
            ],
            no_env,
        )
        .unwrap();
        assert_eq!(c.warmup, 0);
        assert_eq!(c.idle_window, Duration::from_millis(250));
        assert!(!c.write);
        assert!(c.list);
        assert!(c.filters.is_empty());
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Config::parse(["--rounds", "0"], no_env).is_err());
        assert!(Config::parse(["--rounds"], no_env).is_err());
        assert!(Config::parse(["--scale", "-1"], no_env).is_err());
        assert!(Config::parse(["--scale", "x"], no_env).is_err());
        let env = |key: &str| (key == ENV_ROUNDS).then(|| "many".to_owned());
        assert!(Config::parse(["--bench"], env).is_err());
    }

    #[test]
    fn scaling_never_reaches_zero() {
        let c = Config::parse(["--scale", "0.001"], no_env).unwrap();
        assert_eq!(c.scaled(1_000_000), 1000);
        assert_eq!(c.scaled(10), 1);
    }
}
