//! Text questions asked in a row, where Esc goes back to the one before, its answer kept.

use std::str::FromStr;

use crate::error::Error;
use crate::inputs::Invalid;
use crate::prompt::Prompter;

/// A default worked out from the answers before.
type DefaultFrom<'a> = Box<dyn Fn(&Answers) -> Option<String> + 'a>;

/// A check of an answer: the rule it breaks, when it does.
type Check<'a> = Box<dyn Fn(&str) -> Result<(), String> + 'a>;

/// One question, standing for its flag.
pub(super) struct Field<'a> {
    question: &'a str,
    flag: &'static str,
    /// A line of detail said before the question.
    note: Option<&'a str>,
    /// The default, from the answers before (a policy's name follows its role's).
    default: DefaultFrom<'a>,
    validate: Check<'a>,
}

impl<'a> Field<'a> {
    /// A question whose answer must parse as `T`, with the parser's own message when not.
    pub(super) fn parsed<T: FromStr<Err = Invalid>>(question: &'a str, flag: &'static str) -> Self {
        Field::checked(question, flag, |s| {
            s.parse::<T>().map(|_| ()).map_err(|e| e.0)
        })
    }

    /// A question with a check of its own.
    pub(super) fn checked(
        question: &'a str,
        flag: &'static str,
        validate: impl Fn(&str) -> Result<(), String> + 'a,
    ) -> Self {
        Field {
            question,
            flag,
            note: None,
            default: Box::new(|_| None),
            validate: Box::new(validate),
        }
    }

    pub(super) fn note(self, note: &'a str) -> Self {
        Field {
            note: Some(note),
            ..self
        }
    }

    pub(super) fn default(self, default: impl Fn(&Answers) -> Option<String> + 'a) -> Self {
        Field {
            default: Box::new(default),
            ..self
        }
    }
}

/// The answers given, by flag.
#[derive(Debug, Default)]
pub(super) struct Answers(Vec<(&'static str, String)>);

impl Answers {
    pub(super) fn get(&self, flag: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == flag)
            .map(|(_, answer)| answer.as_str())
    }

    /// The value a flag gave, else the answer to its question, else the default.
    pub(super) fn settle<T: FromStr<Err = Invalid>>(
        &self,
        given: Option<T>,
        flag: &str,
        default: impl FnOnce() -> T,
    ) -> Result<T, Error> {
        match given {
            Some(value) => Ok(value),
            None => Ok(self.parse(flag)?.unwrap_or_else(default)),
        }
    }

    /// The answer for `flag`, parsed (the question checked that it parses).
    pub(super) fn parse<T: FromStr<Err = Invalid>>(&self, flag: &str) -> Result<Option<T>, Error> {
        self.get(flag)
            .map(|answer| {
                answer
                    .parse()
                    .map_err(|e| Error::invalid(flag.to_string(), e))
            })
            .transpose()
    }
}

/// Asks each field in turn. Esc goes back to the field before, offering the answer it had as
/// its default (an answer that was only the default then is worked out again, so that a
/// policy's name follows a role's name changed meanwhile); Esc at the first field is
/// `Err(Error::Back)`, for the caller to go back further. Each answer extends the command a
/// stop says, and going back takes it out again.
pub(super) fn ask(prompter: &mut dyn Prompter, fields: &[Field]) -> Result<Answers, Error> {
    let mut answers = Answers::default();
    // What each field's answer was, when it was not the default.
    let mut kept: Vec<Option<String>> = vec![None; fields.len()];
    while let Some(field) = fields.get(answers.0.len()) {
        let at = answers.0.len();
        let default = kept[at].clone().or_else(|| (field.default)(&answers));
        if let Some(note) = field.note {
            prompter.note(note);
        }
        match prompter.input(field.question, default.as_deref(), &*field.validate) {
            Ok(answer) => {
                crate::signals::answered(field.flag, &answer);
                kept[at] = (Some(&answer) != default.as_ref()).then(|| answer.clone());
                answers.0.push((field.flag, answer));
            }
            Err(Error::Back) if at > 0 => {
                prompter.again();
                let (flag, _) = answers.0.pop().expect("a field before");
                crate::signals::unanswered(flag);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{AccountId, RoleName};
    use crate::prompt::scripted::{Answer, Scripted};

    fn fields<'a>() -> Vec<Field<'a>> {
        vec![
            Field::parsed::<AccountId>("Account", "--tidb-account-id"),
            Field::parsed::<RoleName>("Role name", "--role-name")
                .default(|_| Some("tidb-role".into())),
            Field::parsed::<RoleName>("Policy name", "--policy-name")
                .default(|a| Some(format!("{}-policy", a.get("--role-name").unwrap_or("none")))),
        ]
    }

    #[test]
    fn esc_goes_back_with_the_answer_kept_and_defaults_follow_a_changed_answer() {
        let mut p = Scripted::new([
            Answer::Text("123456789012"),
            Answer::Text("mine"),
            // At the policy: back to the role name, whose answer is kept, then back again.
            Answer::Back,
            Answer::Back,
            // The account as it was, then another role name.
            Answer::Text(""),
            Answer::Text("theirs"),
            // The policy's default follows the new role name.
            Answer::Text(""),
        ]);
        let answers = ask(&mut p, &fields()).unwrap();
        assert_eq!(answers.get("--tidb-account-id"), Some("123456789012"));
        assert_eq!(answers.get("--role-name"), Some("theirs"));
        assert_eq!(answers.get("--policy-name"), Some("theirs-policy"));
        let role: Option<RoleName> = answers.parse("--role-name").unwrap();
        assert_eq!(role.unwrap().as_str(), "theirs");
    }

    #[test]
    fn esc_at_the_first_field_goes_back_further() {
        let mut p = Scripted::new([Answer::Back]);
        assert!(matches!(ask(&mut p, &fields()), Err(Error::Back)));
    }

    #[test]
    fn a_default_answer_is_worked_out_again_after_going_back() {
        let mut fields = fields();
        fields.push(Field::parsed::<RoleName>("Stack name", "--stack-name"));
        let mut p = Scripted::new([
            Answer::Text("123456789012"),
            Answer::Text(""),
            // The policy's default, then back from the stack to the role name.
            Answer::Text(""),
            Answer::Back,
            Answer::Back,
            Answer::Text("other"),
            Answer::Text(""),
            Answer::Text("stack"),
        ]);
        let answers = ask(&mut p, &fields).unwrap();
        assert_eq!(answers.get("--policy-name"), Some("other-policy"));
        assert_eq!(p.asked.len(), 8);
    }
}
