//! A chart as a flat list of drawing primitives, and its two renderers: hand-written SVG
//! ([`to_svg`]) and a PNG rasterized by plotters with the embedded font ([`to_png`]).
//!
//! Layout code (the timeline) decides where everything goes; this module only draws, the same
//! way in both formats, so a test of the SVG's structure speaks for the PNG too. Both
//! renderers are deterministic: items are drawn in order, numbers are written with fixed
//! precision, and nothing depends on the machine's fonts.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::OnceLock;

use ab_glyph::{Font as _, ScaleFont as _};

use plotters::backend::DrawingBackend;
use plotters::prelude::BitMapBackend;
use plotters::style::{Color as _, FontDesc, FontFamily, FontStyle, RGBAColor, ShapeStyle};

use crate::font;

/// Labels longer than this many characters are cut before they are measured.
pub const LABEL_CHARS_MAX: usize = 256;

/// The largest picture [`to_png`] draws, in pixels (width times height).
pub const PNG_PIXELS_MAX: u64 = 64 * 1024 * 1024;

/// A cut label keeps at least this many characters (fewer say nothing and clutter).
pub const CUT_CHARS_MIN: usize = 3;

/// Dashes drawn for one dashed segment; past this the rest of the segment is left out.
const DASHES_MAX: usize = 4096;
const DASH_ON_PX: f64 = 4.0;
const DASH_OFF_PX: f64 = 3.0;

/// Plotters (through ab_glyph) scales a font so that its ascent minus descent is the size
/// asked for; SVG's `font-size` is the em. For DejaVu Sans that is 2048 units per em over
/// 1901 + 483 units of height: this converts, so both formats draw text at the same size.
const SVG_FONT_SIZE_PER_PX: f64 = 2048.0 / 2384.0;

/// The ellipsis that ends a cut label.
const ELLIPSIS: &str = "…";

/// A color and its opacity (`a`, 255 is opaque).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Color {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Opacity: 0 transparent, 255 opaque.
    pub a: u8,
}

impl Color {
    /// Opaque black.
    pub const BLACK: Color = Color::rgb(0, 0, 0);
    /// Opaque white.
    pub const WHITE: Color = Color::rgb(255, 255, 255);

    /// An opaque color.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color { r, g, b, a: 255 }
    }

    /// The same color with opacity `a`.
    pub const fn with_alpha(self, a: u8) -> Color {
        Color { a, ..self }
    }
}

/// How a line or an outline is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stroke {
    /// Its color.
    pub color: Color,
    /// Its width.
    pub width_px: f64,
    /// Dashed rather than solid.
    pub dashed: bool,
}

impl Stroke {
    /// A solid line.
    pub const fn solid(color: Color, width_px: f64) -> Stroke {
        Stroke {
            color,
            width_px,
            dashed: false,
        }
    }

    /// A dashed line.
    pub const fn dashed(color: Color, width_px: f64) -> Stroke {
        Stroke {
            color,
            width_px,
            dashed: true,
        }
    }
}

/// Which point of a text its position names, horizontally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The left end.
    Start,
    /// The middle.
    Middle,
    /// The right end.
    End,
}

/// How an arrow ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// A filled triangle.
    Arrow,
    /// A cross (for something that never arrived).
    Cross,
}

/// A point, in pixels from the top-left corner.
pub type Point = (f64, f64);

