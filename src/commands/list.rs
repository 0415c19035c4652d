//! `list`: what this tool made in the account, for people and scripts. The same list that
//! `teardown` offers at a terminal (`made.rs`), printed instead of offered.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::aws::Clients;
use crate::error::Error;
use crate::inputs::{Access, MANAGED_BY_VALUE};
use crate::output::Render;
use crate::requests::Target;
use crate::Context;

use super::made::{self, Made, Offer};

/// Everything this tool made that the account holds: stacks, then roles, then users.
#[derive(Debug, Serialize)]
pub struct Listed {
    made: Vec<Row>,
}

/// One thing made, as `-o json` gives it.
#[skip_serializing_none]
#[derive(Debug, Serialize)]
struct Row {
    /// `stack`, `role` or `user`.
    kind: &'static str,
    name: String,
    /// A stack's region.
    region: Option<String>,
    /// A stack's role.
    role_name: Option<String>,
    /// The role's or user's ARN; a stack's role's. None when the stack's role is gone.
    arn: Option<String>,
    /// Whether a stack's role is gone; only for stacks.
    role_gone: Option<bool>,
    /// The status of a stack whose role is gone, when it is not `CREATE_COMPLETE` or
    /// `UPDATE_COMPLETE` (a creation that failed, or one going on).
    stack_status: Option<String>,
    access: Option<Access>,
    uri: Option<String>,
    /// The set of setups it belongs to (`apply -f`).
    set: Option<String>,
    /// For a stack's role whose stack is gone: that stack, which left it behind.
    left_by_stack: Option<String>,
    /// What is said beside it in text: `role R`, `its role is gone`.
    #[serde(skip)]
    note: Option<String>,
}

impl From<Made> for Row {
    fn from(made: Made) -> Row {
        let note = made.note();
        let stack = matches!(made.target, Target::Stack(_));
        let (kind, name) = match &made.target {
            Target::Stack(stack) => ("stack", stack.to_string()),
            Target::Principal(who) => (who.kind(), who.name().to_string()),
        };
        Row {
            kind,
            name,
            region: made.region,
            role_name: made.stack_role,
            arn: made.principal.map(|(_, arn)| arn),
            role_gone: stack.then_some(made.role_gone),
            stack_status: made.stack_status,
            access: made.access,
            uri: made.location,
            set: made.set,
            left_by_stack: made.left_by,
            note,
        }
    }
}

/// Reads the account, and the stacks of the regions it knows, for what this tool made.
pub async fn run(ctx: &Context) -> Result<Listed, Error> {
    let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
    let made = made::looked_for(ctx, &clients, Offer::Everything).await?;
    Ok(Listed {
        made: made.into_iter().map(Row::from).collect(),
    })
}

impl Listed {
    /// One line each, in columns: kind, name, region, access, folder, set, and a note; `-`
    /// where there is nothing, so that every line has its columns (`awk '$1 == "user"'`).
    fn table(&self) -> String {
        let cells: Vec<[&str; 6]> = self
            .made
            .iter()
            .map(|r| {
                [
                    r.kind,
                    &r.name,
                    r.region.as_deref().unwrap_or("-"),
                    r.access.map_or("-", Access::as_str),
                    r.uri.as_deref().unwrap_or("-"),
                    r.set.as_deref().unwrap_or("-"),
                ]
            })
            .collect();
        let width = |i: usize| cells.iter().map(|c| c[i].len()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..5).map(width).collect();
        let lines = cells.iter().zip(&self.made).map(|(cells, row)| {
            let mut line = String::new();
            for (cell, w) in cells.iter().zip(&widths) {
                line.push_str(&format!("{cell:<w$}  "));
            }
            line.push_str(cells[5]);
            if let Some(note) = &row.note {
                line.push_str(&format!("  ({note})"));
            }
            line
        });
        lines.collect::<Vec<_>>().join("\n")
    }
}

impl Render for Listed {
    fn text(&self, _ctx: &Context) -> String {
        self.table()
    }

    fn next_steps(&self, ctx: &Context) {
        if self.made.is_empty() {
            ctx.ui.info(Offer::Everything.none_made());
            return;
        }
        ctx.ui.info(format!(
            "Check one: {MANAGED_BY_VALUE} verify --role-arn ARN (or --user-name NAME)"
        ));
        ctx.ui.info(format!(
            "Delete one: {MANAGED_BY_VALUE} teardown --stack-name NAME (or --role-name, --user-name)"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &'static str, name: &str, region: Option<&str>, note: Option<&str>) -> Row {
        Row {
            kind,
            name: name.into(),
            region: region.map(str::to_string),
            role_name: None,
            arn: None,
            role_gone: None,
            stack_status: None,
            access: Some(Access::Import),
            uri: Some(format!("s3://b/{name}/")),
            set: (kind != "user").then(|| "tidb-s3".to_string()),
            left_by_stack: None,
            note: note.map(str::to_string),
        }
    }

    #[test]
    fn the_text_is_in_columns_with_a_dash_where_there_is_nothing() {
        let listed = Listed {
            made: vec![
                row("stack", "held", Some("eu-west-1"), None),
                row(
                    "stack",
                    "orphan",
                    Some("us-east-1"),
                    Some("its role is gone"),
                ),
                row("role", "r", None, None),
                row("user", "a-longer-name", None, None),
            ],
        };
        assert_eq!(
            listed.table(),
            "\
stack  held           eu-west-1  import  s3://b/held/           tidb-s3
stack  orphan         us-east-1  import  s3://b/orphan/         tidb-s3  (its role is gone)
role   r              -          import  s3://b/r/              tidb-s3
user   a-longer-name  -          import  s3://b/a-longer-name/  -"
        );
    }
}
