//! The domain's values as the database stores them, read into their types here, once: each
//! enum-like `text` column as its domain enum, and each `jsonb` column that holds domain values
//! as [`Stored`] of their type. A value the code does not know fails the read (a 500 with the
//! cause in the log) instead of quietly becoming some other value or nothing.

use std::fmt::Debug;
use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow, Queryable};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Jsonb, Nullable, Text, Uuid as SqlUuid};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::assessment::AssessmentKind;
use crate::domain::client::Breastfeeding;
use crate::domain::client::{ClientStatus, DeliveryType};
use crate::domain::identity::{ActorType, Role};
use crate::domain::ids::{ClientId, OrganizationId, PlanId, ReportId, UserId};
use crate::domain::plan::{PlanStatus, TransitionAction};
use crate::domain::program::{ReadinessTestKey, StageKey};
use crate::domain::readiness::TestSide;
use crate::domain::rules::Rule;
use crate::domain::trace::RunCauseKind;
use crate::domain::triage::{FlagLevel, FlagStatus, Timing, TriageLevel, Urgency, UrineLeak};
use crate::domain::webhook::DeliveryStatus;

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

        text_column!(@expression $domain, Text);
        text_column!(@expression $domain, Nullable<Text>);
    )*};
    (@expression $domain:ty, $sql:ty) => {
        impl AsExpression<$sql> for $domain {
            type Expression = <&'static str as AsExpression<$sql>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<$sql>>::as_expression(self.as_str())
            }
        }

        impl AsExpression<$sql> for &$domain {
            type Expression = <&'static str as AsExpression<$sql>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<$sql>>::as_expression(self.as_str())
            }
        }
    };
}

text_column!(
    AssessmentKind,
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
    Urgency,
    Rule,
    FlagStatus,
    ReadinessTestKey,
    TestSide,
    UrineLeak,
    RunCauseKind,
    ActorType,
    DeliveryStatus,
);

macro_rules! uuid_column {
    ($($id:ident),* $(,)?) => {$(
        impl FromSql<SqlUuid, Pg> for $id {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                <Uuid as FromSql<SqlUuid, Pg>>::from_sql(value).map($id)
            }
        }

        impl ToSql<SqlUuid, Pg> for $id {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <Uuid as ToSql<SqlUuid, Pg>>::to_sql(&self.0, out)
            }
        }

        impl Queryable<SqlUuid, Pg> for $id {
            type Row = Self;

            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        uuid_column!(@expression $id, SqlUuid);
        uuid_column!(@expression $id, Nullable<SqlUuid>);
    )*};
    (@expression $id:ident, $sql:ty) => {
        impl AsExpression<$sql> for $id {
            type Expression = <Uuid as AsExpression<$sql>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <Uuid as AsExpression<$sql>>::as_expression(self.0)
            }
        }

        impl AsExpression<$sql> for &$id {
            type Expression = <Uuid as AsExpression<$sql>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <Uuid as AsExpression<$sql>>::as_expression(self.0)
            }
        }
    };
}

uuid_column!(OrganizationId, ClientId, UserId, PlanId, ReportId);

/// A `jsonb` column holding domain values of type `T` (a report's findings, a kept answer's
/// headers): read and written as `T`, and a stored value that is not a `T` fails the read.
#[derive(Debug, Clone, PartialEq, Default, AsExpression, FromSqlRow)]
#[diesel(sql_type = Jsonb)]
pub struct Stored<T>(pub T);

impl<T: DeserializeOwned + Debug> FromSql<Jsonb, Pg> for Stored<T> {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        // jsonb's binary form: its version, then the JSON text, read straight into `T`.
        match value.as_bytes().split_first() {
            Some((1, json)) => Ok(Stored(serde_json::from_slice(json)?)),
            _ => Err("unsupported jsonb encoding version".into()),
        }
    }
}

impl<T: Serialize + Debug> ToSql<Jsonb, Pg> for Stored<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        // jsonb's binary form: its version, then the JSON text.
        out.write_all(&[1])?;
        serde_json::to_writer(out, &self.0)?;
        Ok(IsNull::No)
    }
}

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

    #[test]
    fn the_enums_newly_read_at_the_edge_read_back_and_an_unknown_value_fails() {
        use FlagStatus::{Open, Resolved};
        for status in [Open, Resolved] {
            assert_eq!(FlagStatus::parse(status.as_str()), Some(status));
        }
        // Once read as "not open, so resolved": a flag must never leave the inbox that way.
        let err = known("closed", FlagStatus::parse, "FlagStatus").unwrap_err();
        assert_eq!(err.to_string(), "\"closed\" is not a FlagStatus");
        for side in [TestSide::Left, TestSide::Right, TestSide::Both] {
            assert_eq!(TestSide::parse(side.as_str()), Some(side));
        }
        assert_eq!(
            ReadinessTestKey::parse("walk_30_min"),
            Some(ReadinessTestKey::Walk30Min)
        );
        assert_eq!(UrineLeak::parse("drops"), Some(UrineLeak::Drops));
        assert_eq!(
            RunCauseKind::parse("flag_resolved"),
            Some(RunCauseKind::FlagResolved)
        );
        for actor in [
            ActorType::User,
            ActorType::ServiceToken,
            ActorType::Engine,
            ActorType::System,
        ] {
            assert_eq!(ActorType::parse(actor.as_str()), Some(actor));
        }
        // Once read as "not delivered nor failed, so pending": it would be retried forever.
        assert!(known("sent", DeliveryStatus::parse, "DeliveryStatus").is_err());
        // Once read as "not user, token or engine, so system".
        assert!(known("robot", ActorType::parse, "ActorType").is_err());
        for unknown in ["", "Left", "walk_30", "litres"] {
            assert!(TestSide::parse(unknown).is_none());
            assert!(ReadinessTestKey::parse(unknown).is_none());
            assert!(UrineLeak::parse(unknown).is_none());
            assert!(RunCauseKind::parse(unknown).is_none());
        }
    }
}