/// One drawing primitive.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// A rectangle from its top-left corner.
    Rect {
        /// Left edge.
        x_px: f64,
        /// Top edge.
        y_px: f64,
        /// Width.
        width_px: f64,
        /// Height.
        height_px: f64,
        /// Fill, if any.
        fill: Option<Color>,
        /// Outline, if any.
        stroke: Option<Stroke>,
    },
    /// A straight line.
    Line {
        /// One end.
        from: Point,
        /// The other end.
        to: Point,
        /// How it is drawn.
        stroke: Stroke,
    },
    /// Connected straight lines, not closed.
    Polyline {
        /// The points, in order.
        points: Vec<Point>,
        /// How it is drawn.
        stroke: Stroke,
    },
    /// A closed, filled shape.
    Polygon {
        /// The corners, in order.
        points: Vec<Point>,
        /// Its fill.
        fill: Color,
        /// Its outline, if any.
        stroke: Option<Stroke>,
    },
    /// One line of text.
    Text {
        /// The anchor point: `anchor` says which point horizontally; vertically it is the
        /// baseline.
        at: Point,
        /// The text (drawn as is: callers fit it with [`fit_text`]).
        text: String,
        /// The font size, as plotters measures it ([`text_width_px`]).
        size_px: f64,
        /// Which point of the text `at` is.
        anchor: Anchor,
        /// Its color.
        color: Color,
    },
    /// A line with a head at `to`.
    Arrow {
        /// Where it starts.
        from: Point,
        /// Where it points.
        to: Point,
        /// How the line (and the head) is drawn.
        stroke: Stroke,
        /// Its head.
        head: Head,
    },
}

/// A primitive and what a reader of the SVG can do with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// What is drawn.
    pub shape: Shape,
    /// Its CSS class (several separated by spaces), which tests and pages select it by.
    pub class: Option<Cow<'static, str>>,
    /// Shown on hover (an SVG `<title>`).
    pub tooltip: Option<String>,
    /// Where a click leads, e.g. `#op-12` (an SVG `<a href>`).
    pub href: Option<String>,
}

impl Item {
    /// Sets the CSS class.
    pub fn class(&mut self, class: impl Into<Cow<'static, str>>) -> &mut Item {
        self.class = Some(class.into());
        self
    }

    /// Sets the tooltip.
    pub fn tooltip(&mut self, tooltip: impl Into<String>) -> &mut Item {
        self.tooltip = Some(tooltip.into());
        self
    }

    /// Sets the link.
    pub fn href(&mut self, href: impl Into<String>) -> &mut Item {
        self.href = Some(href.into());
        self
    }
}

/// A picture: a size, a background and primitives drawn in order (later ones on top).
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    /// Width.
    pub width_px: u32,
    /// Height.
    pub height_px: u32,
    /// What is under everything.
    pub background: Color,
    /// The primitives, bottom first.
    pub items: Vec<Item>,
}

impl Scene {
    /// An empty white scene.
    pub fn new(width_px: u32, height_px: u32) -> Scene {
        Scene {
            width_px,
            height_px,
            background: Color::WHITE,
            items: Vec::new(),
        }
    }

    /// Adds `shape` on top; the returned item takes a class, a tooltip and a link.
    pub fn push(&mut self, shape: Shape) -> &mut Item {
        self.items.push(Item {
            shape,
            class: None,
            tooltip: None,
            href: None,
        });
        let last = self.items.len() - 1;
        &mut self.items[last]
    }
}

/// Why a scene could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError(pub String);

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RenderError {}

// ---------------------------------------------------------------------------------------------
// Text measurement

fn font_desc(size_px: f64) -> FontDesc<'static> {
    font::register();
    FontDesc::new(FontFamily::Name(font::FAMILY), size_px, FontStyle::Normal)
}

/// How wide `text` is drawn at `size_px`, with the embedded font.
pub fn text_width_px(text: &str, size_px: f64) -> f64 {
    match font_desc(size_px).box_size(text) {
        Ok((width_px, _)) => f64::from(width_px),
        // Only a missing font fails, and `font::register` just ran: if it ever did, the
        // text is taken as too wide to draw rather than drawn over its neighbours.
        Err(_) => f64::INFINITY,
    }
}

