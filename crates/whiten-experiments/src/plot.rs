//! Figures as data, rendered to SVG and PNG with plotters.
//!
//! An experiment describes a [`Figure`] (panels with titled, labelled axes, line or marker
//! series with legends, optional greyscale images and text notes); [`Figure::render`] draws it.
//! Log axes are drawn as linear axes over `log10` of the data with decade ticks, so that every
//! panel has the same coordinate type. Text uses the embedded DejaVu Sans font, so PNGs render
//! identically on a machine without system fonts.
//!
//! The layout keeps data readable: each panel's legend and notes sit in a column to the right
//! of its plotting area, never over the data; titles shrink until they fit their width; a
//! panel with an image gets the image's aspect ratio; colours come from a colour-blind-safe
//! palette. [`Figure::layout_issues`] re-checks all of this on the drawn geometry (text inside
//! the canvas, legends off the data, no two series of a panel in near-identical colours), and
//! the snapshot tests run it on every experiment's figures.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{ExperimentError, Result};

/// A figure: a grid of panels under a title, written as `<name>.svg` and `<name>.png`.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// File stem.
    pub name: String,
    /// Title over all panels.
    pub title: String,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
    /// Size of one panel in pixels.
    pub panel_size: (u32, u32),
}

impl Figure {
    /// A figure with one panel.
    pub fn single(name: impl Into<String>, title: impl Into<String>, panel: Panel) -> Self {
        Self::grid(name, title, vec![panel], 1)
    }

    /// A figure with panels laid out `columns` to a row.
    pub fn grid(
        name: impl Into<String>,
        title: impl Into<String>,
        panels: Vec<Panel>,
        columns: usize,
    ) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            panels,
            columns: columns.max(1),
            panel_size: (640, 440),
        }
    }

    /// Sets the size of one panel.
    pub fn with_panel_size(mut self, width: u32, height: u32) -> Self {
        self.panel_size = (width, height);
        self
    }

    /// Draws the figure into `dir` as SVG and PNG; returns the two paths.
    pub fn render(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        register_fonts();
        let (rows, cols, size) = self.grid_size();
        let svg = dir.join(format!("{}.svg", self.name));
        let png = dir.join(format!("{}.png", self.name));
        let err = |e: String| ExperimentError::Plot {
            figure: self.name.clone(),
            message: e,
        };
        {
            let root = SVGBackend::new(&svg, size).into_drawing_area();
            self.draw(&root, rows, cols, false).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))?;
        }
        // The PNG: drawn into memory, then encoded by the `image` crate (which also reads the
        // users' images), so that plotters needs no encoder of its own.
        let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
            self.draw(&root, rows, cols, true).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))?;
        }
        let mut encoded = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut encoded),
            &rgb,
            size.0,
            size.1,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| err(format!("PNG encoding: {e}")))?;
        std::fs::write(&png, encoded).map_err(|e| err(format!("{}: {e}", png.display())))?;
        Ok(vec![svg, png])
    }

    /// Rows and columns of panels, and the canvas size in pixels (40 more for the title; wider
    /// by the largest row's [`Self::widths`] beyond the panel size).
    fn grid_size(&self) -> (usize, usize, (u32, u32)) {
        let rows = self.panels.len().div_ceil(self.columns).max(1);
        let cols = self.columns.min(self.panels.len().max(1));
        let extra = self.widths().map_or(0, |w| {
            w.chunks(cols)
                .map(|row| row.iter().map(|&(_, extra)| extra).sum::<u32>())
                .max()
                .unwrap_or(0)
        });
        let size = (
            self.panel_size.0 * cols as u32 + extra,
            self.panel_size.1 * rows as u32 + 40,
        );
        (rows, cols, size)
    }

    /// Per panel, its legend column and how much wider than the panel size it is drawn, when a
    /// row mixes panels with and without a legend column (one legend per row, say): each panel
    /// then gets its own column's width beyond the row's narrowest, so that the plotting areas
    /// of a row are equally wide. `None` when no row mixes them (panels split the canvas evenly).
    fn widths(&self) -> Option<Vec<(i32, u32)>> {
        if self.columns < 2 {
            return None;
        }
        let mut buf = vec![0u8; 3];
        let area = BitMapBackend::with_buffer(&mut buf, (1, 1)).into_drawing_area();
        let base = self.panel_size.0 as i32;
        let cols: Vec<i32> = self
            .panels
            .iter()
            .map(|p| p.legend_column(&area, base))
            .collect();
        let mut out = Vec::with_capacity(cols.len());
        let mut mixed = false;
        for row in cols.chunks(self.columns) {
            let narrowest = row.iter().copied().min().unwrap_or(0);
            mixed |= row.iter().any(|&c| c - narrowest > 20);
            out.extend(row.iter().map(|&c| (c, (c - narrowest) as u32)));
        }
        mixed.then_some(out)
    }

    /// Draws the figure; `bitmap`: the backend is a bitmap (see [`stroke`]).
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        rows: usize,
        cols: usize,
        bitmap: bool,
    ) -> std::result::Result<Geometry, String> {
        let mut geo = Geometry::default();
        let (w, h) = root.dim_in_pixel();
        geo.canvas = (0, 0, w as i32, h as i32);
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let size = fitted_size(root, &self.title, 24.0, w as i32 - 16);
        let (tw, _) = text_size(root, &self.title, size);
        geo.texts.push((
            self.title.clone(),
            (
                (w as i32 - tw) / 2,
                0,
                (w as i32 + tw) / 2,
                size as i32 + 10,
            ),
        ));
        let root = root
            .titled(&self.title, (FONT, size))
            .map_err(|e| e.to_string())?;
        match self.widths() {
            None => {
                let areas = root.split_evenly((rows, cols));
                for (panel, area) in self.panels.iter().zip(areas.iter()) {
                    panel.draw(area, &mut geo, bitmap, None)?;
                }
            }
            Some(widths) => {
                let row_areas = root.split_evenly((rows, 1));
                let panels = self.panels.chunks(cols).zip(widths.chunks(cols));
                for (row_area, (panels, widths)) in row_areas.iter().zip(panels) {
                    let mut rest = row_area.clone();
                    for (panel, &(legend, extra)) in panels.iter().zip(widths) {
                        let w = self.panel_size.0 + extra;
                        let (area, right) = rest.split_horizontally(w);
                        panel.draw(&area, &mut geo, bitmap, Some(legend))?;
                        rest = right;
                    }
                }
            }
        }
        Ok(geo)
    }

    /// What a reader would object to in the drawn layout: text outside the canvas (a clipped
    /// title), a legend over the plotting area, two series of a panel with the same style in
    /// near-identical colours. Empty when the figure is fine. Draws into memory, writes nothing.
    pub fn layout_issues(&self) -> Vec<String> {
        register_fonts();
        let (rows, cols, size) = self.grid_size();
        let mut buf = vec![0u8; size.0 as usize * size.1 as usize * 3];
        let geo = {
            let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
            match self.draw(&root, rows, cols, true) {
                Ok(g) => g,
                Err(e) => return vec![format!("{}: cannot be drawn: {e}", self.name)],
            }
        };
        geo.issues()
            .into_iter()
            .map(|i| format!("{}: {i}", self.name))
            .collect()
    }
}

