//! The shared config and credentials files, read as the SDK reads them: which profiles exist,
//! what a profile sets, and the one kind of profile the SDK cannot serve, a role assumed with
//! MFA.

use std::path::PathBuf;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_iam::config::Region;

use crate::error::Error;

use super::send::send;
use super::Connection;

/// The settings of a profile's sections in the config and credentials files, in order.
fn profile_values(files: &[PathBuf], profile: &str) -> Vec<(String, String)> {
    let mut values = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let mut inside = false;
        for line in text.lines() {
            let line = line.trim();
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let name = header.trim();
                inside = name.strip_prefix("profile ").unwrap_or(name).trim() == profile;
            } else if let (true, Some((key, value))) = (inside, line.split_once('=')) {
                values.push((key.trim().to_string(), value.trim().to_string()));
            }
        }
    }
    values
}

/// The keys set in a profile's sections of the config and credentials files.
pub(super) fn profile_keys(profile: &str) -> Vec<String> {
    profile_values(&profile_files(), profile)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// The shared config and credentials files, as the SDK finds them.
fn profile_files() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(default)))
    };
    [
        file("AWS_CONFIG_FILE", ".aws/config"),
        file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The profiles named in the config and credentials files: `[default]`, `[profile NAME]`,
/// `[NAME]`.
fn profiles_in(files: &[PathBuf]) -> Vec<String> {
    let mut names = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let name = header.trim();
                let name = name.strip_prefix("profile ").unwrap_or(name).trim();
                if !name.starts_with("sso-session ") && !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
    }
    names
}

/// A `--profile` (or AWS_PROFILE) that no file defines is bad input, not "no credentials".
pub(super) fn check_profile(profile: &str) -> Result<(), Error> {
    let files = profile_files();
    let known = profiles_in(&files);
    if known.iter().any(|p| p == profile) {
        return Ok(());
    }
    let searched: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    Err(Error::invalid(
        "--profile",
        format!(
            "names profile {profile:?}, which is in neither {}; {}",
            searched.join(" nor "),
            if known.is_empty() {
                "there are no profiles: run `aws configure --profile NAME`".to_string()
            } else {
                format!("the profiles there are {}", known.join(", "))
            }
        ),
    ))
}

/// A profile that assumes a role with MFA: `role_arn` and `mfa_serial`, from a
/// `source_profile`. aws-config asks for no MFA code (awslabs/aws-sdk-rust#527), so its
/// AssumeRole goes without one and is denied; the AWS CLI asks for the code on the terminal
/// and sends it as `SerialNumber` and `TokenCode` ("Using an IAM role in the AWS CLI", AWS CLI
/// User Guide: MFA), and so does the tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MfaProfile {
    profile: String,
    role_arn: String,
    serial: String,
    source: String,
    external_id: Option<String>,
    duration: Option<i32>,
    session_name: Option<String>,
}

/// The profile's MFA role, when it is one that the tool must assume itself.
pub(super) fn mfa_profile(profile: &str) -> Option<MfaProfile> {
    mfa_in(&profile_values(&profile_files(), profile), profile)
}

fn mfa_in(values: &[(String, String)], profile: &str) -> Option<MfaProfile> {
    let get = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    Some(MfaProfile {
        profile: profile.to_string(),
        role_arn: get("role_arn")?,
        serial: get("mfa_serial")?,
        // A role from `credential_source` (the environment, an instance) is left to the SDK.
        source: get("source_profile")?,
        external_id: get("external_id"),
        duration: get("duration_seconds").and_then(|d| d.parse().ok()),
        session_name: get("role_session_name"),
    })
}

/// Whether an MFA code is six digits, as IAM's TokenCode must be ("AssumeRole", AWS STS API
/// Reference).
fn check_code(code: &str) -> Result<(), String> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("the code is the six digits your MFA device shows".into())
    }
}

