//! Users and sign-in credentials kept in the local store.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use std::path::Path;

use trenddojo_store::users::{self as user_repo, NewUser, Tier, User};
use trenddojo_store::{KeySource, Store, Tx};

use super::Journal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::parse;

/// Input for a new user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct UserInput {
    pub email: String,
    pub name: Option<String>,
    /// free, basic or pro (default free)
    pub tier: Option<String>,
    pub password: Option<String>,
}

/// Hash a password with Argon2id. `salt` makes the hash reproducible (seed states); otherwise random.
pub fn hash_password(password: &str, salt: Option<[u8; 16]>) -> ApiResult<String> {
    let salt = match salt {
        Some(bytes) => SaltString::encode_b64(&bytes),
        None => Ok(SaltString::generate(&mut rand::rngs::OsRng)),
    }
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("password hashing: {e}")))
}

fn validate_email(s: &str) -> ApiResult<String> {
    let e = s.trim().to_ascii_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !e.contains(char::is_whitespace);
    if !ok {
        return Err(ApiError::invalid("email", format!("{s:?} is not an email address")));
    }
    Ok(e)
}

pub(crate) fn add_user(tx: &Tx<'_>, input: &UserInput, salt: Option<[u8; 16]>) -> ApiResult<User> {
    let email = validate_email(&input.email)?;
    let tier: Tier = match &input.tier {
        Some(t) => parse::choice("tier", t)?,
        None => Tier::Free,
    };
    let name = match &input.name {
        Some(n) => parse::text("name", n, 100)?,
        None => email.split('@').next().unwrap_or("trader").to_string(),
    };
    let password_hash = match &input.password {
        Some(p) if p.len() < 6 => return Err(ApiError::invalid("password", "must be at least 6 characters")),
        Some(p) => Some(hash_password(p, salt)?),
        None => None,
    };
    Ok(user_repo::insert_user(tx, &NewUser { email, display_name: name, password_hash, tier })?)
}

impl Journal {
    /// Create a new store in `home` with a first user, who becomes the active user.
    pub fn init(home: &Path, key: &KeySource, first_user: &UserInput) -> ApiResult<Journal> {
        // Validate before creating anything on disk.
        validate_email(&first_user.email)?;
        let store = Store::init(home, key)?;
        let result = store.write(|tx| {
            user_repo::upsert_limits(tx, &user_repo::default_limits())?;
            let user = add_user(tx, first_user, None)?;
            user_repo::set_active_user(tx, user.id)?;
            Ok::<_, ApiError>(())
        });
        if let Err(e) = result {
            let _ = store.destroy();
            return Err(e);
        }
        Journal::with_store(store, None)
    }

    /// Add a user; the first user of a store without an active user becomes the active one.
    pub fn add_user(&mut self, input: &UserInput) -> ApiResult<crate::dto::User> {
        let user = self.store.write(|tx| {
            let u = add_user(tx, input, None)?;
            if user_repo::active_user(tx)?.is_none() {
                user_repo::set_active_user(tx, u.id)?;
            }
            Ok::<_, ApiError>(u)
        })?;
        if self.user.is_none() {
            self.user = Some(user.clone());
        }
        Ok((&user).into())
    }

    pub fn list_users(&self) -> ApiResult<Vec<crate::dto::User>> {
        Ok(self.store.read(user_repo::list)?.iter().map(Into::into).collect())
    }

    /// Make `email` the store's active user.
    pub fn switch_user(&mut self, email: &str) -> ApiResult<crate::dto::User> {
        let user = self.store.write(|tx| {
            let u = user_repo::find_by_email(tx, email)?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("user: no user {email:?} in this store")))?;
            user_repo::set_active_user(tx, u.id)?;
            Ok::<_, ApiError>(u)
        })?;
        self.user = Some(user.clone());
        Ok((&user).into())
    }

    /// Check a user's password against the stored salted hash.
    pub fn verify_password(&self, email: &str, password: &str) -> ApiResult<bool> {
        self.store.read(|c| {
            let Some(u) = user_repo::find_by_email(c, email)? else { return Ok(false) };
            let Some(hash) = user_repo::password_hash(c, u.id)? else { return Ok(false) };
            let parsed =
                PasswordHash::new(&hash).map_err(|_| ApiError::new(ErrorCode::Corrupt, "stored password hash"))?;
            Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
    }
}
