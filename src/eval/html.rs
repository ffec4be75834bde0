//! One self-contained HTML page of a Markdown report and its PNG plots ([`Page::render`]): the
//! Markdown rendered with tables (pulldown-cmark), every plot embedded as a
//! `data:image/png;base64,` URI, and a small inline style sheet. The page loads nothing: links
//! to other files are reduced to their text, images the page does not hold to their
//! description, and raw HTML in the Markdown is shown as text.

use base64::Engine as _;
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// The inline style sheet: readable text, bordered tables, plots at most as wide as the page.
const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1240px;\
margin:24px auto;padding:0 16px;color:#1d1d1d;line-height:1.45}\
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;margin-top:32px;\
border-bottom:1px solid #ccc}p.facts{color:#555;margin-top:0}\
table{border-collapse:collapse;margin:12px 0;font-size:14px}\
th,td{border:1px solid #999;padding:4px 10px;text-align:right}\
th{background:#eef1f5}th:first-child,td:first-child{text-align:left}\
tbody tr:nth-child(even){background:#f7f7f7}\
img{max-width:100%;height:auto;border:1px solid #ddd}\
figure{margin:16px 0}figcaption{color:#555;font-size:14px}\
code{background:#f3f3f3;padding:0 3px}";

/// One PNG plot of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Its file name, as the Markdown refers to it (`scatter.png`).
    pub name: String,
    /// A sentence shown under it.
    pub caption: String,
    /// The PNG's bytes.
    pub png: Vec<u8>,
}

impl Image {
    /// The `data:` URI of the PNG.
    pub fn data_uri(&self) -> String {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&self.png);
        format!("data:image/png;base64,{encoded}")
    }

    /// The image as an HTML figure with its caption.
    fn figure(&self) -> String {
        format!(
            "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}: {}</figcaption></figure>\n",
            self.data_uri(),
            escape(&self.name),
            escape(&self.name),
            escape(&self.caption)
        )
    }
}

/// What a page shows, top to bottom: the title, a line of facts, the `lead` figures, the
/// Markdown (with the images it refers to in place), then the other images under "Plots".
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Title of the page and its heading.
    pub title: String,
    /// Facts shown under the heading (one line each).
    pub facts: Vec<String>,
    /// Figures shown before the Markdown.
    pub lead: Vec<Image>,
    /// The report, as Markdown.
    pub markdown: String,
    /// The other plots: in place where the Markdown shows them, otherwise after it.
    pub images: Vec<Image>,
}

impl Page {
    /// The page as one HTML document (UTF-8), the same bytes for the same page.
    pub fn render(&self) -> String {
        let mut used = vec![false; self.images.len()];
        let body = markdown_html(&self.markdown, &self.images, &mut used);
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{0}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
            escape(&self.title)
        );
        if !self.facts.is_empty() {
            let facts: Vec<String> = self.facts.iter().map(|f| escape(f)).collect();
            html.push_str(&format!(
                "<p class=\"facts\">{}</p>\n",
                facts.join("<br>\n")
            ));
        }
        for image in &self.lead {
            html.push_str(&image.figure());
        }
        html.push_str(&body);
        let rest: Vec<&Image> = self
            .images
            .iter()
            .zip(&used)
            .filter_map(|(image, &used)| (!used).then_some(image))
            .collect();
        if !rest.is_empty() {
            html.push_str("<h2>Plots</h2>\n");
            for image in rest {
                html.push_str(&image.figure());
            }
        }
        html.push_str("</body>\n</html>\n");
        html
    }
}

/// `markdown` as HTML (tables on), each image that names one of `images` embedded (and marked
/// in `used`); other images become their description, links their text, raw HTML text.
pub fn markdown_html(markdown: &str, images: &[Image], used: &mut [bool]) -> String {
    let mut skipped_ends: Vec<TagEnd> = Vec::new();
    let events =
        Parser::new_ext(markdown, Options::ENABLE_TABLES).filter_map(|event| match event {
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => match images.iter().position(|i| *i.name == *dest_url) {
                Some(k) => {
                    used[k] = true;
                    let dest_url = CowStr::from(images[k].data_uri());
                    Some(Event::Start(Tag::Image {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }))
                }
                None => {
                    skipped_ends.push(TagEnd::Image);
                    None
                }
            },
            Event::Start(Tag::Link { ref dest_url, .. }) if !dest_url.starts_with('#') => {
                skipped_ends.push(TagEnd::Link);
                None
            }
            Event::End(end @ (TagEnd::Image | TagEnd::Link)) => {
                match skipped_ends.last() == Some(&end) {
                    true => {
                        skipped_ends.pop();
                        None
                    }
                    false => Some(Event::End(end)),
                }
            }
            Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
            other => Some(other),
        });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// `text` with HTML's special characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str) -> Image {
        Image {
            name: name.into(),
            caption: format!("the {name} plot"),
            png: b"\x89PNG fake".to_vec(),
        }
    }

    #[test]
    fn tables_render_and_referenced_images_are_embedded_in_place() {
        let md = "| Method | a |\n|---|---|\n| MORLHF | 1.0 |\n\n![curves](reward_kl.png)\n\n\
                  ![gone](elsewhere.png) [a link](other.md) <script>x</script>\n";
        let page = Page {
            title: "a < b".into(),
            facts: vec!["policy: p".into()],
            lead: vec![image("summary.png")],
            markdown: md.into(),
            images: vec![image("reward_kl.png"), image("scatter.png")],
        };
        let html = page.render();
        assert!(html.contains("<title>a &lt; b</title>"), "{html}");
        assert!(
            html.contains("<table>") && html.contains("<td>MORLHF</td>"),
            "{html}"
        );
        // summary first, reward_kl in place, scatter after the Markdown; each once.
        let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} in {html}"));
        assert!(at("summary.png:") < at("<table>"));
        assert!(at("alt=\"curves\"") < at("<h2>Plots</h2>"));
        assert!(at("<h2>Plots</h2>") < at("scatter.png:"));
        assert_eq!(html.matches("data:image/png;base64,").count(), 3);
        // Nothing points outside the page: no file references, no raw HTML.
        assert!(
            !html.contains("elsewhere.png\"") && !html.contains("href"),
            "{html}"
        );
        assert!(html.contains("gone") && html.contains("a link"), "{html}");
        assert!(
            html.contains("&lt;script&gt;") && !html.contains("<script"),
            "{html}"
        );
        assert_eq!(html, page.render());
    }

    #[test]
    fn data_uris_are_base64() {
        let uri = Image {
            name: "x.png".into(),
            caption: String::new(),
            png: b"abc".to_vec(),
        }
        .data_uri();
        assert_eq!(uri, "data:image/png;base64,YWJj");
        assert_eq!(escape("\"<&>'"), "&quot;&lt;&amp;&gt;&#39;");
    }
}
