//! A client: a new mother, her delivery and clearance. Days postpartum are always computed
//! from the baby's birth date and the day in question, never stored.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryType {
    Vaginal,
    AssistedVaginal,
    Caesarean,
}

impl DeliveryType {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryType::Vaginal => "vaginal",
            DeliveryType::AssistedVaginal => "assisted_vaginal",
            DeliveryType::Caesarean => "caesarean",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Vaginal, Self::AssistedVaginal, Self::Caesarean]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    Active,
    Paused,
    Discharged,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Active => "active",
            ClientStatus::Paused => "paused",
            ClientStatus::Discharged => "discharged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Paused, Self::Discharged]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// Days since the baby's birth on `today` (0 on the day of birth).
pub fn days_postpartum(delivery_date: NaiveDate, today: NaiveDate) -> i64 {
    (today - delivery_date).num_days()
}

/// The earliest birth date the service accepts.
pub fn earliest_delivery_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1990, 1, 1).expect("valid date")
}

/// A delivery date must be in the past (or today) and not before 1990.
pub fn check_delivery_date(date: NaiveDate, today: NaiveDate) -> Result<(), &'static str> {
    if date > today {
        Err("must not be in the future")
    } else if date < earliest_delivery_date() {
        Err("must not be before 1990-01-01")
    } else {
        Ok(())
    }
}

/// What the rules need to know about a client on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientFacts {
    pub days_postpartum: i64,
    pub cleared_for_exercise: bool,
    pub delivery_type: DeliveryType,
    /// After a caesarean birth: her scar has been reviewed and cleared.
    pub caesarean_scar_cleared: bool,
    /// Her individual jogging gate, as a day postpartum, when a coach set one.
    pub jogging_gate_day: Option<i64>,
    /// A third- or fourth-degree tear not yet cleared for impact by a pelvic-health
    /// assessment: lunges and jogging wait (R1, SPEC §1.8).
    pub oasi_hold: bool,
}

impl ClientFacts {
    /// A client after a vaginal birth with no individual gate.
    pub fn new(days_postpartum: i64, cleared_for_exercise: bool) -> Self {
        Self {
            days_postpartum,
            cleared_for_exercise,
            delivery_type: DeliveryType::Vaginal,
            caesarean_scar_cleared: false,
            jogging_gate_day: None,
            oasi_hold: false,
        }
    }
}

/// The day it is where she lives, at `now`: by her IANA time zone, or UTC when it is not one.
pub fn day_in(timezone: &str, now: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    match timezone.parse::<chrono_tz::Tz>() {
        Ok(tz) => now.with_timezone(&tz).date_naive(),
        Err(_) => now.date_naive(),
    }
}

/// How she feeds her baby now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Breastfeeding {
    Exclusive,
    Partial,
    No,
}

impl Breastfeeding {
    pub fn as_str(self) -> &'static str {
        match self {
            Breastfeeding::Exclusive => "exclusive",
            Breastfeeding::Partial => "partial",
            Breastfeeding::No => "no",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Exclusive, Self::Partial, Self::No]
            .into_iter()
            .find(|b| b.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn days_postpartum_counts_from_the_birth() {
        assert_eq!(days_postpartum(d("2026-09-01"), d("2026-09-01")), 0);
        assert_eq!(days_postpartum(d("2026-09-01"), d("2026-11-24")), 84);
    }

    #[test]
    fn delivery_dates_in_the_future_or_before_1990_are_refused() {
        let today = d("2026-11-25");
        assert!(check_delivery_date(d("2026-11-25"), today).is_ok());
        assert!(check_delivery_date(d("2026-11-26"), today).is_err());
        assert!(check_delivery_date(d("1989-12-31"), today).is_err());
        assert!(check_delivery_date(d("1990-01-01"), today).is_ok());
    }

    #[test]
    fn enums_round_trip() {
        for t in ["vaginal", "assisted_vaginal", "caesarean"] {
            assert_eq!(DeliveryType::parse(t).unwrap().as_str(), t);
        }
        for s in ["active", "paused", "discharged"] {
            assert_eq!(ClientStatus::parse(s).unwrap().as_str(), s);
        }
    }
}
