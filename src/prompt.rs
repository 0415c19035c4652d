//! The seam between the flow and the terminal. The flow asks through [`Prompter`]; a person
//! answers through [`Terminal`], a test through a scripted prompter.

use dialoguer::theme::{ColorfulTheme, Theme};
use dialoguer::{Confirm, Select};

use crate::error::Error;
use crate::output::terminal_width as width;

mod line;

/// Asks the user. Every method returns `Err(Error::Interrupted)` when the user presses Ctrl-C,
/// and `Err(Error::Back)` on Esc (go back a question).
pub trait Prompter {
    /// Asks for text until `validate` accepts it; a rejected answer is re-asked with the reason.
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<String, Error>;

    /// Offers a choice; returns the chosen index.
    fn select(&mut self, prompt: &str, items: &[&str], default: usize) -> Result<usize, Error>;

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Error>;

    /// A line of detail before the next question, which keeps the question itself short.
    fn note(&mut self, text: &str);

    /// How many questions were answered so far.
    fn answered(&self) -> usize;

    /// Esc went back: the question answered last is asked again. A terminal takes that
    /// question's lines back, when nothing was said after them, so that it is asked again
    /// where it was.
    fn again(&mut self) {}
}

/// Cuts text that would not fit in `room` columns, with an ellipsis: a line that wraps breaks
/// the prompt's redraw (stale lines, two selection markers).
fn fit(text: &str, room: usize) -> String {
    console::truncate_str(text, room.max(10), "…").into_owned()
}

/// Prompts on stderr with dialoguer (and text with [`line`]).
#[derive(Default)]
pub struct Terminal {
    theme: ColorfulTheme,
    answered: usize,
    /// The rows drawn for the question being asked: its notes.
    pending: usize,
    /// For each question answered, the rows it took (its notes and its answered line) and
    /// how much the run had said by then (`output::said`).
    drawn: Vec<(usize, usize)>,
}

impl Terminal {
    /// A question's answer, counted, with the line it ended as. Ctrl-C ends the run; Esc (no
    /// answer) asks to go back, and takes the question's notes back.
    fn answer<T>(
        &mut self,
        answer: Result<Option<T>, Error>,
        line: impl FnOnce(&ColorfulTheme, &mut dyn std::fmt::Write, &T) -> std::fmt::Result,
    ) -> Result<T, Error> {
        match answer? {
            Some(answer) => {
                self.answered += 1;
                let said = self.answered_line(|t, f| line(t, f, &answer));
                let rows = self.pending + line::rows(&said, width());
                self.drawn.push((rows, crate::output::said()));
                self.pending = 0;
                Ok(answer)
            }
            None => {
                let _ = console::Term::stderr().clear_last_lines(self.pending);
                self.pending = 0;
                Err(Error::Back)
            }
        }
    }

    /// The line the theme ends a question with.
    fn answered_line(
        &self,
        format: impl FnOnce(&ColorfulTheme, &mut dyn std::fmt::Write) -> std::fmt::Result,
    ) -> String {
        let mut text = String::new();
        let _ = format(&self.theme, &mut text);
        text
    }
}

fn interrupted(e: dialoguer::Error) -> Error {
    match e {
        dialoguer::Error::IO(e) if e.kind() == std::io::ErrorKind::Interrupted => {
            Error::Interrupted(" by Ctrl-C; nothing was changed".into())
        }
        dialoguer::Error::IO(e) => Error::Other(anyhow::anyhow!("reading the answer: {e}")),
    }
}

impl Prompter for Terminal {
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<String, Error> {
        // "? PROMPT [DEFAULT] › " and room to type.
        let mut prompt = fit(prompt, width().saturating_sub(24));
        let mut show_default = true;
        if let Some(default) = default {
            if console::measure_text_width(&prompt) + console::measure_text_width(default) + 8
                > width()
            {
                // A long default is shown on its own line, not in the prompt.
                self.note(&format!("Enter for {default}"));
                prompt = fit(&prompt, width().saturating_sub(8));
                show_default = false;
            }
        }
        let question = line::Question {
            prompt: &prompt,
            default,
            show_default,
            validate: &|s| validate(s.trim()),
        };
        let read = line::read(&console::Term::stderr(), &self.theme, &question)
            .map_err(|e| interrupted(e.into()));
        let answer = self.answer(read, |t, f, answer| {
            t.format_input_prompt_selection(f, &prompt, answer)
        })?;
        Ok(answer.trim().to_string())
    }

