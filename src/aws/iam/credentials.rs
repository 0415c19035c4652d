//! A user's credentials besides its access keys: a console password, MFA devices, signing
//! certificates and SSH public keys. This tool makes none of them, but IAM refuses to delete a
//! user that holds any (IAM API Reference, DeleteUser: "Before attempting to delete a user,
//! remove the following items"), so a teardown reads them and, with `--force`, deletes them.
//! moto deletes such a user anyway; AWS does not.

use aws_sdk_iam::Client;

use crate::aws::send::{send, Absent};
use crate::error::AwsError;
use crate::facts::OtherCredentials;

/// The four reads, together. IAM's limits (8 MFA devices, 2 certificates, 5 SSH keys a user)
/// are below a list's first page.
pub(crate) async fn other_credentials(
    client: &Client,
    user: &str,
) -> Result<OtherCredentials, AwsError> {
    let password = async {
        let request = client.get_login_profile().user_name(user);
        let out = send("iam:GetLoginProfile", user, request.send()).await;
        Ok::<_, AwsError>(out.absent_is_none()?.is_some())
    };
    let mfa = async {
        let request = client.list_mfa_devices().user_name(user);
        let out = send("iam:ListMFADevices", user, request.send()).await?;
        let devices = out.mfa_devices().iter();
        Ok::<_, AwsError>(devices.map(|d| d.serial_number().to_string()).collect())
    };
    let certificates = async {
        let request = client.list_signing_certificates().user_name(user);
        let out = send("iam:ListSigningCertificates", user, request.send()).await?;
        let certificates = out.certificates().iter();
        Ok::<_, AwsError>(
            certificates
                .map(|c| c.certificate_id().to_string())
                .collect(),
        )
    };
    let ssh = async {
        let request = client.list_ssh_public_keys().user_name(user);
        let out = send("iam:ListSSHPublicKeys", user, request.send()).await?;
        let keys = out.ssh_public_keys().iter();
        Ok::<_, AwsError>(keys.map(|k| k.ssh_public_key_id().to_string()).collect())
    };
    let (password, mfa_devices, signing_certificates, ssh_public_keys) =
        tokio::join!(password, mfa, certificates, ssh);
    Ok(OtherCredentials {
        password: password?,
        mfa_devices: mfa_devices?,
        signing_certificates: signing_certificates?,
        ssh_public_keys: ssh_public_keys?,
    })
}

/// One credential of a user's, as a teardown removes it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Credential<'a> {
    Password,
    /// Taken off the user; a virtual device then stays, unassigned, until deleted.
    MfaDevice(&'a str),
    SigningCertificate(&'a str),
    SshPublicKey(&'a str),
}

/// Removes one credential from the user; one already gone counts as done.
pub(crate) async fn remove_credential(
    client: &Client,
    user: &str,
    credential: Credential<'_>,
) -> Result<(), AwsError> {
    let sent = match credential {
        Credential::Password => {
            let request = client.delete_login_profile().user_name(user).send();
            send("iam:DeleteLoginProfile", user, request)
                .await
                .map(drop)
        }
        Credential::MfaDevice(serial) => {
            let request = client.deactivate_mfa_device().user_name(user);
            let request = request.serial_number(serial).send();
            send("iam:DeactivateMFADevice", serial, request)
                .await
                .map(drop)
        }
        Credential::SigningCertificate(id) => {
            let request = client.delete_signing_certificate().user_name(user);
            let request = request.certificate_id(id).send();
            send("iam:DeleteSigningCertificate", id, request)
                .await
                .map(drop)
        }
        Credential::SshPublicKey(id) => {
            let request = client.delete_ssh_public_key().user_name(user);
            let request = request.ssh_public_key_id(id).send();
            send("iam:DeleteSSHPublicKey", id, request).await.map(drop)
        }
    };
    sent.gone_is_done()
}

/// Deletes a virtual MFA device that no user holds; one already gone counts as done.
pub(crate) async fn delete_virtual_mfa_device(
    client: &Client,
    serial: &str,
) -> Result<(), AwsError> {
    let request = client.delete_virtual_mfa_device().serial_number(serial);
    send("iam:DeleteVirtualMFADevice", serial, request.send())
        .await
        .gone_is_done()
}
