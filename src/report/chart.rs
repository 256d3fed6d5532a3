//! The PNG chart of a campaign's daily series: clicks, approved and rejected
//! conversions, and Stars spent, in three stacked panels sharing the day axis
//! (their scales differ by orders of magnitude). Portrait and large-type, to
//! be read on a phone. Text is drawn with the embedded DejaVu Sans (Latin and
//! Cyrillic), so no system font is needed.

use plotters::prelude::*;

use crate::store::report::DayRow;

pub const WIDTH: u32 = 1080;
pub const HEIGHT: u32 = 1350;

/// The labels, in the reader's language.
pub struct Labels<'a> {
    pub title: &'a str,
    pub clicks: &'a str,
    pub approved: &'a str,
    pub rejected: &'a str,
    pub spent: &'a str,
}

const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The embedded font is a valid TrueType file; a failure here is a build defect.
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| ())
            .expect("DejaVu Sans parses");
    });
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("drawing the chart: {0}")]
    Draw(String),
    #[error("encoding the PNG: {0}")]
    Encode(#[from] png::EncodingError),
}

fn draw_err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError::Draw(format!("{e:?}"))
}

/// Draws `days` (oldest first, one row per day) as a PNG of `WIDTH` x `HEIGHT`.
/// One panel of the chart: its title and its lines (label, colour, daily values).
type Panel<'a> = (&'a str, Vec<(&'a str, RGBColor, Vec<i64>)>);

pub fn png(days: &[DayRow], l: &Labels<'_>) -> Result<Vec<u8>, ChartError> {
    register_font();
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        // The title's glyphs need room above their baseline.
        let root = root.margin(16, 0, 0, 0);
        let root = root
            .titled(l.title, (FONT, 40).into_font().color(&BLACK))
            .map_err(draw_err)?;
        let panels = root.split_evenly((3, 1));
        let n = days.len().max(1);
        let label = |i: &usize| -> String {
            days.get(*i)
                .and_then(|d| d.day.get(5..))
                .unwrap_or("")
                .to_string()
        };
        let series: [Panel; 3] = [
            (
                l.clicks,
                vec![(l.clicks, BLUE, days.iter().map(|d| d.n.hits).collect())],
            ),
            (
                "",
                vec![
                    (
                        l.approved,
                        RGBColor(0, 150, 60),
                        days.iter().map(|d| d.n.approved).collect(),
                    ),
                    (
                        l.rejected,
                        RGBColor(210, 40, 40),
                        days.iter().map(|d| d.n.rejected).collect(),
                    ),
                ],
            ),
            (
                l.spent,
                vec![(
                    l.spent,
                    RGBColor(200, 130, 0),
                    days.iter().map(|d| d.n.spent).collect(),
                )],
            ),
        ];
        for (area, (_, lines)) in panels.iter().zip(series.iter()) {
            let top = lines
                .iter()
                .flat_map(|(_, _, v)| v.iter().copied())
                .max()
                .unwrap_or(0)
                .max(1);
            let top = top + top / 10 + 1;
            let mut chart = ChartBuilder::on(area)
                .margin(20)
                .x_label_area_size(50)
                .y_label_area_size(110)
                .build_cartesian_2d(0usize..n.saturating_sub(1).max(1), 0i64..top)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_labels(7)
                .y_labels(6)
                .x_label_formatter(&label)
                .label_style((FONT, 24))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(draw_err)?;
            for (name, color, values) in lines {
                let color = *color;
                chart
                    .draw_series(LineSeries::new(
                        values.iter().enumerate().map(|(i, v)| (i, *v)),
                        color.stroke_width(4),
                    ))
                    .map_err(draw_err)?
                    .label(*name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 30, y)], color.stroke_width(4))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font((FONT, 28))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .draw()
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(&rgb)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::report::Counts;

    #[test]
    fn draws_cyrillic_labels_into_a_png_of_the_stated_size() {
        let days: Vec<DayRow> = (1..=30)
            .map(|d| DayRow {
                day: format!("2026-11-{d:02}"),
                offer_id: 1,
                n: Counts {
                    hits: 1000 + d * 10,
                    approved: d,
                    rejected: 30 - d,
                    spent: d * 5,
                    ..Default::default()
                },
            })
            .collect();
        let labels = Labels {
            title: "Кампания #1 «Тест»",
            clicks: "Клики",
            approved: "Одобрено",
            rejected: "Отклонено",
            spent: "Потрачено, звёзд",
        };
        let bytes = png(&days, &labels).unwrap();
        let dec = png::Decoder::new(std::io::Cursor::new(&bytes[..]));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        // Something was drawn besides the white background (lines, text).
        let dark = buf.chunks(3).filter(|p| p.iter().all(|c| *c < 100)).count();
        assert!(dark > 1000, "{dark} dark pixels");
        // An empty series still draws.
        png(&[], &labels).unwrap();
    }
}
