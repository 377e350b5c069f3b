//! A message's text as HTML: the Markdown a chat needs, and nothing a message could use against
//! its readers.
//!
//! Rendered once, when a message is stored or edited, never per poll. pulldown-cmark parses;
//! what a chat line has no use for is turned back into the text that was typed (headings,
//! images, rules, raw HTML), links to anything but http, https and mailto lose their link, and
//! bare http(s) URLs become links (linkify). ammonia then cleans the result against an
//! allowlist of a dozen tags, so that a mistake in the steps before cannot reach a page: it is
//! the one place that decides what HTML a message may hold.

use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use linkify::{LinkFinder, LinkKind};
use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

use super::mention::{self, Accounts, MAX_MENTIONS};

/// The tags a message may hold, and what a link must look like.
static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::empty();
    builder
        .tags(HashSet::from([
            "p",
            "br",
            "em",
            "strong",
            "del",
            "code",
            "pre",
            "blockquote",
            "ul",
            "ol",
            "li",
            "a",
            "span",
        ]))
        .add_tag_attributes("a", ["href"])
        // Only the renderer writes a span (raw HTML in a message is text): a mention.
        .add_allowed_classes("span", ["mention"])
        .add_tag_attributes("ol", ["start"])
        .url_schemes(HashSet::from(LINK_SCHEMES))
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("nofollow noopener noreferrer ugc"))
        .set_tag_attribute_value("a", "target", "_blank");
    builder
});

const LINK_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// The HTML of a message's text: safe to put in a page as it is.
pub fn render(text: &str) -> String {
    render_mentioning(text, &Accounts::new()).html
}

/// A message's HTML, and the accounts it mentions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    /// (id, canonical name) of each account mentioned, once, in the order first mentioned.
    pub mentions: Vec<(i32, String)>,
}

/// The same, with each `@name` of one of `accounts` (outside code and links) wrapped in
/// `<span class="mention">`: those are the message's mentions.
pub fn render_mentioning(text: &str, accounts: &Accounts) -> Rendered {
    let mut mentions = Vec::new();
    let mut events = Vec::new();
    // The events inside a construct shown as its source text are skipped: how deep in it we are.
    let mut skipping = 0usize;
    // For each open link: whether it is kept (a scheme we link to).
    let mut links: Vec<bool> = Vec::new();
    let mut in_code_block = false;
    let parser = Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH).into_offset_iter();
    for (event, range) in parser {
        if skipping > 0 {
            match event {
                Event::Start(_) => skipping += 1,
                Event::End(TagEnd::Heading(_)) if skipping == 1 => {
                    skipping = 0;
                    events.push(Event::End(TagEnd::Paragraph));
                }
                Event::End(_) => skipping -= 1,
                _ => {}
            }
            continue;
        }
        let source = || CowStr::from(text[range.clone()].trim_end().to_owned());
        match event {
            // Headings show as typed ("# Title"), in a paragraph of their own.
            Event::Start(Tag::Heading { .. }) => {
                events.push(Event::Start(Tag::Paragraph));
                events.push(Event::Text(source()));
                skipping = 1;
            }
            // Images show as typed: a chat line does not load what a message points at.
            Event::Start(Tag::Image { .. }) => {
                events.push(Event::Text(source()));
                skipping = 1;
            }
            Event::Rule => {
                events.push(Event::Start(Tag::Paragraph));
                events.push(Event::Text(source()));
                events.push(Event::End(TagEnd::Paragraph));
            }
            // Raw HTML is text like any other.
            Event::Start(Tag::HtmlBlock) => events.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => events.push(Event::End(TagEnd::Paragraph)),
            Event::Html(raw) => {
                let mut lines = raw.trim_end_matches('\n').split('\n').peekable();
                while let Some(line) = lines.next() {
                    events.push(Event::Text(line.to_owned().into()));
                    if lines.peek().is_some() {
                        events.push(Event::HardBreak);
                    }
                }
            }
            Event::InlineHtml(raw) => events.push(Event::Text(raw)),
            // A chat line breaks where its author pressed Enter.
            Event::SoftBreak => events.push(Event::HardBreak),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let kept = linkable(&dest_url, link_type);
                links.push(kept);
                if kept {
                    events.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                }
            }
            Event::End(TagEnd::Link) => {
                if links.pop().unwrap_or(false) {
                    events.push(Event::End(TagEnd::Link));
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code_block = true;
                events.push(Event::Start(Tag::CodeBlock(kind)));
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                events.push(Event::End(TagEnd::CodeBlock));
            }
            Event::Text(text) if !in_code_block && links.is_empty() => {
                link_urls(text, &mut events, accounts, &mut mentions)
            }
            Event::TaskListMarker(_) | Event::FootnoteReference(_) => {
                events.push(Event::Text(source()))
            }
            other => events.push(other),
        }
    }
    let mut raw = String::with_capacity(text.len() * 3 / 2 + 16);
    html::push_html(&mut raw, events.into_iter());
    Rendered {
        html: SANITIZER.clean(&raw).to_string(),
        mentions,
    }
}

