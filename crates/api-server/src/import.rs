//! `hooks-api-server import --from <rootUrl>`: copies every hook of an existing Taskcluster deployment into this
//! one through the old service's public API (listHookGroups, listHooks, getTriggerToken), so a deployment can
//! switch over. Idempotent: a hook already here with the same definition is left alone, a changed one is updated.

use std::fmt;

use anyhow::Context as _;
use hooks_core::storage::{self as store, CreateOutcome, Pool, PooledConnection};
use hooks_core::{ExchangeDenylist, HookDefinition, HookGroupId, HookId, HookInput, Keyring, SecretString, time};
use serde_json::Value;
use taskcluster::{ClientBuilder, Credentials, Hooks};

use crate::settings::{ImportArgs, Settings};

/// Recorded as the author of the imported hooks in the audit history.
const IMPORTER: &str = "static/hooks-import";

/// What happens to one hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Update,
    Unchanged,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Unchanged => "unchanged",
        })
    }
}

/// How many hooks got each action, and how many could not be copied.
#[derive(Debug, Default)]
struct Tally {
    created: usize,
    updated: usize,
    unchanged: usize,
    tokens: usize,
    failed: usize,
}

/// Runs the import; prints one line per hook and a summary. Fails (after trying every hook) if any hook could not
/// be copied.
pub async fn run(settings: &Settings, args: &ImportArgs) -> anyhow::Result<()> {
    let pool = settings.common.database.connect().await.context("preparing the database")?;
    let keyring = settings.common.crypto.keyring()?;
    let denylist = settings.pulse.denylist()?;
    let mut builder = ClientBuilder::new(&args.from);
    if let (Some(id), Some(token)) = (&args.from_client_id, &args.from_access_token) {
        builder = builder.credentials(Credentials::new(id, token.expose()));
    }
    let source = Hooks::new(builder).context("building the client for --from")?;
    let importer = Importer { args, source, pool, keyring, denylist };

    let mut tally = Tally::default();
    let groups = importer.source.listHookGroups().await.context("listHookGroups on the source deployment")?;
    for group in strings(&groups["groups"]) {
        let hooks = match importer.source.listHooks(&group).await {
            Ok(hooks) => hooks,
            Err(e) => {
                println!("failed {group}/*: listHooks: {e}");
                tally.failed += 1;
                continue;
            }
        };
        for hook in hooks["hooks"].as_array().into_iter().flatten() {
            let path = format!("{group}/{}", hook["hookId"].as_str().unwrap_or("?"));
            match importer.copy(&group, hook, &mut tally).await {
                Ok(action) => println!("{action} {path}"),
                Err(e) => {
                    println!("failed {path}: {e:#}");
                    tally.failed += 1;
                }
            }
        }
    }
    let verb = if args.dry_run { "would be " } else { "" };
    println!(
        "{} {verb}created, {} {verb}updated, {} unchanged, {} trigger tokens {verb}copied, {} failed{}",
        tally.created,
        tally.updated,
        tally.unchanged,
        tally.tokens,
        tally.failed,
        if args.dry_run { " (dry run: nothing was written)" } else { "" }
    );
    anyhow::ensure!(tally.failed == 0, "{} hooks could not be imported; see the lines starting `failed`", tally.failed);
    Ok(())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect()
}

struct Importer<'a> {
    args: &'a ImportArgs,
    source: Hooks,
    pool: Pool,
    keyring: Keyring,
    denylist: ExchangeDenylist,
}

impl Importer<'_> {
    async fn conn(&self) -> anyhow::Result<PooledConnection> {
        self.pool.get().await.context("a database connection")
    }

    /// Brings one hook over (or says what it would do).
    async fn copy(&self, group: &str, hook: &Value, tally: &mut Tally) -> anyhow::Result<Action> {
        let def = self.definition(group, hook)?;
        let (g, h) = (def.hook_group_id.as_str(), def.hook_id.as_str());
        let existing = store::find_hook(&mut *self.conn().await?, &self.keyring, &def.key()).await?;
        let action = match &existing {
            None => Action::Create,
            Some(stored) if stored.definition == def => Action::Unchanged,
            Some(_) => Action::Update,
        };
        if !self.args.dry_run {
            let mut conn = self.conn().await?;
            let now = time::now_millis();
            match action {
                Action::Create => {
                    if let CreateOutcome::Exists(_) =
                        store::create_hook(&mut conn, &self.keyring, &def, IMPORTER, now).await?
                    {
                        anyhow::bail!("created by someone else meanwhile; run the import again");
                    }
                }
                Action::Update => {
                    store::update_hook(&mut conn, &self.keyring, &def, IMPORTER, now).await?;
                }
                Action::Unchanged => {}
            }
        }
        match action {
            Action::Create => tally.created += 1,
            Action::Update => tally.updated += 1,
            Action::Unchanged => tally.unchanged += 1,
        }
        if self.args.copy_trigger_tokens {
            let token = self.source.getTriggerToken(g, h).await.context("getTriggerToken on the source")?;
            let token = SecretString::new(token["token"].as_str().context("getTriggerToken answered no token")?);
            let same = existing.is_some_and(|e| e.trigger_token.expose() == token.expose());
            if !same {
                tally.tokens += 1;
                if !self.args.dry_run {
                    store::set_trigger_token(&mut *self.conn().await?, &self.keyring, &def.key(), &token, IMPORTER)
                        .await?;
                }
            }
        }
        Ok(action)
    }

    /// The source's hook as a definition here, validated like a createHook body.
    fn definition(&self, group: &str, hook: &Value) -> anyhow::Result<HookDefinition> {
        let id = hook["hookId"].as_str().context("the source listed a hook without a hookId")?;
        let input: HookInput = serde_json::from_value(hook.clone()).context("not a hook definition")?;
        let def = HookDefinition::parse(HookGroupId::parse(group)?, HookId::parse(id)?, input, &self.denylist)?;
        Ok(def)
    }
}
