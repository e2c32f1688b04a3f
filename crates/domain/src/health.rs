//! Health vocabulary shared by accounts, snapshots and analytics.

use crate::string_enum;

string_enum! {
    /// The traffic-light grade of a health score.
    pub enum HealthBand {
        Red = "red",
        Yellow = "yellow",
        Green = "green",
    }
}

string_enum! {
    /// Which way a score moved since the previous snapshot.
    pub enum Trend {
        Up = "up",
        Down = "down",
        Flat = "flat",
    }
}