/// `text` as it fits in `width_px` at `size_px`: whole, or cut and ended with an ellipsis;
/// `None` if not even [`CUT_CHARS_MIN`] characters and the ellipsis fit.
pub fn fit_text(text: &str, size_px: f64, width_px: f64) -> Option<Cow<'_, str>> {
    // No glyph but a space is narrower than a quarter em: skip measuring hopeless cases,
    // which are most labels of a long run's short bars.
    if text.is_empty() || width_px < size_px * 0.25 {
        return None;
    }
    let ends: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .skip(1)
        .chain(std::iter::once(text.len()))
        .take(LABEL_CHARS_MAX)
        .collect();
    let whole = ends.last() == Some(&text.len());
    if whole && text_width_px(text, size_px) <= width_px {
        return Some(Cow::Borrowed(text));
    }
    if ends.len() <= CUT_CHARS_MIN {
        return None;
    }
    let cut = |chars: usize| format!("{}{ELLIPSIS}", &text[..ends[chars - 1]]);
    // The longest prefix that fits with the ellipsis, found by halving
    // [CUT_CHARS_MIN, ends.len()); `fits` starts below the range, as "none fits".
    let (mut fits, mut too_long) = (CUT_CHARS_MIN - 1, ends.len());
    while too_long - fits > 1 {
        let middle = (fits + too_long) / 2;
        if text_width_px(&cut(middle), size_px) <= width_px {
            fits = middle;
        } else {
            too_long = middle;
        }
    }
    (fits >= CUT_CHARS_MIN).then(|| Cow::Owned(cut(fits)))
}

// ---------------------------------------------------------------------------------------------
// Geometry shared by both renderers

/// The triangle of an arrow head at `to`, pointing away from `from`.
fn arrow_head(from: Point, to: Point, stroke: &Stroke) -> [Point; 3] {
    let length_px = 4.0 + 2.0 * stroke.width_px;
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let norm = (dx * dx + dy * dy).sqrt();
    let (ux, uy) = if norm > 0.0 {
        (dx / norm, dy / norm)
    } else {
        (1.0, 0.0)
    };
    let base = (to.0 - ux * length_px, to.1 - uy * length_px);
    let half = length_px * 0.5;
    [
        to,
        (base.0 - uy * half, base.1 + ux * half),
        (base.0 + uy * half, base.1 - ux * half),
    ]
}

/// The two strokes of a cross centred on `at`.
fn cross(at: Point, stroke: &Stroke) -> [(Point, Point); 2] {
    let r = 3.0 + stroke.width_px;
    [
        ((at.0 - r, at.1 - r), (at.0 + r, at.1 + r)),
        ((at.0 - r, at.1 + r), (at.0 + r, at.1 - r)),
    ]
}

/// The dashes of a dashed segment, at most [`DASHES_MAX`].
fn dashes(from: Point, to: Point) -> impl Iterator<Item = (Point, Point)> {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let length_px = (dx * dx + dy * dy).sqrt();
    let period_px = DASH_ON_PX + DASH_OFF_PX;
    let count = ((length_px / period_px).ceil() as usize).min(DASHES_MAX);
    let at = move |distance_px: f64| {
        let t = if length_px > 0.0 {
            (distance_px / length_px).min(1.0)
        } else {
            0.0
        };
        (from.0 + dx * t, from.1 + dy * t)
    };
    (0..count).map(move |i| {
        let start_px = i as f64 * period_px;
        (at(start_px), at(start_px + DASH_ON_PX))
    })
}

// ---------------------------------------------------------------------------------------------
// SVG

/// The scene as an SVG document.
pub fn to_svg(scene: &Scene) -> String {
    let mut out = String::with_capacity(512 + scene.items.len() * 160);
    let (w, h) = (scene.width_px, scene.height_px);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans, Verdana, sans-serif\">\n<rect \
         width=\"{w}\" height=\"{h}\""
    );
    fill_attrs(&mut out, "fill", scene.background);
    out.push_str("/>\n");
    // Reused for every item, so a big scene does not allocate per element.
    let (mut attrs, mut inner) = (String::new(), String::new());
    for item in &scene.items {
        attrs.clear();
        inner.clear();
        let tag = shape_svg(&item.shape, &mut attrs, &mut inner);
        write_item(&mut out, item, tag, &attrs, &inner);
    }
    out.push_str("</svg>\n");
    out
}