/// A rectangle in pixels of the whole canvas: `(left, top, right, bottom)`.
type Rect = (i32, i32, i32, i32);

/// A legend entry as the reader tells series apart: label, style, colour.
type SeriesKey = (String, Style, RGBColor);

/// Where things were drawn, for [`Figure::layout_issues`].
#[derive(Debug, Default)]
struct Geometry {
    canvas: Rect,
    /// Every piece of text and its box.
    texts: Vec<(String, Rect)>,
    /// Plotting areas (data) and legend columns, per panel.
    plots: Vec<(String, Rect, Option<Rect>)>,
    /// Per panel: the labelled series' (label, style, colour).
    series: Vec<(String, Vec<SeriesKey>)>,
    /// Panels whose legend column is taller than the panel.
    overflows: Vec<String>,
}

/// Colours closer than this (Euclidean distance in RGB) are too alike for one panel.
const MIN_COLOUR_DISTANCE: f64 = 70.0;

impl Geometry {
    fn issues(&self) -> Vec<String> {
        let mut out = self.overflows.clone();
        let (l, t, r, b) = self.canvas;
        for (text, (x0, y0, x1, y1)) in &self.texts {
            if *x0 < l || *y0 < t || *x1 > r || *y1 > b {
                out.push(format!("text {text:?} runs outside the canvas"));
            }
        }
        for (title, plot, legend) in &self.plots {
            if let Some(g) = legend
                && g.0 < plot.2
                && plot.0 < g.2
                && g.1 < plot.3
                && plot.1 < g.3
            {
                out.push(format!("panel {title:?}: the legend overlaps the data"));
            }
        }
        for (title, series) in &self.series {
            for (i, a) in series.iter().enumerate() {
                for b in &series[i + 1..] {
                    let d = colour_distance(a.2, b.2);
                    if a.0 != b.0 && a.1 == b.1 && d < MIN_COLOUR_DISTANCE {
                        out.push(format!(
                            "panel {title:?}: {:?} and {:?} have near-identical colours",
                            a.0, b.0
                        ));
                    }
                }
            }
        }
        out
    }
}

fn colour_distance(a: RGBColor, b: RGBColor) -> f64 {
    let d = |x: u8, y: u8| (x as f64 - y as f64).powi(2);
    (d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)).sqrt()
}

/// Width and height of `text` at `size` points.
fn text_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
) -> (i32, i32) {
    area.estimate_text_size(text, &(FONT, size).into_text_style(area))
        .map(|(w, h)| (w as i32, h as i32))
        .unwrap_or((0, 0))
}

/// The largest size from `size` down to 10 points at which `text` fits in `width` pixels.
fn fitted_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
    width: i32,
) -> f64 {
    let mut s = size;
    while s > 10.0 && text_size(area, text, s).0 > width {
        s -= 1.0;
    }
    s
}

/// `text` broken at spaces into lines at most `width` pixels wide at `size` points.
fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
    width: i32,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let trial = if cur.is_empty() {
            word.to_owned()
        } else {
            format!("{cur} {word}")
        };
        if !cur.is_empty() && text_size(area, &trial, size).0 > width {
            lines.push(std::mem::replace(&mut cur, word.to_owned()));
        } else {
            cur = trial;
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

const FONT: &str = "sans-serif";

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font is valid TrueType; failure here would be a packaging bug.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Scale of an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Linear.
    #[default]
    Linear,
    /// Base-10 logarithmic (non-positive values are dropped).
    Log,
}

/// An axis: its label (with units) and scale, and optionally a fixed range.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Axis {
    /// Label, with units where there are any.
    pub label: String,
    /// Linear or log.
    pub scale: Scale,
    /// Fixed range in data units; fitted to the data when `None`.
    pub range: Option<(f64, f64)>,
    /// Names of the positions `1, 2, ..` of a categorical axis ([`Axis::categories`]); empty
    /// for a numeric one.
    pub categories: Vec<String>,
}

impl Axis {
    /// A linear axis.
    pub fn linear(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            scale: Scale::Linear,
            range: None,
            categories: Vec::new(),
        }
    }

    /// A log axis.
    pub fn log(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            scale: Scale::Log,
            range: None,
            categories: Vec::new(),
        }
    }

    /// A categorical axis: `names[i]` at position `i + 1`, the range `[0.5, n + 0.5]`; the
    /// ticks are the names (positions between them are unlabelled).
    pub fn categories(label: impl Into<String>, names: Vec<String>) -> Self {
        let n = names.len() as f64;
        Self {
            label: label.into(),
            scale: Scale::Linear,
            range: Some((0.5, n + 0.5)),
            categories: names,
        }
    }

    /// The tick label at `v` (in plot units).
    fn tick(&self, v: f64) -> String {
        if self.categories.is_empty() {
            return tick_label(v, self.scale);
        }
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 1.0 && i <= self.categories.len() as f64 {
            self.categories[i as usize - 1].clone()
        } else {
            String::new()
        }
    }

    /// Fixes the range.
    pub fn with_range(mut self, lo: f64, hi: f64) -> Self {
        self.range = Some((lo, hi));
        self
    }

    fn to_plot(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => v,
            Scale::Log => {
                if v > 0.0 {
                    v.log10()
                } else {
                    f64::NAN
                }
            }
        }
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// A solid line.
    #[default]
    Line,
    /// A dashed line (theory, closed forms, references).
    Dashed,
    /// Markers only.
    Markers,
    /// A line with markers.
    LineMarkers,
    /// Vertical bars with caps: the points come in pairs `(x, low), (x, high)` (a spread over
    /// seeds, say), made with [`Series::ranges`].
    Range,
}

