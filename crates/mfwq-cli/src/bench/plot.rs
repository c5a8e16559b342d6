//! `mfwq bench --plot FILE.svg`: the results as a chart.
//!
//! One horizontal bar per row of the table, grouped under its workload's
//! name and coloured by library (mfwq and each peer, the legend at the top),
//! so that within a workload mfwq's bars stand next to tokio's, rayon's and
//! crossbeam's. A bar ends at the median; a whisker spans min to max over
//! the rounds; the median is written after it, with its unit.
//!
//! Rows come in different units, so the chart has one panel, with its own
//! x axis, per kind of unit: time per operation (`ns/item`, `ns/hop`,
//! `us/pair`, ... all drawn in time, the operation named after each value),
//! latency (`us`, `ms late`), then one panel for each other unit (`B/item`,
//! `ms CPU/s`). A panel whose values span more than a factor of 20 has a
//! log scale (time per operation goes from about 100 ns to tens of
//! microseconds); otherwise its axis is linear from 0.
//!
//! Drawn with plotters' SVG backend and its built-in text layout estimate
//! (no font files): the SVG names the `sans-serif` family and the viewer
//! draws the text, so the labels' room is computed here from their length.

use std::path::Path;

use mfwq_bench::{fmt_num, Report};
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Library;

/// What the chart's heading says about the run.
pub struct Caption {
    /// Measured rounds per contestant.
    pub rounds: usize,
    /// Warm-up rounds per contestant.
    pub warmup: usize,
    /// The work size.
    pub scale: f64,
    /// The machine line of the run's conditions.
    pub machine: String,
}

const WIDTH: u32 = 1100;
/// Height of one line (a bar, or a workload's name).
const LINE: u32 = 19;
const HEADING: u32 = 104;
const PANEL_TITLE: u32 = 30;
/// Under each panel: tick labels and the axis description.
const X_AXIS: u32 = 46;
const PANEL_GAP: u32 = 14;
/// Right of the longest bar: its value.
const VALUE_ROOM: u32 = 118;

const FONT: &str = "sans-serif";
/// plotters writes `font-size` as this over 1.24: 12.9 px.
const TEXT: f64 = 16.0;
const SMALL: f64 = 14.5;
const INK: RGBColor = RGBColor(34, 34, 34);
const MUTED: RGBColor = RGBColor(95, 95, 95);
const BAND: RGBColor = RGBColor(243, 244, 247);
const GRID: RGBColor = RGBColor(225, 225, 225);

/// Okabe and Ito's colour-blind-safe palette.
fn colour(library: Library) -> RGBColor {
    match library {
        Library::Mfwq => RGBColor(0, 114, 178),
        Library::Tokio => RGBColor(213, 94, 0),
        Library::Rayon => RGBColor(0, 158, 115),
        Library::Crossbeam => RGBColor(230, 159, 0),
        Library::Std => RGBColor(150, 150, 150),
    }
}

/// The kind of unit a panel shows.
#[derive(Clone, Debug, PartialEq)]
enum Kind {
    /// `<time>/<operation>`: drawn in nanoseconds.
    PerOp,
    /// A bare time, or `<time> late`: drawn in nanoseconds.
    Latency,
    /// Anything else, drawn as it is.
    Other(String),
}

/// Nanoseconds in one `unit` of time (`ns`, `us`, `µs`, `ms`, `s`).
fn ns_in(unit: &str) -> Option<f64> {
    match unit {
        "ns" => Some(1.0),
        "us" | "µs" => Some(1e3),
        "ms" => Some(1e6),
        "s" => Some(1e9),
        _ => None,
    }
}

/// The panel a unit goes to, the factor from the unit to the panel's, and
/// what follows a value (`/hop`, ` late`).
fn classify(unit: &str) -> (Kind, f64, String) {
    if let Some((time, per)) = unit.split_once('/') {
        if let Some(ns) = ns_in(time) {
            if !per.is_empty() && per.chars().all(|c| c.is_ascii_alphanumeric()) {
                return (Kind::PerOp, ns, format!("/{per}"));
            }
        }
    }
    let (time, suffix) = match unit.strip_suffix(" late") {
        Some(time) => (time, " late"),
        None => (unit, ""),
    };
    match ns_in(time) {
        Some(ns) => (Kind::Latency, ns, suffix.to_owned()),
        None => (Kind::Other(unit.to_owned()), 1.0, format!(" {unit}")),
    }
}

