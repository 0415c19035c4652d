//! The project's CloudFormation template, embedded, and the parameters it takes.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::inputs::{defaults, Access, ExternalId, KmsKeyArn, S3Location};
use crate::plan::RoleInputs;

/// `templates/tidb-cloud-s3-access.yaml`, as `serverless-s3-setup template` prints it.
pub const TEMPLATE: &str = include_str!("../templates/tidb-cloud-s3-access.yaml");

/// A short fingerprint of the template, tagged on stacks so that a newer template updates them.
pub fn hash() -> String {
    format!("{:016x}", defaults::fnv1a(TEMPLATE.as_bytes()))
}

/// Why the stack cannot carry this location, if it cannot. The template writes the directory
/// into the role's Description, which IAM limits to `[\t\n\r\x20-\x7E\xA1-\xFF]*` and 1000
/// characters (IAM API Reference, CreateRole), and into the policy that CloudFormation, not
/// this tool, serialises for IAM, whose documents allow only `[\t\n\r\x20-\xFF]`. How
/// CloudFormation encodes characters beyond that is not documented, so such directories go
/// through `--method iam`, which escapes them itself.
pub fn cannot_carry(location: &S3Location, access: Access) -> Option<String> {
    if let Some(c) = location
        .prefix()
        .chars()
        .find(|c| !matches!(c, '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}'))
    {
        return Some(format!(
            "the directory has {c:?}, which a CloudFormation-made role cannot carry (IAM takes only Latin-1 in role descriptions and policies); use --method iam, which sends it escaped"
        ));
    }
    let description = role_description(access, location.bucket(), location.prefix());
    if description.chars().count() > crate::policy::DESCRIPTION_MAX {
        return Some(format!(
            "the directory is too long for the role description the stack writes ({} of IAM's {} characters); use --method iam",
            description.chars().count(),
            crate::policy::DESCRIPTION_MAX
        ));
    }
    None
}

/// The Description the template gives the role (`!Sub` on the same parameters), which
/// `--method iam` gives its role too.
pub fn role_description(access: Access, bucket: &str, prefix: &str) -> String {
    format!("Lets TiDB Cloud {access} s3://{bucket}/{prefix} (serverless-s3-setup)")
}

/// The template's `ExternalId` for "no external ID": it has no empty default, so that a stack
/// made by hand never trusts the whole TiDB Cloud project by omission.
pub const NO_EXTERNAL_ID: &str = "(none)";

/// The template's parameters for these inputs. Pure, so that the stack can be compared with
/// what the plan wants without asking CloudFormation.
/// `external_ids` are the trust's, worked out by the plan; an ID holding a comma cannot go into
/// the template's comma-separated list.
pub fn parameters(
    inputs: &RoleInputs,
    kms_keys: &[KmsKeyArn],
    external_ids: &[ExternalId],
) -> Result<BTreeMap<String, String>, Error> {
    let several = external_ids.len() > 1;
    if let Some(id) = external_ids
        .iter()
        .find(|i| several && i.as_str().contains(','))
    {
        return Err(Error::invalid(
            "--external-id",
            format!("{id} holds a comma, which the stack's comma-separated list of external IDs would split; use --method iam"),
        ));
    }
    let keys: Vec<&str> = kms_keys.iter().map(KmsKeyArn::as_str).collect();
    let ids: Vec<&str> = external_ids.iter().map(ExternalId::as_str).collect();
    Ok([
        ("RoleName", inputs.role_name.to_string()),
        ("PolicyName", inputs.policy_name.to_string()),
        ("TiDBCloudAccountId", inputs.tidb_account.to_string()),
        (
            "ExternalId",
            ids.first().copied().unwrap_or(NO_EXTERNAL_ID).to_string(),
        ),
        (
            "MoreExternalIds",
            ids.get(1..).unwrap_or_default().join(","),
        ),
        ("Tier", inputs.tier.to_string()),
        ("BucketName", inputs.location.bucket().to_string()),
        ("ObjectPrefix", inputs.location.prefix().to_string()),
        ("Access", inputs.access.to_string()),
        ("KmsKeyArns", keys.join(",")),
        (
            "PermissionsBoundary",
            inputs
                .guardrails
                .permissions_boundary
                .as_ref()
                .map(|b| b.to_string())
                .unwrap_or_default(),
        ),
        ("RolePath", inputs.guardrails.path.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
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
            replace_external_ids: false,
            remove_external_ids: vec![],
            no_external_id: true,
            tier: Default::default(),
            role_name: "r".parse().unwrap(),
            policy_name: "p".parse().unwrap(),
            kms_keys: vec![],
            stack_name: None,
            guardrails: Default::default(),
        };
        let params = parameters(&inputs, &[], &[]).unwrap();
        let mut set: Vec<&str> = params.keys().map(String::as_str).collect();
        let mut declared = declared;
        set.sort();
        declared.sort();
        assert_eq!(set, declared);
        assert_eq!(params["ObjectPrefix"], "a/b");
        assert_eq!(params["ExternalId"], NO_EXTERNAL_ID);
        assert_eq!(params["MoreExternalIds"], "");
        let ids: Vec<ExternalId> = ["ab", "cd"].map(|i| i.parse().unwrap()).to_vec();
        let two = parameters(&inputs, &[], &ids).unwrap();
        assert_eq!(
            (two["ExternalId"].as_str(), two["MoreExternalIds"].as_str()),
            ("ab", "cd")
        );
        let with_comma: Vec<ExternalId> = vec!["a,b".parse().unwrap()];
        assert!(
            parameters(&inputs, &[], &with_comma).is_ok(),
            "one ID may hold a comma"
        );
        let comma: Vec<ExternalId> = vec!["ab,cd".parse().unwrap(), "ef".parse().unwrap()];
        assert!(parameters(&inputs, &[], &comma).is_err());
        assert_eq!(params["KmsKeyArns"], "");
    }

    #[test]
    fn directories_beyond_latin_1_are_left_to_iam() {
        let at = |uri: &str| cannot_carry(&uri.parse().unwrap(), Access::Import);
        assert_eq!(at("s3://bkt1/données/"), None);
        assert_eq!(at("s3://bkt1/a b/"), None);
        for uri in ["s3://bkt1/数据/", "s3://bkt1/данные/", "s3://bkt1/📦/"] {
            assert!(at(uri).unwrap().contains("--method iam"), "{uri}");
        }
        let long = format!("s3://bkt1/{}/", "d".repeat(1000));
        assert!(at(&long).unwrap().contains("too long"));
        assert!(TEMPLATE.contains(
            "Description: !Sub \"Lets TiDB Cloud ${Access} s3://${BucketName}/${ObjectPrefix} (serverless-s3-setup)\""
        ), "role_description mirrors the template");
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
