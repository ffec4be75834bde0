//! Pairwise reward-space scatter plots (PNG), like the paper's pairwise reward figures.
//!
//! Text is drawn with the bundled DejaVu Sans (`assets/fonts/`, Bitstream Vera/Arev licence
//! beside it) through plotters' `ab_glyph` renderer, so no system fonts or fontconfig are needed.

use super::metrics::check_scores;
use super::{EvalError, io_err, temp_sibling};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

/// Pixel size (width, height) of one panel; panels are laid out three per row.
pub const PANEL_SIZE: (u32, u32) = (480, 440);
/// Height in pixels of one line of the legend strip above the panels.
pub const LEGEND_LINE: u32 = 32;

/// Series colours (Tableau 10), cycled when there are more strategies.
pub(super) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub(super) const FONT: &str = "sans-serif";

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for EvalError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        EvalError::Plot(e.to_string())
    }
}

/// A backend error as [`EvalError::Plot`].
pub(super) fn plot_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Plot(e.to_string())
}

/// Register the bundled font as plotters' `sans-serif` (once per process).
pub(super) fn ensure_font() -> Result<(), EvalError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        let bytes = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        register_font(FONT, FontStyle::Normal, bytes).is_ok()
    });
    ok.then_some(())
        .ok_or_else(|| EvalError::Plot("the bundled font could not be loaded".into()))
}

/// Write a PNG with one scatter panel per pair of objectives (3 objectives → 3 panels), each
/// sample a dot coloured by strategy, a legend strip of the strategies on top, and axes
/// labelled with the objective names. `series` holds (strategy, score matrix) pairs whose
/// columns match `objectives` (at least 2). The file is written atomically; returns the image
/// size in pixels.
pub fn write_pairwise_scatter<S: AsRef<str>>(
    path: &Path,
    objectives: &[S],
    series: &[(&str, &[Vec<f64>])],
) -> Result<(u32, u32), EvalError> {
    let (pixels, size) = render(objectives, series)?;
    save_png(path, &pixels, size).map(|()| size)
}

/// Encode an RGB buffer of `size` pixels as a PNG at `path`, atomically (its folder created).
pub(super) fn save_png(path: &Path, pixels: &[u8], size: (u32, u32)) -> Result<(), EvalError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    // The `.png` suffix makes plotters encode PNG whatever `path` is called.
    let tmp = temp_sibling(path, ".tmp.png");
    let encoded = {
        // Dropped before any clean-up: an unsaved backend saves itself on drop.
        let mut png = BitMapBackend::new(&tmp, size);
        png.blit_bitmap((0, 0), size, pixels)
            .and_then(|()| png.present())
            .map_err(plot_err)
    };
    let written = encoded.and_then(|()| std::fs::rename(&tmp, path).map_err(io_err(path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Render the figure of [`write_pairwise_scatter`] into an RGB buffer.
fn render<S: AsRef<str>>(
    objectives: &[S],
    series: &[(&str, &[Vec<f64>])],
) -> Result<(Vec<u8>, (u32, u32)), EvalError> {
    let n = objectives.len();
    if series.is_empty() {
        return Err(EvalError::Empty);
    }
    if n < 2 {
        return Err(EvalError::Mismatch {
            what: "objectives to plot (at least)",
            expected: 2,
            got: n,
        });
    }
    for (_, scores) in series {
        let cols = check_scores(scores)?;
        if cols != n {
            return Err(EvalError::Mismatch {
                what: "score columns vs objective names",
                expected: n,
                got: cols,
            });
        }
    }
    ensure_font()?;
    let ranges: Vec<Range<f64>> = (0..n)
        .map(|i| axis_range(series.iter().flat_map(|(_, s)| s.iter().map(move |r| r[i]))))
        .collect();
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect();
    let (cols, rows) = (pairs.len().min(3), pairs.len().div_ceil(3));
    let width = cols as u32 * PANEL_SIZE.0;

    let font = FontDesc::new(FontFamily::Name(FONT), 16.0, FontStyle::Normal);
    let labels = series.iter().map(|(label, _)| *label);
    let (entries, line) = legend_layout(&font, labels, width, (0, LEGEND_LINE))?;
    let legend_height = (line + 1) as u32 * LEGEND_LINE;
    let size = (width, legend_height + rows as u32 * PANEL_SIZE.1);
    let mut pixels = vec![0u8; 3 * size.0 as usize * size.1 as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE)?;
        let (legend, panels) = root.split_vertically(legend_height);
        let text = TextStyle::from(font).pos(Pos::new(HPos::Left, VPos::Center));
        for (s, (&(label, _), &(x, y))) in series.iter().zip(&entries).enumerate() {
            legend.draw(&Circle::new((x, y), 5, PALETTE[s % PALETTE.len()].filled()))?;
            legend.draw(&Text::new(label, (x + 12, y), &text))?;
        }
        for (panel, &(i, j)) in panels.split_evenly((rows, cols)).iter().zip(&pairs) {
            let mut chart = ChartBuilder::on(panel)
                .margin(14)
                .x_label_area_size(44)
                .y_label_area_size(60)
                .build_cartesian_2d(ranges[i].clone(), ranges[j].clone())?;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .x_desc(objectives[i].as_ref())
                .y_desc(objectives[j].as_ref())
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 17))
                .draw()?;
            for (s, (_, scores)) in series.iter().enumerate() {
                let style = PALETTE[s % PALETTE.len()].mix(0.6).filled();
                chart.draw_series(scores.iter().map(|r| Circle::new((r[i], r[j]), 2, style)))?;
            }
        }
        root.present()?;
    }
    Ok((pixels, size))
}

