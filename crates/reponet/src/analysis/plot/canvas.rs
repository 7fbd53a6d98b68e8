//! A small drawing surface with two backends: an anti-aliased RGB raster written as PNG, and
//! SVG. Figures need only rectangles, dots, axis-aligned lines and text.

use std::fmt::Write as _;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Black.
    pub const BLACK: Self = Self(0, 0, 0);
    /// White.
    pub const WHITE: Self = Self(255, 255, 255);

    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Horizontal placement of text relative to its x.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The text starts at the anchor point.
    Start,
    /// The text is centred on the anchor point.
    Middle,
    /// The text ends at the anchor point.
    End,
}

/// What a figure is drawn on; `y` grows downwards, units are pixels.
pub trait Canvas {
    /// Fill the rectangle with top-left corner (x, y), width w and height h, with opacity `alpha`.
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Rgb, alpha: f32);
    /// A filled disc.
    fn dot(&mut self, x: f32, y: f32, r: f32, fill: Rgb, alpha: f32);
    /// Text with its baseline at `y`.
    fn text(&mut self, x: f32, y: f32, size: f32, color: Rgb, anchor: Anchor, text: &str);
    /// The finished file's bytes.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, String>;

    /// A rectangle outline, `width` pixels wide, inside the rectangle.
    fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb, width: f32) {
        self.rect(x, y, w, width, color, 1.0);
        self.rect(x, y + h - width, w, width, color, 1.0);
        self.rect(x, y, width, h, color, 1.0);
        self.rect(x + w - width, y, width, h, color, 1.0);
    }
}

fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(include_bytes!("../../../assets/fonts/DejaVuSans.ttf"))
            .expect("the embedded font is valid")
    })
}

/// Width in pixels of `text` at `size`.
pub fn text_width(text: &str, size: f32) -> f32 {
    let font = font().as_scaled(PxScale::from(size));
    text.chars().map(|c| font.h_advance(font.glyph_id(c))).sum()
}

/// An RGB raster, blended in float, written as an 8-bit PNG.
pub struct PngCanvas {
    width: usize,
    height: usize,
    pixels: Vec<[f32; 3]>,
}

impl PngCanvas {
    /// A `width` x `height` pixel image filled with `background`.
    pub fn new(width: usize, height: usize, background: Rgb) -> Self {
        let bg = [
            background.0 as f32,
            background.1 as f32,
            background.2 as f32,
        ];
        Self {
            width,
            height,
            pixels: vec![bg; width * height],
        }
    }

    fn blend(&mut self, x: i64, y: i64, color: Rgb, alpha: f32) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 || alpha <= 0.0 {
            return;
        }
        let p = &mut self.pixels[y as usize * self.width + x as usize];
        let a = alpha.min(1.0);
        for (c, v) in p.iter_mut().zip([color.0, color.1, color.2]) {
            *c += (v as f32 - *c) * a;
        }
    }
}

impl Canvas for PngCanvas {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Rgb, alpha: f32) {
        // Coverage of each pixel by the rectangle, for crisp edges at fractional positions.
        let (x0, x1, y0, y1) = (x, x + w, y, y + h);
        for py in y0.floor() as i64..y1.ceil() as i64 {
            let cy = (y1.min(py as f32 + 1.0) - y0.max(py as f32)).clamp(0.0, 1.0);
            for px in x0.floor() as i64..x1.ceil() as i64 {
                let cx = (x1.min(px as f32 + 1.0) - x0.max(px as f32)).clamp(0.0, 1.0);
                self.blend(px, py, fill, alpha * cx * cy);
            }
        }
    }

    fn dot(&mut self, x: f32, y: f32, r: f32, fill: Rgb, alpha: f32) {
        for py in (y - r - 1.0).floor() as i64..=(y + r + 1.0).ceil() as i64 {
            for px in (x - r - 1.0).floor() as i64..=(x + r + 1.0).ceil() as i64 {
                let d = ((px as f32 + 0.5 - x).powi(2) + (py as f32 + 0.5 - y).powi(2)).sqrt();
                let coverage = (r + 0.5 - d).clamp(0.0, 1.0);
                self.blend(px, py, fill, alpha * coverage);
            }
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, color: Rgb, anchor: Anchor, text: &str) {
        let font = font().as_scaled(PxScale::from(size));
        let mut pen = match anchor {
            Anchor::Start => x,
            Anchor::Middle => x - text_width(text, size) / 2.0,
            Anchor::End => x - text_width(text, size),
        };
        for c in text.chars() {
            let id = font.glyph_id(c);
            let glyph = id.with_scale_and_position(PxScale::from(size), ab_glyph::point(pen, y));
            pen += font.h_advance(id);
            if let Some(outline) = font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                let mut coverage = Vec::new();
                outline.draw(|gx, gy, c| coverage.push((gx, gy, c)));
                for (gx, gy, c) in coverage {
                    self.blend(
                        b.min.x as i64 + gx as i64,
                        b.min.y as i64 + gy as i64,
                        color,
                        c,
                    );
                }
            }
        }
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let bytes: Vec<u8> = self
            .pixels
            .iter()
            .flat_map(|p| p.map(|c| c.round().clamp(0.0, 255.0) as u8))
            .collect();
        encoder
            .write_header()
            .and_then(|mut w| w.write_image_data(&bytes))
            .map_err(|e| format!("PNG encoding: {e}"))?;
        Ok(out)
    }
}

/// SVG markup; text stays text (DejaVu Sans, or the viewer's sans-serif).
pub struct SvgCanvas {
    body: String,
}

impl SvgCanvas {
    /// A `width` x `height` drawing with a `background` rectangle.
    pub fn new(width: usize, height: usize, background: Rgb) -> Self {
        let mut body = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Verdana, sans-serif\">\n"
        );
        let _ = writeln!(
            body,
            "<rect width=\"{width}\" height=\"{height}\" fill=\"{}\"/>",
            background.hex()
        );
        Self { body }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Canvas for SvgCanvas {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Rgb, alpha: f32) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{}\" fill-opacity=\"{alpha:.2}\"/>",
            fill.hex()
        );
    }

    fn dot(&mut self, x: f32, y: f32, r: f32, fill: Rgb, alpha: f32) {
        let _ = writeln!(
            self.body,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" fill=\"{}\" fill-opacity=\"{alpha:.2}\"/>",
            fill.hex()
        );
    }

    fn text(&mut self, x: f32, y: f32, size: f32, color: Rgb, anchor: Anchor, text: &str) {
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let _ = writeln!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size:.1}\" fill=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            color.hex(),
            escape(text)
        );
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, String> {
        Ok((self.body + "</svg>\n").into_bytes())
    }
}
