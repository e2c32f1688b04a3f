//! First start: make sure someone can sign in.

use kizuna_domain::user::{NewUser, Password, Role, UserDraft};
use kizuna_store::{Actor, Store};
use rand::distributions::{Alphanumeric, DistString};

use crate::auth::hash_password;
use crate::Config;

/// The first admin's log-in, when this start created it.
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    pub email: String,
    /// The password, when Kizuna made it up (to be printed once); `None` when it came from the
    /// configuration.
    pub generated_password: Option<String>,
}

/// Creates the first admin when there is none: the password is `admin_password` from the
/// configuration (`KIZUNA_ADMIN_PASSWORD`) or a random one returned to be printed once.
pub async fn ensure_admin(store: &Store, config: &Config) -> anyhow::Result<Option<FirstAdmin>> {
    if store.count_users_with_role(Role::Admin).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.clone(), false),
        None => (
            Alphanumeric.sample_string(&mut rand::thread_rng(), 16),
            true,
        ),
    };
    Password::parse(&password).map_err(|e| anyhow::anyhow!("KIZUNA_ADMIN_PASSWORD {e}"))?;
    let new = NewUser::parse(UserDraft {
        email: Some(config.admin_email.clone()),
        name: Some("Admin".into()),
        role: Some(Role::Admin),
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!("admin_email: {e}"))?;
    let hash = hash_password(&password).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    store
        .create_user(new, Some(hash), &Actor::System("first start"))
        .await?;
    Ok(Some(FirstAdmin {
        email: config.admin_email.clone(),
        generated_password: generated.then_some(password),
    }))
}

/// Gives every team member without a password (the demo's CSMs and manager) `password`, so the
/// demo can be tried as a CSM as well as an admin. Returns the e-mails, CSMs first.
pub async fn set_demo_team_passwords(store: &Store, password: &str) -> anyhow::Result<Vec<String>> {
    let hash = hash_password(password).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let mut emails = Vec::new();
    for user in store.list_users().await? {
        let stored = store.user_with_hash(user.id).await?;
        if stored.password_hash.is_some() {
            continue;
        }
        store
            .update_user(
                user.id,
                UserDraft::default(),
                Some(hash.clone()),
                &Actor::System("demo"),
            )
            .await?;
        emails.push((user.role != Role::Csm, user.email.to_string()));
    }
    emails.sort();
    Ok(emails.into_iter().map(|(_, e)| e).collect())
}