fn write_item(out: &mut String, item: &Item, tag: &str, attrs: &str, inner: &str) {
    if let Some(href) = &item.href {
        out.push_str("<a href=\"");
        escape_into(out, href);
        out.push_str("\">");
    }
    let _ = write!(out, "<{tag}{attrs}");
    if let Some(class) = &item.class {
        out.push_str(" class=\"");
        escape_into(out, class);
        out.push('"');
    }
    if item.tooltip.is_none() && inner.is_empty() {
        out.push_str("/>");
    } else {
        out.push('>');
        if let Some(tooltip) = &item.tooltip {
            out.push_str("<title>");
            escape_into(out, tooltip);
            out.push_str("</title>");
        }
        out.push_str(inner);
        let _ = write!(out, "</{tag}>");
    }
    if item.href.is_some() {
        out.push_str("</a>");
    }
    out.push('\n');
}

/// Writes `shape`'s attributes and children; returns its tag.
fn shape_svg(shape: &Shape, attrs: &mut String, inner: &mut String) -> &'static str {
    match shape {
        Shape::Rect {
            x_px,
            y_px,
            width_px,
            height_px,
            fill,
            stroke,
        } => {
            num_attr(attrs, "x", *x_px);
            num_attr(attrs, "y", *y_px);
            num_attr(attrs, "width", *width_px);
            num_attr(attrs, "height", *height_px);
            paint_attrs(attrs, *fill, stroke.as_ref());
            "rect"
        }
        Shape::Line { from, to, stroke } => {
            line_attrs(attrs, *from, *to, stroke);
            "line"
        }
        Shape::Polyline { points, stroke } => {
            points_attr(attrs, points);
            paint_attrs(attrs, None, Some(stroke));
            "polyline"
        }
        Shape::Polygon {
            points,
            fill,
            stroke,
        } => {
            points_attr(attrs, points);
            paint_attrs(attrs, Some(*fill), stroke.as_ref());
            "polygon"
        }
        Shape::Text {
            at,
            text,
            size_px,
            anchor,
            color,
        } => {
            text_svg(attrs, *at, *size_px, *anchor, *color);
            escape_into(inner, text);
            "text"
        }
        Shape::Arrow {
            from,
            to,
            stroke,
            head,
        } => {
            arrow_svg(inner, *from, *to, stroke, *head);
            "g"
        }
    }
}

fn text_svg(attrs: &mut String, at: Point, size_px: f64, anchor: Anchor, color: Color) {
    num_attr(attrs, "x", at.0);
    num_attr(attrs, "y", at.1);
    let _ = write!(
        attrs,
        " font-size=\"{:.2}\"",
        size_px * SVG_FONT_SIZE_PER_PX
    );
    match anchor {
        Anchor::Start => {}
        Anchor::Middle => attrs.push_str(" text-anchor=\"middle\""),
        Anchor::End => attrs.push_str(" text-anchor=\"end\""),
    }
    fill_attrs(attrs, "fill", color);
}

fn arrow_svg(inner: &mut String, from: Point, to: Point, stroke: &Stroke, head: Head) {
    inner.push_str("<line");
    line_attrs(inner, from, to, stroke);
    inner.push_str("/>");
    match head {
        Head::Arrow => {
            inner.push_str("<polygon");
            points_attr(inner, &arrow_head(from, to, stroke));
            paint_attrs(inner, Some(stroke.color), None);
            inner.push_str("/>");
        }
        Head::Cross => {
            let solid = Stroke::solid(stroke.color, stroke.width_px.max(1.5));
            for (a, b) in cross(to, &solid) {
                inner.push_str("<line");
                line_attrs(inner, a, b, &solid);
                inner.push_str("/>");
            }
        }
    }
}

fn line_attrs(attrs: &mut String, from: Point, to: Point, stroke: &Stroke) {
    num_attr(attrs, "x1", from.0);
    num_attr(attrs, "y1", from.1);
    num_attr(attrs, "x2", to.0);
    num_attr(attrs, "y2", to.1);
    stroke_attrs(attrs, stroke);
}

fn paint_attrs(attrs: &mut String, fill: Option<Color>, stroke: Option<&Stroke>) {
    match fill {
        Some(color) => fill_attrs(attrs, "fill", color),
        None => attrs.push_str(" fill=\"none\""),
    }
    if let Some(stroke) = stroke {
        stroke_attrs(attrs, stroke);
    }
}

