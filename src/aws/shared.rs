//! Reads that the setups of one run share, made once: who the caller is, and each bucket's
//! region, default encryption, policy and Object Ownership. A file of fifty setups on one
//! bucket reads the bucket once, not fifty times. Only what AWS answered is kept: a failed
//! read is made again by the next setup that needs it.
//!
//! And the account as a run of many setups found it when it began (its roles, and when IAM
//! allows GetAccountAuthorizationDetails, each role and policy whole), from which the setups
//! are planned. It is forgotten before anything is applied: what a setup reads after its
//! changes, it reads from IAM.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::error::{AwsError, Error};
use crate::facts::{Caller, PolicyInfo, RoleInfo};
use crate::inputs::{RoleName, Who};

use super::iam::{Details, HeldRole, Holder, ListedRole};
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
    pub(crate) policy: Once<Option<Value>>,
    pub(crate) ownership: Once<Option<String>>,
    /// The first objects stored under a bucket's folder, by `bucket/folder`.
    pub(crate) objects: Once<Vec<String>>,
    /// The account as the run found it, until it applies anything.
    account: RwLock<Option<Arc<Account>>>,
}

/// The account when a run of many setups began.
#[derive(Debug)]
struct Account {
    /// Its roles' names, in lower case (IAM's names ignore case): a name not among them needs
    /// no GetRole.
    names: HashSet<String>,
    /// Its roles and policies whole; `None` when GetAccountAuthorizationDetails was refused.
    details: Option<Details>,
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

    /// Reads the account's roles (ListRoles) and, beside them, each role and policy whole
    /// (GetAccountAuthorizationDetails), and keeps both for the setups of this run to plan
    /// from. A caller that may not read the whole account (`iam:GetAccountAuthorizationDetails`
    /// is not among the permissions a setup needs) is surveyed role by role instead.
    pub(crate) async fn survey_account(&self) -> Result<Vec<ListedRole>, Error> {
        let (listed, details) = tokio::join!(
            iam::list_roles(&self.iam),
            iam::authorization_details(&self.iam)
        );
        let listed = listed?;
        let details = match details {
            Ok(mut details) => {
                details.describe(&listed);
                tracing::debug!(
                    "the account: {} roles listed, {} read whole",
                    listed.len(),
                    details.roles()
                );
                Some(details)
            }
            // Only a shortcut: refused, or failed for any other reason, each setup reads its
            // own role instead, and says so if that fails too.
            Err(e) => {
                tracing::debug!("the account is read role by role: {e}");
                None
            }
        };
        if let Some(shared) = &self.shared {
            let names = listed.iter().map(|r| r.name.to_lowercase()).collect();
            *shared.account.write().expect("not poisoned") =
                Some(Arc::new(Account { names, details }));
        }
        Ok(listed)
    }

    /// Forgets the account as the run found it: from here on, every read goes to IAM.
    pub(crate) fn forget_account(&self) {
        if let Some(shared) = &self.shared {
            *shared.account.write().expect("not poisoned") = None;
        }
    }

    fn account(&self) -> Option<Arc<Account>> {
        let shared = self.shared.as_ref()?;
        shared.account.read().expect("not poisoned").clone()
    }

    /// The role of that name: as the run found the account, else read.
    pub(crate) async fn role(&self, name: &str) -> Result<Option<RoleInfo>, AwsError> {
        if let Some(account) = self.account() {
            if !account.names.contains(&name.to_lowercase()) {
                return Ok(None);
            }
            if let Some(held) = account.details.as_ref().and_then(|d| d.role(name)) {
                return Ok(Some(held.info.clone()));
            }
        }
        iam::get_role(&self.iam, name).await
    }

    /// The ARNs of the managed policies attached to the role.
    pub(crate) async fn role_attached(&self, name: &RoleName) -> Result<Vec<String>, AwsError> {
        match self.held_role(name) {
            Some(held) => Ok(held.attached),
            None => iam::attached(&self.iam, &Who::Role(name.clone())).await,
        }
    }

