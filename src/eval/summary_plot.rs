//! The results at a glance (`summary.png`): one panel per objective with each strategy's mean
//! score and its 95 % confidence interval ([`Interval`]), and a panel of reward–KL positions:
//! each seed's average objective against its KL to the pretrained policy, each strategy's
//! mean, and the pretrained policy itself.

use super::EvalError;
use super::interval::{Interval, IntervalKind};
use super::metrics::Summary;
use super::plot::{FONT, PALETTE, axis_range, ensure_font, legend_layout, plot_err, save_png};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Pixel width of one panel; panels are laid out two per row.
pub const SUMMARY_PANEL_WIDTH: u32 = 600;
/// Height in pixels of one line of the caption and legend above the panels.
const LINE: u32 = 26;

/// One strategy (or the pretrained policy) in the summary figure.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySummary {
    /// Its name, as in the table.
    pub name: String,
    /// The 95 % interval of its mean score, one per objective.
    pub intervals: Vec<Interval>,
    /// Each seed's `(KL to the pretrained policy, average objective)`; empty when no KL was
    /// recorded.
    pub positions: Vec<(f64, f64)>,
}

impl StrategySummary {
    /// Strategy `name` from its seeds' summaries, each with its KL when recorded (a non-finite
    /// KL counts as not recorded).
    ///
    /// # Errors
    /// [`EvalError::Empty`] without seeds; [`EvalError::Mismatch`] when the seeds' objectives
    /// differ in number.
    pub fn of(name: &str, seeds: &[(&Summary, Option<f64>)]) -> Result<Self, EvalError> {
        let summaries: Vec<&Summary> = seeds.iter().map(|(s, _)| *s).collect();
        let lengths = || summaries.iter().map(|s| s.per_objective.len());
        let (least, most) = (lengths().min().ok_or(EvalError::Empty)?, lengths().max());
        if Some(least) != most {
            let (what, expected) = ("objectives of a strategy's seeds", most.unwrap_or(0));
            return Err(EvalError::Mismatch {
                what,
                expected,
                got: least,
            });
        }
        let intervals = (0..least)
            .filter_map(|i| Interval::of_objective(&summaries, i))
            .collect();
        let positions = seeds
            .iter()
            .filter_map(|(s, kl)| kl.filter(|k| k.is_finite()).map(|k| (k, s.avg)))
            .collect();
        Ok(Self {
            name: name.into(),
            intervals,
            positions,
        })
    }

    /// The row label: the name and what its interval is over.
    fn label(&self) -> String {
        match self.intervals.first().map(|i| i.kind) {
            Some(IntervalKind::Seeds(n)) => format!("{} ({n} seeds)", self.name),
            _ => format!("{} (1 run)", self.name),
        }
    }
}

/// What `summary.png` shows.
#[derive(Debug, Clone, Copy)]
pub struct SummaryFigure<'a> {
    /// The objectives' names.
    pub objectives: &'a [String],
    /// The strategies, top to bottom.
    pub strategies: &'a [StrategySummary],
    /// Which of `strategies` is the pretrained policy: drawn in black, and as the reference
    /// point (a cross) of the reward–KL panel.
    pub pretrained: Option<usize>,
}

/// Write the figure (atomically) and return its size in pixels: a caption saying what the
/// intervals are over, a legend, then two panels per row.
///
/// # Errors
/// [`EvalError::Empty`] without strategies or objectives, [`EvalError::Mismatch`] when a
/// strategy's intervals do not match the objectives, [`EvalError::NonFinite`] for a
/// non-finite mean; [`EvalError::Plot`], [`EvalError::Io`].
pub fn write_summary_plot(path: &Path, figure: SummaryFigure<'_>) -> Result<(u32, u32), EvalError> {
    let (pixels, size) = render(figure)?;
    save_png(path, &pixels, size).map(|()| size)
}

/// The colour of strategy `s`: black for the pretrained policy, the palette for the others.
fn color(figure: SummaryFigure<'_>, s: usize) -> RGBColor {
    match figure.pretrained {
        Some(p) if p == s => BLACK,
        Some(p) if p < s => PALETTE[(s - 1) % PALETTE.len()],
        _ => PALETTE[s % PALETTE.len()],
    }
}

/// The caption's lines: what the whiskers are.
fn caption(strategies: &[StrategySummary]) -> Vec<String> {
    let kinds: Vec<IntervalKind> = strategies.iter().map(|s| s.intervals[0].kind).collect();
    let seeds = kinds.iter().any(|k| matches!(k, IntervalKind::Seeds(_)));
    let runs = kinds.iter().any(|k| matches!(k, IntervalKind::Samples(_)));
    [
        Some("Mean evaluation score per objective with 95 % confidence intervals:"),
        seeds.then_some("  (n seeds): Student's t-interval over the seeds' means"),
        runs.then_some("  (1 run): ±1.96 × standard error over that run's evaluation samples"),
    ]
    .into_iter()
    .flatten()
    .map(String::from)
    .collect()
}

