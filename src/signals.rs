//! Ctrl-C and SIGTERM, so that an interrupted apply can undo its work before it exits.

/// Resolves when the process is asked to stop; names the signal.
pub(crate) async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return "Ctrl-C";
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Takes over SIGINT and SIGTERM for the rest of the process. Needs a tokio runtime context.
pub fn install() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        // Registering is enough: tokio keeps the handlers for the life of the process.
        let _ = signal(SignalKind::interrupt());
        let _ = signal(SignalKind::terminate());
    }
}

use std::sync::atomic::{AtomicBool, Ordering};

static REPORTED: AtomicBool = AtomicBool::new(false);

/// Whether this caller is the first to report an interrupt; the signal watcher and an
/// interrupted prompt may both see the same Ctrl-C.
pub fn first_to_report() -> bool {
    !REPORTED.swap(true, Ordering::SeqCst)
}

/// The commands that go on from the answers given so far, once there are any: whoever reports
/// a stop (the watcher on Ctrl-C, or `main` on an error) says them, so nothing typed is lost.
static RESUME: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub(crate) fn set_resume(line: String) {
    *RESUME.lock().expect("not poisoned") = vec![line];
}

/// Before the wizard knows which command it makes: a stop says each command that goes on
/// from the answers so far (the words after the binary's name), or nothing when empty.
pub(crate) fn resume_either(commands: Vec<Vec<String>>) {
    SO_FAR.lock().expect("not poisoned").clear();
    *RESUME.lock().expect("not poisoned") = commands
        .into_iter()
        .map(|words| {
            crate::output::command_line(
                std::iter::once("serverless-s3-setup").chain(words.iter().map(String::as_str)),
            )
        })
        .collect();
}

/// The command as typed, or as the wizard's first questions made it, that each answer then
/// extends with its flag: so a stop at any question says the command that goes on from there.
static SO_FAR: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Starts the command that goes on: `serverless-s3-setup` and these words.
pub fn resume_from(words: Vec<String>) {
    let mut so_far = SO_FAR.lock().expect("not poisoned");
    *so_far = std::iter::once("serverless-s3-setup".to_string())
        .chain(words)
        .collect();
}

/// Starts the command that goes on from answers already in `words` (the wizard's first
/// questions): a stop from now on says it.
pub(crate) fn resume_with_answers(words: Vec<String>) {
    resume_from(words);
    say_so_far(&SO_FAR.lock().expect("not poisoned"));
}

/// An answer, as its flag: from now on a stop says the command with it. Nothing is said
/// before the command is known (the wizard's first questions).
pub(crate) fn answered(flag: &str, value: impl std::fmt::Display) {
    let mut so_far = SO_FAR.lock().expect("not poisoned");
    if so_far.is_empty() {
        return;
    }
    so_far.extend([flag.to_string(), value.to_string()]);
    say_so_far(&so_far);
}

/// An answer taken back (Esc went back past its question): a stop no longer says its flag.
pub(crate) fn unanswered(flag: &str) {
    let mut so_far = SO_FAR.lock().expect("not poisoned");
    if let Some(at) = so_far.iter().rposition(|word| word == flag) {
        let end = (at + 2).min(so_far.len());
        so_far.drain(at..end);
        say_so_far(&so_far);
    }
}

/// Keeps the command so far as the one a stop says.
fn say_so_far(so_far: &[String]) {
    set_resume(crate::output::command_line(
        so_far.iter().map(String::as_str),
    ));
}

/// What to say after a stop: the commands that go on without the questions, if any.
pub fn resume() -> Option<String> {
    match RESUME.lock().expect("not poisoned").as_slice() {
        [] => None,
        [line] => Some(format!(
            "Your answers are in this command, which goes on without the questions:\n  {line}"
        )),
        lines => Some(format!(
            "Your answers are in these commands; either goes on without the questions:\n  {}",
            lines.join("\n  ")
        )),
    }
}
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::error::Error;
use crate::output::{end_drawing, Ui};

/// A request to stop, set by the first Ctrl-C or SIGTERM during the changes. The changes
/// check it between steps, so a request already sent is answered and recorded before the undo.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<StopInner>);

#[derive(Debug, Default)]
struct StopInner {
    signal: Mutex<Option<&'static str>>,
    notify: Notify,
    /// Whether changes have begun: before, a signal ends the run at once.
    changing: AtomicBool,
    /// Whether the changes are over (a wait after them, such as `--wait-ready`): a signal then
    /// ends the wait, which says so itself, and nothing is undone.
    changed: AtomicBool,
}

impl Stop {
    pub(crate) fn requested(&self) -> Option<&'static str> {
        *self.0.signal.lock().expect("not poisoned")
    }

    /// `Err(Interrupted)` once a stop was requested.
    pub(crate) fn check(&self) -> Result<(), Error> {
        match self.requested() {
            Some(signal) => Err(Error::Interrupted(format!(" by {signal}"))),
            None => Ok(()),
        }
    }

    /// Resolves when a stop is requested.
    pub(crate) async fn wait(&self) -> &'static str {
        loop {
            let notified = self.0.notify.notified();
            if let Some(signal) = self.requested() {
                return signal;
            }
            notified.await;
        }
    }

    /// From now on a signal asks for a stop (and an undo) instead of ending the run at once.
    pub(crate) fn begin_changes(&self) {
        self.0.changing.store(true, Ordering::SeqCst);
    }

    /// The changes are made: from now on a signal asks for a stop of what waits after them,
    /// and undoes nothing.
    pub(crate) fn end_changes(&self) {
        self.0.changed.store(true, Ordering::SeqCst);
    }

    pub(crate) fn request(&self, signal: &'static str) {
        *self.0.signal.lock().expect("not poisoned") = Some(signal);
        self.0.notify.notify_waiters();
    }

    /// Listens for signals during a run. Before any change, a signal ends the run at once
    /// (exit 130, nothing changed). During changes, the first asks for a stop and the undo; a
    /// second ends the process at once. Listening ends when the guard is dropped.
    pub fn watch(&self, ui: &Ui) -> Watching {
        let stop = self.clone();
        let ui = ui.clone();
        Watching(tokio::spawn(async move {
            let signal = interrupted().await;
            if !stop.0.changing.load(Ordering::SeqCst) {
                // A prompt may have hidden the cursor. The prompt itself also returns
                // "interrupted": whichever comes first says so, once.
                if first_to_report() {
                    let _ = console::Term::stderr().show_cursor();
                    end_drawing();
                    eprintln!("\ninterrupted by {signal}; nothing was changed");
                    if let Some(resume) = resume() {
                        eprintln!("{}", ui.fit(&resume));
                    }
                }
                std::process::exit(130);
            }
            stop.request(signal);
            if !stop.0.changed.load(Ordering::SeqCst) {
                ui.warn(format!(
                    "{signal}: finishing the request in flight, then undoing what this run made (press Ctrl-C again to stop at once)"
                ));
            }
            let again = interrupted().await;
            end_drawing();
            eprintln!(
                "{again} again: stopped at once. What this run made may be left; run the same command again to converge, or remove it with `serverless-s3-setup teardown`."
            );
            std::process::exit(130);
        }))
    }
}

/// Stops listening for signals when dropped.
pub struct Watching(tokio::task::JoinHandle<()>);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.abort();
    }
}
