//! Kizuna's domain: the customer success vocabulary as types.
//!
//! Every value that must be valid is checked in exactly one constructor (`parse`), so a value that
//! exists is valid. This crate knows no SQL, no HTTP and no async runtime; the store persists these
//! types and the server exposes them.

pub mod account;
pub mod automation;
pub mod champion;
pub mod condition;
pub mod contact;
pub mod email;
pub mod error;
pub mod feature;
pub mod health;
pub mod ids;
pub mod indicator;
pub mod insight;
pub mod journey;
mod macros;
pub mod metric;
pub mod money;
pub mod page;
pub mod revenue;
pub mod review;
pub mod scorecard;
pub mod segment;
pub mod segmentation;
pub mod subscription;
pub mod survey;
pub mod team;
pub mod template;
pub mod text;
pub mod ticket;
pub mod token;
pub mod touchpoint;
pub mod usage;
pub mod user;

pub use error::{FieldError, UnknownValue, ValidationError};