/// A duration in nanoseconds with about three digits and a fitting unit.
fn time(ns: f64) -> String {
    let a = ns.abs();
    if a >= 1e9 {
        format!("{} s", fmt_num(ns / 1e9))
    } else if a >= 1e6 {
        format!("{} ms", fmt_num(ns / 1e6))
    } else if a >= 1e3 {
        format!("{} µs", fmt_num(ns / 1e3))
    } else {
        format!("{} ns", fmt_num(ns))
    }
}

/// An axis tick: as [`time`], without trailing zeros (`1 µs`, `2.5 ms`).
fn tick(value: f64, kind: &Kind) -> String {
    let trim = |s: String| {
        let (number, unit) = s.split_once(' ').map_or((s.as_str(), ""), |(n, u)| (n, u));
        let number = if number.contains('.') {
            number.trim_end_matches('0').trim_end_matches('.')
        } else {
            number
        };
        if unit.is_empty() {
            number.to_owned()
        } else {
            format!("{number} {unit}")
        }
    };
    match kind {
        Kind::PerOp | Kind::Latency => trim(time(value)),
        Kind::Other(_) => trim(fmt_num(value)),
    }
}

struct Bar {
    contestant: String,
    library: Library,
    median: f64,
    min: f64,
    max: f64,
    samples: usize,
    value: String,
}

enum Line {
    Workload(String),
    Bar(Bar),
}

struct Panel {
    kind: Kind,
    lines: Vec<Line>,
}

impl Panel {
    fn title(&self) -> String {
        let what = match &self.kind {
            Kind::PerOp => "Time per operation".to_owned(),
            Kind::Latency => "Latency".to_owned(),
            Kind::Other(unit) => {
                let workloads: Vec<&str> = self
                    .lines
                    .iter()
                    .filter_map(|line| match line {
                        Line::Workload(name) => Some(name.as_str()),
                        Line::Bar(_) => None,
                    })
                    .collect();
                format!("{} ({unit})", workloads.join(", "))
            }
        };
        let scale = if self.log() { ", log scale" } else { "" };
        format!("{what}: lower is better{scale}")
    }

    fn axis(&self) -> String {
        match &self.kind {
            Kind::PerOp => "time per operation (the operation follows each value)".to_owned(),
            Kind::Latency => "time".to_owned(),
            Kind::Other(unit) => unit.clone(),
        }
    }

    fn bars(&self) -> impl Iterator<Item = &Bar> {
        self.lines.iter().filter_map(|line| match line {
            Line::Bar(bar) => Some(bar),
            Line::Workload(_) => None,
        })
    }

    /// Smallest and largest value drawn (medians and whiskers).
    fn extent(&self) -> (f64, f64) {
        self.bars()
            .flat_map(|bar| [bar.min, bar.median, bar.max])
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    }

    /// A log scale when every value is positive and they span more than 20x.
    fn log(&self) -> bool {
        let (lo, hi) = self.extent();
        lo > 0.0 && hi / lo > 20.0
    }

    fn height(&self) -> u32 {
        PANEL_TITLE + self.lines.len() as u32 * LINE + X_AXIS
    }
}