    /// The role's inline policies: each one's name, and its document when that parses.
    pub(crate) async fn role_inline(
        &self,
        name: &RoleName,
    ) -> Result<Vec<(String, Option<Value>)>, AwsError> {
        match self.held_role(name) {
            Some(held) => Ok(held.inline),
            None => {
                let who = Who::Role(name.clone());
                iam::inline_policies(&self.iam, Holder::Principal(&who)).await
            }
        }
    }

    /// The role and its policies, as the run found the account.
    fn held_role(&self, name: &RoleName) -> Option<HeldRole> {
        let account = self.account()?;
        account.details.as_ref()?.role(name.as_str()).cloned()
    }

    /// The managed policy of that ARN. Read from IAM when it exists, for its tags, which
    /// GetAccountAuthorizationDetails does not give; a customer-managed policy that the run
    /// found no trace of is not there.
    pub(crate) async fn policy(&self, arn: &str) -> Result<Option<PolicyInfo>, AwsError> {
        let customer = crate::inputs::Arn::parse(arn).is_some_and(|a| a.account != "aws");
        let unknown = self.account().is_some_and(|account| {
            let details = account.details.as_ref();
            details.is_some_and(|d| customer && d.policy(arn).is_none())
        });
        if unknown {
            return Ok(None);
        }
        iam::get_policy(&self.iam, arn).await
    }

    /// The document of a version of a managed policy, when it parses.
    pub(crate) async fn policy_document(
        &self,
        arn: &str,
        version: &str,
    ) -> Result<Option<Value>, AwsError> {
        if let Some(account) = self.account() {
            let held = account.details.as_ref().and_then(|d| d.policy(arn));
            if let Some(doc) = held.and_then(|p| p.document(version)) {
                return Ok(doc.cloned());
            }
        }
        iam::policy_document(&self.iam, arn, version).await
    }

    /// The default-version document of each managed policy, by ARN; a policy that is not
    /// there is left out. Tags play no part here, so a policy the run found needs no read.
    pub(crate) async fn managed_documents(
        &self,
        arns: &[String],
    ) -> Result<Vec<(String, Value)>, AwsError> {
        let account = self.account();
        let held = |arn: &str| {
            let details = account.as_ref()?.details.as_ref()?;
            Some(details.policy(arn)?.default_version.clone())
        };
        let docs = futures_util::future::join_all(arns.iter().map(|arn| async move {
            let version = match held(arn) {
                Some(version) => version,
                None => match self.policy(arn).await? {
                    Some(info) => info.default_version,
                    None => return Ok(None),
                },
            };
            let doc = self.policy_document(arn, &version).await?;
            Ok::<_, AwsError>(doc.map(|doc| (arn.clone(), doc)))
        }))
        .await;
        let mut out = Vec::new();
        for doc in docs {
            out.extend(doc?);
        }
        Ok(out)
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
    ) -> Result<Option<Value>, AwsError> {
        self.shared_read(|s| &s.policy, bucket, s3::bucket_policy(s3, bucket))
            .await
    }

    /// The first objects under the folder `prefix` of the bucket (empty: the whole bucket),
    /// through `s3` (a client in its region): [`SAMPLED`] at most, enough to tell an empty
    /// folder and to sample the keys the objects are encrypted under.
    pub(crate) async fn objects(
        &self,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<String>, AwsError> {
        let key = format!("{bucket}/{prefix}");
        self.shared_read(
            |s| &s.objects,
            &key,
            s3::objects(s3, bucket, prefix, s3::SAMPLED),
        )
        .await
    }

    /// [`Clients::objects`] asked before the bucket's region is known, through the clients'
    /// own region, beside HeadBucket: the answer is good when the bucket turns out to be in
    /// that region (`region`, checked by the caller), which saves the round a listing after
    /// HeadBucket would take. `None` in a run of many setups, whose read-ahead lists each
    /// folder in its bucket's region.
    pub(crate) async fn objects_early(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Option<(String, Result<Vec<String>, AwsError>)> {
        if self.shared.is_some() {
            return None;
        }
        let listed = s3::objects(&self.s3, bucket, prefix, s3::SAMPLED).await;
        Some((self.region().to_string(), listed))
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
