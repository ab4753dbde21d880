//! A sweep's charts: histograms, CDFs and bar charts, as SVG documents in a `String`.
//!
//! Every chart is a pure function of its input: bins are chosen by a fixed rule, text is
//! measured with the embedded font, so the same sample always gives the same bytes.
//! Non-finite values (NaN, ±inf) are skipped and the caption says how many; an empty sample
//! gives a small "no samples" chart.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::font;
use crate::model::Distribution;
use crate::timeline::ChartError;

/// Most bins a histogram gets: past that, bars are too thin to read.
pub const HISTOGRAM_BINS_MAX: usize = 50;
/// Most points on a CDF's line: a larger sample is drawn through this many quantiles, which
/// keeps the SVG small and looks the same.
pub const CDF_POINTS_MAX: usize = 1000;
/// Most bars in a bar chart: the rest are counted in the caption.
pub const BARS_MAX: usize = 40;
/// Smallest and largest chart sides accepted, in pixels.
pub const SIDE_PX_MIN: u32 = 160;
/// See [`SIDE_PX_MIN`].
pub const SIDE_PX_MAX: u32 = 4000;

const BAR_COLOR: RGBColor = RGBColor(0x4C, 0x78, 0xA8);
const MARK_COLOR: RGBColor = RGBColor(0xD6, 0x3B, 0x3B);
const TEXT_COLOR: RGBColor = RGBColor(0x22, 0x22, 0x22);
const MUTED_COLOR: RGBColor = RGBColor(0x55, 0x55, 0x55);
const GRID_COLOR: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const LABEL_CHARS_MAX: usize = 48;
const TITLE_CHARS_MAX: usize = 90;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A histogram of the distribution's finite values, with its unit on the x axis and
/// n, median, p99 and max in the caption.
///
/// Bins are as wide as the Freedman-Diaconis rule asks (the square-root rule when the
/// interquartile range is 0), rounded up to 1, 2, 2.5 or 5 times a power of ten, and at
/// most [`HISTOGRAM_BINS_MAX`] of them.
pub fn histogram_svg(
    distribution: &Distribution,
    width_px: u32,
    height_px: u32,
) -> Result<String, ChartError> {
    let sample = Sample::of(&distribution.values);
    render(width_px, height_px, |root| {
        let body = titled(root, &distribution.title)?;
        if sample.sorted.is_empty() {
            return draw_no_data(&body, &sample.empty_note());
        }
        let bins = Bins::of(&sample.sorted)?;
        let caption = format!(
            "{} · {} bins of {}",
            sample.caption(&distribution.unit),
            bins.counts.len(),
            with_unit(bins.width, &distribution.unit)
        );
        let plot = captioned(&body, &caption)?;
        draw_histogram(&plot, &bins, &distribution.unit)
    })
}

/// The empirical CDF of the distribution's finite values as a step line, with p50, p90 and
/// p99 marked.
pub fn cdf_svg(
    distribution: &Distribution,
    width_px: u32,
    height_px: u32,
) -> Result<String, ChartError> {
    let sample = Sample::of(&distribution.values);
    render(width_px, height_px, |root| {
        let body = titled(root, &distribution.title)?;
        if sample.sorted.is_empty() {
            return draw_no_data(&body, &sample.empty_note());
        }
        let mut caption = sample.caption(&distribution.unit);
        if sample.sorted.len() > CDF_POINTS_MAX {
            caption.push_str(&format!(" · drawn through {CDF_POINTS_MAX} quantiles"));
        }
        let plot = captioned(&body, &caption)?;
        draw_cdf(&plot, &sample.sorted, &distribution.unit)
    })
}

/// Horizontal bars, one per (name, count), first on top, the count at the end of each bar.
/// At most [`BARS_MAX`] bars; an empty list gives a "nothing to show" chart.
pub fn bars_svg(
    title: &str,
    bars: &[(String, u64)],
    width_px: u32,
    height_px: u32,
) -> Result<String, ChartError> {
    render(width_px, height_px, |root| {
        let body = titled(root, title)?;
        if bars.is_empty() {
            return draw_no_data(&body, "nothing to show");
        }
        let shown = &bars[..bars.len().min(BARS_MAX)];
        let total: u64 = bars.iter().map(|(_, count)| *count).sum();
        let mut caption = format!("{} bars · total {total}", bars.len());
        if shown.len() < bars.len() {
            caption.push_str(&format!(" · the first {} shown", shown.len()));
        }
        let plot = captioned(&body, &caption)?;
        draw_bars(&plot, shown)
    })
}

