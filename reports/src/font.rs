//! The one font every chart uses, shipped in the crate so that charts render the same on a
//! machine with no system fonts (DejaVu Sans; its license is in `fonts/`).

use std::sync::Once;

/// The family name charts ask for.
pub const FAMILY: &str = "sans-serif";

/// The font file itself (also drawn from directly by the PNG renderer).
pub(crate) static BYTES: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Registers the font with plotters, once per process, before any text is measured or drawn.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font (checked by the test below), so this only
        // fails if the font were replaced by something else.
        if plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, BYTES)
            .is_err()
        {
            panic!("the embedded font fonts/DejaVuSans.ttf is not a TrueType font");
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_font_registers_and_measures_text() {
        super::register();
        let font = plotters::style::FontDesc::new(
            plotters::style::FontFamily::Name(super::FAMILY),
            12.0,
            plotters::style::FontStyle::Normal,
        );
        let (w, h) = font.box_size("leader").expect("the font measures text");
        assert!(w > 20 && h > 5, "leader measured {w}x{h}");
        let (w_short, _) = font.box_size("l").expect("the font measures text");
        assert!(w_short < w);
    }
}
