//! Who people are to the service: roles, the scopes of script tokens, and the values a person
//! types in when an account is made (email, name, password).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{ClientId, OrganizationId, UserId};

/// Who acted: in the audit trail, a plan's transitions (`user`, `service_token` or `engine`)
/// and webhook payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorType {
    /// A signed-in person (`actor_id` is her user id).
    User,
    /// A script (`actor_id` is the service token's id).
    ServiceToken,
    /// The progression engine, acting on a report, session or readiness result.
    Engine,
    /// The service itself (for example an erasure's own record).
    System,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::User => "user",
            ActorType::ServiceToken => "service_token",
            ActorType::Engine => "engine",
            ActorType::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::User, Self::ServiceToken, Self::Engine, Self::System]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// What a user is in her organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything in the organization: staff, service tokens, programs, every client.
    Admin,
    /// Her own clients and the organization's programs.
    Coach,
    /// A new mother: her own record only.
    Client,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Coach, Role::Client];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coach => "coach",
            Role::Client => "client",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What a service token may do. A token acts as the admin who made it, within these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    #[serde(rename = "organization:read")]
    OrganizationRead,
    #[serde(rename = "organization:write")]
    OrganizationWrite,
    #[serde(rename = "coaches:read")]
    CoachesRead,
    #[serde(rename = "coaches:write")]
    CoachesWrite,
    #[serde(rename = "clients:read")]
    ClientsRead,
    #[serde(rename = "clients:write")]
    ClientsWrite,
    #[serde(rename = "clients:import")]
    ClientsImport,
    #[serde(rename = "programs:read")]
    ProgramsRead,
    #[serde(rename = "programs:write")]
    ProgramsWrite,
}

impl Scope {
    pub const ALL: [Scope; 9] = [
        Scope::OrganizationRead,
        Scope::OrganizationWrite,
        Scope::CoachesRead,
        Scope::CoachesWrite,
        Scope::ClientsRead,
        Scope::ClientsWrite,
        Scope::ClientsImport,
        Scope::ProgramsRead,
        Scope::ProgramsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::OrganizationRead => "organization:read",
            Scope::OrganizationWrite => "organization:write",
            Scope::CoachesRead => "coaches:read",
            Scope::CoachesWrite => "coaches:write",
            Scope::ClientsRead => "clients:read",
            Scope::ClientsWrite => "clients:write",
            Scope::ClientsImport => "clients:import",
            Scope::ProgramsRead => "programs:read",
            Scope::ProgramsWrite => "programs:write",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Scopes stored as one space-separated string, as OAuth writes them.
    pub fn parse_list(s: &str) -> Vec<Scope> {
        s.split_whitespace().filter_map(Scope::parse).collect()
    }

    pub fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// An email address, trimmed; compared case-insensitively by the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        if s.len() < 3 || s.len() > 254 {
            return Err("must be between 3 and 254 characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("must be a valid email address");
        };
        let valid = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && !domain.contains('@');
        if valid {
            Ok(Self(s.to_string()))
        } else {
            Err("must be a valid email address")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("must not be empty");
        }
        if s.chars().count() > 200 {
            return Err("must be at most 200 characters");
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password a person chose: long enough to resist guessing, short enough to hash cheaply.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(format!("must be at least {} characters", Self::MIN_CHARS));
        }
        if n > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// What a service token grants: which token it is, and the scopes that narrow its admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTokenGrant {
    pub id: uuid::Uuid,
    pub scopes: Vec<Scope>,
}

/// Who is calling. A service token is the admin who made it, narrowed to its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub organization_id: OrganizationId,
    pub role: Role,
    /// For a client: her own record.
    pub client_id: Option<ClientId>,
    pub service_token: Option<ServiceTokenGrant>,
}

impl Principal {
    /// Who is calling, as one id: the service token's, or the user's. Throttles, concurrency
    /// limits and idempotency keys are per caller.
    pub fn caller_id(&self) -> uuid::Uuid {
        self.service_token.as_ref().map_or(self.user_id.0, |t| t.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(
            Scope::parse_list(&Scope::join(&[Scope::ClientsRead, Scope::ClientsImport])),
            vec![Scope::ClientsRead, Scope::ClientsImport]
        );
    }

    #[test]
    fn emails() {
        assert!(EmailAddress::parse("  ana@example.org ").is_ok());
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "ana@example",
            "a na@example.org",
            "ana@.org",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            PersonName::parse(" Ana Lima ").unwrap().as_str(),
            "Ana Lima"
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(201)).is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn passwords() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        assert!(NewPassword::parse("correct horse battery").is_ok());
        assert!(
            !format!("{:?}", NewPassword::parse("correct horse battery").unwrap())
                .contains("horse")
        );
    }
}
