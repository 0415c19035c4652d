//! `teardown -f FILE` (or `--set NAME`): every role of the file's set, the entries' own too,
//! found as `--prune` finds the roles beyond the file, and deleted as it deletes them, once
//! the plan is confirmed. Nothing outside the set is touched: a role that the file lists but
//! that is not the set's (not applied yet, or another set's) stays.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::Error;
use crate::inputs::SetName;
use crate::output::{self, counted, Render};
use crate::prompt::Prompter;
use crate::{set_file, wizard, Context};

use super::prune::{self, Member, Pruned, OF_SET};
use super::{connect, unasked};

/// Which set `teardown` deletes whole, and how many roles it reads (and stacks it deletes) at
/// once.
#[derive(Debug, Clone)]
pub struct WholeSet {
    pub of: SetOf,
    pub parallel: usize,
}

/// A set, by its file (`-f`: its `name`, else its file name), or by its name (`--set`).
#[derive(Debug, Clone)]
pub enum SetOf {
    File(PathBuf),
    Name(SetName),
}

/// What `teardown -f` found, and what became of it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize)]
pub struct SetTornDown {
    pub(crate) set: SetName,
    /// The file it was named by (`-f`).
    pub(crate) file: Option<PathBuf>,
    /// The roles of the set in the account: what the teardown deletes.
    pub(crate) members: Vec<Member>,
    /// What became of each, in order; empty with `--dry-run`.
    pub(crate) deleted: Vec<Pruned>,
    /// How many could not be deleted (each says why in `deleted`).
    pub(crate) failed: usize,
    pub(crate) changed: bool,
    /// The signal that stopped the run: the roles being deleted finished or said what is left,
    /// and the rest were not started.
    pub interrupted: Option<&'static str>,
    /// `--dry-run`: nothing was deleted; `members` is what would be.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) dry_run: bool,
}

impl SetTornDown {
    pub fn failed(&self) -> bool {
        self.failed > 0
    }
}

/// Finds every role of the file's set (one read of the account, then each of the tool's roles
/// for its tags, `parallel` at a time, and the stacks whose role is gone), shows the deletion
/// plan, and deletes each role as `teardown` deletes one: stacks `parallel` at a time, then
/// the roles made with IAM one after another.
pub async fn teardown(
    ctx: &Context,
    req: WholeSet,
    prompter: &mut dyn Prompter,
) -> Result<SetTornDown, Error> {
    // Without a terminal to confirm on, --yes is needed: said before anything is read.
    wizard::require_flags(ctx, Vec::new(), wizard::Intent::Delete)?;
    let (set, file) = match req.of {
        SetOf::File(path) => {
            let file = set_file::read(&path)?;
            (file.name, Some(file.path))
        }
        SetOf::Name(name) => (name, None),
    };
    let clients = connect(ctx).await?;
    let step = ctx.ui.step(format!("Looking for the roles of set {set}"));
    let found = async {
        let roles = clients.survey_account().await?;
        prune::members(&clients, &roles, &set, &[], req.parallel).await
    }
    .await;
    let members = step.end(found, |m| counted(m.len(), "role", "roles"))?;
    let mut torn = SetTornDown {
        set,
        file,
        members,
        deleted: Vec::new(),
        failed: 0,
        changed: false,
        interrupted: None,
        dry_run: ctx.dry_run,
    };
    if torn.members.is_empty() {
        ctx.ui.info(format!(
            "nothing to delete: no role of set {} is in this account",
            torn.set
        ));
        return Ok(torn);
    }
    if !wizard::confirm_deletion(ctx, prompter, &torn.plan())? {
        return Ok(torn);
    }
    let progress = ctx.ui.many(
        format!("Deleting the roles of set {}", torn.set),
        torn.members.len(),
    );
    let how = (OF_SET, req.parallel);
    torn.deleted = prune::delete_all(&unasked(ctx), &clients, &progress, &torn.members, how).await;
    torn.failed = torn.deleted.iter().filter(|p| p.error.is_some()).count();
    progress.finish(&match torn.failed {
        0 => "done".to_string(),
        n => format!("{n} failed"),
    });
    torn.changed = torn.deleted.iter().any(|p| !p.deleted.is_empty());
    torn.interrupted = ctx.stop.requested();
    Ok(torn)
}

impl SetTornDown {
    /// A line for each role of the set that the teardown deletes.
    fn plan(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| format!("delete {}", m.describe()))
            .collect()
    }
}

impl Render for SetTornDown {
    /// What was deleted, one line each, as `teardown` says it; a role that failed, with why.
    /// With `--dry-run`, the plan.
    fn text(&self, ctx: &Context) -> String {
        if self.dry_run && !self.members.is_empty() {
            return output::deleted(&ctx.ui, &self.plan(), &[]);
        }
        let lines: Vec<String> = self
            .deleted
            .iter()
            .flat_map(|p| match &p.error {
                None => p.deleted.iter().map(|d| format!("deleted {d}")).collect(),
                Some(e) => vec![format!("failed: {}: {e}", p.what())],
            })
            .collect();
        lines.join("\n")
    }

    fn next_steps(&self, ctx: &Context) {
        if self.dry_run || self.deleted.is_empty() {
            return;
        }
        let gone = self.deleted.len() - self.failed;
        let from = self.file.as_ref().map(|f| format!(" ({})", f.display()));
        let mut said = format!(
            "Tore down set {}{}: {} deleted",
            self.set,
            from.unwrap_or_default(),
            counted(gone, "role", "roles")
        );
        if self.failed > 0 {
            said.push_str(&format!(
                ", {} failed (run the same teardown again to finish)",
                self.failed
            ));
        }
        if self.deleted.len() < self.members.len() {
            said.push_str(&format!(
                ", {} not started",
                self.members.len() - self.deleted.len()
            ));
        }
        ctx.ui.info(format!("{said}."));
    }
}
