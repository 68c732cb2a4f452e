//! api: the REST routes for repositories, items, search, assistants and schedules, behind API Gateway's Cognito
//! authorizer. Identity comes only from the authorizer's claims in the request context.

pub mod assistant_routes;
pub mod handler;
pub mod routes;