/// Draws into a fresh SVG of the given size; `draw` fills it.
fn render(
    width_px: u32,
    height_px: u32,
    draw: impl FnOnce(&Area) -> Result<(), ChartError>,
) -> Result<String, ChartError> {
    let sides_px = SIDE_PX_MIN..=SIDE_PX_MAX;
    if !sides_px.contains(&width_px) || !sides_px.contains(&height_px) {
        return Err(ChartError::Draw(format!(
            "a chart of {width_px}x{height_px} px: each side must be within \
             {SIDE_PX_MIN}..={SIDE_PX_MAX} px"
        )));
    }
    // Text is measured while drawing: the embedded font must be there first.
    font::register();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width_px, height_px)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

fn draw_error(error: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(error.to_string())
}

fn text_style(size_px: u32, color: RGBColor) -> TextStyle<'static> {
    (font::FAMILY, size_px).into_font().color(&color)
}

/// The area below a title line.
fn titled<'a>(root: &Area<'a>, title: &str) -> Result<Area<'a>, ChartError> {
    root.titled(
        &truncated(title, TITLE_CHARS_MAX),
        text_style(20, TEXT_COLOR),
    )
    .map_err(draw_error)
}

/// The area above a one-line caption, which is drawn centered at the bottom.
fn captioned<'a>(body: &Area<'a>, caption: &str) -> Result<Area<'a>, ChartError> {
    let (_, height_px) = body.dim_in_pixel();
    let (plot, bottom) = body.split_vertically(height_px.saturating_sub(26));
    let (width_px, _) = bottom.dim_in_pixel();
    let style = text_style(15, MUTED_COLOR).pos(Pos::new(HPos::Center, VPos::Center));
    bottom
        .draw_text(caption, &style, (width_px as i32 / 2, 12))
        .map_err(draw_error)?;
    Ok(plot)
}

fn draw_no_data(body: &Area, note: &str) -> Result<(), ChartError> {
    let (width_px, height_px) = body.dim_in_pixel();
    let style = text_style(18, MUTED_COLOR).pos(Pos::new(HPos::Center, VPos::Center));
    body.draw_text(note, &style, (width_px as i32 / 2, height_px as i32 / 2))
        .map_err(draw_error)
}

fn draw_histogram(plot: &Area, bins: &Bins, unit: &str) -> Result<(), ChartError> {
    let count_max = bins.counts.iter().copied().max().unwrap_or(0);
    // Headroom above the tallest bar, so it does not touch the frame.
    let y_max = count_max + count_max / 10 + 1;
    let x_range = bins.start..bins.edge(bins.counts.len());
    let mut chart = ChartBuilder::on(plot)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range, 0u64..y_max)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(axis_name("value", unit))
        .y_desc("samples")
        .x_label_formatter(&|value| short_number(*value))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID_COLOR)
        .label_style(text_style(14, TEXT_COLOR))
        .axis_desc_style(text_style(15, TEXT_COLOR))
        .draw()
        .map_err(draw_error)?;
    let bars = (0..bins.counts.len())
        .filter(|&index| bins.counts[index] > 0)
        .map(|index| {
            let corners = [
                (bins.edge(index), 0),
                (bins.edge(index + 1), bins.counts[index]),
            ];
            let mut bar = Rectangle::new(corners, BAR_COLOR.filled());
            bar.set_margin(0, 0, 1, 1);
            bar
        });
    chart.draw_series(bars).map_err(draw_error)?;
    Ok(())
}