/// A series of points; non-finite points break the line into segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry (none: not in the legend).
    pub label: Option<String>,
    /// The points in data units.
    pub points: Vec<(f64, f64)>,
    /// Line, dashed, markers.
    pub style: Style,
    /// Palette index (defaults to the series' position).
    pub color: Option<usize>,
}

impl Series {
    /// A solid line with a legend entry.
    pub fn line(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: Some(label.into()),
            points,
            style: Style::Line,
            color: None,
        }
    }

    /// Vertical bars from `low` to `high` at each `x` (drawn as [`Style::Range`]).
    pub fn ranges(label: impl Into<String>, bars: &[(f64, f64, f64)]) -> Self {
        Self {
            label: Some(label.into()),
            points: bars
                .iter()
                .flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])
                .collect(),
            style: Style::Range,
            color: None,
        }
    }

    /// A dashed black horizontal line at `y = threshold` from `x0` to `x1`, labelled
    /// "threshold {threshold}": the error level that counts as whitened.
    pub fn threshold(threshold: f64, x0: f64, x1: f64) -> Self {
        Self::line(
            format!("threshold {threshold}"),
            vec![(x0, threshold), (x1, threshold)],
        )
        .styled(Style::Dashed)
        .colored(BLACK_INDEX)
    }

    /// Sets the style.
    pub fn styled(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Sets the palette colour.
    pub fn colored(mut self, color: usize) -> Self {
        self.color = Some(color);
        self
    }

    /// Removes the legend entry.
    pub fn unlabelled(mut self) -> Self {
        self.label = None;
        self
    }
}

/// A greyscale image drawn over the whole plotting area (axes in pixel units).
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major values; `lo` maps to black and `hi` to white.
    pub values: Vec<f64>,
    /// Value drawn black.
    pub lo: f64,
    /// Value drawn white.
    pub hi: f64,
}

/// Where the legend column (right of the plotting area, never over the data) is aligned:
/// with the top of the plotting area (`Upper*`) or its bottom (`Lower*`). The left/right part
/// of the name is kept for older callers and has no effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Legend {
    /// Aligned with the top (default).
    #[default]
    UpperRight,
    /// Aligned with the top.
    UpperLeft,
    /// Aligned with the bottom.
    LowerLeft,
    /// Aligned with the bottom.
    LowerRight,
    /// Not drawn: another panel of the row carries the same legend (notes are still drawn,
    /// and the plotting area takes the room the legend would have had).
    Hidden,
}

/// One panel: axes, series, an optional image and text notes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// Series, drawn in order.
    pub series: Vec<Series>,
    /// Lines of text, drawn in the column right of the plotting area, under the legend.
    pub notes: Vec<String>,
    /// An image drawn under the series.
    pub raster: Option<Raster>,
    /// One unit of x as long as one unit of y (the plotting area takes the data's aspect
    /// ratio), for data whose two axes measure the same thing: circles stay circles.
    pub equal_aspect: bool,
    /// Where the legend goes.
    pub legend: Legend,
}

impl Panel {
    /// A panel with a title and two axes.
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Self {
        Self {
            title: title.into(),
            x,
            y,
            ..Self::default()
        }
    }

    /// Adds a series.
    pub fn with(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Places the legend.
    pub fn legend_at(mut self, legend: Legend) -> Self {
        self.legend = legend;
        self
    }

    /// Draws one unit of x as long as one unit of y ([`Panel::equal_aspect`]).
    pub fn with_equal_aspect(mut self) -> Self {
        self.equal_aspect = true;
        self
    }

    /// Adds a note.
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    fn range(&self, axis: &Axis, pick: impl Fn(&(f64, f64)) -> f64) -> (f64, f64) {
        if let Some((lo, hi)) = axis.range {
            return (axis.to_plot(lo), axis.to_plot(hi));
        }
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for s in &self.series {
            for p in &s.points {
                let v = axis.to_plot(pick(p));
                if v.is_finite() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        if hi - lo < 1e-12 * (1.0 + lo.abs()) {
            return (lo - 0.5, hi + 0.5);
        }
        match axis.scale {
            Scale::Linear => {
                let pad = 0.04 * (hi - lo);
                (lo - pad, hi + pad)
            }
            Scale::Log => (
                lo - 0.05 * (hi - lo).max(0.2),
                hi + 0.05 * (hi - lo).max(0.2),
            ),
        }
    }

    /// Width of the column right of the plotting area (legend entries, then notes) in a panel
    /// `aw` pixels wide: the widest entry, at most 2/5 of the panel; 0 without entries or notes.
    fn legend_column<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, aw: i32) -> i32 {
        let widest = self
            .legend_entries()
            .iter()
            .map(|(_, l)| text_size(area, l, LEGEND_FONT).0 + 30)
            .chain(self.notes.iter().map(|n| text_size(area, n, LEGEND_FONT).0))
            .max();
        widest.map_or(0, |w| (w + 20).min(aw * 2 / 5))
    }

    /// The labelled series that have a finite point, with their labels.
    fn labelled(&self) -> Vec<(usize, &str)> {
        self.series
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.label
                    .as_deref()
                    .filter(|_| s.points.iter().any(|p| p.0.is_finite() && p.1.is_finite()))
                    .map(|l| (i, l))
            })
            .collect()
    }

