//! The terminal client's layout arithmetic, without a terminal: wrapping text to a width,
//! cutting names to fit, the sidebar's width, the log's scroll position and local times.

use chrono::{DateTime, Datelike, Local, NaiveDate};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::domain::human_size;

/// How many columns `text` takes on a terminal.
pub fn width(text: &str) -> usize {
    text.width()
}

fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// `text` broken into rows that fit: each of its lines ('\n') starts a row, and a line too
/// wide is broken after a space where it can, inside a word only when the word itself is too
/// wide. The first row may be `first` columns wide, every other row `rest` (a hanging indent
/// is the caller's to draw).
pub fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut rows = Vec::new();
    for line in text.split('\n') {
        let mut row = String::new();
        let mut row_width = 0;
        // Where the row may be broken: the byte just after its last space, and the width so far.
        let mut space: Option<(usize, usize)> = None;
        for c in line.chars() {
            let room = if rows.is_empty() { first } else { rest }.max(1);
            let w = char_width(c);
            if row_width + w > room && !row.is_empty() {
                if c == ' ' {
                    // The break falls on this space: it is not carried to the next row.
                    rows.push(row.trim_end().to_owned());
                    row.clear();
                    row_width = 0;
                    space = None;
                    continue;
                }
                match space {
                    Some((at, at_width)) => {
                        let carried = row.split_off(at);
                        rows.push(row.trim_end().to_owned());
                        row = carried;
                        row_width -= at_width;
                    }
                    None => {
                        rows.push(std::mem::take(&mut row));
                        row_width = 0;
                    }
                }
                space = None;
            }
            row.push(c);
            row_width += w;
            if c == ' ' {
                space = Some((row.len(), row_width));
            }
        }
        rows.push(row);
    }
    rows
}

/// `text` cut to `columns`, ending in "…" when (and only when) it had to be cut.
pub fn fit(text: &str, columns: usize) -> String {
    if width(text) <= columns {
        return text.to_owned();
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w + 1 > columns {
            break;
        }
        cut.push(c);
        used += w;
    }
    if columns > 0 {
        cut.push('…');
    }
    cut
}

/// How the log shows a message's file: "[name, size] URL", the URL in full.
pub fn attachment_label(name: &str, size: u64, url: &str) -> String {
    format!("[{name}, {}] {url}", human_size(size))
}

/// Below this many columns the room list is hidden: the log needs them more.
pub const SIDEBAR_HIDDEN_BELOW: u16 = 60;
const SIDEBAR_MIN: u16 = 16;
const SIDEBAR_MAX: u16 = 32;

/// The room list's width (with its borders) on a terminal this wide: a fifth of it, between
/// 16 and 32 columns; none on a narrow terminal.
pub fn sidebar_width(total: u16) -> u16 {
    if total < SIDEBAR_HIDDEN_BELOW {
        0
    } else {
        (total / 5).clamp(SIDEBAR_MIN, SIDEBAR_MAX)
    }
}

/// A room's label in `columns`: the name, cut if it must be, then its unread count, which is
/// never cut away.
pub fn room_label(name: &str, unread: Option<i64>, columns: usize) -> String {
    let count = unread.map(|n| format!(" ({n})")).unwrap_or_default();
    let name = fit(name, columns.saturating_sub(width(&count)));
    format!("{name}{count}")
}

/// Where the log pane looks: following the newest rows, or held with a given row at its top
/// (so that new rows arriving below do not move what is being read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scroll {
    top: Option<usize>,
}

impl Scroll {
    /// The first row to show of `total` in a pane `height` rows high, and whether there are
    /// rows below the pane.
    pub fn window(&self, total: usize, height: usize) -> (usize, bool) {
        let last_top = total.saturating_sub(height);
        match self.top {
            Some(top) if top < last_top => (top, true),
            _ => (last_top, false),
        }
    }

    pub fn following(&self) -> bool {
        self.top.is_none()
    }