/// Whether a link written in the message stays a link: only to the schemes we allow, and never
/// relative (a link into this server written by someone else is not one to trust).
fn linkable(url: &str, link_type: LinkType) -> bool {
    if link_type == LinkType::Email {
        return true;
    }
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    LINK_SCHEMES
        .iter()
        .any(|allowed| scheme.eq_ignore_ascii_case(allowed))
}

/// Text with its bare http(s) URLs made into links, and its mentions marked.
fn link_urls<'a>(
    text: CowStr<'a>,
    events: &mut Vec<Event<'a>>,
    accounts: &Accounts,
    mentions: &mut Vec<(i32, String)>,
) {
    if accounts.is_empty() {
        return link_urls_in(text, events);
    }
    let mut plain = Vec::new();
    link_urls_in(text, &mut plain);
    let mut in_link = false;
    for event in plain {
        match event {
            Event::Text(piece) if !in_link => mark_mentions(piece, events, accounts, mentions),
            event => {
                match &event {
                    Event::Start(Tag::Link { .. }) => in_link = true,
                    Event::End(TagEnd::Link) => in_link = false,
                    _ => {}
                }
                events.push(event);
            }
        }
    }
}

/// Text with each `@name` of one of `accounts` in a mention span.
fn mark_mentions<'a>(
    text: CowStr<'a>,
    events: &mut Vec<Event<'a>>,
    accounts: &Accounts,
    mentions: &mut Vec<(i32, String)>,
) {
    let mut rest_from = 0;
    for candidate in mention::candidates(&text) {
        let Some((len, (id, name))) = mention::resolve(&candidate, accounts) else {
            continue;
        };
        let known = mentions.iter().any(|(m, _)| m == id);
        if !known && mentions.len() >= MAX_MENTIONS {
            continue;
        }
        if !known {
            mentions.push((*id, name.clone()));
        }
        let (from, to) = (candidate.range.start, candidate.range.start + 1 + len);
        if from > rest_from {
            events.push(Event::Text(text[rest_from..from].to_owned().into()));
        }
        events.push(Event::InlineHtml(r#"<span class="mention">"#.into()));
        events.push(Event::Text(text[from..to].to_owned().into()));
        events.push(Event::InlineHtml("</span>".into()));
        rest_from = to;
    }
    match rest_from {
        0 => events.push(Event::Text(text)),
        _ if rest_from < text.len() => {
            events.push(Event::Text(text[rest_from..].to_owned().into()))
        }
        _ => {}
    }
}

/// Text with its bare http(s) URLs made into links.
fn link_urls_in<'a>(text: CowStr<'a>, events: &mut Vec<Event<'a>>) {
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]);
    let mut rest_from = 0;
    let mut linked = false;
    for link in finder.links(&text) {
        let url = link.as_str();
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("http" | "https")) {
            continue;
        }
        linked = true;
        if link.start() > rest_from {
            events.push(Event::Text(text[rest_from..link.start()].to_owned().into()));
        }
        let url = CowStr::from(url.to_owned());
        events.push(Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: url.clone(),
            title: CowStr::from(""),
            id: CowStr::from(""),
        }));
        events.push(Event::Text(url));
        events.push(Event::End(TagEnd::Link));
        rest_from = link.end();
    }
    if !linked {
        events.push(Event::Text(text));
    } else if rest_from < text.len() {
        events.push(Event::Text(text[rest_from..].to_owned().into()));
    }
}

