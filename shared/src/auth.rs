//! Who is calling: the identity API Gateway's Cognito authorizer vouched for, resolved to a
//! studio user with roles and teams. Functions trust only the authorizer's claims, never
//! raw headers; every access decision is made here, in the domain layer.

use serde::Deserialize;
use uuid::Uuid;

use crate::data_api::{DataApi, Params};
use crate::error::{AppError, ErrorCode};

/// The claims the authorizer put in the request context (`sub`, `email`, `name`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// A signed-in studio user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Caller {
    pub user_id: Uuid,
    pub email: String,
    /// Studio roles (`administrator`, `staff`, `student`, ...).
    pub roles: Vec<String>,
    /// Teams the user belongs to.
    pub teams: Vec<Uuid>,
}

pub const ADMINISTRATOR: &str = "administrator";

impl Caller {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    pub fn is_administrator(&self) -> bool {
        self.has_role(ADMINISTRATOR)
    }

    pub fn in_team(&self, team: Uuid) -> bool {
        self.teams.contains(&team)
    }

    /// Fails with `forbidden` unless the caller belongs to `team`.
    pub fn require_team(&self, team: Uuid) -> Result<(), AppError> {
        if self.in_team(team) {
            Ok(())
        } else {
            Err(AppError::forbidden("You are not a member of this team"))
        }
    }

    /// The team new content goes to when the request names none: the caller's only team.
    pub fn default_team(&self) -> Result<Uuid, AppError> {
        match self.teams.as_slice() {
            [team] => Ok(*team),
            [] => Err(AppError::forbidden("You are not a member of any team")),
            _ => Err(AppError::validation(
                "You belong to several teams: name the team (teamId)",
            )),
        }
    }
}

pub(crate) const CALLER: &str = "SELECT u.id AS user_id, u.email,
        coalesce((SELECT array_agg(r.name ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                  WHERE ur.user_id = u.id), '{}') AS roles,
        coalesce((SELECT array_agg(tm.team_id ORDER BY tm.team_id) FROM team_members tm WHERE tm.user_id = u.id), '{}') AS teams
    FROM users u WHERE u.cognito_sub = :sub";

/// The user `user_id` as a caller (a scheduled run acts as its schedule's owner).
pub async fn caller_by_id(db: &DataApi, user_id: Uuid) -> Result<Caller, AppError> {
    let sql = CALLER.replace("u.cognito_sub = :sub", "u.id = :id");
    db.query_opt(&sql, Params::new().bind("id", user_id))
        .await?
        .ok_or_else(|| AppError::not_found("The user no longer exists"))
}

/// Resolves the claims to a user. A first sign-in creates the user, or links a user invited
/// by e-mail, in one statement each, so concurrent first requests cannot create two.
pub async fn resolve(db: &DataApi, claims: &Claims) -> Result<Caller, AppError> {
    require_subject(claims)?;
    let by_sub = || Params::new().bind("sub", &claims.sub);
    if let Some(caller) = db.query_opt::<Caller>(CALLER, by_sub()).await? {
        return Ok(caller);
    }
    let email = claims
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| e.contains('@'))
        .ok_or_else(|| AppError::new(ErrorCode::Unauthorized, "The token has no e-mail address"))?;
    db.execute(
        "WITH invited AS (
             UPDATE users SET cognito_sub = :sub, last_sign_in_at = now()
             WHERE lower(email) = lower(:email) AND cognito_sub IS NULL RETURNING id)
         INSERT INTO users (cognito_sub, email, name, last_sign_in_at)
         SELECT :sub, :email, :name, now() WHERE NOT EXISTS (SELECT 1 FROM invited)
         ON CONFLICT DO NOTHING",
        by_sub()
            .bind("email", email)
            .bind("name", claims.name.as_deref()),
    )
    .await?;
    db.query_opt::<Caller>(CALLER, by_sub())
        .await?
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::Conflict,
                "Another account already uses this e-mail address",
            )
        })
}

/// Fails with `unauthorized` when the claims name no user.
pub fn require_subject(claims: &Claims) -> Result<(), AppError> {
    if claims.sub.trim().is_empty() {
        return Err(AppError::new(
            ErrorCode::Unauthorized,
            "The token has no subject",
        ));
    }
    Ok(())
}

/// Fails with `forbidden` unless one of the caller's roles grants the tool (feature)
/// `identifier`, e.g. `knowledge_repositories`.
pub async fn require_tool(db: &DataApi, caller: &Caller, identifier: &str) -> Result<(), AppError> {
    #[derive(Deserialize)]
    struct Granted {
        granted: bool,
    }
    let granted: Granted = db
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM user_roles ur
                 JOIN role_tools rt ON rt.role_id = ur.role_id
                 JOIN tools t ON t.id = rt.tool_id
                 WHERE ur.user_id = :user AND t.identifier = :tool AND t.active) AS granted",
            Params::new()
                .bind("user", caller.user_id)
                .bind("tool", identifier),
        )
        .await?;
    if granted.granted {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "Your role does not include {identifier}"
        )))
    }
}