    /// Up a page, keeping one row of the page before. False when already at the very top.
    pub fn page_up(&mut self, total: usize, height: usize) -> bool {
        let (top, _) = self.window(total, height);
        if top == 0 {
            if total > height {
                self.top = Some(0);
            }
            return false;
        }
        self.top = Some(top.saturating_sub(height.saturating_sub(1).max(1)));
        true
    }

    /// Down a page; back to following once the newest row is in view.
    pub fn page_down(&mut self, total: usize, height: usize) {
        let Some(top) = self.top else { return };
        let top = top + height.saturating_sub(1).max(1);
        self.top = (top < total.saturating_sub(height)).then_some(top);
    }

    /// Back to following the newest rows.
    pub fn bottom(&mut self) {
        self.top = None;
    }

    /// `rows` rows were added above everything (older history): what is read stays in place.
    pub fn prepended(&mut self, rows: usize) {
        if let Some(top) = &mut self.top {
            *top += rows;
        }
    }
}

/// An entry's moment (RFC 3339 from the server) on the reader's clock: in the local time zone
/// (TZ honoured).
pub fn local_moment(sent_at: &str) -> Option<DateTime<Local>> {
    DateTime::parse_from_rfc3339(sent_at)
        .ok()
        .map(|at| at.with_timezone(&Local))
}

/// An entry's hours and minutes on the reader's clock (the day is the separators' to say).
pub fn local_time(sent_at: &str) -> String {
    match local_moment(sent_at) {
        Some(at) => at.format("%H:%M").to_string(),
        None => sent_at.get(11..16).unwrap_or("").to_owned(),
    }
}

/// When an entry was sent, on the reader's clock, for a line outside its room's log (a search
/// result): its hours and minutes today, with the day before them on another day, and the year
/// too in another year.
pub fn stamp(sent_at: &str, today: NaiveDate) -> String {
    let Some(at) = local_moment(sent_at) else {
        return local_time(sent_at);
    };
    let day = at.date_naive();
    if day == today {
        at.format("%H:%M").to_string()
    } else if day.year() == today.year() {
        at.format("%-d %b %H:%M").to_string()
    } else {
        at.format("%-d %b %Y %H:%M").to_string()
    }
}

