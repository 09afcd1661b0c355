//! The ids of the records that tenancy and access turn on, each its own type: a client's id
//! cannot be passed where an organization's or a user's is expected. Each is a UUID (v7 when
//! the service makes it), written and read as one in JSON and in the database
//! (`db::columns`). The API's documents keep plain UUIDs; the conversion is at the edge.
//!
//! ```compile_fail
//! use runback::domain::ids::{ClientId, OrganizationId};
//! fn of_organization(_: OrganizationId) {}
//! of_organization(ClientId::generate()); // a client's id is not an organization's
//! ```

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id, ordered by the time it was made (UUID v7).
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

ids! {
    /// A practice: the tenant every record belongs to.
    OrganizationId;
    /// A mother in a practice's care.
    ClientId;
    /// A person who signs in: an admin, a coach, or a client's own login.
    UserId;
    /// Her run through a program (`plans`).
    PlanId;
    /// A symptom report of hers (`symptom_reports`).
    ReportId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_uuids_in_json_and_text() {
        let uuid = Uuid::now_v7();
        let id = ClientId(uuid);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{uuid}\""));
        assert_eq!(
            serde_json::from_str::<ClientId>(&format!("\"{uuid}\"")).unwrap(),
            id
        );
        assert_eq!(id.to_string(), uuid.to_string());
        assert_eq!(Uuid::from(id), uuid);
        assert_ne!(ClientId::generate(), ClientId::generate());
    }
}
