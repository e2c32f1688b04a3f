//! Typed identifiers, so an account id is never passed where a contact id is meant.

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    )+};
}

id_type!(
    /// A customer company.
    AccountId,
    /// A person at a customer.
    ContactId,
    /// One contract term.
    SubscriptionId,
    /// A support ticket.
    TicketId,
    /// One survey answer.
    SurveyResponseId,
    /// A meeting, call, QBR, note, ...
    TouchpointId,
    /// A team member who signs in.
    UserId,
    /// An API token.
    TokenId,
    /// A product feature in the catalogue.
    FeatureId,
    /// A derived revenue movement.
    MovementId,
);