fn stroke_attrs(attrs: &mut String, stroke: &Stroke) {
    fill_attrs(attrs, "stroke", stroke.color);
    num_attr(attrs, "stroke-width", stroke.width_px);
    if stroke.dashed {
        let _ = write!(
            attrs,
            " stroke-dasharray=\"{DASH_ON_PX:.0} {DASH_OFF_PX:.0}\""
        );
    }
}

/// `name="#rrggbb"`, and `name-opacity` when the color is not opaque.
fn fill_attrs(attrs: &mut String, name: &str, color: Color) {
    let Color { r, g, b, a } = color;
    let _ = write!(attrs, " {name}=\"#{r:02x}{g:02x}{b:02x}\"");
    if a < 255 {
        let _ = write!(attrs, " {name}-opacity=\"{:.3}\"", f64::from(a) / 255.0);
    }
}

fn points_attr(attrs: &mut String, points: &[Point]) {
    attrs.push_str(" points=\"");
    for (i, (x, y)) in points.iter().enumerate() {
        if i > 0 {
            attrs.push(' ');
        }
        let _ = write!(attrs, "{:.1},{:.1}", tidy(*x), tidy(*y));
    }
    attrs.push('"');
}

fn num_attr(attrs: &mut String, name: &str, value: f64) {
    let _ = write!(attrs, " {name}=\"{:.1}\"", tidy(value));
}

/// One spelling per number: no `-0.0`, no `NaN`.
fn tidy(value: f64) -> f64 {
    if value.is_finite() {
        value + 0.0
    } else {
        0.0
    }
}

/// Appends `text` escaped for XML text and attribute values. Characters XML 1.0 forbids
/// (control characters but tab and newlines) become U+FFFD, so any label gives a
/// well-formed document.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PNG

/// The scene as PNG bytes (8-bit RGB).
pub fn to_png(scene: &Scene) -> Result<Vec<u8>, RenderError> {
    let (w, h) = (scene.width_px, scene.height_px);
    let pixels = u64::from(w) * u64::from(h);
    if pixels == 0 || pixels > PNG_PIXELS_MAX {
        return Err(RenderError(format!(
            "a {w}x{h} picture is outside 1..={PNG_PIXELS_MAX} pixels"
        )));
    }
    let mut rgb = vec![0u8; pixels as usize * 3];
    {
        let mut backend = BitMapBackend::with_buffer(&mut rgb, (w, h));
        let background = ShapeStyle::from(rgba(scene.background)).filled();
        drawn(backend.draw_rect((0, 0), (w as i32, h as i32), &background, true))?;
        for item in &scene.items {
            draw_shape(&mut backend, &item.shape)?;
        }
        drawn(backend.present())?;
    }
    encode_png(&rgb, w, h)
}

fn encode_png(rgb: &[u8], width_px: u32, height_px: u32) -> Result<Vec<u8>, RenderError> {
    let failed = |e: png::EncodingError| RenderError(format!("PNG encoding: {e}"));
    let mut bytes = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = png::Encoder::new(&mut bytes, width_px, height_px);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Charts are mostly flat color: the fast setting compresses them nearly as well, in a
    // fraction of the time.
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(rgb).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(bytes)
}

fn drawn<E: std::fmt::Display>(result: Result<(), E>) -> Result<(), RenderError> {
    result.map_err(|e| RenderError(format!("drawing: {e}")))
}

fn rgba(color: Color) -> RGBAColor {
    RGBAColor(color.r, color.g, color.b, f64::from(color.a) / 255.0)
}

fn px(point: Point) -> (i32, i32) {
    (tidy(point.0).round() as i32, tidy(point.1).round() as i32)
}

fn line_style(stroke: &Stroke) -> ShapeStyle {
    ShapeStyle {
        color: rgba(stroke.color),
        filled: false,
        stroke_width: (stroke.width_px.round() as u32).max(1),
    }
}