    /// The entries of the legend column (none when the legend is hidden).
    fn legend_entries(&self) -> Vec<(usize, &str)> {
        if self.legend == Legend::Hidden {
            Vec::new()
        } else {
            self.labelled()
        }
    }

    /// Draws the panel into `area`; `legend`: the width of its legend column, when the figure
    /// chose it ([`Figure::widths`]).
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        geo: &mut Geometry,
        bitmap: bool,
        legend: Option<i32>,
    ) -> std::result::Result<(), String> {
        let (x0, x1) = self.range(&self.x, |p| p.0);
        let (y0, y1) = self.range(&self.y, |p| p.1);
        let xr = Ticked::for_axis(x0, x1, &self.x);
        let yr = Ticked::for_axis(y0, y1, &self.y);
        let (aw, ah) = area.dim_in_pixel();
        let (aw, ah) = (aw as i32, ah as i32);
        let (ax, ay) = area.get_base_pixel();
        let bound = (ax, ay, ax + aw, ay + ah);

        // The column right of the plotting area: legend entries, then notes.
        let labelled = self.labelled();
        let entries = self.legend_entries();
        let col_w = legend.unwrap_or_else(|| self.legend_column(area, aw));
        let plot_area = if col_w > 0 {
            area.split_horizontally(aw - col_w).0
        } else {
            area.clone()
        };

        // Title, shrunk to the width of the plotting column.
        let pw_total = aw - col_w;
        let size = fitted_size(area, &self.title, 18.0, pw_total - 8);
        let (tw, th) = text_size(area, &self.title, size);
        let tx = (pw_total - tw) / 2;
        plot_area
            .draw(&Text::new(
                self.title.clone(),
                (tx, 6),
                (FONT, size).into_font().color(&BLACK),
            ))
            .map_err(|e| e.to_string())?;
        geo.texts.push((
            self.title.clone(),
            (ax + tx, ay + 6, ax + tx + tw, ay + 6 + th),
        ));
        let cap_h = th + 10;

        let build = |extra_x: i32, extra_y: i32| {
            ChartBuilder::on(&plot_area)
                .margin(12)
                .margin_top(6 + cap_h)
                .margin_right(12 + extra_x)
                .margin_bottom(12 + extra_y)
                .x_label_area_size(44)
                .y_label_area_size(64)
                .build_cartesian_2d(xr.clone(), yr.clone())
                .map_err(|e| e.to_string())
        };
        let mut chart = build(0, 0)?;
        // Square pixels for an image, equal units for equal-aspect data: the plotting area
        // takes that aspect ratio (width / height).
        let aspect = match &self.raster {
            Some(r) => Some(r.width as f64 / r.height.max(1) as f64),
            None if self.equal_aspect && self.x.scale == self.y.scale => {
                Some((x1 - x0).abs() / (y1 - y0).abs().max(f64::MIN_POSITIVE))
            }
            None => None,
        };
        if let Some(ratio) = aspect.filter(|r| r.is_finite() && *r > 0.0) {
            let (pw, ph) = chart.plotting_area().dim_in_pixel();
            let (pw, ph) = (pw as f64, ph as f64);
            if pw > ph * ratio {
                chart = build((pw - ph * ratio).round() as i32, 0)?;
            } else {
                chart = build(0, (ph - pw / ratio).round() as i32)?;
            }
        }
        let (xa, ya) = (&self.x, &self.y);
        chart
            .configure_mesh()
            .x_desc(self.x.label.as_str())
            .y_desc(self.y.label.as_str())
            .x_label_formatter(&|v| xa.tick(*v))
            .y_label_formatter(&|v| ya.tick(*v))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(|e| e.to_string())?;

        if let Some(r) = &self.raster {
            let cells = raster_runs(r, RASTER_CELLS);
            let (cw, ch) = (
                r.width.div_ceil(RASTER_CELLS.min(r.width).max(1)),
                r.height.div_ceil(RASTER_CELLS.min(r.height).max(1)),
            );
            let (w, h) = (r.width.div_ceil(cw) as f64, r.height.div_ceil(ch) as f64);
            chart
                .draw_series(cells.into_iter().map(|(row, c0, c1, g)| {
                    // Row 0 is the top of the image.
                    let xa = x0 + (x1 - x0) * c0 as f64 / w;
                    let xb = x0 + (x1 - x0) * c1 as f64 / w;
                    let ya = y1 - (y1 - y0) * row as f64 / h;
                    let yb = y1 - (y1 - y0) * (row + 1) as f64 / h;
                    Rectangle::new([(xa, ya), (xb, yb)], RGBColor(g, g, g).filled())
                }))
                .map_err(|e| e.to_string())?;
        }

        for (idx, s) in self.series.iter().enumerate() {
            let color = palette(s.color.unwrap_or(idx));
            // Points outside a fixed axis range break the line instead of being drawn over
            // the axes.
            let inside = |v: f64, lo: f64, hi: f64| {
                let tol = 1e-9 * (hi - lo).abs();
                v >= lo.min(hi) - tol && v <= lo.max(hi) + tol
            };
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .map(|&(x, y)| (self.x.to_plot(x), self.y.to_plot(y)))
                .map(|(x, y)| {
                    if inside(x, x0, x1) && inside(y, y0, y1) {
                        (x, y)
                    } else {
                        (f64::NAN, f64::NAN)
                    }
                })
                .collect();
            let to_px = |p: &(f64, f64)| chart.backend_coord(p);
            if s.style == Style::Range {
                for bar in pts.chunks_exact(2) {
                    if bar.iter().any(|p| p.0.is_nan() || p.1.is_nan()) {
                        continue;
                    }
                    let ((x, ya), (_, yb)) = (to_px(&bar[0]), to_px(&bar[1]));
                    stroke(area, &[(x, ya), (x, yb)], color, bitmap)?;
                    for y in [ya, yb] {
                        stroke(area, &[(x - 4, y), (x + 4, y)], color, bitmap)?;
                    }
                }
                continue;
            }
            for seg in split_segments(&pts) {
                match s.style {
                    Style::Line | Style::LineMarkers => {
                        let px: Vec<(i32, i32)> = seg.iter().map(to_px).collect();
                        stroke(area, &px, color, bitmap)?;
                    }
                    Style::Dashed => {
                        for d in dashes(&seg, to_px) {
                            let px: Vec<(i32, i32)> = d.iter().map(to_px).collect();
                            stroke(area, &px, color, bitmap)?;
                        }
                    }
                    Style::Markers | Style::Range => {}
                }
                if matches!(s.style, Style::Markers | Style::LineMarkers) {
                    let (bx, by) = area.get_base_pixel();
                    for p in &seg {
                        let (x, y) = to_px(p);
                        area.draw(&Circle::new(
                            (x - bx, y - by),
                            3,
                            ShapeStyle::from(&color).filled(),
                        ))
                        .map_err(|e| e.to_string())?;
                    }
                }
            }
        }

        let (px, py) = chart.plotting_area().get_base_pixel();
        let (pw, ph) = chart.plotting_area().dim_in_pixel();
        let (pw, ph) = (pw as i32, ph as i32);
        let legend_rect = (col_w > 0).then_some((ax + aw - col_w, py, ax + aw, py + ph));
        geo.plots
            .push((self.title.clone(), (px, py, px + pw, py + ph), legend_rect));
        geo.series.push((
            self.title.clone(),
            labelled
                .iter()
                .map(|&(i, l)| {
                    let s = &self.series[i];
                    (l.to_owned(), s.style, palette(s.color.unwrap_or(i)))
                })
                .collect(),
        ));
        if col_w == 0 {
            return Ok(());
        }

        // Legend entries and notes, in the column (coordinates relative to the panel).
        let line_h = 18;
        let note_lines: Vec<String> = self
            .notes
            .iter()
            .flat_map(|n| wrap(area, n, LEGEND_FONT, col_w - 12))
            .collect();
        let gap = if entries.is_empty() || note_lines.is_empty() {
            0
        } else {
            10
        };
        let total = line_h * (entries.len() + note_lines.len()) as i32 + gap;
        let top = match self.legend {
            Legend::UpperRight | Legend::UpperLeft => py - ay + 2,
            Legend::LowerLeft | Legend::LowerRight => (py - ay + ph - total).max(py - ay + 2),
            Legend::Hidden => py - ay + 2,
        };
        let x = aw - col_w + 10;
        let mut y = top;
        for &(i, label) in &entries {
            let s = &self.series[i];
            let color = palette(s.color.unwrap_or(i));
            let style = ShapeStyle::from(&color).stroke_width(2);
            let mid = y + line_h / 2;
            let dot = Circle::new((x + 11, mid), 3, ShapeStyle::from(&color).filled());
            match s.style {
                Style::Line => area.draw(&PathElement::new(vec![(x, mid), (x + 22, mid)], style)),
                Style::Dashed => area
                    .draw(&PathElement::new(vec![(x, mid), (x + 8, mid)], style))
                    .and_then(|_| {
                        area.draw(&PathElement::new(vec![(x + 13, mid), (x + 22, mid)], style))
                    }),
                Style::Markers => area.draw(&dot),
                Style::Range => area
                    .draw(&PathElement::new(
                        vec![(x + 11, mid - 6), (x + 11, mid + 6)],
                        style,
                    ))
                    .and_then(|_| {
                        area.draw(&PathElement::new(
                            vec![(x + 7, mid - 6), (x + 15, mid - 6)],
                            style,
                        ))
                    })
                    .and_then(|_| {
                        area.draw(&PathElement::new(
                            vec![(x + 7, mid + 6), (x + 15, mid + 6)],
                            style,
                        ))
                    }),
                Style::LineMarkers => area
                    .draw(&PathElement::new(vec![(x, mid), (x + 22, mid)], style))
                    .and_then(|_| area.draw(&dot)),
            }
            .map_err(|e| e.to_string())?;
            let size = fitted_size(area, label, LEGEND_FONT, col_w - 40);
            let (lw, lh) = text_size(area, label, size);
            area.draw(&Text::new(
                label.to_owned(),
                (x + 28, mid - lh / 2),
                (FONT, size).into_font().color(&BLACK),
            ))
            .map_err(|e| e.to_string())?;
            geo.texts.push((
                label.to_owned(),
                (
                    ax + x + 28,
                    ay + mid - lh / 2,
                    ax + x + 28 + lw,
                    ay + mid + lh / 2,
                ),
            ));
            y += line_h;
        }
        y += gap;
        for line in note_lines {
            let (lw, lh) = text_size(area, &line, LEGEND_FONT);
            area.draw(&Text::new(
                line.clone(),
                (x, y),
                (FONT, LEGEND_FONT).into_font().color(&BLACK),
            ))
            .map_err(|e| e.to_string())?;
            geo.texts
                .push((line, (ax + x, ay + y, ax + x + lw, ay + y + lh)));
            y += line_h;
        }
        // Text must stay inside its own panel too.
        if ay + y > bound.3 {
            geo.overflows.push(format!(
                "panel {:?}: legend and notes run {} px past the panel",
                self.title,
                ay + y - bound.3
            ));
        }
        Ok(())
    }
}

