//! Reads that the setups of one run share, made once: who the caller is, and each bucket's
//! region, default encryption, policy and Object Ownership. A file of fifty setups on one
//! bucket reads the bucket once, not fifty times. Only what AWS answered is kept: a failed
//! read is made again by the next setup that needs it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::error::{AwsError, Error};
use crate::facts::{Caller, RoleInfo};

use super::s3::{self, DefaultEncryption};
use super::{iam, sts, Clients};

/// One answer per key, the first read's; those who ask meanwhile wait for it.
#[derive(Debug)]
pub(crate) struct Once<T>(Mutex<HashMap<String, Arc<OnceCell<T>>>>);

impl<T> Default for Once<T> {
    fn default() -> Self {
        Once(Mutex::new(HashMap::new()))
    }
}

impl<T: Clone> Once<T> {
    pub(crate) async fn get<E, F>(&self, key: &str, read: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let cell = self
            .0
            .lock()
            .expect("not poisoned")
            .entry(key.to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(|| read).await.cloned()
    }
}

/// What the setups of a run of many share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) caller: Once<Caller>,
    pub(crate) region: Once<String>,
    pub(crate) encryption: Once<DefaultEncryption>,
    pub(crate) policy: Once<Option<serde_json::Value>>,
    pub(crate) ownership: Once<Option<String>>,
    /// The account's roles by name (lower case: IAM's names ignore case), as ListRoles gave
    /// them when the run began: a name not among them needs no GetRole.
    pub(crate) roles: std::sync::OnceLock<std::collections::HashSet<String>>,
}

/// The reads a run of many setups shares, made once; for one setup, made as asked.
impl Clients {
    /// `read`, made once per `key` in the cell `which` picks when the run shares its reads;
    /// else made as asked.
    async fn shared_read<T: Clone, E>(
        &self,
        which: fn(&Shared) -> &Once<T>,
        key: &str,
        read: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        match &self.shared {
            Some(shared) => which(shared).get(key, read).await,
            None => read.await,
        }
    }

    /// Who is calling (once per run of many setups).
    pub(crate) async fn caller(&self) -> Result<Caller, Error> {
        self.shared_read(|s| &s.caller, "", sts::caller_identity(&self.sts))
            .await
    }

    /// Keeps the account's role names, as a run of many setups listed them first.
    pub(crate) fn know_roles(&self, names: impl IntoIterator<Item = String>) {
        if let Some(shared) = &self.shared {
            let _ = shared
                .roles
                .set(names.into_iter().map(|n| n.to_lowercase()).collect());
        }
    }

    /// The role of that name, read unless the account's listing at the start of a run of
    /// many setups showed no such role.
    pub(crate) async fn role(&self, name: &str) -> Result<Option<RoleInfo>, AwsError> {
        let listed = self.shared.as_ref().and_then(|s| s.roles.get());
        if listed.is_some_and(|names| !names.contains(&name.to_lowercase())) {
            return Ok(None);
        }
        iam::get_role(&self.iam, name).await
    }

    /// The bucket's region (once per bucket, in a run of many setups).
    pub(crate) async fn bucket_region(&self, bucket: &str) -> Result<String, Error> {
        self.shared_read(|s| &s.region, bucket, s3::bucket_region(&self.s3, bucket))
            .await
    }

    /// The bucket's default encryption, through `s3` (a client in its region).
    pub(crate) async fn bucket_encryption(
        &self,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
    ) -> Result<DefaultEncryption, AwsError> {
        self.shared_read(
            |s| &s.encryption,
            bucket,
            s3::default_encryption(s3, bucket),
        )
        .await
    }

    /// The bucket's policy, if it has one.
    pub(crate) async fn bucket_policy(
        &self,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
    ) -> Result<Option<serde_json::Value>, AwsError> {
        self.shared_read(|s| &s.policy, bucket, s3::bucket_policy(s3, bucket))
            .await
    }

    /// The bucket's Object Ownership, if set.
    pub(crate) async fn object_ownership(
        &self,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
    ) -> Result<Option<String>, AwsError> {
        self.shared_read(|s| &s.ownership, bucket, s3::object_ownership(s3, bucket))
            .await
    }
}
