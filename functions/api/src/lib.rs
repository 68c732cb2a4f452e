//! api: the REST routes for repositories, items, search, conversations, personas,
//! notifications, assistants, schedules, models, settings, roles and usage, behind API
//! Gateway's Cognito authorizer. Identity comes only from the authorizer's claims in the
//! request context.
//!
//! [`handler`] resolves the caller and hands a [`extract::Call`] to [`routes`], where each
//! resource's router parses its input and calls the domain in `shared`; [`deps`] holds
//! what they reach.

pub mod config;
pub mod deps;
pub mod extract;
pub mod handler;
pub mod routes;