/// Legend and note text size in points.
const LEGEND_FONT: f64 = 13.0;

/// Largest number of raster cells drawn along each side (images are block-averaged down to
/// it), so that SVG files stay small.
const RASTER_CELLS: usize = 128;

/// Draws the polyline `px` (absolute backend pixels) two pixels wide into `area`. In a bitmap
/// it is drawn as three one-pixel lines (offset by nothing, one pixel right, one pixel down):
/// plotters fills wider bitmap lines as polygons, which for steep jumps in noisy data leak a
/// line down to the edge of the canvas (plotters issue #549).
fn stroke<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    px: &[(i32, i32)],
    color: RGBColor,
    bitmap: bool,
) -> std::result::Result<(), String> {
    let (bx, by) = area.get_base_pixel();
    let shifted = |dx: i32, dy: i32| -> Vec<(i32, i32)> {
        px.iter()
            .map(|&(x, y)| (x - bx + dx, y - by + dy))
            .collect()
    };
    if bitmap {
        for (dx, dy) in [(0, 0), (1, 0), (0, 1)] {
            area.draw(&PathElement::new(
                shifted(dx, dy),
                ShapeStyle::from(&color).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    } else {
        area.draw(&PathElement::new(
            shifted(0, 0),
            ShapeStyle::from(&color).stroke_width(2),
        ))
        .map_err(|e| e.to_string())
    }
}

/// Dash length and gap, in pixels.
const DASH: (f64, f64) = (8.0, 5.0);

/// The dashes of the polyline `seg` (plotted coordinates), `DASH` long with `DASH` gaps
/// measured in pixels (`to_px` maps a point to the backend), each as its two end points.
/// plotters' own dashed series draws a stray line across the whole canvas for some vertical
/// segments in bitmaps; these dashes are plain two-point paths.
fn dashes(seg: &[(f64, f64)], to_px: impl Fn(&(f64, f64)) -> (i32, i32)) -> Vec<Vec<(f64, f64)>> {
    let (on, off) = DASH;
    let mut out = Vec::new();
    // Position along the dash pattern (pixels), carried across the polyline's corners.
    let mut phase = 0.0_f64;
    for w in seg.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (pa, pb) = (to_px(&a), to_px(&b));
        let len = f64::from(pb.0 - pa.0).hypot(f64::from(pb.1 - pa.1));
        if len < 1e-9 {
            continue;
        }
        let at = |d: f64| {
            let f = (d / len).clamp(0.0, 1.0);
            (a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1))
        };
        let mut d = 0.0;
        while d < len {
            let in_pattern = phase % (on + off);
            if in_pattern < on {
                let end = (d + on - in_pattern).min(len);
                out.push(vec![at(d), at(end)]);
                phase += end - d;
                d = end;
            } else {
                let end = (d + on + off - in_pattern).min(len);
                phase += end - d;
                d = end;
            }
        }
    }
    out
}

/// The raster block-averaged to at most `cells` per side, grey levels quantised to 64 steps,
/// as horizontal runs `(row, first column, end column, grey)` of equal grey.
fn raster_runs(r: &Raster, cells: usize) -> Vec<(usize, usize, usize, u8)> {
    let cw = r.width.div_ceil(cells.min(r.width).max(1));
    let ch = r.height.div_ceil(cells.min(r.height).max(1));
    let (nw, nh) = (r.width.div_ceil(cw), r.height.div_ceil(ch));
    let span = (r.hi - r.lo).max(1e-300);
    let mut runs = Vec::new();
    for bi in 0..nh {
        let mut row: Vec<u8> = Vec::with_capacity(nw);
        for bj in 0..nw {
            let (mut sum, mut count) = (0.0, 0usize);
            for i in bi * ch..((bi + 1) * ch).min(r.height) {
                for j in bj * cw..((bj + 1) * cw).min(r.width) {
                    sum += r.values[i * r.width + j];
                    count += 1;
                }
            }
            let v = ((sum / count as f64 - r.lo) / span).clamp(0.0, 1.0);
            row.push(((v * 63.0).round() * 255.0 / 63.0).round() as u8);
        }
        let mut start = 0;
        for j in 1..=nw {
            if j == nw || row[j] != row[start] {
                runs.push((bi, start, j, row[start]));
                start = j;
            }
        }
    }
    runs
}

fn split_segments(pts: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for &p in pts {
        if p.0.is_finite() && p.1.is_finite() {
            cur.push(p);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Contour lines of a function sampled on a regular grid, by marching squares.
///
/// `values` is row-major with `ny` rows (y increasing with the row) and `nx` columns, sampled
/// at `x0 + i dx`, `y0 + j dy`. Returns the line pieces at `level` as one point list with NaN
/// separators, ready for a [`Series`].
pub fn contour(
    values: &[f64],
    nx: usize,
    ny: usize,
    (x0, dx): (f64, f64),
    (y0, dy): (f64, f64),
    level: f64,
) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let at = |i: usize, j: usize| values[j * nx + i];
    // Linear interpolation of the crossing between two grid corners.
    let cross = |(xa, ya, va): (f64, f64, f64), (xb, yb, vb): (f64, f64, f64)| {
        let t = if vb == va {
            0.5
        } else {
            (level - va) / (vb - va)
        };
        (xa + t * (xb - xa), ya + t * (yb - ya))
    };
    for j in 0..ny.saturating_sub(1) {
        for i in 0..nx.saturating_sub(1) {
            let (xa, xb) = (x0 + i as f64 * dx, x0 + (i + 1) as f64 * dx);
            let (ya, yb) = (y0 + j as f64 * dy, y0 + (j + 1) as f64 * dy);
            // Corners counter-clockwise from the lower left.
            let c = [
                (xa, ya, at(i, j)),
                (xb, ya, at(i + 1, j)),
                (xb, yb, at(i + 1, j + 1)),
                (xa, yb, at(i, j + 1)),
            ];
            let mut pts = Vec::with_capacity(4);
            for e in 0..4 {
                let (p, q) = (c[e], c[(e + 1) % 4]);
                if (p.2 >= level) != (q.2 >= level) {
                    pts.push(cross(p, q));
                }
            }
            // Two crossings: one piece; four (a saddle): two pieces, paired around the cell.
            for pair in pts.chunks_exact(2) {
                out.push(pair[0]);
                out.push(pair[1]);
                out.push((f64::NAN, f64::NAN));
            }
        }
    }
    out
}

/// The palette index of light grey (raw data behind its summary, marks such as switches).
pub const GREY: usize = 8;

/// The palette index of black (thresholds, references, closed forms).
pub const BLACK_INDEX: usize = 6;

/// A colour-blind-safe palette (Okabe-Ito) and a light grey, cycled.
pub fn palette(i: usize) -> RGBColor {
    const P: [RGBColor; 9] = [
        // Most distinct first: blue, vermillion, bluish green, reddish purple, sky blue;
        // orange (close to vermillion) only from the 6th series; 6 is black (thresholds and
        // references); yellow (pale on white); 8 ([`GREY`]) is light grey, for raw data
        // behind a summary of it and for marks such as switch times.
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(230, 159, 0),
        RGBColor(0, 0, 0),
        RGBColor(240, 228, 66),
        RGBColor(185, 185, 185),
    ];
    P[i % P.len()]
}

/// A linear coordinate over plot units with ticks chosen here: "nice" steps on linear axes;
/// on log axes (plot units are `log10` of the data) whole decades, or 1-2-5 steps when the
/// range spans less than two decades.
#[derive(Debug, Clone)]
struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ticked {
    /// The range `[lo, hi]` (plot units) of `axis`, with a tick at every category of a
    /// categorical axis, else at nice numbers ([`ticks`]).
    fn for_axis(lo: f64, hi: f64, axis: &Axis) -> Self {
        let ticks = if axis.categories.is_empty() {
            ticks(lo, hi, axis.scale)
        } else {
            (1..=axis.categories.len()).map(|i| i as f64).collect()
        };
        Self { lo, hi, ticks }
    }
}

impl plotters::coord::ranged1d::Ranged for Ticked {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        if self.hi == self.lo {
            return (limit.0 + limit.1) / 2;
        }
        let t = (value - self.lo) / (self.hi - self.lo);
        limit.0 + ((limit.1 - limit.0) as f64 * t + 1e-3).floor() as i32
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.max_num_points() == 0 {
            return Vec::new();
        }
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Tick positions in plot units.
fn ticks(lo: f64, hi: f64, scale: Scale) -> Vec<f64> {
    if scale == Scale::Log {
        if hi - lo >= 2.0 {
            let step = ((hi - lo) / 8.0).ceil().max(1.0);
            return (((lo / step).ceil() as i64)..=((hi / step).floor() as i64))
                .map(|k| k as f64 * step)
                .collect();
        }
        let mut out = Vec::new();
        for e in (lo.floor() as i64)..=(hi.ceil() as i64) {
            for m in [1.0f64, 2.0, 5.0] {
                let v = e as f64 + m.log10();
                if v >= lo - 1e-9 && v <= hi + 1e-9 {
                    out.push(v);
                }
            }
        }
        if out.len() >= 2 {
            return out;
        }
    }
    let span = hi - lo;
    let mag = 10f64.powf((span / 6.0).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 7.0)
        .unwrap_or(10.0 * mag);
    let mut out = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi + step * 1e-9 {
        let t = k * step;
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        k += 1.0;
    }
    out
}

fn tick_label(v: f64, scale: Scale) -> String {
    match scale {
        Scale::Linear => format_tick(v),
        Scale::Log => format_tick(10f64.powf(v)),
    }
}

/// A short human-readable number for tick labels.
pub fn format_tick(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        let e = a.log10().floor();
        let m = x / 10f64.powf(e);
        if (m.abs() - 1.0).abs() < 1e-6 {
            format!("{}1e{}", if x < 0.0 { "-" } else { "" }, e as i32)
        } else {
            format!("{m:.1}e{}", e as i32)
        }
    } else {
        let s = format!("{x:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice() {
        assert_eq!(ticks(-0.1, 3.1, Scale::Log), vec![0.0, 1.0, 2.0, 3.0]);
        let t = ticks(0.0, 1.0, Scale::Linear);
        assert_eq!(t.len(), 6);
        assert!((t[5] - 1.0).abs() < 1e-12);
        // Less than two decades: 1-2-5 steps.
        let labels: Vec<String> = ticks(0.2, 1.6, Scale::Log)
            .iter()
            .map(|&v| tick_label(v, Scale::Log))
            .collect();
        assert_eq!(labels, ["2", "5", "10", "20"]);
    }

    #[test]
    fn a_categorical_axis_names_every_position_and_nothing_between() {
        let names: Vec<String> = (0..8).map(|i| format!("image-{i}")).collect();
        let axis = Axis::categories("image", names.clone());
        assert_eq!(axis.range, Some((0.5, 8.5)));
        let (lo, hi) = axis.range.unwrap_or_default();
        let ticked = Ticked::for_axis(lo, hi, &axis);
        let labels: Vec<String> = ticked.ticks.iter().map(|&v| axis.tick(v)).collect();
        assert_eq!(labels, names, "one tick per category, in order");
        assert_eq!(axis.tick(1.5), "");
        assert_eq!(axis.tick(9.0), "");
        // a numeric axis keeps its numbers
        assert_eq!(Axis::linear("x").tick(0.25), "0.25");
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(format_tick(1000.0), "1000");
        assert_eq!(format_tick(0.25), "0.25");
        assert_eq!(format_tick(1e-6), "1e-6");
        assert_eq!(tick_label(2.0, Scale::Log), "100");
    }

    #[test]
    fn contour_of_a_cone_is_a_circle() {
        // f(x, y) = sqrt(x^2 + y^2) on [-2, 2]^2: the level-1 contour is the unit circle.
        let n = 81;
        let h = 4.0 / (n - 1) as f64;
        let v: Vec<f64> = (0..n * n)
            .map(|k| {
                let (i, j) = (k % n, k / n);
                let (x, y) = (-2.0 + i as f64 * h, -2.0 + j as f64 * h);
                (x * x + y * y).sqrt()
            })
            .collect();
        let pts = contour(&v, n, n, (-2.0, h), (-2.0, h), 1.0);
        let finite: Vec<_> = pts.iter().filter(|p| p.0.is_finite()).collect();
        assert!(finite.len() > 50);
        for p in finite {
            let r = (p.0 * p.0 + p.1 * p.1).sqrt();
            // Linear interpolation of a cone across a cell of width h errs by O(h^2).
            assert!((r - 1.0).abs() < h * h, "r = {r}");
        }
    }

    #[test]
    fn rasters_are_averaged_and_run_length_coded() {
        // 4 x 4 image, left half black, right half white, drawn with 2 cells per side.
        let values = (0..16).map(|k| if k % 4 < 2 { 0.0 } else { 1.0 }).collect();
        let r = Raster {
            width: 4,
            height: 4,
            values,
            lo: 0.0,
            hi: 1.0,
        };
        let runs = raster_runs(&r, 2);
        assert_eq!(
            runs,
            vec![(0, 0, 1, 0), (0, 1, 2, 255), (1, 0, 1, 0), (1, 1, 2, 255)]
        );
        // A uniform image is one run per row.
        let r = Raster {
            width: 300,
            height: 300,
            values: vec![0.5; 90_000],
            lo: 0.0,
            hi: 1.0,
        };
        let runs = raster_runs(&r, 128);
        assert_eq!(runs.len(), 100);
        assert!(runs.iter().all(|&(_, a, b, _)| a == 0 && b == 100));
    }

    #[test]
    fn non_finite_points_split_lines() {
        let s = split_segments(&[(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0), (3.0, 4.0)]);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].len(), 2);
    }

    #[test]
    fn renders_svg_and_png() {
        let dir = std::env::temp_dir().join(format!("whiten-plot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let panel = Panel::new("p", Axis::log("c"), Axis::linear("t"))
            .with(Series::line(
                "a",
                vec![(1.0, 1.0), (10.0, 2.0), (100.0, 3.0)],
            ))
            .with(Series::line("b", vec![(1.0, 1.5), (100.0, 2.5)]).styled(Style::Dashed))
            .note("note");
        let fig = Figure::single("fig", "Title", panel);
        let files = fig.render(&dir).unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(svg.contains("Title") && svg.contains("<svg"));
        let png = std::fs::read(&files[1]).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn two_lines(a: &str, b: &str) -> Panel {
        Panel::new("panel", Axis::linear("x"), Axis::linear("y"))
            .with(Series::line(a, vec![(0.0, 0.0), (1.0, 1.0)]))
            .with(Series::line(b, vec![(0.0, 1.0), (1.0, 0.0)]))
    }

    #[test]
    fn a_plain_figure_has_no_layout_issues() {
        let fig = Figure::grid(
            "ok",
            "Title",
            vec![two_lines("a", "b"), two_lines("c", "d")],
            2,
        );
        assert_eq!(fig.layout_issues(), Vec::<String>::new());
    }

    /// The plotting areas drawn for `fig`, left to right and top to bottom.
    fn plot_rects(fig: &Figure) -> Vec<Rect> {
        register_fonts();
        let (rows, cols, size) = fig.grid_size();
        let mut buf = vec![0u8; size.0 as usize * size.1 as usize * 3];
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        let geo = fig.draw(&root, rows, cols, true).unwrap();
        geo.plots.iter().map(|(_, r, _)| *r).collect()
    }

    #[test]
    fn a_row_with_one_legend_has_equally_wide_plots() {
        // Three panels, the legend on the last only: that panel is drawn wider by its legend
        // column, so that the three plotting areas have one width.
        let hidden = |a, b| two_lines(a, b).legend_at(Legend::Hidden);
        let fig = Figure::grid(
            "row",
            "T",
            vec![hidden("a", "b"), hidden("a", "b"), two_lines("a", "b")],
            3,
        );
        let widths: Vec<i32> = plot_rects(&fig).iter().map(|r| r.2 - r.0).collect();
        assert_eq!(widths.len(), 3);
        assert!(
            widths.iter().all(|&w| (w - widths[0]).abs() <= 2),
            "plot widths {widths:?}"
        );
        assert!(
            fig.grid_size().2.0 > 3 * 640,
            "the canvas grows by the legend"
        );
        assert_eq!(fig.layout_issues(), Vec::<String>::new());
        // Panels that all carry a legend still split the canvas evenly.
        let even = Figure::grid("even", "T", vec![two_lines("a", "b"); 3], 3);
        assert_eq!(even.grid_size().2.0, 3 * 640);
    }

    #[test]
    fn long_titles_shrink_until_they_fit() {
        // 120 characters fit a 640-pixel panel only below the default 18 points.
        let title = "a long panel title ".repeat(6);
        let fig = Figure::single("shrunk", title.clone(), two_lines("a", "b"));
        assert!(fig.layout_issues().is_empty(), "{:?}", fig.layout_issues());
        // Past what 10 points can hold, the check reports the clipped title.
        let fig = Figure::single("clipped", "t", two_lines("a", "b")).with_panel_size(640, 440);
        let mut fig = fig;
        fig.title = "an overlong figure title ".repeat(12);
        let issues = fig.layout_issues();
        assert!(
            issues.iter().any(|i| i.contains("runs outside the canvas")),
            "{issues:?}"
        );
    }

    #[test]
    fn near_identical_colours_are_reported_unless_the_style_differs() {
        let clash = two_lines("a", "b");
        let mut clash = clash;
        clash.series[1].color = Some(0);
        let issues = Figure::single("clash", "T", clash.clone()).layout_issues();
        assert!(
            issues.iter().any(|i| i.contains("near-identical colours")),
            "{issues:?}"
        );
        // A dashed closed form in its measurement's colour is fine.
        clash.series[1].style = Style::Dashed;
        assert!(
            Figure::single("theory", "T", clash)
                .layout_issues()
                .is_empty()
        );
    }

    #[test]
    fn legends_and_notes_stay_beside_the_data() {
        let mut p = two_lines("a", "b");
        for i in 0..40 {
            p = p.note(format!("note line {i}"));
        }
        let issues = Figure::single("tall", "T", p).layout_issues();
        assert!(
            issues.iter().any(|i| i.contains("past the panel")),
            "{issues:?}"
        );
        let p = two_lines("a", "b").note(
            "a note that is long enough to be wrapped over several lines of the legend column",
        );
        let fig = Figure::single("wrapped", "T", p);
        assert!(fig.layout_issues().is_empty(), "{:?}", fig.layout_issues());
    }
}
