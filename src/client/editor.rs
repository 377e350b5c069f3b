//! The input line: a small line editor (cursor keys, Home/End, deleting at the cursor, the
//! history of lines sent this run) that scrolls sideways when the line is wider than its box.
//! The cursor is a byte offset that always sits on a character boundary.

use unicode_width::UnicodeWidthChar;

use super::view::width;

#[derive(Debug, Default)]
pub struct LineEditor {
    text: String,
    cursor: usize,
    /// The first byte shown: the line scrolls sideways to keep the cursor in the box.
    offset: usize,
    history: Vec<String>,
    /// Which line of the history is being edited, if one is.
    recalled: Option<usize>,
    /// The line being typed before Up recalled an older one: Down past the newest gives it back.
    draft: String,
}

impl LineEditor {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn insert(&mut self, c: char) {
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    fn previous_boundary(&self) -> Option<usize> {
        self.text[..self.cursor]
            .char_indices()
            .last()
            .map(|(i, _)| i)
    }

    fn next_boundary(&self) -> Option<usize> {
        let c = self.text[self.cursor..].chars().next()?;
        Some(self.cursor + c.len_utf8())
    }

    pub fn left(&mut self) {
        if let Some(at) = self.previous_boundary() {
            self.cursor = at;
        }
    }

    pub fn right(&mut self) {
        if let Some(at) = self.next_boundary() {
            self.cursor = at;
        }
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.len();
    }

    /// Deletes the character before the cursor.
    pub fn backspace(&mut self) {
        if let Some(at) = self.previous_boundary() {
            self.text.replace_range(at..self.cursor, "");
            self.cursor = at;
        }
    }

    /// Deletes the character under the cursor.
    pub fn delete(&mut self) {
        if let Some(at) = self.next_boundary() {
            self.text.replace_range(self.cursor..at, "");
        }
    }

    /// Deletes everything before the cursor (Ctrl+U).
    pub fn delete_to_start(&mut self) {
        self.text.replace_range(..self.cursor, "");
        self.cursor = 0;
    }

    /// Deletes everything from the cursor on (Ctrl+K).
    pub fn delete_to_end(&mut self) {
        self.text.truncate(self.cursor);
    }

    /// The line sent before the one shown (Up).
    pub fn older(&mut self) {
        let index = match self.recalled {
            None if self.history.is_empty() => return,
            None => {
                self.draft = std::mem::take(&mut self.text);
                self.history.len() - 1
            }
            Some(0) => return,
            Some(index) => index - 1,
        };
        self.recall(Some(index));
    }

    /// The line sent after the one shown, or what was being typed (Down).
    pub fn newer(&mut self) {
        match self.recalled {
            None => {}
            Some(index) if index + 1 < self.history.len() => self.recall(Some(index + 1)),
            Some(_) => self.recall(None),
        }
    }

