//! Reads that the setups of one run share, made once: who the caller is, and each bucket's
//! region, default encryption, policy and Object Ownership. A file of fifty setups on one
//! bucket reads the bucket once, not fifty times. Only what AWS answered is kept: a failed
//! read is made again by the next setup that needs it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::facts::Caller;

use super::s3::DefaultEncryption;

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
