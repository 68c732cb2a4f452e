//! api: the REST routes for repositories, items, search, conversations, personas,
//! notifications, assistants, schedules, models, settings, roles and usage, behind API
//! Gateway's Cognito authorizer. Identity comes only from the authorizer's claims in the
//! request context.

pub mod admin;
pub mod assistant_routes;
pub mod conversations;
pub mod execution_routes;
pub mod handler;
pub mod notifications;
pub mod personas;
pub mod routes;
