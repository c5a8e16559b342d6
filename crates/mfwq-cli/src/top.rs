//! `mfwq top PID`: a live view of another process's queues, from the
//! statistics it publishes (`MFWQ_STATS=1` or `live` in its environment;
//! `mfwq::observe::stats_path`). Rates and latency percentiles are over the
//! last refresh interval (the published histograms are cumulative; the view
//! subtracts the previous snapshot's buckets), busy time per thread as a
//! share of the interval. Drawn with ratatui; `q`, Esc or Ctrl-C quits.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mfwq::observe::{Histogram, QueueSnapshot, Snapshot};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

/// One queue's line: rates and windowed percentiles.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueLine {
    pub name: String,
    pub put_per_s: f64,
    pub run_per_s: f64,
    pub depth: u64,
    pub running: u64,
    pub threads: u32,
    pub refused: u64,
    pub queue_p50: Duration,
    pub queue_p99: Duration,
    pub invoke_p50: Duration,
    pub invoke_p99: Duration,
    pub realtime: String,
}

/// One thread's line.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadLine {
    pub name: String,
    pub tid: i32,
    pub busy_percent: f64,
    pub items_per_s: f64,
}

/// What one refresh shows.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub queues: Vec<QueueLine>,
    pub threads: Vec<ThreadLine>,
    pub dropped: u64,
}

/// The histogram of values recorded between `before` and `now`.
fn window(before: Option<&Histogram>, now: &Histogram) -> Histogram {
    let Some(before) = before else {
        return now.clone();
    };
    let old: BTreeMap<u64, u64> = before.buckets.iter().copied().collect();
    let buckets: Vec<(u64, u64)> = now
        .buckets
        .iter()
        .map(|&(bound, count)| (bound, count.saturating_sub(*old.get(&bound).unwrap_or(&0))))
        .filter(|&(_, count)| count > 0)
        .collect();
    Histogram {
        count: buckets.iter().map(|&(_, count)| count).sum(),
        sum_ns: now.sum_ns.saturating_sub(before.sum_ns),
        max_ns: buckets
            .last()
            .map_or(0, |&(bound, _)| bound.min(now.max_ns)),
        buckets,
    }
}

/// The view of `now`, with rates against `before` taken `elapsed` earlier.
pub fn view(before: Option<&Snapshot>, now: &Snapshot, elapsed: Duration) -> View {
    let seconds = elapsed.as_secs_f64().max(1e-3);
    let previous = |queue: &QueueSnapshot| {
        before.and_then(|before| {
            before
                .queues
                .iter()
                .find(|old| old.id == queue.id && old.name == queue.name)
        })
    };
    let queues = now
        .queues
        .iter()
        .map(|queue| {
            let old = previous(queue);
            // A queue seen for the first time has no rate yet (its counts
            // are totals since statistics began, not this interval's).
            let delta = |pick: fn(&QueueSnapshot) -> u64| {
                pick(queue).saturating_sub(old.map_or(pick(queue), pick)) as f64 / seconds
            };
            let in_queue = window(old.map(|old| &old.queue_time), &queue.queue_time);
            let in_invoke = window(old.map(|old| &old.invoke_time), &queue.invoke_time);
            QueueLine {
                name: queue.name.clone(),
                put_per_s: delta(|queue| queue.put),
                run_per_s: delta(|queue| queue.run),
                depth: queue.depth,
                running: queue.running,
                threads: queue.threads,
                refused: queue.refused,
                queue_p50: in_queue.percentile(0.5),
                queue_p99: in_queue.percentile(0.99),
                invoke_p50: in_invoke.percentile(0.5),
                invoke_p99: in_invoke.percentile(0.99),
                realtime: queue
                    .realtime
                    .as_deref()
                    .map(compact_realtime)
                    .unwrap_or_default(),
            }
        })
        .collect();
    let threads = now
        .threads
        .iter()
        .map(|thread| {
            let old = before.and_then(|before| {
                before
                    .threads
                    .iter()
                    .find(|old| old.tid == thread.tid && old.name == thread.name)
            });
            let busy = thread
                .busy_ns
                .saturating_sub(old.map_or(thread.busy_ns, |old| old.busy_ns));
            let items = thread
                .items
                .saturating_sub(old.map_or(thread.items, |old| old.items));
            ThreadLine {
                name: thread.name.clone(),
                tid: thread.tid,
                busy_percent: (busy as f64 / 1e9 / seconds * 100.0).min(100.0),
                items_per_s: items as f64 / seconds,
            }
        })
        .collect();
    View {
        queues,
        threads,
        dropped: now.trace_dropped,
    }
}

