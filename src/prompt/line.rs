//! A line of text at the terminal, drawn as dialoguer draws its input, that also takes Esc:
//! dialoguer's input ignores that key, and the wizard uses it to go back a question.

use std::fmt;
use std::io;

use console::{measure_text_width, Key, Term};
use dialoguer::theme::Theme;

/// One text question.
pub(super) struct Question<'a> {
    pub(super) prompt: &'a str,
    /// Taken on Enter alone.
    pub(super) default: Option<&'a str>,
    /// Whether the default is shown in the prompt (a long one is said on a line before).
    pub(super) show_default: bool,
    pub(super) validate: &'a dyn Fn(&str) -> Result<(), String>,
}

/// Reads an answer that `validate` accepts: `Ok(None)` when the user pressed Esc. A rejected
/// answer is said on a line above the question, which the next answer clears; the question
/// ends as one line, `✔ prompt · answer`.
pub(super) fn read(term: &Term, theme: &dyn Theme, q: &Question) -> io::Result<Option<String>> {
    if !term.is_term() {
        return Err(io::Error::new(
            io::ErrorKind::NotConnected,
            "not a terminal",
        ));
    }
    let shown = q.default.filter(|_| q.show_default);
    let head = render(|f| theme.format_input_prompt(f, q.prompt, shown))?;
    // The lines the last rejection took, cleared with the next answer.
    let mut error_rows = 0;
    loop {
        let mut line = Line::new(term, &head);
        line.draw()?;
        let typed = loop {
            match term.read_key()? {
                Key::Escape => {
                    line.clear()?;
                    term.clear_last_lines(error_rows)?;
                    return Ok(None);
                }
                Key::Enter => break line.text(),
                key => line.edit(key)?,
            }
        };
        line.clear()?;
        term.clear_last_lines(error_rows)?;
        error_rows = 0;
        let answer = match (typed.trim(), q.default) {
            ("", Some(default)) => default.to_string(),
            ("", None) => continue,
            (typed, _) => typed.to_string(),
        };
        match (q.validate)(&answer) {
            Ok(()) => {
                let done = render(|f| theme.format_input_prompt_selection(f, q.prompt, &answer))?;
                term.write_line(&done)?;
                return Ok(Some(answer));
            }
            Err(reason) => {
                let said = render(|f| theme.format_error(f, &reason))?;
                term.write_line(&said)?;
                error_rows = rows(&said, width(term));
            }
        }
    }
}

/// The question's line as it is typed: its head, the text, and the cursor in the text.
struct Line<'t> {
    term: &'t Term,
    head: &'t str,
    chars: Vec<char>,
    cursor: usize,
    /// The terminal rows the line takes as drawn (a long answer wraps).
    drawn: usize,
}

impl<'t> Line<'t> {
    fn new(term: &'t Term, head: &'t str) -> Self {
        Line {
            term,
            head,
            chars: Vec::new(),
            cursor: 0,
            drawn: 1,
        }
    }

    fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// A key that edits the text; the others are ignored.
    fn edit(&mut self, key: Key) -> io::Result<()> {
        match key {
            Key::Char(c) if !c.is_control() => {
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
            }
            Key::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
            }
            Key::Del if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
            }
            Key::ArrowLeft if self.cursor > 0 => self.cursor -= 1,
            Key::ArrowRight if self.cursor < self.chars.len() => self.cursor += 1,
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = self.chars.len(),
            _ => return Ok(()),
        }
        self.clear()?;
        self.draw()
    }

    /// Draws the line from its first row, the cursor left where the text is edited.
    fn draw(&mut self) -> io::Result<()> {
        let text = self.text();
        let whole = format!("{}{text}", self.head);
        self.term.write_str(&whole)?;
        self.drawn = rows(&whole, width(self.term));
        let after: String = self.chars[self.cursor..].iter().collect();
        if !after.is_empty() {
            self.term.move_cursor_left(measure_text_width(&after))?;
        }
        self.term.flush()
    }

    /// Clears what [`Line::draw`] drew, leaving the cursor at the start of its first row.
    fn clear(&mut self) -> io::Result<()> {
        let after: String = self.chars[self.cursor..].iter().collect();
        if !after.is_empty() {
            self.term.move_cursor_right(measure_text_width(&after))?;
        }
        self.term.clear_line()?;
        self.term.clear_last_lines(self.drawn.saturating_sub(1))
    }
}

/// The terminal rows that `text` takes on one line of `width` columns.
pub(super) fn rows(text: &str, width: usize) -> usize {
    measure_text_width(text).max(1).div_ceil(width.max(1))
}

fn width(term: &Term) -> usize {
    usize::from(term.size().1)
}

/// What a theme's formatter writes.
fn render(format: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) -> io::Result<String> {
    let mut text = String::new();
    format(&mut text).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::rows;

    #[test]
    fn a_line_takes_a_row_per_width_started() {
        assert_eq!(rows("", 80), 1);
        assert_eq!(rows(&"x".repeat(80), 80), 1);
        assert_eq!(rows(&"x".repeat(81), 80), 2);
        assert_eq!(rows("\u{1b}[1mbold\u{1b}[0m", 2), 2);
    }
}
