//! `mfwq trace --timeline FILE.svg`: a window of the trace drawn as a
//! timeline — one row per recording thread, each callback a bar on its
//! thread's row (coloured by queue, named when there is room), and an arrow
//! from each put to the start of its item. What a trace viewer shows, drawn
//! offline with plotters' SVG backend, for machines without a browser and
//! for documentation.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Summary;

const WIDTH: u32 = 1200;
const ROW: u32 = 34;
const TOP: u32 = 70;
const LEFT: u32 = 330;
const RIGHT: u32 = 45;
const BOTTOM: u32 = 50;
const FONT: &str = "sans-serif";

/// Colour-blind-safe palette (Okabe–Ito), one colour per queue.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
];

/// Draws the window `(from_ms, length_ms)` (from the first callback) of
/// `summary` to `path`.
pub fn draw(
    summary: &Summary,
    path: &Path,
    (from_ms, length_ms): (f64, f64),
) -> Result<(), String> {
    let first = summary
        .slices
        .iter()
        .map(|slice| slice.start_ns)
        .chain(summary.flows.iter().map(|flow| flow.put_ns))
        .min()
        .ok_or("the trace holds no callback to draw")?;
    // `as` saturates: a negative or huge window is clamped, never wraps.
    let start = first.saturating_add((from_ms * 1e6) as u64);
    let end = start.saturating_add(((length_ms * 1e6) as u64).max(1));
    let in_window = |ns: u64| (start..end).contains(&ns);
    // Rows: threads that did something in the window, workers first.
    let mut rows: Vec<String> = summary
        .slices
        .iter()
        .filter(|slice| slice.start_ns < end && slice.start_ns + slice.duration_ns > start)
        .map(|slice| slice.thread.clone())
        .chain(
            summary
                .flows
                .iter()
                .filter(|flow| in_window(flow.put_ns))
                .map(|flow| flow.put_thread.clone()),
        )
        .collect();
    rows.sort_by_key(|name| (!name.starts_with("mfwq-"), name.clone()));
    rows.dedup();
    let row_of: BTreeMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(index, name)| (name.as_str(), index))
        .collect();
    let queues: Vec<&str> = {
        let mut queues: Vec<&str> = summary.slices.iter().map(|s| s.queue.as_str()).collect();
        queues.sort_unstable();
        queues.dedup();
        queues
    };
    let colour =
        |queue: &str| PALETTE[queues.iter().position(|q| *q == queue).unwrap_or(0) % PALETTE.len()];

    let height = TOP + ROW * rows.len().max(1) as u32 + BOTTOM;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    let fail = |error: &dyn std::fmt::Display| format!("cannot draw {}: {error}", path.display());
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let x_of = |ns: u64| {
        let clamped = ns.clamp(start, end);
        LEFT as i32
            + ((clamped - start) as f64 / (end - start) as f64 * f64::from(WIDTH - LEFT - RIGHT))
                as i32
    };
    let y_of = |row: usize| TOP as i32 + (row as u32 * ROW) as i32;
    let text = |size: f64| TextStyle::from((FONT, size).into_font()).color(&BLACK);
    root.draw(&Text::new(
        format!(
            "mfwq trace: {:.1}–{:.1} ms after the first item; {} threads, arrows from put to start",
            from_ms,
            from_ms + length_ms,
            rows.len()
        ),
        (10, 12),
        text(18.0),
    ))
    .map_err(|e| fail(&e))?;
    // Legend: one swatch per queue.
    let mut x = 10;
    for queue in &queues {
        root.draw(&Rectangle::new(
            [(x, 40), (x + 14, 54)],
            colour(queue).filled(),
        ))
        .map_err(|e| fail(&e))?;
        root.draw(&Text::new(queue.to_string(), (x + 18, 40), text(13.0)))
            .map_err(|e| fail(&e))?;
        x += 30 + 7 * queue.len() as i32;
    }
    for (index, name) in rows.iter().enumerate() {
        let y = y_of(index);
        if index % 2 == 0 {
            root.draw(&Rectangle::new(
                [(0, y), (WIDTH as i32, y + ROW as i32)],
                RGBColor(244, 244, 244).filled(),
            ))
            .map_err(|e| fail(&e))?;
        }
        let label: String = name.chars().take(46).collect();
        root.draw(&Text::new(
            label,
            (LEFT as i32 - 8, y + ROW as i32 / 2),
            text(12.5).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(|e| fail(&e))?;
    }
    for slice in &summary.slices {
        let Some(&row) = row_of.get(slice.thread.as_str()) else {
            continue;
        };
        if slice.start_ns >= end || slice.start_ns + slice.duration_ns <= start {
            continue;
        }
        let (x0, x1) = (
            x_of(slice.start_ns),
            x_of(slice.start_ns + slice.duration_ns).max(x_of(slice.start_ns) + 1),
        );
        let y = y_of(row);
        root.draw(&Rectangle::new(
            [(x0, y + 5), (x1, y + ROW as i32 - 5)],
            colour(&slice.queue).filled(),
        ))
        .map_err(|e| fail(&e))?;
        if x1 - x0 > 8 * slice.name.len().min(24) as i32 {
            let name: String = slice.name.chars().take(24).collect();
            root.draw(&Text::new(name, (x0 + 3, y + 9), text(11.0).color(&WHITE)))
                .map_err(|e| fail(&e))?;
        }
    }
    for flow in summary
        .flows
        .iter()
        .filter(|flow| in_window(flow.put_ns) || in_window(flow.start_ns))
    {
        let (Some(&from), Some(&to)) = (
            row_of.get(flow.put_thread.as_str()),
            row_of.get(flow.thread.as_str()),
        ) else {
            continue;
        };
        let a = (x_of(flow.put_ns), y_of(from) + ROW as i32 / 2);
        let b = (x_of(flow.start_ns), y_of(to) + ROW as i32 / 2);
        root.draw(&PathElement::new(
            vec![a, b],
            RGBColor(60, 60, 60).stroke_width(1),
        ))
        .map_err(|e| fail(&e))?;
        root.draw(&Circle::new(b, 2, RGBColor(60, 60, 60).filled()))
            .map_err(|e| fail(&e))?;
    }
    // Time axis.
    let axis_y = y_of(rows.len()) + 8;
    for tick in 0..=10 {
        let ns = start + (end - start) * tick / 10;
        let x = x_of(ns);
        root.draw(&PathElement::new(
            vec![(x, TOP as i32), (x, axis_y)],
            RGBColor(200, 200, 200).stroke_width(1),
        ))
        .map_err(|e| fail(&e))?;
        root.draw(&Text::new(
            format!("{:.2} ms", (ns - first) as f64 / 1e6),
            (x, axis_y + 4),
            text(11.5).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(|e| fail(&e))?;
    }
    root.present().map_err(|e| fail(&e))
}
