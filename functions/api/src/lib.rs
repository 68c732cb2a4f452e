//! api: the REST routes for repositories, items, search, conversations and notifications, behind API Gateway's Cognito
//! authorizer. Identity comes only from the authorizer's claims in the request context.

pub mod conversations;
pub mod handler;
pub mod notifications;
pub mod routes;
