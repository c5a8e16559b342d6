//! Real-time audio on mfwq (docs/realtime.md): the benchmark lives in the
//! library (`mfwq_bench::realtime`), so that `mfwq realtime` runs the same
//! code. `cargo bench -p mfwq-bench --bench realtime [-- OPTIONS]` runs it
//! at full length; `cargo test -p mfwq-bench --bench realtime` is the smoke
//! run.

fn main() -> std::process::ExitCode {
    mfwq_bench::realtime::run(
        std::env::args().skip(1).collect(),
        mfwq_bench::realtime::Launch::Cargo,
    )
}