fn draw_shape<B: DrawingBackend>(backend: &mut B, shape: &Shape) -> Result<(), RenderError> {
    match shape {
        Shape::Rect {
            x_px,
            y_px,
            width_px,
            height_px,
            fill,
            stroke,
        } => {
            let (x0, y0) = px((*x_px, *y_px));
            // A bar narrower than a pixel is still drawn, one pixel wide.
            let x1 = px((x_px + width_px, 0.0)).0.max(x0 + 1);
            let y1 = px((0.0, y_px + height_px)).1.max(y0 + 1);
            draw_rect_px(backend, (x0, y0), (x1, y1), *fill, stroke.as_ref())
        }
        Shape::Line { from, to, stroke } => draw_line(backend, *from, *to, stroke),
        Shape::Polyline { points, stroke } => draw_polyline(backend, points, stroke),
        Shape::Polygon {
            points,
            fill,
            stroke,
        } => draw_polygon(backend, points, *fill, stroke.as_ref()),
        Shape::Text {
            at,
            text,
            size_px,
            anchor,
            color,
        } => draw_text(backend, *at, text, *size_px, *anchor, *color),
        Shape::Arrow {
            from,
            to,
            stroke,
            head,
        } => draw_arrow(backend, *from, *to, stroke, *head),
    }
}

fn draw_rect_px<B: DrawingBackend>(
    backend: &mut B,
    top_left: (i32, i32),
    bottom_right: (i32, i32),
    fill: Option<Color>,
    stroke: Option<&Stroke>,
) -> Result<(), RenderError> {
    if let Some(color) = fill {
        let style = ShapeStyle::from(rgba(color)).filled();
        drawn(backend.draw_rect(top_left, bottom_right, &style, true))?;
    }
    let Some(stroke) = stroke else {
        return Ok(());
    };
    // The outline as four filled strips inside the rectangle: plotters' outlines are one
    // pixel wide whatever the stroke width.
    let width = (stroke.width_px.round() as i32).max(1);
    let style = ShapeStyle::from(rgba(stroke.color)).filled();
    let ((x0, y0), (x1, y1)) = (top_left, bottom_right);
    let strips = [
        ((x0, y0), (x1, y0 + width)),
        ((x0, y1 - width), (x1, y1)),
        ((x0, y0 + width), (x0 + width, y1 - width)),
        ((x1 - width, y0 + width), (x1, y1 - width)),
    ];
    for (a, b) in strips {
        drawn(backend.draw_rect(a, b, &style, true))?;
    }
    Ok(())
}

fn draw_line<B: DrawingBackend>(
    backend: &mut B,
    from: Point,
    to: Point,
    stroke: &Stroke,
) -> Result<(), RenderError> {
    let style = line_style(stroke);
    if !stroke.dashed {
        return drawn(backend.draw_line(px(from), px(to), &style));
    }
    for (a, b) in dashes(from, to) {
        drawn(backend.draw_line(px(a), px(b), &style))?;
    }
    Ok(())
}

fn draw_polyline<B: DrawingBackend>(
    backend: &mut B,
    points: &[Point],
    stroke: &Stroke,
) -> Result<(), RenderError> {
    if !stroke.dashed {
        let path: Vec<(i32, i32)> = points.iter().map(|p| px(*p)).collect();
        return drawn(backend.draw_path(path, &line_style(stroke)));
    }
    for pair in points.windows(2) {
        draw_line(backend, pair[0], pair[1], stroke)?;
    }
    Ok(())
}

fn draw_polygon<B: DrawingBackend>(
    backend: &mut B,
    points: &[Point],
    fill: Color,
    stroke: Option<&Stroke>,
) -> Result<(), RenderError> {
    let corners: Vec<(i32, i32)> = points.iter().map(|p| px(*p)).collect();
    let style = ShapeStyle::from(rgba(fill)).filled();
    drawn(backend.fill_polygon(corners.iter().copied(), &style))?;
    if let (Some(stroke), Some(first)) = (stroke, corners.first()) {
        let closed = corners.iter().copied().chain(std::iter::once(*first));
        drawn(backend.draw_path(closed, &line_style(stroke)))?;
    }
    Ok(())
}

