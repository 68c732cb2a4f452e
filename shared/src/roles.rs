//! Administrators assign studio roles to the members of their teams.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{ADMINISTRATOR, Caller};
use crate::data_api::{DataApi, Params, TextArray};
use crate::error::AppError;

/// A user's studio roles, as `GET/PUT /users/{id}/roles` show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct UserRoles {
    pub user_id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
}

const USER_ROLES: &str = "SELECT u.id AS user_id, u.email,
        coalesce((SELECT array_agg(r.name ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                  WHERE ur.user_id = u.id), '{}') AS roles
    FROM users u
    WHERE u.id = :user
      AND EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_id = u.id AND tm.team_id = ANY (:teams::uuid[]))";

fn require_admin(caller: &Caller) -> Result<(), AppError> {
    if caller.is_administrator() {
        Ok(())
    } else {
        Err(AppError::forbidden("Only administrators manage roles"))
    }
}

fn teams(caller: &Caller) -> TextArray {
    TextArray(caller.teams.iter().map(Uuid::to_string).collect())
}

/// A user's roles; the user must share a team with the administrator.
pub async fn get(db: &DataApi, caller: &Caller, user: Uuid) -> Result<UserRoles, AppError> {
    require_admin(caller)?;
    db.query_opt(
        USER_ROLES,
        Params::new()
            .bind("user", user)
            .bind("teams", teams(caller)),
    )
    .await?
    .ok_or_else(|| AppError::not_found(format!("No user {user} in your teams")))
}

/// Replaces a user's roles with `roles` (names from the `roles` table).
pub async fn set(
    db: &DataApi,
    caller: &Caller,
    user: Uuid,
    roles: &[String],
) -> Result<UserRoles, AppError> {
    get(db, caller, user).await?;
    let mut wanted: Vec<String> = roles.iter().map(|r| r.trim().to_owned()).collect();
    wanted.sort();
    wanted.dedup();
    if user == caller.user_id && !wanted.iter().any(|r| r == ADMINISTRATOR) {
        return Err(AppError::validation(
            "You cannot remove your own administrator role; ask another administrator",
        ));
    }
    #[derive(Deserialize)]
    struct Known {
        name: String,
    }
    let known: Vec<Known> = db
        .query(
            "SELECT name FROM roles WHERE name = ANY (:roles::text[])",
            Params::new().bind("roles", TextArray(wanted.clone())),
        )
        .await?;
    let unknown: Vec<&str> = wanted
        .iter()
        .filter(|w| !known.iter().any(|k| &k.name == *w))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::validation(format!(
            "Unknown role(s): {}",
            unknown.join(", ")
        )));
    }
    db.execute(
        "WITH wanted AS (SELECT id FROM roles WHERE name = ANY (:roles::text[])),
              removed AS (DELETE FROM user_roles WHERE user_id = :user AND role_id NOT IN (SELECT id FROM wanted))
         INSERT INTO user_roles (user_id, role_id) SELECT :user, id FROM wanted ON CONFLICT DO NOTHING",
        Params::new()
            .bind("user", user)
            .bind("roles", TextArray(wanted.clone())),
    )
    .await?;
    tracing::info!(user_id = %user, admin_id = %caller.user_id, roles = ?wanted, "Roles set");
    get(db, caller, user).await
}