    fn select(&mut self, prompt: &str, items: &[&str], default: usize) -> Result<usize, Error> {
        let room = width().saturating_sub(3);
        let items: Vec<String> = items.iter().map(|i| fit(i, room)).collect();
        let prompt = fit(prompt, width().saturating_sub(6));
        let chosen = Select::with_theme(&self.theme)
            .with_prompt(&prompt)
            .items(&items)
            .default(default)
            .interact_opt()
            .map_err(interrupted);
        self.answer(chosen, |t, f, &i| {
            t.format_select_prompt_selection(f, &prompt, &items[i])
        })
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Error> {
        let prompt = fit(prompt, width().saturating_sub(14));
        let yes = Confirm::with_theme(&self.theme)
            .with_prompt(&prompt)
            .default(default)
            .interact_opt()
            .map_err(interrupted);
        if let Ok(None) = yes {
            // dialoguer ends an Esc'd confirmation with its question, unanswered: a line more.
            self.pending += line::rows(
                &self.answered_line(|t, f| t.format_confirm_prompt_selection(f, &prompt, None)),
                width(),
            );
        }
        self.answer(yes, |t, f, &yes| {
            t.format_confirm_prompt_selection(f, &prompt, Some(yes))
        })
    }

    fn note(&mut self, text: &str) {
        let style = console::Style::new().dim();
        for line in crate::output::wrap_words("  ", "  ", text, width()) {
            self.pending += 1;
            eprintln!("{}", style.apply_to(line));
        }
    }

    fn answered(&self) -> usize {
        self.answered
    }

    fn again(&mut self) {
        if let Some((rows, said)) = self.drawn.pop() {
            if said == crate::output::said() {
                let _ = console::Term::stderr().clear_last_lines(rows);
            }
        }
    }
}

/// For runs that must not prompt: any question is a bug, reported as such.
pub struct NoPrompts;

fn cannot_ask(prompt: &str) -> Error {
    anyhow::anyhow!("internal error: asked {prompt:?} in a run that cannot prompt").into()
}

impl Prompter for NoPrompts {
    fn input(
        &mut self,
        prompt: &str,
        _: Option<&str>,
        _: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<String, Error> {
        Err(cannot_ask(prompt))
    }

    fn select(&mut self, prompt: &str, _: &[&str], _: usize) -> Result<usize, Error> {
        Err(cannot_ask(prompt))
    }

    fn confirm(&mut self, prompt: &str, _: bool) -> Result<bool, Error> {
        Err(cannot_ask(prompt))
    }

    fn note(&mut self, _: &str) {}

    fn answered(&self) -> usize {
        0
    }
}

/// Scripted answers, for tests of the flow.
#[cfg(test)]
pub(crate) mod scripted {
    use super::*;
    use std::collections::VecDeque;

    #[derive(Debug, Clone)]
    pub(crate) enum Answer {
        Text(&'static str),
        Choice(usize),
        Yes,
        No,
        /// Esc.
        Back,
    }

    #[derive(Default)]
    pub(crate) struct Scripted {
        pub(crate) answers: VecDeque<Answer>,
        pub(crate) asked: Vec<String>,
        pub(crate) rejected: Vec<String>,
        pub(crate) notes: Vec<String>,
    }

    impl Scripted {
        pub(crate) fn new(answers: impl IntoIterator<Item = Answer>) -> Self {
            Scripted {
                answers: answers.into_iter().collect(),
                asked: Vec::new(),
                rejected: Vec::new(),
                notes: Vec::new(),
            }
        }

        /// Leaves the answers not asked for: a test that means to stop early says so.
        pub(crate) fn unused(&mut self) -> Vec<Answer> {
            self.answers.drain(..).collect()
        }

        fn next(&mut self, prompt: &str) -> Answer {
            self.asked.push(prompt.to_string());
            self.answers
                .pop_front()
                .unwrap_or_else(|| panic!("no scripted answer for {prompt:?}"))
        }
    }

    /// An answer never asked for means the flow asked fewer questions than the test thinks:
    /// the test fails, rather than pass on a script that no longer matches.
    impl Drop for Scripted {
        fn drop(&mut self) {
            if !self.answers.is_empty() && !std::thread::panicking() {
                panic!(
                    "scripted answers never asked for: {:?}; asked: {:?}",
                    self.answers, self.asked
                );
            }
        }
    }

    impl Prompter for Scripted {
        fn input(
            &mut self,
            prompt: &str,
            default: Option<&str>,
            validate: &dyn Fn(&str) -> Result<(), String>,
        ) -> Result<String, Error> {
            loop {
                let answer = match self.next(prompt) {
                    Answer::Back => return Err(Error::Back),
                    Answer::Text("") => default.unwrap_or_default().to_string(),
                    Answer::Text(t) => t.to_string(),
                    other => panic!("{prompt:?} wants text, got {other:?}"),
                };
                match validate(&answer) {
                    Ok(()) => return Ok(answer),
                    Err(reason) => self.rejected.push(reason),
                }
            }
        }

        fn select(&mut self, prompt: &str, items: &[&str], _: usize) -> Result<usize, Error> {
            match self.next(prompt) {
                Answer::Choice(i) if i < items.len() => Ok(i),
                Answer::Back => Err(Error::Back),
                other => panic!("{prompt:?} wants a choice of {items:?}, got {other:?}"),
            }
        }

        fn confirm(&mut self, prompt: &str, _: bool) -> Result<bool, Error> {
            match self.next(prompt) {
                Answer::Yes => Ok(true),
                Answer::No => Ok(false),
                Answer::Back => Err(Error::Back),
                other => panic!("{prompt:?} wants yes or no, got {other:?}"),
            }
        }

        fn note(&mut self, text: &str) {
            self.notes.push(text.to_string());
        }

        fn answered(&self) -> usize {
            self.asked.len()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        #[should_panic(expected = "scripted answers never asked for")]
        fn an_answer_never_asked_for_fails_the_test() {
            let mut p = Scripted::new([Answer::Yes, Answer::No]);
            assert!(p.confirm("Apply?", false).unwrap());
        }

        #[test]
        fn a_test_that_stops_early_says_so() {
            let mut p = Scripted::new([Answer::Yes, Answer::No]);
            assert!(p.confirm("Apply?", false).unwrap());
            assert_eq!(p.unused().len(), 1);
        }
    }
}