fn draw_cdf(plot: &Area, sorted: &[f64], unit: &str) -> Result<(), ChartError> {
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    let pad = if max > min {
        (max - min) * 0.02
    } else {
        min.abs().max(1.0) * 0.1
    };
    let x_range = (min - pad)..(max + pad);
    let mut chart = ChartBuilder::on(plot)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range.clone(), 0f64..1.04)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc(axis_name("value", unit))
        .y_desc("fraction of samples ≤ value")
        .x_label_formatter(&|value| short_number(*value))
        .y_label_formatter(&|fraction| format!("{:.0}%", fraction * 100.0))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID_COLOR)
        .label_style(text_style(14, TEXT_COLOR))
        .axis_desc_style(text_style(15, TEXT_COLOR))
        .draw()
        .map_err(draw_error)?;
    let line = LineSeries::new(cdf_points(sorted), BAR_COLOR.stroke_width(2));
    chart.draw_series(line).map_err(draw_error)?;
    let right_quarter = x_range.end - (x_range.end - x_range.start) / 4.0;
    for (name, level) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        let value = quantile(sorted, level);
        let label = format!("{name} {}", with_unit(value, unit));
        let guide = PathElement::new([(value, 0.0), (value, level)], MARK_COLOR.mix(0.35));
        chart.draw_series([guide]).map_err(draw_error)?;
        // The line rises to the right, so nothing is drawn below and right of a point on it,
        // nor above and left: labels go there, left only near the right edge.
        let (anchor, offset_px) = if value > right_quarter {
            (Pos::new(HPos::Right, VPos::Bottom), (-8, -4))
        } else {
            (Pos::new(HPos::Left, VPos::Top), (8, 4))
        };
        let style = text_style(14, MARK_COLOR).pos(anchor);
        let mark = EmptyElement::at((value, level))
            + Circle::new((0, 0), 4, MARK_COLOR.filled())
            + Text::new(label, offset_px, style);
        chart.draw_series([mark]).map_err(draw_error)?;
    }
    Ok(())
}

/// The CDF's step line: up at each value by 1/n. Past [`CDF_POINTS_MAX`] values, a line
/// through that many evenly spaced quantiles instead.
fn cdf_points(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len();
    if n <= CDF_POINTS_MAX {
        let step = |i: usize| i as f64 / n as f64;
        return (0..n)
            .flat_map(|i| [(sorted[i], step(i)), (sorted[i], step(i + 1))])
            .collect();
    }
    (0..=CDF_POINTS_MAX)
        .map(|j| {
            let level = j as f64 / CDF_POINTS_MAX as f64;
            (quantile(sorted, level), level)
        })
        .collect()
}