/// Assumes the profile's role with a code asked for on the terminal (stderr), with the source
/// profile's credentials. The credentials live in memory for this run only: nothing is cached
/// to disk. Without a terminal, the refusal says how to run it.
pub(super) async fn assume_with_mfa(
    conn: &Connection,
    region: &Region,
    mfa: &MfaProfile,
    person: &dyn super::Person,
) -> Result<Credentials, Error> {
    let MfaProfile {
        profile,
        role_arn,
        serial,
        source,
        ..
    } = mfa;
    if !conn.can_ask {
        return Err(Error::Credentials {
            message: format!(
                "profile {profile} assumes role {role_arn} with MFA ({serial}), and the code can only be asked at a terminal"
            ),
            fix: format!(
                "export the credentials of `aws sts assume-role --role-arn {role_arn} --role-session-name serverless-s3-setup --serial-number {serial} --token-code CODE --profile {source}` (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and run this without --profile; or, in CI, use a profile without MFA"
            ),
        });
    }
    let code = person.ask(
        &format!("MFA code for {serial} (profile {profile})"),
        &check_code,
    )?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(super::http_client())
        .region(region.clone())
        .profile_name(source);
    if let Some(url) = &conn.endpoint_url {
        loader = loader.endpoint_url(url.as_str());
    }
    let sts = aws_sdk_sts::Client::new(&loader.load().await);
    let request = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(
            mfa.session_name
                .clone()
                .unwrap_or_else(|| "serverless-s3-setup".into()),
        )
        .serial_number(serial)
        .token_code(code)
        .set_external_id(mfa.external_id.clone())
        .set_duration_seconds(mfa.duration);
    let out = send("sts:AssumeRole", role_arn, request.send())
        .await
        .map_err(|e| Error::Credentials {
            message: format!("profile {profile}: assuming {role_arn} with MFA failed: {e}"),
            fix: format!(
                "check the code (each is good once, for about 30 seconds) and that {serial} is the MFA device of profile {source}'s user"
            ),
        })?;
    let c = out.credentials().ok_or_else(|| Error::Credentials {
        message: format!("profile {profile}: AssumeRole returned no credentials"),
        fix: "run this again".into(),
    })?;
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        std::time::SystemTime::try_from(*c.expiration()).ok(),
        "serverless-s3-setup-mfa",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_a_role_with_mfa_from_a_source_profile_is_the_tools_to_assume() {
        let mfa = values(&[
            ("role_arn", "arn:aws:iam::123456789012:role/admin"),
            ("mfa_serial", "arn:aws:iam::123456789012:mfa/alice"),
            ("source_profile", "base"),
            ("duration_seconds", "900"),
        ]);
        let found = mfa_in(&mfa, "admin").unwrap();
        assert_eq!(found.source, "base");
        assert_eq!(found.duration, Some(900));
        assert_eq!(found.external_id, None);
        // No MFA: the SDK assumes it. From the environment or an instance: the SDK too.
        assert_eq!(mfa_in(&mfa[..1], "admin"), None);
        assert_eq!(mfa_in(&mfa[..2], "admin"), None);
        assert_eq!(mfa_in(&values(&[("region", "eu-west-1")]), "p"), None);
    }

    #[test]
    fn profiles_are_read_from_both_files() {
        let dir = std::env::temp_dir().join(format!("s3setup-profiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config");
        let credentials = dir.join("credentials");
        std::fs::write(
            &config,
            "[default]\nregion = us-east-1\n[profile prod]\nsso_session = x\n[sso-session x]\n",
        )
        .unwrap();
        std::fs::write(&credentials, "[ci]\naws_access_key_id = A\n").unwrap();
        let names = profiles_in(&[config, credentials, dir.join("missing")]);
        assert_eq!(names, ["default", "prod", "ci"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_code_is_six_digits() {
        assert!(check_code("123456").is_ok());
        for bad in ["12345", "1234567", "12345a", ""] {
            assert!(check_code(bad).is_err(), "{bad}");
        }
    }
}