fn draw_text<B: DrawingBackend>(
    backend: &mut B,
    at: Point,
    text: &str,
    size_px: f64,
    anchor: Anchor,
    color: Color,
) -> Result<(), RenderError> {
    let font = embedded_font()?.as_scaled(size_px as f32);
    let left_px = match anchor {
        Anchor::Start => at.0,
        Anchor::Middle => at.0 - text_width_px(text, size_px) * 0.5,
        Anchor::End => at.0 - text_width_px(text, size_px),
    };
    let mut caret_px = left_px as f32;
    let mut previous = None;
    for c in text.chars().take(LABEL_CHARS_MAX) {
        let id = font.glyph_id(c);
        if let Some(previous) = previous {
            caret_px += font.kern(previous, id);
        }
        let glyph =
            id.with_scale_and_position(font.scale(), ab_glyph::point(caret_px, at.1 as f32));
        if let Some(outline) = font.outline_glyph(glyph) {
            draw_glyph(backend, &outline, color)?;
        }
        caret_px += font.h_advance(id);
        previous = Some(id);
    }
    Ok(())
}

/// Blends one glyph's coverage into the picture.
fn draw_glyph<B: DrawingBackend>(
    backend: &mut B,
    outline: &ab_glyph::OutlinedGlyph,
    color: Color,
) -> Result<(), RenderError> {
    let bounds = outline.px_bounds();
    let (x0, y0) = (bounds.min.x as i32, bounds.min.y as i32);
    let mut result = Ok(());
    outline.draw(|x, y, coverage| {
        if result.is_err() || coverage <= 0.0 {
            return;
        }
        let alpha = f64::from(color.a) / 255.0 * f64::from(coverage.min(1.0));
        let ink = RGBAColor(color.r, color.g, color.b, alpha).to_backend_color();
        result = backend.draw_pixel((x0 + x as i32, y0 + y as i32), ink);
    });
    drawn(result)
}

/// The embedded font, for drawing glyphs. Plotters also draws text, but places each glyph
/// without its side bearing and at a whole pixel, which spaces letters unevenly; this draws
/// them where the font puts them. (Measuring still goes through plotters: the advances are
/// the same.)
fn embedded_font() -> Result<&'static ab_glyph::FontRef<'static>, RenderError> {
    static FONT: OnceLock<Option<ab_glyph::FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| ab_glyph::FontRef::try_from_slice(crate::font::BYTES).ok())
        .as_ref()
        .ok_or_else(|| RenderError("the embedded font is not a TrueType font".into()))
}

