//! Hook definitions kept as files (`examples/`, or a deployment's own directory), loaded at start-up.

use std::path::Path;

use serde::Deserialize;

use crate::crypto::Keyring;
use crate::hook::{ExchangeDenylist, HookDefinition, HookInput};
use crate::storage::{CreateOutcome, Pool, StorageError, create_hook, delete_hook};
use crate::{HookGroupId, HookId, time};

/// Why a directory of hook files could not be loaded. Names the file.
#[derive(Debug, thiserror::Error)]
pub enum HookFileError {
    /// The directory or a file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Which file or directory.
        path: String,
        /// What happened.
        source: std::io::Error,
    },
    /// A file is not a valid hook definition.
    #[error("{path}: {problem}")]
    Invalid {
        /// Which file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// Storing failed. Transparent: the storage error already says which hook, and printing it again as its own
    /// cause would say it twice.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HookFile {
    hook_group_id: String,
    hook_id: String,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// What to do with a stored hook of the same id whose secrets cannot be opened with the keys at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Stop with an error naming the hook and the missing key (production: the key must be added back).
    Fail,
    /// Remove it and create it anew from its file (development: the key was thrown away with `.dev/`).
    Replace,
}

/// Creates every hook defined by a `*.json` file in `dir` that does not exist yet; existing hooks are left as
/// they are, except unusable ones under [`Unusable::Replace`]. Returns the `<group>/<id>` of the hooks created.
pub async fn load_dir(
    pool: &Pool,
    keyring: &Keyring,
    denylist: &ExchangeDenylist,
    dir: &Path,
    client_id: &str,
    unusable: Unusable,
) -> Result<Vec<String>, HookFileError> {
    let io = |path: &Path, source| HookFileError::Io { path: path.display().to_string(), source };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut created = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let def = parse_file(&text)
            .map_err(|problem| HookFileError::Invalid { path: path.display().to_string(), problem })?;
        let def = HookDefinition::parse(def.0, def.1, def.2, denylist)
            .map_err(|e| HookFileError::Invalid { path: path.display().to_string(), problem: e.to_string() })?;
        let mut conn = pool.get().await.map_err(StorageError::from)?;
        let outcome = match create_hook(&mut conn, keyring, &def, client_id, time::now_millis()).await {
            Err(StorageError::Corrupt { problem, .. }) if unusable == Unusable::Replace => {
                tracing::warn!(hook = %def.path(), %problem, "replacing a stored hook whose secrets cannot be opened");
                delete_hook(&mut conn, &def.key(), client_id).await?;
                create_hook(&mut conn, keyring, &def, client_id, time::now_millis()).await?
            }
            outcome => outcome?,
        };
        if let CreateOutcome::Created(_) = outcome {
            created.push(def.path());
        }
    }
    Ok(created)
}

fn parse_file(text: &str) -> Result<(HookGroupId, HookId, HookInput), String> {
    let file: HookFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let g = HookGroupId::parse(&file.hook_group_id).map_err(|e| e.to_string())?;
    let h = HookId::parse(&file.hook_id).map_err(|e| e.to_string())?;
    let input: HookInput = serde_json::from_value(serde_json::Value::Object(file.rest)).map_err(|e| e.to_string())?;
    Ok((g, h, input))
}