#[cfg(test)]
mod tests {
    use super::{Accounts, render, render_mentioning};

    fn accounts() -> Accounts {
        Accounts::from([
            ("alice".to_owned(), (1, "Alice".to_owned())),
            ("bob".to_owned(), (2, "bob".to_owned())),
        ])
    }

    #[test]
    fn mentions_of_accounts_are_marked_and_listed_once() {
        let rendered = render_mentioning("@ALICE, @nobody and @bob. Again @alice!", &accounts());
        assert_eq!(
            rendered.html,
            "<p><span class=\"mention\">@ALICE</span>, @nobody and \
             <span class=\"mention\">@bob</span>. Again <span class=\"mention\">@alice</span>!</p>\n"
        );
        assert_eq!(
            rendered.mentions,
            vec![(1, "Alice".to_owned()), (2, "bob".to_owned())]
        );
    }

    #[test]
    fn code_links_and_typed_spans_mention_nobody() {
        let rendered = render_mentioning(
            "`@alice` https://example.org/@bob <span class=\"mention\">x</span>",
            &accounts(),
        );
        assert!(rendered.mentions.is_empty(), "{rendered:?}");
        assert!(!rendered.html.contains("<span"), "{}", rendered.html);
        assert!(
            rendered.html.contains("<code>@alice</code>"),
            "{}",
            rendered.html
        );
    }

    const REL: &str = r#"rel="nofollow noopener noreferrer ugc""#;

    #[test]
    fn the_chat_subset_renders() {
        assert_eq!(
            render("**bold** _em_ ~~gone~~ `code`"),
            "<p><strong>bold</strong> <em>em</em> <del>gone</del> <code>code</code></p>\n"
        );
        assert_eq!(
            render("```\nfn main() {}\n```"),
            "<pre><code>fn main() {}\n</code></pre>\n"
        );
        assert_eq!(
            render("> quoted"),
            "<blockquote>\n<p>quoted</p>\n</blockquote>\n"
        );
        assert_eq!(
            render("- one\n- two"),
            "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        );
        assert_eq!(
            render("3. three\n4. four"),
            "<ol start=\"3\">\n<li>three</li>\n<li>four</li>\n</ol>\n"
        );
        assert_eq!(render("one\ntwo"), "<p>one<br>\ntwo</p>\n");
    }

    #[test]
    fn links_go_only_to_the_web_and_mail_and_open_apart() {
        let html = render("[site](https://example.com/a?b=1&c=2)");
        assert!(
            html.contains(r#"href="https://example.com/a?b=1&amp;c=2""#),
            "{html}"
        );
        assert!(
            html.contains(REL) && html.contains(r#"target="_blank""#),
            "{html}"
        );
        let bare = render("see https://example.com/x, then http://example.org.");
        assert!(
            bare.contains(r#"<a href="https://example.com/x""#),
            "{bare}"
        );
        assert!(bare.contains(r#"<a href="http://example.org""#), "{bare}");
        assert!(bare.ends_with(".</p>\n"), "{bare}");
        assert!(render("<mailto:a@example.com>").contains(r#"href="mailto:a@example.com""#));
        for hostile in [
            "[x](javascript:alert(1))",
            "[x](JAVASCRIPT:alert(1))",
            "[x](/admin)",
            "[x](data:text/html,hi)",
            "<javascript:alert(1)>",
        ] {
            let html = render(hostile);
            assert!(!html.contains("href"), "{hostile} gave {html}");
        }
        assert_eq!(
            render("`https://example.com`"),
            "<p><code>https://example.com</code></p>\n"
        );
    }

    #[test]
    fn html_headings_images_and_rules_show_as_typed() {
        assert_eq!(
            render("<script>alert(1)</script>"),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        );
        assert_eq!(
            render("hi <img src=x onerror=alert(1)> there"),
            "<p>hi &lt;img src=x onerror=alert(1)&gt; there</p>\n"
        );
        assert_eq!(render("# Title"), "<p># Title</p>\n");
        assert_eq!(
            render("![cat](https://example.com/cat.png)"),
            "<p>![cat](https://example.com/cat.png)</p>\n"
        );
        assert_eq!(render("---"), "<p>---</p>\n");
        let html = render("<div onclick=\"x()\">\nhello\n</div>");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;div"), "{html}");
    }
}