/// Legend entries (dot, gap, label, space) left to right from line `first` of `line_height`
/// pixels, wrapping at `width`: each dot's centre, and the last line used.
pub(super) fn legend_layout<'l>(
    font: &FontDesc<'_>,
    labels: impl Iterator<Item = &'l str>,
    width: u32,
    (first, line_height): (i32, u32),
) -> Result<(Vec<(i32, i32)>, i32), EvalError> {
    let (mut x, mut line, mut entries) = (24, first, Vec::new());
    for label in labels {
        let w = 12 + font.box_size(label).map_err(plot_err)?.0 as i32 + 32;
        if x > 24 && x + w > width as i32 {
            (x, line) = (24, line + 1);
        }
        entries.push((x, (2 * line + 1) * line_height as i32 / 2));
        x += w;
    }
    Ok((entries, line))
}

/// The values' span padded by 5% on each side (±0.5 when all values are equal).
pub(super) fn axis_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    lo - pad..hi + pad
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three strategies with 200 samples each, on a noisy trade-off curve.
    fn samples() -> Vec<Vec<Vec<f64>>> {
        (0..3)
            .map(|s| {
                (0..200)
                    .map(|k| {
                        let t = k as f64 / 200.0 * std::f64::consts::FRAC_PI_2;
                        let wobble = ((k * 7919 + s * 31) % 97) as f64 / 97.0 * 0.2;
                        let r = 0.6 + 0.2 * s as f64 + wobble;
                        vec![r * t.cos(), r * t.sin(), 0.5 * r + 0.3 * t]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn writes_a_non_blank_png_with_three_panels() {
        let data = samples();
        let names = ["K562", "HepG2", "SK-N-SH"];
        let series: Vec<(&str, &[Vec<f64>])> = ["MORLHF", "Rewarded Soups", "IterativeRS"]
            .into_iter()
            .zip(data.iter().map(Vec::as_slice))
            .collect();
        let path = std::env::temp_dir().join(format!("mr-eval-{}-scatter.png", std::process::id()));
        let size = write_pairwise_scatter(&path, &names, &series).unwrap();
        assert_eq!(size, (3 * PANEL_SIZE.0, LEGEND_LINE + PANEL_SIZE.1));

        let png = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
        assert_eq!((be(&png[16..20]), be(&png[20..24])), size);

        // The pixels that were encoded: mostly white background, but many coloured pixels.
        let (pixels, _) = render(&names, &series).unwrap();
        let background = pixels.chunks(3).filter(|p| p == &[255, 255, 255]).count();
        let total = pixels.len() / 3;
        assert!(
            background > total / 2 && background < total - 10_000,
            "{background}/{total}"
        );
    }

    #[test]
    fn two_objectives_give_one_panel_and_a_wrapped_legend() {
        let data = samples();
        let two: Vec<Vec<f64>> = data[0].iter().map(|r| r[..2].to_vec()).collect();
        let names = [
            "MORLHF",
            "Rewarded Soups",
            "Rewards-in-Context",
            "IterativeRS (m = 4)",
        ];
        let series: Vec<(&str, &[Vec<f64>])> = names.iter().map(|&n| (n, &two[..])).collect();
        let (_, size) = render(&["faithful", "summary"], &series).unwrap();
        assert_eq!(size, (PANEL_SIZE.0, 2 * LEGEND_LINE + PANEL_SIZE.1));
    }

    #[test]
    fn rejects_mismatched_names_and_empty_input() {
        let data = samples();
        let series = [("MORLHF", data[0].as_slice())];
        let path = std::env::temp_dir().join("mr-eval-never-written.png");
        assert!(matches!(
            write_pairwise_scatter(&path, &["a", "b"], &series),
            Err(EvalError::Mismatch { .. })
        ));
        assert!(matches!(
            write_pairwise_scatter::<&str>(&path, &["a", "b"], &[]),
            Err(EvalError::Empty)
        ));
        assert!(!path.exists());
    }
}
