//! Line plots with error bars (PNG) for quantities measured over seeds — reward against KL
//! along runs, reward against the merge period m — and the area under such a curve up to a
//! common x.

use super::plot::{FONT, PALETTE, axis_range, ensure_font, plot_err};
use super::{EvalError, io_err, temp_sibling};
use plotters::prelude::*;
use std::path::Path;

/// One point of a curve: mean and standard deviation (over seeds) in x and in y.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    /// Mean x.
    pub x: f64,
    /// Standard deviation of x (0 when x is fixed).
    pub x_err: f64,
    /// Mean y.
    pub y: f64,
    /// Standard deviation of y.
    pub y_err: f64,
}

/// A named curve, drawn as a line through its points with error bars.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points in drawing order.
    pub points: Vec<Point>,
}

/// A named horizontal reference level (e.g. a baseline's result), drawn dashed with a band of
/// ± its standard deviation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Level {
    /// Legend label.
    pub name: String,
    /// Mean y.
    pub y: f64,
    /// Standard deviation of y.
    pub y_err: f64,
}

/// Labels of a line plot.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// x-axis description.
    pub x: &'a str,
    /// y-axis description.
    pub y: &'a str,
}

/// Write a PNG (900 × 600) of `series` (lines with ± 1 std error bars in both directions) and
/// `levels` (dashed horizontal lines), with a legend; written atomically.
///
/// # Errors
/// [`EvalError::Empty`] without any point; [`EvalError::Plot`], [`EvalError::Io`].
pub fn write_line_plot(
    path: &Path,
    labels: Labels<'_>,
    series: &[Series],
    levels: &[Level],
) -> Result<(), EvalError> {
    let points = || series.iter().flat_map(|s| &s.points);
    if points().next().is_none() {
        return Err(EvalError::Empty);
    }
    ensure_font()?;
    let x_range = axis_range(points().flat_map(|p| [p.x - p.x_err, p.x + p.x_err]));
    let y_range = axis_range(
        points()
            .flat_map(|p| [p.y - p.y_err, p.y + p.y_err])
            .chain(levels.iter().flat_map(|l| [l.y - l.y_err, l.y + l.y_err])),
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let tmp = temp_sibling(path, ".tmp.png");
    let drawn = (|| -> Result<(), EvalError> {
        let root = BitMapBackend::new(&tmp, (900, 600)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(labels.title, (FONT, 20))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range.clone(), y_range.clone())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(labels.x)
            .y_desc(labels.y)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(plot_err)?;
        let n = series.len();
        for (k, level) in levels.iter().enumerate() {
            let color = PALETTE[(n + k) % PALETTE.len()];
            let (lo, hi) = (x_range.start, x_range.end);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(lo, level.y - level.y_err), (hi, level.y + level.y_err)],
                    color.mix(0.12).filled(),
                )))
                .map_err(plot_err)?;
            let dashes = (0..40).map(|i| {
                let a = lo + (hi - lo) * i as f64 / 40.0;
                let b = lo + (hi - lo) * (i as f64 + 0.5) / 40.0;
                PathElement::new(vec![(a, level.y), (b, level.y)], color.stroke_width(2))
            });
            chart
                .draw_series(dashes)
                .map_err(plot_err)?
                .label(format!(
                    "{} {:.3} ± {:.3}",
                    level.name, level.y, level.y_err
                ))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        for (k, s) in series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let line = s.points.iter().map(|p| (p.x, p.y));
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .map_err(plot_err)?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|p| Circle::new((p.x, p.y), 4, color.filled())),
                )
                .map_err(plot_err)?;
            chart
                .draw_series(s.points.iter().filter(|p| p.y_err > 0.0).map(|p| {
                    ErrorBar::new_vertical(p.x, p.y - p.y_err, p.y, p.y + p.y_err, color, 8)
                }))
                .map_err(plot_err)?;
            chart
                .draw_series(s.points.iter().filter(|p| p.x_err > 0.0).map(|p| {
                    ErrorBar::new_horizontal(p.y, p.x - p.x_err, p.x, p.x + p.x_err, color, 8)
                }))
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 14))
            .position(legend_corner(series, &x_range, &y_range))
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
        Ok(())
    })();
    let written = drawn.and_then(|()| std::fs::rename(&tmp, path).map_err(io_err(path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The corner whose third of the plot (in x and y) holds the fewest points, so that the
/// legend hides as few as possible (lower right on a tie).
fn legend_corner(
    series: &[Series],
    x: &std::ops::Range<f64>,
    y: &std::ops::Range<f64>,
) -> SeriesLabelPosition {
    let third = |v: f64, r: &std::ops::Range<f64>| {
        let t = (v - r.start) / (r.end - r.start);
        (t < 1.0 / 3.0, t > 2.0 / 3.0)
    };
    let mut counts = [0usize; 4]; // lower right, lower left, upper right, upper left
    for p in series.iter().flat_map(|s| &s.points) {
        let ((left, right), (low, high)) = (third(p.x, x), third(p.y, y));
        counts[0] += usize::from(right && low);
        counts[1] += usize::from(left && low);
        counts[2] += usize::from(right && high);
        counts[3] += usize::from(left && high);
    }
    let best = (0..4).min_by_key(|&i| (counts[i], i)).unwrap_or(0);
    [
        SeriesLabelPosition::LowerRight,
        SeriesLabelPosition::LowerLeft,
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::UpperLeft,
    ][best]
        .clone()
}

/// Area under the piecewise-linear curve through `points` (sorted by x here) from its smallest
/// x up to `limit`, or `None` when the curve does not reach `limit` or has under two points.
pub fn area_to(points: &[(f64, f64)], limit: f64) -> Option<f64> {
    let mut p: Vec<(f64, f64)> = points.to_vec();
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    if p.len() < 2 || p.last()?.0 < limit || p[0].0 > limit {
        return None;
    }
    let mut area = 0.0;
    for w in p.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if x0 >= limit {
            break;
        }
        let end = x1.min(limit);
        let y_end = if x1 > x0 {
            y0 + (y1 - y0) * (end - x0) / (x1 - x0)
        } else {
            y1
        };
        area += 0.5 * (y0 + y_end) * (end - x0);
    }
    Some(area)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legend_goes_to_the_emptiest_corner() {
        let at = |pts: &[(f64, f64)]| Series {
            name: "s".into(),
            points: pts
                .iter()
                .map(|&(x, y)| Point {
                    x,
                    x_err: 0.0,
                    y,
                    y_err: 0.0,
                })
                .collect(),
        };
        let (x, y) = (0.0..1.0, 0.0..1.0);
        // A rising front fills the lower left and upper right: lower right stays free.
        let rising = at(&[(0.05, 0.05), (0.5, 0.5), (0.95, 0.95)]);
        let pos = legend_corner(std::slice::from_ref(&rising), &x, &y);
        assert!(matches!(pos, SeriesLabelPosition::LowerRight));
        // A point in the lower right moves it to the lower left (the first free corner).
        let crowded = at(&[(0.9, 0.1), (0.5, 0.5), (0.95, 0.95)]);
        let pos = legend_corner(&[crowded], &x, &y);
        assert!(matches!(pos, SeriesLabelPosition::LowerLeft));
    }

    #[test]
    fn area_of_a_line_and_a_cut_segment() {
        // y = x from 0 to 2: area to 1 is 0.5, to 2 is 2.
        let pts = [(2.0, 2.0), (0.0, 0.0), (1.0, 1.0)];
        assert!((area_to(&pts, 1.0).unwrap() - 0.5).abs() < 1e-12);
        assert!((area_to(&pts, 2.0).unwrap() - 2.0).abs() < 1e-12);
        assert!((area_to(&pts, 1.5).unwrap() - 1.125).abs() < 1e-12);
        assert_eq!(area_to(&pts, 3.0), None);
        assert_eq!(area_to(&pts[..1], 0.5), None);
    }

    #[test]
    fn writes_a_png_with_levels_and_error_bars() {
        let dir = std::env::temp_dir().join(format!("mr-curves-{}", std::process::id()));
        let path = dir.join("plot.png");
        let series = vec![Series {
            name: "IterativeRS".into(),
            points: vec![
                Point {
                    x: 1.0,
                    x_err: 0.0,
                    y: 0.2,
                    y_err: 0.05,
                },
                Point {
                    x: 2.0,
                    x_err: 0.1,
                    y: 0.3,
                    y_err: 0.02,
                },
            ],
        }];
        let levels = vec![Level {
            name: "MORLHF".into(),
            y: 0.5,
            y_err: 0.03,
        }];
        let labels = Labels {
            title: "t",
            x: "m",
            y: "average reward",
        };
        write_line_plot(&path, labels, &series, &levels).unwrap();
        let png = std::fs::read(&path).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(matches!(
            write_line_plot(&path, labels, &[], &levels),
            Err(EvalError::Empty)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
