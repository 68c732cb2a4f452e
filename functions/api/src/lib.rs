//! api: the REST routes for repositories, items and search, behind API Gateway's Cognito
//! authorizer. Identity comes only from the authorizer's claims in the request context.

pub mod handler;
pub mod routes;
