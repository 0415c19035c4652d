//! The project's CloudFormation template, embedded, and the parameters it takes.

use std::collections::BTreeMap;

use crate::inputs::{defaults, KmsKeyArn};
use crate::plan::RoleInputs;

/// `templates/tidb-cloud-s3-access.yaml`, as `serverless-s3-setup template` prints it.
pub const TEMPLATE: &str = include_str!("../templates/tidb-cloud-s3-access.yaml");

/// A short fingerprint of the template, tagged on stacks so that a newer template updates them.
pub fn hash() -> String {
    format!("{:016x}", defaults::fnv1a(TEMPLATE.as_bytes()))
}

/// The template's parameters for these inputs. Pure, so that the stack can be compared with
/// what the plan wants without asking CloudFormation.
pub fn parameters(inputs: &RoleInputs, kms_keys: &[KmsKeyArn]) -> BTreeMap<String, String> {
    let keys: Vec<&str> = kms_keys.iter().map(KmsKeyArn::as_str).collect();
    [
        ("RoleName", inputs.role_name.to_string()),
        ("PolicyName", inputs.policy_name.to_string()),
        ("TiDBCloudAccountId", inputs.tidb_account.to_string()),
        (
            "ExternalId",
            inputs
                .external_id
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default(),
        ),
        ("BucketName", inputs.location.bucket().to_string()),
        ("ObjectPrefix", inputs.location.prefix().to_string()),
        ("Access", inputs.access.to_string()),
        ("KmsKeyArns", keys.join(",")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_the_template_declares_is_set_and_no_other() {
        let declared: Vec<&str> = TEMPLATE
            .split("\nParameters:\n")
            .nth(1)
            .unwrap()
            .split("\nConditions:")
            .next()
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
            .map(|l| l.trim().trim_end_matches(':'))
            .collect();
        let inputs = RoleInputs {
            location: "s3://bkt1/a/b/".parse().unwrap(),
            access: crate::inputs::Access::Export,
            tidb_account: "380838443567".parse().unwrap(),
            external_id: None,
            role_name: "r".parse().unwrap(),
            policy_name: "p".parse().unwrap(),
            kms_keys: vec![],
            stack_name: None,
        };
        let params = parameters(&inputs, &[]);
        let mut set: Vec<&str> = params.keys().map(String::as_str).collect();
        let mut declared = declared;
        set.sort();
        declared.sort();
        assert_eq!(set, declared);
        assert_eq!(params["ObjectPrefix"], "a/b");
        assert_eq!(params["ExternalId"], "");
        assert_eq!(params["KmsKeyArns"], "");
    }

    #[test]
    fn the_template_has_the_pieces_the_tool_relies_on() {
        assert!(TEMPLATE.contains("RoleArn:"));
        assert!(TEMPLATE.contains("Value: !GetAtt Role.Arn"));
        assert!(TEMPLATE.contains("Value: serverless-s3-setup"));
        assert_eq!(hash(), hash());
        assert_eq!(hash().len(), 16);
    }
}
