//! Saved plans on disk: `--plan-out FILE` writes one, `--plan FILE` reads it back and checks it
//! against what AWS holds now before anything is applied. The file's shape and the basis are
//! `plan::saved`'s; this is the reading, the writing and the refusal.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::plan::saved::{differs, made_by, Basis, Saved, FORMAT};
use crate::Context;

/// Writes the plan, whole or not at all: into a file beside `path`, then renamed over it.
pub(crate) fn write<S: Serialize, P: Serialize>(
    path: &Path,
    command: &str,
    setup: S,
    basis: Basis,
    plan: &P,
) -> Result<(), Error> {
    let saved = Saved {
        format: FORMAT,
        made_by: made_by(),
        command: command.to_string(),
        setup,
        basis,
        plan,
    };
    let mut text = serde_json::to_string_pretty(&saved).map_err(anyhow::Error::from)?;
    text.push('\n');
    let cannot = |e: std::io::Error| {
        Error::invalid(
            "--plan-out",
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    std::fs::write(&partial, text).map_err(cannot)?;
    std::fs::rename(&partial, path).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        cannot(e)
    })
}

/// Reads a plan saved for `command`. A file that is not one, or is of another format or
/// command, is bad input (exit 2); one made by another build is refused like a stale one: it
/// may have planned differently.
pub(crate) fn read<S: DeserializeOwned, P: DeserializeOwned>(
    path: &Path,
    command: &str,
) -> Result<Saved<S, P>, Error> {
    let shown = path.display();
    let bad = |rule: String| Error::invalid("--plan", rule);
    let text =
        std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read {shown}: {e}")))?;
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("{shown} is not a saved plan (not JSON: {e})")))?;
    match json.get("format").and_then(Value::as_u64) {
        Some(f) if f == u64::from(FORMAT) => {}
        Some(f) => {
            return Err(bad(format!(
                "{shown} is a plan of format {f}; this build reads format {FORMAT}: make the plan again with this build"
            )))
        }
        None => {
            return Err(bad(format!(
                "{shown} is not a saved plan (it has no \"format\"); write one with --plan-out"
            )))
        }
    }
    let saved_for = json.get("command").and_then(Value::as_str).unwrap_or("");
    if saved_for != command {
        return Err(bad(format!(
            "{shown} holds a plan for `{saved_for}`, not `{command}`: apply it with serverless-s3-setup {saved_for} --plan {shown}"
        )));
    }
    let maker = json.get("made_by").and_then(Value::as_str).unwrap_or("");
    if maker != made_by() {
        return Err(Error::StalePlan {
            file: shown.to_string(),
            why: format!(
                "it was made by {maker}, and this is {}; another build may plan otherwise",
                made_by()
            ),
            changes: Vec::new(),
        });
    }
    serde_json::from_value(json).map_err(|e| bad(format!("{shown}: {e}")))
}

/// Refuses a saved plan when what it was made from has changed since (the basis), or when this
/// run, from the same request and what AWS holds now, would plan anything else.
pub(crate) fn check_current<P: Serialize>(
    path: &Path,
    saved: (&Basis, &P),
    now: (&Basis, &P),
) -> Result<(), Error> {
    let changes = now.0.changes_since(saved.0);
    if !changes.is_empty() {
        return Err(Error::StalePlan {
            file: path.display().to_string(),
            why: "what it was made from has changed since".into(),
            changes,
        });
    }
    let as_json = |p: &P| serde_json::to_value(p).map_err(anyhow::Error::from);
    match differs(&as_json(saved.1)?, &as_json(now.1)?) {
        None => Ok(()),
        Some(fields) => Err(Error::StalePlan {
            file: path.display().to_string(),
            why: format!(
                "its {fields} differ from what the same request plans now (was the file edited?)"
            ),
            changes: Vec::new(),
        }),
    }
}

/// The command that applies a saved plan, with the connection it was made with (`region`: the
/// one the plan was made in).
pub(crate) fn apply_line(
    ctx: &Context,
    command: &str,
    path: &Path,
    region: Option<&str>,
) -> String {
    let mut words = vec![
        "serverless-s3-setup".to_string(),
        command.to_string(),
        "--plan".into(),
        path.display().to_string(),
    ];
    words.extend(crate::output::connection_flags(&ctx.conn, region));
    crate::output::command_line(words.iter().map(String::as_str))
}