/// `"Pro Audio" priority 0 -> SCHED_FIFO 30` as `"Pro Audio" SCHED_FIFO 30`:
/// what was asked for, and what the threads run under, in a column.
fn compact_realtime(registration: &str) -> String {
    match registration.split_once(" -> ") {
        Some((requested, applied)) => {
            let class = requested.split(" priority").next().unwrap_or(requested);
            format!("{class} {applied}")
        }
        None => registration.to_owned(),
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64() * 1e3)
}

/// The queue table's cells.
fn queue_cells(line: &QueueLine) -> [String; 10] {
    [
        line.name.clone(),
        format!("{:.0}", line.put_per_s),
        format!("{:.0}", line.run_per_s),
        line.depth.to_string(),
        format!("{}/{}", line.running, line.threads),
        line.refused.to_string(),
        format!("{}/{}", ms(line.queue_p50), ms(line.queue_p99)),
        format!("{}/{}", ms(line.invoke_p50), ms(line.invoke_p99)),
        String::new(),
        line.realtime.clone(),
    ]
}

const QUEUE_HEADER: [&str; 10] = [
    "queue",
    "put/s",
    "run/s",
    "depth",
    "run/thr",
    "refused",
    "queue p50/p99",
    "invoke p50/p99",
    "",
    "real-time",
];

/// The view as plain text (`--once`, and for logs).
pub fn render_text(pid: u32, view: &View) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "mfwq top: pid {pid} (latencies in ms)");
    let _ = writeln!(
        out,
        "{:<26} {:>10} {:>10} {:>6} {:>7} {:>7} {:>18} {:>18}  {}",
        QUEUE_HEADER[0],
        QUEUE_HEADER[1],
        QUEUE_HEADER[2],
        QUEUE_HEADER[3],
        QUEUE_HEADER[4],
        QUEUE_HEADER[5],
        QUEUE_HEADER[6],
        QUEUE_HEADER[7],
        QUEUE_HEADER[9]
    );
    for line in &view.queues {
        let c = queue_cells(line);
        let _ = writeln!(
            out,
            "{:<26} {:>10} {:>10} {:>6} {:>7} {:>7} {:>18} {:>18}  {}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[9]
        );
    }
    let _ = writeln!(
        out,
        "\n{:<32} {:>8} {:>7} {:>10}",
        "thread", "tid", "busy %", "items/s"
    );
    for thread in &view.threads {
        let _ = writeln!(
            out,
            "{:<32} {:>8} {:>7.1} {:>10.0}",
            thread.name, thread.tid, thread.busy_percent, thread.items_per_s
        );
    }
    out
}

/// Runs the live view until the user quits or the process goes away.
pub fn run(pid: u32, interval: Duration, once: bool) -> Result<(), String> {
    let read = || {
        mfwq::observe::read_published(pid).map_err(|error| {
            format!(
                "no statistics from pid {pid} at {} ({error}): start it with MFWQ_STATS=1 \
                 (or live) in its environment",
                mfwq::observe::stats_path(pid).display()
            )
        })
    };
    // A process just started may not have published yet.
    let patience = Instant::now() + Duration::from_secs(3);
    let mut before = loop {
        match read() {
            Ok(snapshot) => break snapshot,
            Err(_) if Instant::now() < patience && process_alive(pid) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => return Err(error),
        }
    };
    let mut taken = Instant::now();
    if once {
        std::thread::sleep(interval);
        let now = read()?;
        print!(
            "{}",
            render_text(pid, &view(Some(&before), &now, taken.elapsed()))
        );
        return Ok(());
    }
    let mut terminal = ratatui::init();
    let mut current = view(None, &before, Duration::from_secs(1));
    let mut status = String::from("waiting for the next snapshot");
    let outcome = loop {
        let drawn = terminal.draw(|frame| draw(frame, pid, &current, &status));
        if let Err(error) = drawn {
            break Err(error.to_string());
        }
        match event::poll(interval.min(Duration::from_millis(100))) {
            Ok(true) => {
                if let Ok(Event::Key(key)) = event::read() {
                    let ctrl_c = key.code == KeyCode::Char('c')
                        && key.modifiers.contains(KeyModifiers::CONTROL);
                    if key.code == KeyCode::Char('q') || key.code == KeyCode::Esc || ctrl_c {
                        break Ok(());
                    }
                }
                continue;
            }
            Ok(false) => {}
            Err(error) => break Err(error.to_string()),
        }
        if taken.elapsed() < interval {
            continue;
        }
        match read() {
            // Not replaced since the last read: nothing new to show.
            Ok(now) if now.taken_at_ms == before.taken_at_ms => {}
            Ok(now) => {
                current = view(Some(&before), &now, between(&before, &now));
                status = format!(
                    "refreshed every {:.1} s; rates and percentiles over the last interval; q quits",
                    interval.as_secs_f64()
                );
                before = now;
                taken = Instant::now();
            }
            Err(_) if !process_alive(pid) => {
                status = format!("process {pid} has exited; q quits");
                taken = Instant::now();
            }
            Err(error) => status = error,
        }
    };
    ratatui::restore();
    outcome
}