fn draw_arrow<B: DrawingBackend>(
    backend: &mut B,
    from: Point,
    to: Point,
    stroke: &Stroke,
    head: Head,
) -> Result<(), RenderError> {
    draw_line(backend, from, to, stroke)?;
    match head {
        Head::Arrow => draw_polygon(backend, &arrow_head(from, to, stroke), stroke.color, None),
        Head::Cross => {
            let solid = Stroke::solid(stroke.color, stroke.width_px.max(1.5));
            for (a, b) in cross(to, &solid) {
                draw_line(backend, a, b, &solid)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg_of(shape: Shape) -> String {
        let mut scene = Scene::new(10, 10);
        scene.push(shape).class("x").tooltip("a<b").href("#op-1");
        to_svg(&scene)
    }

    #[test]
    fn the_svg_font_size_matches_the_embedded_font() {
        use ab_glyph::Font as _;
        let font = embedded_font().expect("the embedded font parses");
        let units_per_em = font
            .units_per_em()
            .expect("a TrueType font has units per em");
        let ratio = f64::from(units_per_em) / f64::from(font.height_unscaled());
        assert!(
            (ratio - SVG_FONT_SIZE_PER_PX).abs() < 1e-4,
            "em over height is {ratio}, the constant says {SVG_FONT_SIZE_PER_PX}"
        );
    }

    #[test]
    fn text_is_escaped_and_forbidden_characters_replaced() {
        let mut out = String::new();
        escape_into(&mut out, "<a & 'b'> \"c\"\u{1}");
        assert_eq!(out, "&lt;a &amp; &#39;b&#39;&gt; &quot;c&quot;\u{FFFD}");
    }

    #[test]
    fn items_carry_their_class_tooltip_and_link() {
        let svg = svg_of(Shape::Rect {
            x_px: 1.0,
            y_px: -0.0,
            width_px: 2.25,
            height_px: 3.0,
            fill: Some(Color::rgb(255, 0, 0).with_alpha(51)),
            stroke: None,
        });
        assert!(
            svg.contains(
                "<a href=\"#op-1\"><rect x=\"1.0\" y=\"0.0\" width=\"2.2\" height=\"3.0\" \
                 fill=\"#ff0000\" fill-opacity=\"0.200\" class=\"x\"><title>a&lt;b</title></rect></a>"
            ),
            "{svg}"
        );
    }

    #[test]
    fn a_dropped_arrow_is_dashed_and_ends_in_a_cross() {
        let svg = svg_of(Shape::Arrow {
            from: (0.0, 0.0),
            to: (8.0, 8.0),
            stroke: Stroke::dashed(Color::BLACK, 1.0),
            head: Head::Cross,
        });
        assert_eq!(svg.matches("<line").count(), 3, "{svg}");
        assert_eq!(svg.matches("stroke-dasharray").count(), 1, "{svg}");
    }

    #[test]
    fn labels_are_cut_to_fit_with_an_ellipsis() {
        let label = "AppendEntries to node 3";
        let whole_px = text_width_px(label, 11.0);
        assert_eq!(fit_text(label, 11.0, whole_px).as_deref(), Some(label));
        let cut = fit_text(label, 11.0, whole_px / 2.0).expect("half the width fits a prefix");
        assert!(cut.ends_with(ELLIPSIS) && cut.len() < label.len(), "{cut}");
        assert!(text_width_px(&cut, 11.0) <= whole_px / 2.0);
        assert_eq!(fit_text(label, 11.0, 3.0), None);
        let two_chars_px = text_width_px(&format!("Ap{ELLIPSIS}"), 11.0);
        assert_eq!(
            fit_text(label, 11.0, two_chars_px),
            None,
            "a cut keeps 3 characters"
        );
        assert_eq!(
            fit_text("WWW", 11.0, two_chars_px),
            None,
            "too short to cut"
        );
        assert_eq!(fit_text("", 11.0, 100.0), None);
    }

    #[test]
    fn dashes_are_bounded() {
        assert_eq!(dashes((0.0, 0.0), (70.0, 0.0)).count(), 10);
        assert_eq!(dashes((0.0, 0.0), (1e12, 0.0)).count(), DASHES_MAX);
        let last = dashes((0.0, 0.0), (10.0, 0.0)).last().expect("two dashes");
        assert_eq!(last, ((7.0, 0.0), (10.0, 0.0)));
    }

    #[test]
    fn the_png_draws_every_kind_of_shape() {
        let mut scene = Scene::new(40, 20);
        let red = Color::rgb(255, 0, 0);
        scene.push(Shape::Rect {
            x_px: 2.0,
            y_px: 2.0,
            width_px: 6.0,
            height_px: 6.0,
            fill: Some(red),
            stroke: Some(Stroke::solid(Color::BLACK, 2.0)),
        });
        scene.push(Shape::Text {
            at: (12.0, 15.0),
            text: "Wg".into(),
            size_px: 14.0,
            anchor: Anchor::Start,
            color: Color::BLACK,
        });
        let bytes = to_png(&scene).expect("a small scene renders");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut rgb = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut rgb).expect("one frame");
        let at = |x: usize, y: usize| &rgb[(y * 40 + x) * 3..(y * 40 + x) * 3 + 3];
        assert_eq!(at(2, 2), [0, 0, 0], "the outline's corner");
        assert_eq!(at(5, 5), [255, 0, 0], "the fill");
        assert_eq!(at(8, 5), [255, 255, 255], "the rectangle ends before x = 8");
        let inked = (12..40).flat_map(|x| (0..20).map(move |y| (x, y)));
        let dark = inked.filter(|&(x, y)| at(x, y)[0] < 128).count();
        assert!(dark > 20, "the text inked {dark} pixels");
        assert!(to_png(&Scene::new(0, 10)).is_err());
    }
}