/// The report's rows, sorted into panels by unit; within a panel, grouped
/// by workload in the report's order.
fn panels(report: &Report) -> Vec<Panel> {
    let mut panels: Vec<Panel> = Vec::new();
    for row in report.rows() {
        let (kind, factor, suffix) = classify(&row.unit);
        let s = &row.summary;
        if !s.median.is_finite() {
            continue;
        }
        let index = match panels.iter().position(|p| p.kind == kind) {
            Some(index) => index,
            None => {
                panels.push(Panel {
                    kind: kind.clone(),
                    lines: Vec::new(),
                });
                panels.len() - 1
            }
        };
        let panel = &mut panels[index];
        let same_workload = panel.lines.iter().rev().find_map(|line| match line {
            Line::Workload(name) => Some(name == &row.workload),
            Line::Bar(_) => None,
        });
        if same_workload != Some(true) {
            panel.lines.push(Line::Workload(row.workload.clone()));
        }
        let median = s.median * factor;
        let value = match kind {
            Kind::PerOp | Kind::Latency => format!("{}{suffix}", time(median)),
            Kind::Other(_) => format!("{}{suffix}", fmt_num(median)),
        };
        panel.lines.push(Line::Bar(Bar {
            contestant: row.contestant.clone(),
            library: Library::of(&row.contestant),
            median,
            min: s.min * factor,
            max: s.max * factor,
            samples: s.count,
            value,
        }));
    }
    let rank = |kind: &Kind| match kind {
        Kind::PerOp => 0,
        Kind::Latency => 1,
        Kind::Other(_) => 2,
    };
    // Stable: the other units keep the report's order.
    panels.sort_by_key(|p| rank(&p.kind));
    panels
}