/// The time between two snapshots, by their own clocks (reads and
/// publishing are not in step).
fn between(before: &Snapshot, now: &Snapshot) -> Duration {
    Duration::from_millis(now.taken_at_ms.saturating_sub(before.taken_at_ms).max(1))
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn draw(frame: &mut ratatui::Frame<'_>, pid: u32, view: &View, status: &str) {
    let [title, queues, threads, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::try_from(view.queues.len()).unwrap_or(u16::MAX - 3) + 3),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(
        Paragraph::new(Line::from(format!(
            "mfwq top — pid {pid} — {} queues, {} threads — latencies in ms{}",
            view.queues.len(),
            view.threads.len(),
            if view.dropped > 0 {
                format!(", {} trace events dropped", view.dropped)
            } else {
                String::new()
            }
        )))
        .style(Style::default().add_modifier(Modifier::BOLD)),
        title,
    );
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let rows = view.queues.iter().map(|line| {
        let cells = queue_cells(line);
        Row::new([
            cells[0].clone(),
            cells[1].clone(),
            cells[2].clone(),
            cells[3].clone(),
            cells[4].clone(),
            cells[5].clone(),
            cells[6].clone(),
            cells[7].clone(),
            cells[9].clone(),
        ])
    });
    let header = Row::new([
        QUEUE_HEADER[0],
        QUEUE_HEADER[1],
        QUEUE_HEADER[2],
        QUEUE_HEADER[3],
        QUEUE_HEADER[4],
        QUEUE_HEADER[5],
        QUEUE_HEADER[6],
        QUEUE_HEADER[7],
        QUEUE_HEADER[9],
    ])
    .style(bold);
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(24),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(6),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(15),
                Constraint::Length(15),
                Constraint::Min(24),
            ],
        )
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(" queues ")),
        queues,
    );
    let thread_rows = view.threads.iter().map(|thread| {
        Row::new([
            thread.name.clone(),
            thread.tid.to_string(),
            format!("{:.1}", thread.busy_percent),
            format!("{:.0}", thread.items_per_s),
        ])
    });
    frame.render_widget(
        Table::new(
            thread_rows,
            [
                Constraint::Length(32),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(10),
            ],
        )
        .header(Row::new(["thread", "tid", "busy %", "items/s"]).style(bold))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" worker threads "),
        ),
        threads,
    );
    frame.render_widget(Paragraph::new(status.to_owned()), footer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfwq::observe::ThreadSnapshot;

    fn histogram(values: &[(u64, u64)]) -> Histogram {
        Histogram {
            count: values.iter().map(|&(_, count)| count).sum(),
            sum_ns: values.iter().map(|&(bound, count)| bound * count).sum(),
            max_ns: values.last().map_or(0, |&(bound, _)| bound),
            buckets: values.to_vec(),
        }
    }

    #[test]
    fn rates_and_percentiles_cover_the_last_interval_only() {
        let queue = |put, run, latency: &[(u64, u64)]| QueueSnapshot {
            id: 5,
            name: "MULTITHREADED".into(),
            put,
            run,
            invoke_time: histogram(latency),
            ..QueueSnapshot::default()
        };
        let thread = |busy_ns, items| ThreadSnapshot {
            tid: 7,
            name: "mfwq-MULTITHREADED-0".into(),
            queue: Some(5),
            busy_ns,
            items,
        };
        let before = Snapshot {
            queues: vec![queue(100, 100, &[(1_000, 100)])],
            threads: vec![thread(0, 100)],
            ..Snapshot::default()
        };
        let now = Snapshot {
            queues: vec![queue(300, 300, &[(1_000, 100), (1_000_000, 200)])],
            threads: vec![thread(500_000_000, 300)],
            ..Snapshot::default()
        };
        let view = view(Some(&before), &now, Duration::from_secs(1));
        let line = &view.queues[0];
        assert_eq!(line.put_per_s, 200.0);
        assert_eq!(line.run_per_s, 200.0);
        // The old fast items are outside the window.
        assert_eq!(line.invoke_p50, Duration::from_millis(1));
        assert!((view.threads[0].busy_percent - 50.0).abs() < 1e-9);
        assert_eq!(view.threads[0].items_per_s, 200.0);
        assert_eq!(
            compact_realtime("\"Pro Audio\" priority 0 -> SCHED_FIFO 30"),
            "\"Pro Audio\" SCHED_FIFO 30"
        );
        let text = render_text(1, &view);
        assert!(text.contains("MULTITHREADED"));
        assert!(text.contains("mfwq-MULTITHREADED-0"));
    }
}
