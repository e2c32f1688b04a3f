//! Insight: the analytics over the portfolio, as pure functions over plain data. The store
//! gathers the inputs; the server and the web UI show the results.
//!
//! - [`dashboard`]: the executive dashboard's revenue, health and engagement figures;
//! - [`renewals`]: renewal outcomes and rates, the CSM's call and the risk-weighted forecast;
//! - [`drivers`]: churned against renewed accounts on each indicator at a lead time, and the
//!   scorecard weights that follows from it;
//! - [`model`]: the churn prediction model and its time-based validation;
//! - [`definitions`]: what each figure means, in Japanese and English;
//! - [`stats`]: AUC, effect size, quantiles;
//! - [`report`]: the report builder's catalogue of fields and its validated definitions;
//! - [`team`]: each CSM's workload.

pub mod dashboard;
pub mod definitions;
pub mod drivers;
pub mod model;
pub mod renewals;
pub mod report;
pub mod stats;
pub mod team;

/// The lead time a churn analysis looks back from a renewal date unless told otherwise.
pub const DEFAULT_LEAD_DAYS: i64 = 90;
