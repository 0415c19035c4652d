//! `verify -f FILE`: every entry's role judged as `verify` judges one, `--parallel` at a time,
//! in one table, entry by check.

use serde::Serialize;

use crate::aws::Clients;
use crate::error::Error;
use crate::inputs::SetName;
use crate::output::Render;
use crate::requests::VerifyRequest;
use crate::set_file::{self, Entry};
use crate::verify::{Report, Status, Subject};
use crate::Context;

use super::super::role;
use super::{unasked, SetRequest};

/// What `verify -f` found.
#[derive(Debug, Serialize)]
pub struct SetVerified {
    pub ok: bool,
    pub(crate) set: SetName,
    pub(crate) file: std::path::PathBuf,
    pub(crate) entries: Vec<EntryVerified>,
}

/// One entry's role, judged.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize)]
pub struct EntryVerified {
    pub(crate) entry: String,
    pub(crate) uri: String,
    pub(crate) role_name: String,
    pub(crate) ok: bool,
    /// Why it could not be judged: it does not exist yet, or it could not be read.
    pub(crate) error: Option<String>,
    pub(crate) report: Option<Report>,
}

/// `verify -f FILE`.
pub async fn verify(ctx: &Context, req: SetRequest) -> Result<SetVerified, Error> {
    let file = set_file::read(&req.file)?;
    let clients = super::connect(ctx).await?;
    let unasked = unasked(ctx);
    let progress = ctx.ui.many(
        format!("Checking the roles of {}", req.file.display()),
        file.entries.len(),
    );
    let entries: Vec<EntryVerified> = super::each(&file.entries, req.parallel, |entry| {
        let (unasked, clients, progress) = (&unasked, &clients, &progress);
        async move {
            let going = progress.begin(&entry.label);
            let verified = judge(unasked, clients, entry).await;
            let said = match (&verified.error, verified.ok) {
                (Some(_), _) => "could not be checked",
                (None, true) => "passes",
                (None, false) => "fails",
            };
            progress.end(
                going,
                &format!("{} role {}: {said}", entry.label, verified.role_name),
            );
            verified
        }
    })
    .await;
    progress.finish("done");
    Ok(SetVerified {
        ok: entries.iter().all(|e| e.ok),
        set: file.name,
        file: file.path,
        entries,
    })
}

/// Finds the entry's role as `apply` would, then judges it as `verify` does.
async fn judge(ctx: &Context, clients: &Clients, entry: &Entry) -> EntryVerified {
    let req = &entry.request;
    let mut verified = EntryVerified {
        entry: entry.label.clone(),
        uri: entry.uri(),
        role_name: entry.role_name().to_string(),
        ok: false,
        error: None,
        report: None,
    };
    let planned = match role::plan_unasked(ctx, req.clone(), clients).await {
        Ok(planned) => planned,
        Err(e) => {
            verified.error = Some(e.to_string());
            return verified;
        }
    };
    verified.role_name = planned.plan.role_name.to_string();
    if role::creates(&planned) {
        verified.error = Some("does not exist: `apply -f` makes it".into());
        return verified;
    }
    let subject = Subject::role_named(
        planned.plan.role_arn.clone(),
        planned.plan.role_name.clone(),
    );
    let request = VerifyRequest {
        subject: Some(subject.clone()),
        location: req.location.clone(),
        access: req.access,
        tidb_account: req.tidb_account.clone(),
        external_id: req.external_id.clone(),
        no_external_id: req.no_external_id,
        tier: Some(planned.plan.tier),
    };
    match super::super::verify::judge(ctx, clients, subject, request).await {
        Ok(report) => {
            verified.ok = report.ok;
            verified.report = Some(report);
        }
        Err(e) => verified.error = Some(e.to_string()),
    }
    verified
}

impl Render for SetVerified {
    /// A row per entry, a column per check; then what each check that did not pass found.
    fn text(&self, ctx: &Context) -> String {
        let ui = &ctx.ui;
        let mut names: Vec<&str> = Vec::new();
        for report in self.entries.iter().filter_map(|e| e.report.as_ref()) {
            for check in &report.checks {
                if !names.contains(&check.name) {
                    names.push(check.name);
                }
            }
        }
        let label = self
            .entries
            .iter()
            .map(|e| e.entry.len())
            .max()
            .unwrap_or(5);
        let widths: Vec<usize> = names.iter().map(|n| n.len().max(4)).collect();
        let mut header = format!("{:label$}", "entry");
        for (name, width) in names.iter().zip(&widths) {
            header.push_str(&format!("  {name:width$}"));
        }
        let mut lines = vec![ui.bold(header.trim_end())];
        let mut found = Vec::new();
        for e in &self.entries {
            let mut row = format!("{:label$}", e.entry);
            for (name, width) in names.iter().zip(&widths) {
                let check = e
                    .report
                    .as_ref()
                    .and_then(|r| r.checks.iter().find(|c| c.name == *name));
                let cell = match check.map(|c| c.status) {
                    Some(Status::Pass) => ui.green(&format!("{:width$}", "pass")),
                    Some(Status::Warn) => ui.yellow(&format!("{:width$}", "warn")),
                    Some(Status::Fail) => ui.red(&format!("{:width$}", "FAIL")),
                    None => format!("{:width$}", "-"),
                };
                row.push_str(&format!("  {cell}"));
            }
            row.push_str(&format!("  role {}", e.role_name));
            lines.push(row);
            if let Some(error) = &e.error {
                found.push(format!("{} role {}: {error}", e.entry, e.role_name));
            }
            let failing = e.report.iter().flat_map(|r| &r.checks);
            for c in failing.filter(|c| c.status != Status::Pass) {
                let fix = c
                    .fix
                    .as_deref()
                    .map(|f| format!("\n  fix: {f}"))
                    .unwrap_or_default();
                found.push(format!("{} {}: {}{fix}", e.entry, c.name, c.finding));
            }
        }
        if !found.is_empty() {
            lines.push(String::new());
            lines.extend(found);
        }
        ui.fit(&lines.join("\n"))
    }

    fn next_steps(&self, ctx: &Context) {
        let failed = self.entries.iter().filter(|e| !e.ok).count();
        ctx.ui.info(match failed {
            0 => format!(
                "all {} roles of {} pass",
                self.entries.len(),
                self.file.display()
            ),
            n => format!(
                "{n} of {} roles of {} fail: see above",
                self.entries.len(),
                self.file.display()
            ),
        });
    }
}
