use super::text::ci_command;
use super::*;
use crate::aws::Connection;
use crate::inputs::{Access, GuardrailRequest, Guardrails, Tier};
use crate::output::{Format, Ui};
use crate::plan::RoleInputs;

/// A run at a terminal, with this profile.
fn ctx(profile: Option<&str>) -> Context {
    Context {
        conn: Connection {
            profile: profile.map(str::to_string),
            region: None,
            endpoint_url: None,
            can_ask: true,
            many: false,
        },
        format: Format::Text,
        yes: false,
        dry_run: false,
        no_input: false,
        can_prompt: true,
        ui: Ui::plain(),
        stop: Default::default(),
    }
}

#[test]
fn the_ci_command_repeats_every_choice_and_quotes_what_needs_it_and_no_default() {
    let ctx = ctx(Some("prod"));
    let outcome = RoleOutcome {
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        policy_arn: None,
        role_name: "r".parse().unwrap(),
        method: Method::Cloudformation,
        tidb_account_id: "380838443567".parse().unwrap(),
        external_id: Some("ext-1".parse().unwrap()),
        stack_name: Some("r".parse().unwrap()),
        stack_region: Some("us-east-1".into()),
        stack_id: None,
        external_ids: vec![],
        losing_access: vec![],
        written_at: None,
        ready_at: None,
        written: None,
        waited: false,
        granted: Granted {
            policy_name: "r-policy".parse().unwrap(),
            bucket: "bkt1".into(),
            prefix: "my dir".into(),
            access: Access::Export,
            kms_keys: vec!["arn:aws:kms:us-east-1:123456789012:key/k1".parse().unwrap()],
            changed: true,
            account_id: None,
            bucket_region: None,
            actions: vec![],
            verify: verify::Report::pending(),
            guardrails: Guardrails {
                path: "/tidb/".parse().unwrap(),
                tags: vec!["team=data eng".parse().unwrap()],
                ..Guardrails::default()
            },
            tier: Tier::Starter,
            next_command: vec![],
            pinned_kms_keys: vec!["arn:aws:kms:us-east-1:123456789012:key/k1".parse().unwrap()],
        },
    };
    assert_eq!(
        ci_command(&ctx, &outcome),
        "serverless-s3-setup role --method cloudformation --uri 's3://bkt1/my dir/' --access export \
         --tidb-account-id 380838443567 --external-id ext-1 --role-name r \
         --kms-key arn:aws:kms:us-east-1:123456789012:key/k1 --path /tidb/ \
         --tag 'team=data eng' --profile prod --region us-east-1 --yes"
    );
    // Only what was chosen: names a rerun derives again, and the bucket's own key (detected
    // again), are left out; a name or key that was chosen stays.
    let mut defaults = outcome.clone();
    let location = "s3://bkt1/my dir/".parse().unwrap();
    defaults.role_name = crate::inputs::defaults::role_name(&location, Access::Export);
    defaults.stack_name = Some(crate::inputs::defaults::stack_name(&defaults.role_name));
    defaults.granted.policy_name =
        crate::inputs::defaults::policy_name(defaults.role_name.as_str());
    defaults.granted.pinned_kms_keys.clear();
    defaults.granted.guardrails = Guardrails::default();
    assert_eq!(
        ci_command(&ctx, &defaults),
        "serverless-s3-setup role --method cloudformation --uri 's3://bkt1/my dir/' --access export \
         --tidb-account-id 380838443567 --external-id ext-1 --profile prod --region us-east-1 --yes"
    );
    let mut chosen = defaults.clone();
    chosen.granted.policy_name = "mine".parse().unwrap();
    chosen.stack_name = Some("my-stack".parse().unwrap());
    assert!(
        ci_command(&ctx, &chosen).contains(" --policy-name mine --stack-name my-stack "),
        "{}",
        ci_command(&ctx, &chosen)
    );
    let mut dedicated = outcome;
    dedicated.granted.tier = Tier::Dedicated;
    dedicated.granted.access = Access::Import;
    assert!(
        ci_command(&ctx, &dedicated).contains(
            " --access import --tidb-account-id 380838443567 --external-id ext-1 --tier dedicated "
        ),
        "{}",
        ci_command(&ctx, &dedicated)
    );
}

/// A run that stops after questions prints the command that goes on from the answers: every
/// answer and flag in it, the external-ID changes too, and nothing asked again.
#[test]
fn the_command_after_a_stop_holds_every_answer() {
    let inputs = RoleInputs {
        location: "s3://bkt1/my dir/".parse().unwrap(),
        access: Access::Import,
        tidb_account: "380838443567".parse().unwrap(),
        external_id: Some("ext-2".parse().unwrap()),
        more_external_ids: Vec::new(),
        replace_external_ids: false,
        remove_external_ids: vec!["ext-1".parse().unwrap()],
        no_external_id: false,
        tier: Tier::Dedicated,
        role_name: "r".parse().unwrap(),
        policy_name: "r-policy".parse().unwrap(),
        kms_keys: vec![],
        remove_kms_keys: vec!["arn:aws:kms:us-east-1:123456789012:key/k0".parse().unwrap()],
        stack_name: Some("s".parse().unwrap()),
        guardrails: GuardrailRequest {
            remove_tags: vec!["cost".parse().unwrap()],
            no_permissions_boundary: true,
            ..GuardrailRequest::default()
        },
        chosen: Default::default(),
        set: None,
    };
    let ctx = ctx(None);
    assert_eq!(
        again(&ctx, Method::Cloudformation, &inputs, None),
        "serverless-s3-setup role --method cloudformation --uri 's3://bkt1/my dir/' --access import \
         --tidb-account-id 380838443567 --external-id ext-2 --remove-external-id ext-1 \
         --tier dedicated --role-name r --policy-name r-policy --stack-name s \
         --remove-kms-key arn:aws:kms:us-east-1:123456789012:key/k0 --no-permissions-boundary \
         --remove-tag cost --yes"
    );
    // A --timeout given goes on too (90m reads back as 1h30m).
    let timeout = "90m".parse().ok();
    assert!(again(&ctx, Method::Cloudformation, &inputs, timeout)
        .contains("--stack-name s --timeout 1h30m --remove-kms-key "));
    // Not for IAM, which has no stack to wait for (and refuses the flag).
    let iam = RoleInputs {
        stack_name: None,
        ..inputs
    };
    assert!(!again(&ctx, Method::Iam, &iam, timeout).contains("--timeout"));
}
