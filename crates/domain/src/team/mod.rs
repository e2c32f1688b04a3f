//! The team side of customer success, as pure functions over plain data:
//!
//! - [`competency`]: the competency framework (skills × levels, each level described per skill),
//!   the career ladder (levels with the skill levels they expect), and where a CSM stands against
//!   it (gaps, readiness for the next level, the radar chart's series);
//! - [`incentive`]: the incentive plan calculator, whose bonus weighs revenue goals (renewal,
//!   net new MRR from existing customers) together with customer satisfaction (NPS) so that an
//!   upsell is never rewarded at the customer's expense.
//!
//! The CSM workload (accounts, ARR, risk, tasks per CSM) is in [`crate::insight::team`].

pub mod competency;
pub mod incentive;
