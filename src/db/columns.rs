//! The domain's enums as the database stores them: each enum-like `text` column is read into its
//! domain type here, once. A value the code does not know fails the read (a 500 with the cause in
//! the log) instead of quietly becoming some other value. Writes store `as_str()`.

use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::Text;

use crate::domain::client::{ClientStatus, DeliveryType};
use crate::domain::identity::Role;
use crate::domain::plan::{PlanStatus, TransitionAction};
use crate::domain::program::StageKey;
use crate::domain::recovery::Breastfeeding;
use crate::domain::triage::{FlagLevel, Timing, TriageLevel};

/// A column's text as a domain value, or an error that names both.
fn known<T>(text: &str, parse: impl Fn(&str) -> Option<T>, name: &str) -> deserialize::Result<T> {
    parse(text).ok_or_else(|| format!("{text:?} is not a {name}").into())
}

macro_rules! text_column {
    ($($domain:ty),* $(,)?) => {$(
        impl FromSql<Text, Pg> for $domain {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(value)?;
                known(&text, <$domain>::parse, stringify!($domain))
            }
        }

        impl Queryable<Text, Pg> for $domain {
            type Row = Self;

            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        impl AsExpression<Text> for $domain {
            type Expression = <&'static str as AsExpression<Text>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<Text>>::as_expression(self.as_str())
            }
        }

        impl AsExpression<Text> for &$domain {
            type Expression = <&'static str as AsExpression<Text>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<Text>>::as_expression(self.as_str())
            }
        }
    )*};
}

text_column!(
    ClientStatus,
    DeliveryType,
    Role,
    PlanStatus,
    TransitionAction,
    StageKey,
    Breastfeeding,
    FlagLevel,
    Timing,
    TriageLevel,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_are_read_and_unknown_ones_fail_naming_both() {
        assert_eq!(
            known("walking_hills", StageKey::parse, "StageKey").unwrap(),
            StageKey::WalkingHills
        );
        assert_eq!(
            known("mood", FlagLevel::parse, "FlagLevel").unwrap(),
            FlagLevel::Mood
        );
        let err = known("archived", PlanStatus::parse, "PlanStatus").unwrap_err();
        assert_eq!(err.to_string(), "\"archived\" is not a PlanStatus");
        assert!(known("Green", TriageLevel::parse, "TriageLevel").is_err());
        assert!(known("", Role::parse, "Role").is_err());
    }
}