/// Draws `report` into the SVG file `path`.
pub fn write_svg(path: &Path, report: &Report, caption: &Caption) -> Result<(), String> {
    let panels = panels(report);
    if panels.is_empty() {
        return Err("no row has a figure to draw".to_owned());
    }
    let height = HEADING + panels.iter().map(|p| p.height() + PANEL_GAP).sum::<u32>();
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    draw(&root, report, &panels, caption).map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn draw(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    report: &Report,
    panels: &[Panel],
    caption: &Caption,
) -> DrawResult {
    root.fill(&WHITE)?;
    let (heading, mut rest) = root.split_vertically(HEADING);
    draw_heading(&heading, report, caption)?;

    // One label column for every panel, wide enough for the longest name.
    let longest = panels
        .iter()
        .flat_map(|p| p.bars())
        .map(|bar| bar.contestant.chars().count())
        .max()
        .unwrap_or(10);
    let labels = (longest as f64 * 6.9) as u32 + 24;

    for panel in panels {
        let (area, below) = rest.split_vertically(panel.height() + PANEL_GAP);
        rest = below;
        let (area, _gap) = area.split_vertically(panel.height());
        let (lo, hi) = panel.extent();
        if panel.log() {
            // From the power of ten below the smallest value; room on the
            // right for the values written after the bars.
            let lo = 10f64.powf(lo.log10().floor());
            let span = hi.log10() - lo.log10();
            let plot = (WIDTH - labels - VALUE_ROOM - 30) as f64;
            let hi = 10f64.powf(hi.log10() + span * VALUE_ROOM as f64 / plot);
            draw_panel(
                &area,
                panel,
                LogCoord::from((lo..hi).log_scale()),
                lo,
                labels,
            )?;
        } else {
            let hi = if hi > 0.0 { hi } else { 1.0 };
            let plot = (WIDTH - labels - VALUE_ROOM - 30) as f64;
            let hi = hi * (1.0 + VALUE_ROOM as f64 / plot);
            draw_panel(&area, panel, RangedCoordf64::from(0.0..hi), 0.0, labels)?;
        }
    }
    Ok(())
}

fn draw_heading(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    report: &Report,
    caption: &Caption,
) -> DrawResult {
    let title = (FONT, 22.0).into_font().style(FontStyle::Bold).color(&INK);
    area.draw(&Text::new(
        "mfwq bench: mfwq against tokio, rayon and crossbeam-channel",
        (16, 12),
        title,
    ))?;
    let rounds = if caption.rounds == 1 {
        "1 round".to_owned()
    } else {
        format!("{} rounds", caption.rounds)
    };
    let judged = if report.targets_informational() {
        ", information only below scale 1"
    } else {
        ""
    };
    let lines = [
        format!(
            "bar: median of {rounds} (after {} warm-up), whisker: min to max; scale {}; \
             mfwq's targets: {} of {} met (the table says which{judged})",
            caption.warmup,
            caption.scale,
            report.targets() - report.failures(),
            report.targets()
        ),
        format!("machine: {}", caption.machine),
    ];
    for (i, line) in lines.into_iter().enumerate() {
        area.draw(&Text::new(
            line,
            (16, 38 + 18 * i as i32),
            (FONT, SMALL).into_font().color(&MUTED),
        ))?;
    }

    // The legend: the libraries that have a row.
    let present: Vec<Library> = Library::ALL
        .into_iter()
        .filter(|lib| {
            report
                .rows()
                .iter()
                .any(|row| Library::of(&row.contestant) == *lib)
        })
        .collect();
    let mut x = 16;
    let y = 80;
    for library in present {
        area.draw(&Rectangle::new(
            [(x, y), (x + 14, y + 14)],
            colour(library).filled(),
        ))?;
        let name = match library {
            Library::Std => "std (Condvar, thread::sleep)",
            other => other.name(),
        };
        area.draw(&Text::new(
            name,
            (x + 20, y + 7),
            (FONT, TEXT)
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        x += 20 + (name.chars().count() as f64 * 7.4) as i32 + 28;
    }
    Ok(())
}

fn draw_panel<X>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &Panel,
    x: X,
    base: f64,
    labels: u32,
) -> DrawResult
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let (title_area, chart_area) = area.split_vertically(PANEL_TITLE);
    title_area.draw(&Text::new(
        panel.title(),
        (16, 8),
        (FONT, 17.5).into_font().style(FontStyle::Bold).color(&INK),
    ))?;

    let n = panel.lines.len() as i32;
    // The first line at the top.
    let y_of = |index: usize| n - 1 - index as i32;
    let mut chart = ChartBuilder::on(&chart_area)
        .margin_left(8)
        .margin_right(34)
        .x_label_area_size(X_AXIS)
        .y_label_area_size(labels)
        .build_cartesian_2d(x, (0..n - 1).into_segmented())?;

    let kind = panel.kind.clone();
    let names: Vec<String> = panel
        .lines
        .iter()
        .map(|line| match line {
            Line::Bar(bar) => bar.contestant.clone(),
            Line::Workload(_) => String::new(),
        })
        .collect();
    // A light band behind every other workload (under the grid), its name
    // in bold on its first line.
    let x_range = chart.x_range();
    let (left, right) = (x_range.start, x_range.end);
    let mut starts: Vec<usize> = (0..panel.lines.len())
        .filter(|&i| matches!(panel.lines[i], Line::Workload(_)))
        .collect();
    starts.push(panel.lines.len());
    for (group, pair) in starts.windows(2).enumerate() {
        let (first, end) = (pair[0], pair[1]);
        if group % 2 == 0 {
            chart.draw_series(std::iter::once(Rectangle::new(
                [
                    (left, SegmentValue::Exact(y_of(end - 1))),
                    (right, SegmentValue::Exact(y_of(first) + 1)),
                ],
                BAND.filled(),
            )))?;
        }
    }

    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n as usize + 1)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(y) if (0..n).contains(y) => names[(n - 1 - y) as usize].clone(),
            _ => String::new(),
        })
        .y_label_style((FONT, TEXT).into_font().color(&INK))
        .x_labels(12)
        .x_label_formatter(&|v| tick(*v, &kind))
        .x_label_style((FONT, SMALL).into_font().color(&MUTED))
        .x_desc(panel.axis())
        .axis_desc_style((FONT, SMALL).into_font().color(&MUTED))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED.stroke_width(1))
        .draw()?;

    for (index, line) in panel.lines.iter().enumerate() {
        if let Line::Workload(name) = line {
            chart.draw_series(std::iter::once(
                EmptyElement::at((left, SegmentValue::CenterOf(y_of(index))))
                    + Text::new(
                        name.clone(),
                        (8, 0),
                        (FONT, TEXT)
                            .into_font()
                            .style(FontStyle::Bold)
                            .color(&INK)
                            .pos(Pos::new(HPos::Left, VPos::Center)),
                    ),
            ))?;
        }
    }

    for (index, line) in panel.lines.iter().enumerate() {
        let Line::Bar(bar) = line else { continue };
        let y = y_of(index);
        let clamp = |v: f64| v.max(base).min(right);
        let colour = colour(bar.library);
        let mut rect = Rectangle::new(
            [
                (base, SegmentValue::Exact(y)),
                (clamp(bar.median), SegmentValue::Exact(y + 1)),
            ],
            colour.filled(),
        );
        rect.set_margin(3, 3, 0, 0);
        chart.draw_series(std::iter::once(rect))?;

        let centre = |v: f64| (clamp(v), SegmentValue::CenterOf(y));
        if bar.samples > 1 && bar.max > bar.min {
            let whisker = INK.stroke_width(1);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![centre(bar.min), centre(bar.max)],
                whisker,
            )))?;
            for end in [bar.min, bar.max] {
                chart.draw_series(std::iter::once(
                    EmptyElement::at(centre(end))
                        + PathElement::new(vec![(0, -4), (0, 4)], whisker),
                ))?;
            }
        }
        let end = if bar.samples > 1 {
            bar.max.max(bar.median)
        } else {
            bar.median
        };
        chart.draw_series(std::iter::once(
            EmptyElement::at(centre(end))
                + Text::new(
                    bar.value.clone(),
                    (6, 0),
                    (FONT, SMALL)
                        .into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                ),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use mfwq_bench::{Row, Summary};

    use super::*;

    #[test]
    fn units_sort_into_panels() {
        assert_eq!(classify("ns/item"), (Kind::PerOp, 1.0, "/item".to_owned()));
        assert_eq!(classify("us/pair"), (Kind::PerOp, 1e3, "/pair".to_owned()));
        assert_eq!(classify("us"), (Kind::Latency, 1e3, String::new()));
        assert_eq!(
            classify("ms late"),
            (Kind::Latency, 1e6, " late".to_owned())
        );
        assert_eq!(
            classify("ms CPU/s"),
            (
                Kind::Other("ms CPU/s".to_owned()),
                1.0,
                " ms CPU/s".to_owned()
            )
        );
        assert_eq!(classify("B/item").0, Kind::Other("B/item".to_owned()));
    }

    #[test]
    fn times_read_naturally() {
        assert_eq!(time(521.0), "521 ns");
        assert_eq!(time(1624.0), "1.62 µs");
        assert_eq!(time(55_000.0), "55.0 µs");
        assert_eq!(time(2.03e6), "2.03 ms");
        assert_eq!(tick(1000.0, &Kind::PerOp), "1 µs");
        assert_eq!(tick(2500.0, &Kind::PerOp), "2.5 µs");
        assert_eq!(tick(100.0, &Kind::Latency), "100 ns");
        assert_eq!(tick(0.5, &Kind::Other("B".into())), "0.5");
    }

    #[test]
    fn rows_group_by_workload_within_their_panel() {
        let mut report = Report::new();
        for (workload, contestant, unit, median) in [
            ("fanout-mt", "mfwq spawn", "ns/item", 500.0),
            ("fanout-mt", "tokio", "ns/item", 2000.0),
            ("memory", "mfwq spawn", "B/item", 40.0),
            ("churn", "mfwq alloc+unlock", "us/pair", 2.0),
        ] {
            report.push(Row::new(
                workload,
                contestant,
                unit,
                Summary::single(median),
            ));
        }
        let panels = panels(&report);
        assert_eq!(panels.len(), 2);
        assert_eq!(panels[0].kind, Kind::PerOp);
        assert_eq!(panels[0].lines.len(), 5);
        assert!(!panels[0].log(), "500 ns to 2 us is a linear span");
        let values: Vec<&str> = panels[0].bars().map(|b| b.value.as_str()).collect();
        assert_eq!(values, ["500 ns/item", "2.00 µs/item", "2.00 µs/pair"]);
        assert_eq!(panels[1].title(), "memory (B/item): lower is better");
    }
}
