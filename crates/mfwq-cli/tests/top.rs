//! `mfwq top PID`: attached to a running process (the demo, started with
//! `MFWQ_STATS=live`), in a pseudo-terminal, it draws the process's queues
//! with non-zero rates and quits on `q`. The screen is read back through a
//! terminal emulator (`vt100`), as a person would see it.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

const ROWS: u16 = 30;
const COLS: u16 = 160;

#[test]
fn top_shows_a_running_process_queues_with_live_rates() {
    let mfwq = env!("CARGO_BIN_EXE_mfwq");
    let stats_dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("top-stats-{}", std::process::id()));
    let mut demo = Command::new(mfwq)
        .args(["demo", "--duration", "6"])
        .env("MFWQ_STATS", "live")
        .env("MFWQ_STATS_DIR", &stats_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo starts");

    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut top = CommandBuilder::new(mfwq);
    top.args(["top", &demo.id().to_string(), "--interval", "300"]);
    top.env("MFWQ_STATS_DIR", &stats_dir);
    top.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(top).expect("mfwq top starts");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut writer = pty.master.take_writer().unwrap();
    let (bytes, received) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read) = reader.read(&mut buffer) {
            if read == 0 || bytes.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });

    let mut screen = vt100::Parser::new(ROWS, COLS, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = String::new();
    let mut live_rate = false;
    while Instant::now() < deadline && !(live_rate && seen.contains("mfwq-multithreaded-")) {
        if let Ok(chunk) = received.recv_timeout(Duration::from_millis(100)) {
            screen.process(&chunk);
            seen = screen.screen().contents();
            live_rate = seen.lines().any(|line| {
                line.contains("MULTITHREADED")
                    && line
                        .split(|c: char| c == '│' || c.is_whitespace())
                        .filter(|cell| !cell.is_empty())
                        .nth(1)
                        .and_then(|rate| rate.parse::<f64>().ok())
                        .is_some_and(|rate| rate > 0.0)
            });
        }
    }
    writer.write_all(b"q").unwrap();
    writer.flush().unwrap();
    let quit_by = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > quit_by {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = demo.kill();
    let _ = demo.wait();
    let _ = std::fs::remove_dir_all(&stats_dir);
    assert!(
        live_rate,
        "no live rate for MULTITHREADED on the screen:\n{seen}"
    );
    assert!(seen.contains("mfwq top"), "{seen}");
    assert!(seen.contains("worker threads"), "{seen}");
    assert!(seen.contains("mfwq-multithreaded-"), "{seen}");
    assert!(
        status.is_some_and(|status| status.success()),
        "q quits cleanly"
    );
}

#[test]
fn top_explains_how_to_publish_when_a_process_publishes_nothing() {
    let output = Command::new(env!("CARGO_BIN_EXE_mfwq"))
        .args(["top", &std::process::id().to_string(), "--once"])
        .env("MFWQ_STATS_DIR", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("MFWQ_STATS=1"));
}
