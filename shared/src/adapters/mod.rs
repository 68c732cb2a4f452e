//! Implementations of the ports: AWS services through the official SDK clients (which the
//! local stack serves through moto), one file per port.

pub mod aws;