/// The words of a day separator: "Today", "Yesterday", or the date written out.
pub fn day_label(day: NaiveDate, today: NaiveDate) -> String {
    if day == today {
        "Today".to_owned()
    } else if today.pred_opt() == Some(day) {
        "Yesterday".to_owned()
    } else {
        day.format("%A %-d %B %Y").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_shown_by_its_name_size_and_address() {
        assert_eq!(
            attachment_label("cat.png", 2048, "http://chat.example/attachments/7"),
            "[cat.png, 2 KiB] http://chat.example/attachments/7"
        );
    }

    #[test]
    fn a_long_line_breaks_after_spaces_and_every_row_fits() {
        let rows = wrap("the quick brown fox jumps over the lazy dog", 10, 10);
        assert_eq!(
            rows,
            ["the quick", "brown fox", "jumps over", "the lazy", "dog"]
        );
        assert!(rows.iter().all(|row| width(row) <= 10));
    }

    #[test]
    fn a_word_wider_than_the_row_is_broken_inside() {
        assert_eq!(wrap("abcdefghij xy", 4, 4), ["abcd", "efgh", "ij", "xy"]);
    }

    #[test]
    fn each_line_of_a_message_starts_a_row() {
        assert_eq!(
            wrap("first line\nsecond\n\nfourth", 20, 20),
            ["first line", "second", "", "fourth"]
        );
    }

    #[test]
    fn the_first_row_and_the_others_may_differ_in_width() {
        assert_eq!(wrap("aaa bbb ccc ddd", 8, 4), ["aaa bbb", "ccc", "ddd"]);
    }

    #[test]
    fn wide_characters_count_as_two_columns() {
        let rows = wrap("日本語のテキスト", 6, 6);
        assert_eq!(rows, ["日本語", "のテキ", "スト"]);
        assert!(rows.iter().all(|row| width(row) <= 6));
    }

    #[test]
    fn names_are_cut_with_an_ellipsis_only_when_they_must_be() {
        assert_eq!(fit("Kitchen", 7), "Kitchen");
        assert_eq!(fit("Kitchen table", 7), "Kitche…");
        assert_eq!(fit("日本語", 4), "日…");
        assert_eq!(room_label("Kitchen table", Some(12), 12), "Kitche… (12)");
        assert_eq!(room_label("Kitchen", None, 12), "Kitchen");
    }

    #[test]
    fn the_sidebar_takes_a_share_of_the_width_within_bounds() {
        assert_eq!(sidebar_width(40), 0, "hidden on a narrow terminal");
        assert_eq!(sidebar_width(60), 16);
        assert_eq!(sidebar_width(120), 24);
        assert_eq!(sidebar_width(250), 32);
    }

    #[test]
    fn the_log_follows_the_newest_rows_until_scrolled_up() {
        let mut scroll = Scroll::default();
        assert_eq!(scroll.window(100, 10), (90, false));
        assert!(scroll.page_up(100, 10));
        assert_eq!(scroll.window(100, 10), (81, true));
        // New rows below do not move what is being read.
        assert_eq!(scroll.window(120, 10), (81, true));
        scroll.page_down(120, 10);
        assert_eq!(scroll.window(120, 10), (90, true));
        for _ in 0..3 {
            scroll.page_down(120, 10);
        }
        assert!(scroll.following());
        assert_eq!(scroll.window(120, 10), (110, false));
    }

    #[test]
    fn paging_up_stops_at_the_top_and_says_so() {
        let mut scroll = Scroll::default();
        assert!(scroll.page_up(15, 10));
        assert_eq!(scroll.window(15, 10), (0, true));
        assert!(
            !scroll.page_up(15, 10),
            "nothing above: time for older history"
        );
        scroll.prepended(30);
        assert_eq!(scroll.window(45, 10), (30, true), "the same rows in view");
        scroll.bottom();
        assert_eq!(scroll.window(45, 10), (35, false));
    }

    #[test]
    fn a_short_log_cannot_be_scrolled() {
        let mut scroll = Scroll::default();
        assert!(!scroll.page_up(5, 10));
        assert_eq!(scroll.window(5, 10), (0, false));
    }

    #[test]
    fn times_that_are_not_rfc_3339_fall_back_to_their_hours_and_minutes() {
        assert_eq!(local_time("2026-01-01 10:42:00"), "10:42");
        assert_eq!(local_time(""), "");
    }

    #[test]
    fn days_are_today_yesterday_or_written_out() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(day_label(today, today), "Today");
        assert_eq!(day_label(today.pred_opt().unwrap(), today), "Yesterday");
        let earlier = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        assert_eq!(day_label(earlier, today), "Tuesday 3 November 2026");
    }

    #[test]
    fn a_stamp_gives_the_day_unless_today_and_the_year_unless_this_year() {
        let at = |day: &str| {
            let moment = DateTime::parse_from_rfc3339(&format!("{day}T10:42:00Z")).unwrap();
            let local = moment.with_timezone(&Local);
            (
                moment.to_rfc3339(),
                local.date_naive(),
                local.format("%H:%M"),
            )
        };
        let (sent, today, time) = at("2026-12-04");
        assert_eq!(stamp(&sent, today), time.to_string());
        let (sent, day, time) = at("2026-11-03");
        let later = day + chrono::Days::new(5);
        let shown = format!("{} {time}", day.format("%-d %b"));
        assert_eq!(stamp(&sent, later), shown);
        let next_year = day + chrono::Days::new(400);
        let shown = format!("{} {time}", day.format("%-d %b %Y"));
        assert_eq!(stamp(&sent, next_year), shown);
        assert_eq!(stamp("2026-01-01 10:42:00", today), "10:42");
    }

    #[test]
    fn times_are_shown_in_the_local_time_zone() {
        let now = chrono::Utc::now();
        let sent = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        assert_eq!(
            local_time(&sent),
            now.with_timezone(&Local).format("%H:%M").to_string()
        );
    }
}
