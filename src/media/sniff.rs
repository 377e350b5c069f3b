//! What a file is, from its bytes alone: binary formats by their magic numbers (`infer`),
//! and the text formats a download should be labelled with (SVG, HTML, plain text) by their
//! opening, which `infer` either does not know (SVG) or mistakes (an SVG that opens with a
//! comment is HTML to its WHATWG rules).

/// How far into a file its markup is looked for: a prolog, comments and a doctype fit.
const MARKUP_WINDOW: usize = 4096;

pub(super) const OCTET_STREAM: &str = "application/octet-stream";

/// The file's type. Never "image/..." for something that is not that image, whatever its
/// name: markup (HTML, SVG) is recognised as markup, so that it is never shown inline.
pub(super) fn content_type(bytes: &[u8]) -> &'static str {
    // `infer` calls a file a GIF from "GIF", a WebP from "WEBP" at byte 8: a note that opens
    // with the word would be an image, and refused as a damaged one.
    let known = infer::get(bytes).filter(|kind| match kind.mime_type() {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        "image/webp" => bytes.starts_with(b"RIFF"),
        _ => true,
    });
    if let Some(kind) = known
        && kind.matcher_type() != infer::MatcherType::Text
    {
        return kind.mime_type();
    }
    if let Some(markup) = markup(bytes) {
        return markup;
    }
    // Other XML, a shell script.
    if let Some(kind) = known {
        return kind.mime_type();
    }
    if !bytes.is_empty() && !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok() {
        return "text/plain";
    }
    OCTET_STREAM
}

/// "image/svg+xml" or "text/html" for a file that opens as one, after a byte order mark,
/// whitespace, an XML declaration, comments and a doctype.
fn markup(bytes: &[u8]) -> Option<&'static str> {
    let window = &bytes[..bytes.len().min(MARKUP_WINDOW)];
    let mut rest = window.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(window);
    loop {
        rest = rest.trim_ascii_start();
        if starts_with_ignore_case(rest, b"<!doctype") {
            let doctype = rest[b"<!doctype".len()..].trim_ascii_start();
            if starts_with_ignore_case(doctype, b"html") && ends_name(&doctype[4..]) {
                return Some("text/html");
            }
            rest = after(rest, b">")?;
        } else if rest.starts_with(b"<!--") {
            rest = after(&rest[4..], b"-->")?;
        } else if rest.starts_with(b"<?") {
            rest = after(rest, b"?>")?;
        } else {
            break;
        }
    }
    if tag(rest, b"svg") {
        return Some("image/svg+xml");
    }
    // The HTML openings of the WHATWG's sniffing rules (mimesniff.spec.whatwg.org), less the
    // comment, which was skipped above.
    const HTML: [&[u8]; 15] = [
        b"html", b"head", b"body", b"script", b"iframe", b"h1", b"div", b"font", b"table", b"a",
        b"style", b"title", b"b", b"br", b"p",
    ];
    HTML.iter()
        .any(|name| tag(rest, name))
        .then_some("text/html")
}

/// Whether `bytes` open with the start tag `<name`, as a whole name.
fn tag(bytes: &[u8], name: &[u8]) -> bool {
    bytes.first() == Some(&b'<')
        && starts_with_ignore_case(&bytes[1..], name)
        && ends_name(&bytes[1 + name.len()..])
}

/// Whether a name ends here: the end of the window, a space or the tag's end.
fn ends_name(rest: &[u8]) -> bool {
    rest.first()
        .is_none_or(|byte| byte.is_ascii_whitespace() || matches!(byte, b'>' | b'/'))
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// What follows the first `end`, if it is there.
fn after<'a>(bytes: &'a [u8], end: &[u8]) -> Option<&'a [u8]> {
    bytes
        .windows(end.len())
        .position(|window| window == end)
        .map(|at| &bytes[at + end.len()..])
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn html_is_recognised_by_its_opening_whatever_its_case_and_leading_space() {
        for html in [
            &b"<!DOCTYPE html><html><body>hi</body></html>"[..],
            b"\xEF\xBB\xBF  <!doctype HTML>\n<p>x",
            b"\n\n<HTML lang=en>",
            b"<head><title>x</title>",
            b"<body onload=alert(1)>",
            b"<script>alert(1)</script>",
            b"<!-- a comment --><html>",
            b"<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\">",
            b"<iframe src=x>",
        ] {
            assert_eq!(
                content_type(html),
                "text/html",
                "{:?}",
                String::from_utf8_lossy(html)
            );
        }
    }

    #[test]
    fn svg_is_recognised_after_a_prolog_comments_and_a_doctype() {
        for svg in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"[..],
            b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- made by hand -->\n\
              <!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x.dtd\">\n<svg width=\"1\">",
            b"  <SVG>",
        ] {
            assert_eq!(
                content_type(svg),
                "image/svg+xml",
                "{:?}",
                String::from_utf8_lossy(svg)
            );
        }
    }

    #[test]
    fn other_xml_and_words_that_only_start_like_a_tag_are_not_markup() {
        assert_eq!(
            content_type(b"<?xml version=\"1.0\"?><svgfoo/>"),
            "text/xml"
        );
        assert_eq!(content_type(b"<abbr>x</abbr>"), "text/plain");
        assert_eq!(content_type(b"<bogus>"), "text/plain");
        assert_ne!(content_type(b"<!-- never closed <svg>"), "image/svg+xml");
    }

    #[test]
    fn utf8_text_without_nuls_is_plain_text_and_anything_else_unknown_is_octet_stream() {
        assert_eq!(content_type("Grüße, 世界\n".as_bytes()), "text/plain");
        assert_eq!(
            content_type(b"text with a \0 nul"),
            "application/octet-stream"
        );
        assert_eq!(
            content_type(b"\xFF\xFE\xFD not utf-8"),
            "application/octet-stream"
        );
        assert_eq!(content_type(b""), "application/octet-stream");
    }

    #[test]
    fn binary_formats_come_from_their_magic_numbers() {
        assert_eq!(
            content_type(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"),
            "application/pdf"
        );
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(content_type(b"GIF89a\x01\0\x01\0"), "image/gif");
        assert_eq!(content_type(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0"), "image/jpeg");
    }

    #[test]
    fn text_that_opens_like_an_image_signature_is_text() {
        assert_eq!(content_type(b"GIF is how you say it"), "text/plain");
        assert_eq!(content_type(b"1234567\nWEBP, they said"), "text/plain");
        assert_eq!(content_type(b"RIFF\x10\0\0\0WEBPVP8L"), "image/webp");
    }

    #[test]
    fn markup_is_looked_for_in_a_bounded_window() {
        let mut long = vec![b' '; 10_000];
        long.extend_from_slice(b"<svg>");
        assert_eq!(content_type(&long), "text/plain");
    }
}
