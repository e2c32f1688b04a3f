//! A small macro for the many closed vocabularies of the trade (tiers, stages, roles): each is a
//! Rust enum that reads and writes one fixed snake_case spelling, the same in JSON, SQL and CSV.

/// Declares an enum whose variants each carry their one external spelling.
#[macro_export]
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];
            /// Every spelling, in declaration order.
            pub const NAMES: &'static [&'static str] = &[ $( $text ),+ ];

            /// The one external spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text ),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err($crate::error::UnknownValue {
                        kind: stringify!($name),
                        value: s.to_string(),
                        allowed: $name::NAMES,
                    }),
                }
            }
        }
    };
}

/// Implements `overlay` for a draft: the fields the patch carries replace the base's, the others
/// stay. This is how a PATCH merges over the stored record before the whole is validated again.
#[macro_export]
macro_rules! overlay {
    ($draft:ty { $($field:ident),+ $(,)? }) => {
        impl $draft {
            /// `self` with every field that `patch` carries replaced.
            pub fn overlay(self, patch: $draft) -> $draft {
                Self { $( $field: patch.$field.or(self.$field) ),+ }
            }
        }
    };
}