    fn recall(&mut self, index: Option<usize>) {
        self.recalled = index;
        self.text = match index {
            Some(index) => self.history[index].clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.cursor = self.text.len();
    }

    /// Empties the line and gives what it held; a line with something in it joins the history
    /// (once, if it is the same as the last one).
    pub fn take(&mut self) -> String {
        let line = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.offset = 0;
        self.recalled = None;
        self.draft.clear();
        if !line.trim().is_empty() && self.history.last() != Some(&line) {
            self.history.push(line.clone());
        }
        line
    }

    /// What a box `columns` wide shows of the line, and the cursor's column in it. The shown
    /// part moves only when the cursor would leave the box.
    pub fn view(&mut self, columns: usize) -> (&str, usize) {
        let columns = columns.max(1);
        self.offset = self.offset.min(self.cursor);
        while !self.text.is_char_boundary(self.offset) {
            self.offset -= 1;
        }
        // The cursor needs a cell of its own, after the characters before it.
        while width(&self.text[self.offset..self.cursor]) + 1 > columns && self.offset < self.cursor
        {
            let c = self.text[self.offset..].chars().next().unwrap_or(' ');
            self.offset += c.len_utf8();
        }
        let column = width(&self.text[self.offset..self.cursor]);
        let mut end = self.offset;
        let mut used = 0;
        for c in self.text[self.offset..].chars() {
            let w = c.width().unwrap_or(0);
            if used + w > columns {
                break;
            }
            used += w;
            end += c.len_utf8();
        }
        (&self.text[self.offset..end], column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> LineEditor {
        let mut editor = LineEditor::default();
        text.chars().for_each(|c| editor.insert(c));
        editor
    }

    #[test]
    fn the_cursor_keys_edit_in_the_middle_of_the_line() {
        let mut editor = typed("helo world");
        editor.home();
        editor.right();
        editor.right();
        editor.right();
        editor.insert('l');
        assert_eq!(editor.text(), "hello world");
        editor.end();
        editor.left();
        editor.backspace();
        editor.delete();
        assert_eq!(editor.text(), "hello wor");
        editor.home();
        editor.delete();
        assert_eq!(editor.text(), "ello wor");
    }

    #[test]
    fn multi_byte_characters_are_edited_whole() {
        let mut editor = typed("café ☕ 日本");
        editor.left();
        editor.left();
        editor.left();
        editor.backspace();
        editor.backspace();
        assert_eq!(editor.text(), "café 日本");
        editor.home();
        editor.right();
        editor.right();
        editor.right();
        editor.delete();
        assert_eq!(editor.text(), "caf 日本");
        editor.end();
        editor.right();
        editor.backspace();
        assert_eq!(editor.text(), "caf 日");
    }

    #[test]
    fn up_and_down_go_through_the_lines_sent_and_back_to_the_draft() {
        let mut editor = typed("first");
        assert_eq!(editor.take(), "first");
        "second".chars().for_each(|c| editor.insert(c));
        editor.take();
        "second".chars().for_each(|c| editor.insert(c));
        editor.take();
        "draft".chars().for_each(|c| editor.insert(c));

        editor.older();
        assert_eq!(editor.text(), "second", "the same line twice is kept once");
        editor.older();
        assert_eq!(editor.text(), "first");
        editor.older();
        assert_eq!(editor.text(), "first", "the oldest stays");
        editor.newer();
        assert_eq!(editor.text(), "second");
        editor.newer();
        assert_eq!(editor.text(), "draft");
        editor.newer();
        assert_eq!(editor.text(), "draft");
    }

    #[test]
    fn a_recalled_line_can_be_edited_and_sent_as_a_new_one() {
        let mut editor = typed("hello world");
        editor.take();
        editor.older();
        for _ in 0..5 {
            editor.backspace();
        }
        "there".chars().for_each(|c| editor.insert(c));
        assert_eq!(editor.take(), "hello there");
        editor.older();
        assert_eq!(editor.text(), "hello there");
        editor.older();
        assert_eq!(editor.text(), "hello world");
    }

    #[test]
    fn a_line_wider_than_the_box_scrolls_to_keep_the_cursor_in_it() {
        let mut editor = typed("abcdefghijklmnop");
        assert_eq!(
            editor.view(10),
            ("hijklmnop", 9),
            "the end, with a cell for the cursor"
        );
        for _ in 0..5 {
            editor.left();
        }
        assert_eq!(
            editor.view(10),
            ("hijklmnop", 4),
            "moving inside it moves nothing"
        );
        editor.home();
        assert_eq!(editor.view(10), ("abcdefghij", 0));
        editor.end();
        assert_eq!(editor.view(10).1, 9);
    }

    #[test]
    fn wide_characters_scroll_and_place_the_cursor_by_their_width() {
        let mut editor = typed("日本語テキスト");
        assert_eq!(editor.view(9), ("テキスト", 8));
        editor.home();
        assert_eq!(editor.view(9), ("日本語テ", 0));
    }

    #[test]
    fn ctrl_u_and_ctrl_k_delete_before_and_after_the_cursor() {
        let mut editor = typed("one two three");
        editor.home();
        (0..4).for_each(|_| editor.right());
        editor.delete_to_end();
        assert_eq!(editor.text(), "one ");
        editor.left();
        editor.delete_to_start();
        assert_eq!(editor.text(), " ");
    }
}