fn draw_bars(plot: &Area, shown: &[(String, u64)]) -> Result<(), ChartError> {
    let n = shown.len() as u32;
    let count_max = shown.iter().map(|(_, count)| *count).max().unwrap_or(0);
    // Room right of the longest bar for its count.
    let x_max = count_max + count_max / 8 + 1;
    let names: Vec<String> = shown
        .iter()
        .map(|(name, _)| truncated(name, LABEL_CHARS_MAX))
        .collect();
    let (width_px, _) = plot.dim_in_pixel();
    let mut chart = ChartBuilder::on(plot)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(label_area_px(&names, width_px))
        .build_cartesian_2d(0u64..x_max, (0u32..n - 1).into_segmented())
        .map_err(draw_error)?;
    // An integer range includes its end, so `0..n - 1` has n segments. Segment 0 is at the
    // bottom; the first bar goes on top.
    let row = |index: u32| n - 1 - index;
    let name_of = |segment: &SegmentValue<u32>| match segment {
        SegmentValue::CenterOf(index) if *index < n => names[row(*index) as usize].clone(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(shown.len())
        .y_label_formatter(&name_of)
        .x_desc("runs")
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID_COLOR)
        .label_style(text_style(14, TEXT_COLOR))
        .axis_desc_style(text_style(15, TEXT_COLOR))
        .draw()
        .map_err(draw_error)?;
    // A count of 0 draws no bar (a rectangle of no width), only its label.
    let bars = shown
        .iter()
        .zip(0u32..)
        .filter(|((_, count), _)| *count > 0);
    let bars = bars.map(|((_, count), index)| {
        let y = row(index);
        let corners = [
            (0, SegmentValue::Exact(y)),
            (*count, SegmentValue::Exact(y + 1)),
        ];
        let mut bar = Rectangle::new(corners, BAR_COLOR.filled());
        bar.set_margin(5, 5, 0, 0);
        bar
    });
    chart.draw_series(bars).map_err(draw_error)?;
    let style = text_style(14, TEXT_COLOR).pos(Pos::new(HPos::Left, VPos::Center));
    let counts = shown.iter().zip(0u32..).map(|((_, count), index)| {
        EmptyElement::at((*count, SegmentValue::CenterOf(row(index))))
            + Text::new(count.to_string(), (6, 0), style.clone())
    });
    chart.draw_series(counts).map_err(draw_error)?;
    Ok(())
}

/// Wide enough for the longest name, but never more than half the chart.
fn label_area_px(names: &[String], width_px: u32) -> u32 {
    let font = (font::FAMILY, 12).into_font();
    let widest_px = names
        .iter()
        .map(|name| font.box_size(name).map(|(w, _)| w).unwrap_or(0))
        .max()
        .unwrap_or(0);
    (widest_px + 16).clamp(40, width_px / 2)
}

/// The finite values of a sample, sorted, and how many others were skipped.
struct Sample {
    sorted: Vec<f64>,
    skipped: usize,
}

impl Sample {
    fn of(values: &[f64]) -> Sample {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        Sample {
            skipped: values.len() - sorted.len(),
            sorted,
        }
    }

    fn caption(&self, unit: &str) -> String {
        let sorted = &self.sorted;
        let mut caption = format!(
            "n = {} · median {} · p99 {} · max {}",
            sorted.len(),
            with_unit(quantile(sorted, 0.5), unit),
            with_unit(quantile(sorted, 0.99), unit),
            with_unit(sorted[sorted.len() - 1], unit),
        );
        if self.skipped > 0 {
            caption.push_str(&format!(" · {} non-finite skipped", self.skipped));
        }
        caption
    }

    fn empty_note(&self) -> String {
        match self.skipped {
            0 => "no samples".to_string(),
            skipped => format!("no samples ({skipped} non-finite values skipped)"),
        }
    }
}

/// The `level` quantile of a sorted, non-empty sample, interpolated linearly between the
/// two nearest values (Hyndman and Fan's type 7, what numpy and R give by default).
fn quantile(sorted: &[f64], level: f64) -> f64 {
    assert!(!sorted.is_empty(), "the quantile of no values");
    let position = level.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let weight = position - below as f64;
    sorted[below] + (sorted[above] - sorted[below]) * weight
}

/// Equal-width bins from `start`; the last one also holds the maximum.
#[derive(Debug)]
struct Bins {
    start: f64,
    width: f64,
    counts: Vec<u64>,
}

impl Bins {
    fn of(sorted: &[f64]) -> Result<Bins, ChartError> {
        let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
        let range = max - min;
        if !range.is_finite() {
            return Err(ChartError::Draw(format!(
                "values from {min} to {max} span more than a float holds"
            )));
        }
        let mut width = nice_near(raw_width(sorted, range))
            .max(nice_at_least(range / HISTOGRAM_BINS_MAX as f64));
        // Rounding `start` down can add one bin past the limit; the next round width (at
        // least 1.25 times wider) then fits, so the loop ends in a step or two.
        for _ in 0..8 {
            if !(width.is_normal() && width > 0.0) {
                break;
            }
            let start = (min / width).floor() * width;
            let bins = ((max - start) / width).ceil().max(1.0) as usize;
            if bins <= HISTOGRAM_BINS_MAX {
                return Ok(Bins::count(sorted, start, width, bins));
            }
            width = nice_at_least(width * 1.000_001);
        }
        Err(ChartError::Draw(format!(
            "no bin width fits values from {min} to {max}"
        )))
    }

    fn count(sorted: &[f64], start: f64, width: f64, bins: usize) -> Bins {
        let mut counts = vec![0u64; bins];
        for value in sorted {
            let index = ((value - start) / width).floor().max(0.0) as usize;
            counts[index.min(bins - 1)] += 1;
        }
        Bins {
            start,
            width,
            counts,
        }
    }

    fn edge(&self, index: usize) -> f64 {
        self.start + self.width * index as f64
    }
}

/// Freedman-Diaconis: twice the interquartile range over the cube root of n; the
/// square-root rule when most values are equal; a tenth of the value when all are.
fn raw_width(sorted: &[f64], range: f64) -> f64 {
    let n = sorted.len() as f64;
    let iqr = quantile(sorted, 0.75) - quantile(sorted, 0.25);
    if iqr > 0.0 {
        2.0 * iqr / n.cbrt()
    } else if range > 0.0 {
        range / n.sqrt().ceil()
    } else if sorted[0] != 0.0 {
        sorted[0].abs() / 10.0
    } else {
        1.0
    }
}

/// The nearest (by ratio) of 1, 2, 2.5 or 5 times a power of ten to `x` (`x` > 0).
fn nice_near(x: f64) -> f64 {
    let power = 10f64.powi(x.log10().floor() as i32);
    let distance = |nice: f64| (nice / x).ln().abs();
    [0.5, 1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .min_by(|a, b| distance(*a).total_cmp(&distance(*b)))
        .unwrap_or(power)
}

/// The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `x` (`x` > 0).
fn nice_at_least(x: f64) -> f64 {
    let power = 10f64.powi(x.log10().floor() as i32);
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        // The tolerance keeps 0.3 from becoming 0.5 when log10 rounds a hair low.
        .find(|&nice| nice >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

fn axis_name(name: &str, unit: &str) -> String {
    match unit {
        "" => name.to_string(),
        unit => format!("{name} ({unit})"),
    }
}

fn with_unit(value: f64, unit: &str) -> String {
    match unit {
        "" => short_number(value),
        unit => format!("{} {unit}", short_number(value)),
    }
}

/// At most three decimals, fewer for large numbers, no trailing zeros.
fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    let text = if magnitude != 0.0 && magnitude < 0.001 {
        return format!("{value:.2e}");
    } else if magnitude >= 1000.0 {
        format!("{value:.0}")
    } else if magnitude >= 100.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    };
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    match trimmed {
        "-0" => "0".to_string(),
        other => other.to_string(),
    }
}

fn truncated(text: &str, chars_max: usize) -> String {
    if text.chars().count() <= chars_max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(chars_max - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_neighbours() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&sorted, 0.5), 50.5);
        assert_eq!(quantile(&sorted, 0.25), 25.75);
        assert_eq!(quantile(&sorted, 1.0), 100.0);
        assert_eq!(quantile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn bin_widths_are_round_and_bins_cover_every_value() {
        // IQR 49.5, n^(1/3) ≈ 4.64: raw width ≈ 21.3, rounded to 20 from 0.
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        let bins = Bins::of(&sorted).unwrap();
        assert_eq!((bins.start, bins.width), (0.0, 20.0));
        assert_eq!(bins.counts, vec![19, 20, 20, 20, 21]);
        let same = Bins::of(&[3.0, 3.0, 3.0]).unwrap();
        assert_eq!(same.counts.iter().sum::<u64>(), 3);
        assert_eq!(same.counts.len(), 1);
        let zeros = Bins::of(&[0.0, 0.0]).unwrap();
        assert_eq!((zeros.width, zeros.counts.clone()), (1.0, vec![2]));
    }

    #[test]
    fn a_long_tail_is_capped_at_the_bin_limit() {
        let mut sorted: Vec<f64> = (0..1000).map(|i| f64::from(i % 10)).collect();
        sorted.push(1e6);
        sorted.sort_by(f64::total_cmp);
        let bins = Bins::of(&sorted).unwrap();
        assert!(
            bins.counts.len() <= HISTOGRAM_BINS_MAX,
            "{}",
            bins.counts.len()
        );
        assert_eq!(bins.counts.iter().sum::<u64>(), 1001);
        assert!(bins.edge(bins.counts.len()) >= 1e6);
        assert_eq!(
            bins.counts[bins.counts.len() - 1],
            1,
            "the last bin holds the maximum"
        );
    }

    #[test]
    fn nice_numbers_round_to_the_nearest_or_up() {
        assert_eq!(nice_near(21.3), 20.0);
        assert_eq!(nice_near(36.0), 50.0);
        assert_eq!(nice_near(0.7), 0.5);
        assert_eq!(nice_near(0.9), 1.0);
        assert_eq!(nice_at_least(21.3), 25.0);
        assert_eq!(nice_at_least(0.3), 0.5);
        assert_eq!(nice_at_least(1.0), 1.0);
        assert_eq!(nice_at_least(5.5), 10.0);
    }

    #[test]
    fn short_numbers_drop_trailing_zeros() {
        assert_eq!(short_number(50.5), "50.5");
        assert_eq!(short_number(100.0), "100");
        assert_eq!(short_number(1234.6), "1235");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(-0.0), "0");
        assert_eq!(short_number(0.0001), "1.00e-4");
    }
}