/// Render the figure of [`write_summary_plot`] into an RGB buffer.
fn render(figure: SummaryFigure<'_>) -> Result<(Vec<u8>, (u32, u32)), EvalError> {
    let (objectives, strategies) = (figure.objectives, figure.strategies);
    if strategies.is_empty() || objectives.is_empty() {
        return Err(EvalError::Empty);
    }
    for (row, s) in strategies.iter().enumerate() {
        if s.intervals.len() != objectives.len() {
            return Err(EvalError::Mismatch {
                what: "a strategy's intervals vs objectives",
                expected: objectives.len(),
                got: s.intervals.len(),
            });
        }
        if let Some(col) = s.intervals.iter().position(|i| !i.mean.is_finite()) {
            return Err(EvalError::NonFinite { row, col });
        }
    }
    ensure_font()?;
    let with_kl = strategies.iter().any(|s| !s.positions.is_empty());
    let panels = objectives.len() + usize::from(with_kl);
    let (cols, rows) = (panels.min(2), panels.div_ceil(2));
    let width = cols as u32 * SUMMARY_PANEL_WIDTH;
    let height = (110 + 34 * strategies.len() as u32).max(400);
    let font = FontDesc::new(FontFamily::Name(FONT), 15.0, FontStyle::Normal);

    // The legend below the caption.
    let lines = caption(strategies);
    let names = strategies.iter().map(|s| s.name.as_str());
    let (entries, line) = legend_layout(&font, names, width, (lines.len() as i32, LINE))?;
    let top = (line + 1) as u32 * LINE + 6;
    let size = (width, top + rows as u32 * height);
    let mut pixels = vec![0u8; 3 * size.0 as usize * size.1 as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE)?;
        let (head, body) = root.split_vertically(top);
        let text = TextStyle::from(font).pos(Pos::new(HPos::Left, VPos::Center));
        for (k, l) in lines.iter().enumerate() {
            let y = (2 * k as i32 + 1) * LINE as i32 / 2;
            head.draw(&Text::new(l.as_str(), (16, y), &text))?;
        }
        for (s, &(x, y)) in entries.iter().enumerate() {
            head.draw(&Circle::new((x, y), 5, color(figure, s).filled()))?;
            head.draw(&Text::new(strategies[s].name.as_str(), (x + 12, y), &text))?;
        }
        let areas = body.split_evenly((rows, cols));
        for (i, area) in areas.iter().take(objectives.len()).enumerate() {
            interval_panel(area, figure, i)?;
        }
        if with_kl {
            kl_panel(&areas[objectives.len()], figure)?;
        }
        root.present()?;
    }
    Ok((pixels, size))
}

/// Objective `i`: one row per strategy, its mean as a dot and its interval as whiskers.
fn interval_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    figure: SummaryFigure<'_>,
    i: usize,
) -> Result<(), EvalError>
where
    DB::ErrorType: 'static,
{
    let strategies = figure.strategies;
    let k = strategies.len();
    let labels: Vec<String> = strategies.iter().map(StrategySummary::label).collect();
    let font = FontDesc::new(FontFamily::Name(FONT), 13.0, FontStyle::Normal);
    let widest = (labels.iter())
        .try_fold(0, |m, l| font.box_size(l).map(|b| m.max(b.0)))
        .map_err(plot_err)?;
    let x_range = axis_range(strategies.iter().flat_map(|s| {
        let (lo, hi) = s.intervals[i].ends();
        [lo, hi]
    }));
    // Row r of the chart (counted from the bottom) shows strategy k − 1 − r.
    let row = |s: usize| SegmentValue::CenterOf((k - 1 - s) as i32);
    let mut chart = ChartBuilder::on(area)
        .caption(&figure.objectives[i], (FONT, 18))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(widest + 16)
        .build_cartesian_2d(x_range, (0..k as i32 - 1).into_segmented())?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .y_labels(k)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(r) if (0..k as i32).contains(r) => {
                labels[k - 1 - *r as usize].clone()
            }
            _ => String::new(),
        })
        .x_desc("mean score, 95 % confidence interval")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (s, strategy) in strategies.iter().enumerate() {
        let c = color(figure, s);
        let interval = strategy.intervals[i];
        if interval.half_width.is_some() {
            let (lo, hi) = interval.ends();
            let bar =
                ErrorBar::new_horizontal(row(s), lo, interval.mean, hi, c.stroke_width(2), 12);
            chart.draw_series(std::iter::once(bar))?;
        }
        let dot = Circle::new((interval.mean, row(s)), 5, c.filled());
        chart.draw_series(std::iter::once(dot))?;
    }
    Ok(())
}

/// Reward against KL: each seed a ring, each strategy's mean a dot, the pretrained policy a
/// cross.
fn kl_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    figure: SummaryFigure<'_>,
) -> Result<(), EvalError>
where
    DB::ErrorType: 'static,
{
    let strategies = figure.strategies;
    let all = || strategies.iter().flat_map(|s| s.positions.iter().copied());
    let mut chart = ChartBuilder::on(area)
        .caption("Reward against KL (ring: a seed, dot: mean)", (FONT, 18))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(
            axis_range(all().map(|p| p.0)),
            axis_range(all().map(|p| p.1)),
        )?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("KL to the pretrained policy (nats)")
        .y_desc("average objective")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (s, strategy) in strategies.iter().enumerate() {
        let Some(mean) = centre(&strategy.positions) else {
            continue;
        };
        let c = color(figure, s);
        if figure.pretrained == Some(s) {
            let style = TextStyle::from((FONT, 14)).pos(Pos::new(HPos::Left, VPos::Bottom));
            let cross = EmptyElement::at(mean)
                + Cross::new((0, 0), 8, c.stroke_width(3))
                + Text::new(strategy.name.clone(), (10, -6), style);
            chart.draw_series(std::iter::once(cross))?;
            continue;
        }
        let rings = strategy
            .positions
            .iter()
            .map(|&p| Circle::new(p, 5, c.stroke_width(2)));
        chart.draw_series(rings)?;
        chart.draw_series(std::iter::once(Circle::new(mean, 8, c.filled())))?;
    }
    Ok(())
}

/// The mean of `points`; `None` without points.
fn centre(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let sum = points
        .iter()
        .fold((0.0, 0.0), |s, p| (s.0 + p.0, s.1 + p.1));
    (n > 0.0).then(|| (sum.0 / n, sum.1 / n))
}

#[cfg(test)]
#[path = "summary_plot_tests.rs"]
mod tests;
