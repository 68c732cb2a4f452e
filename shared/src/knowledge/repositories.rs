//! Repositories: created in a team, readable by the team, by grants, or by everyone when
//! public; writable by the team and by write grants.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{self, Caller};
use crate::data_api::{DataApi, Params};
use crate::error::{AppError, ErrorCode};

/// What a caller may do with a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    None,
    Read,
    Write,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Repository {
    pub id: Uuid,
    pub team_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub item_count: i64,
    pub created_at: DateTime<Utc>,
    /// The caller's access, computed per request.
    pub access: Access,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewRepository {
    pub name: String,
    pub description: Option<String>,
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub is_public: bool,
}

impl NewRepository {
    fn validate(&self) -> Result<(), AppError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(AppError::validation(
                "A repository name is 1 to 200 characters, without control characters",
            ));
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 2000)
        {
            return Err(AppError::validation(
                "A description is at most 2000 characters",
            ));
        }
        Ok(())
    }
}

/// The columns of [`Repository`] with the caller's (`:user`) access; callers add the WHERE.
/// A macro so statements are built with `concat!` from literals, never `format!`.
macro_rules! select_repositories {
    () => {
        "SELECT * FROM (
    SELECT r.id, r.team_id, r.name, r.description, r.is_public, r.created_at,
        (SELECT count(*) FROM repository_items i WHERE i.repository_id = r.id) AS item_count,
        CASE
            WHEN EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = r.team_id AND tm.user_id = :user)
              OR EXISTS (SELECT 1 FROM repository_access ra LEFT JOIN user_roles ur ON ur.role_id = ra.role_id AND ur.user_id = :user
                         WHERE ra.repository_id = r.id AND ra.permission = 'write' AND (ra.user_id = :user OR ur.user_id IS NOT NULL))
                THEN 'write'
            WHEN r.is_public
              OR EXISTS (SELECT 1 FROM repository_access ra LEFT JOIN user_roles ur ON ur.role_id = ra.role_id AND ur.user_id = :user
                         WHERE ra.repository_id = r.id AND (ra.user_id = :user OR ur.user_id IS NOT NULL))
                THEN 'read'
            ELSE 'none'
        END AS access
    FROM repositories r) AS visible"
    };
}

/// A row when the caller (`:user`) may write to the repository `:repository`: for
/// statements that check access and change the repository's content at once.
pub(crate) const WRITABLE: &str = concat!(
    select_repositories!(),
    " WHERE id = :repository AND access = 'write'"
);

/// Creates a repository in the caller's team (or the named one, if the caller is in it).
pub async fn create(
    db: &DataApi,
    caller: &Caller,
    new: &NewRepository,
) -> Result<Repository, AppError> {
    new.validate()?;
    let team = match new.team_id {
        Some(team) => team,
        None => caller.default_team()?,
    };
    caller.require_team(team)?;
    auth::require_tool(db, caller, "knowledge_repositories").await?;
    let id = Uuid::new_v4();
    db.execute(
        "INSERT INTO repositories (id, team_id, owner_id, name, description, is_public)
         VALUES (:id, :team, :user, :name, :description, :public)",
        Params::new()
            .bind("id", id)
            .bind("team", team)
            .bind("user", caller.user_id)
            .bind("name", new.name.trim())
            .bind("description", new.description.as_deref())
            .bind("public", new.is_public),
    )
    .await
    .map_err(|e| match e.sql_state() {
        Some("23505") => AppError::new(
            ErrorCode::Conflict,
            format!(
                "This team already has a repository named {:?}",
                new.name.trim()
            ),
        ),
        _ => e.into(),
    })?;
    require(db, caller, id, Access::Write).await
}

/// Every repository the caller can read, newest first.
pub async fn list(db: &DataApi, caller: &Caller) -> Result<Vec<Repository>, AppError> {
    const SQL: &str = concat!(
        select_repositories!(),
        " WHERE access <> 'none' ORDER BY created_at DESC, id"
    );
    Ok(db
        .query(SQL, Params::new().bind("user", caller.user_id))
        .await?)
}

/// The repository, if the caller has at least `needed` access: `not_found` when it does
/// not exist, `forbidden` when it exists but is not the caller's to see or change.
pub async fn require(
    db: &DataApi,
    caller: &Caller,
    id: Uuid,
    needed: Access,
) -> Result<Repository, AppError> {
    let mut found = require_all(db, caller, &[id], needed).await?;
    Ok(found.remove(0))
}

/// Each of `ids`, in order, checked as [`require`] checks one, in one statement.
pub async fn require_all(
    db: &DataApi,
    caller: &Caller,
    ids: &[Uuid],
    needed: Access,
) -> Result<Vec<Repository>, AppError> {
    const SQL: &str = concat!(select_repositories!(), " WHERE id = ANY(:ids::uuid[])");
    let found: Vec<Repository> = db
        .query(
            SQL,
            Params::new().bind("user", caller.user_id).bind(
                "ids",
                crate::data_api::TextArray(ids.iter().map(Uuid::to_string).collect()),
            ),
        )
        .await?;
    ids.iter()
        .map(|id| {
            let repository = found
                .iter()
                .find(|r| r.id == *id)
                .ok_or_else(|| AppError::not_found("No such repository"))?;
            match (repository.access >= needed, repository.access) {
                (true, _) => Ok(repository.clone()),
                (false, Access::None) => {
                    Err(AppError::forbidden("You have no access to this repository"))
                }
                (false, _) => Err(AppError::forbidden(
                    "You may read this repository but not change it",
                )),
            }
        })
        .collect()
}
