//! The one place that says who may call what.
//!
//! Every route of the API is in `ROUTES` with its access rule. A request is authorized by the
//! middleware in `principal.rs` against this table before any handler runs; a handler that
//! needs a principal cannot get one for a route missing from the table (deny by default), and
//! a test fails when a route of the OpenAPI document is missing here.
//!
//! Object-level rules (which records of the organization a principal may touch) are the pure
//! functions at the end; the query layer applies them and answers 404 for anything out of reach.

use uuid::Uuid;

use super::principal::Principal;
use crate::domain::identity::{Role, Scope};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no token.
    Public,
    /// Any valid user token or service token.
    Authenticated,
    /// Users with one of these roles; service tokens (which act as their admin) only when the
    /// route names a scope and the token holds it.
    Roles(&'static [Role], Option<Scope>),
}

#[derive(Debug, Clone, Copy)]
pub struct RouteRule {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const ADMIN: &[Role] = &[Role::Admin];

const fn rule(method: &'static str, path: &'static str, access: Access) -> RouteRule {
    RouteRule {
        method,
        path,
        access,
    }
}

pub const ROUTES: &[RouteRule] = &[
    rule("GET", "/healthz", Access::Public),
    rule("GET", "/readyz", Access::Public),
    rule("GET", "/metrics", Access::Public),
    rule("GET", "/openapi.json", Access::Public),
    rule("POST", "/v1/auth/login", Access::Public),
    rule("POST", "/v1/auth/refresh", Access::Public),
    rule("POST", "/v1/auth/logout", Access::Public),
    rule("POST", "/v1/auth/invitations/accept", Access::Public),
    rule("GET", "/v1/me", Access::Authenticated),
    rule(
        "GET",
        "/v1/organization",
        Access::Roles(ADMIN, Some(Scope::OrganizationRead)),
    ),
    rule(
        "PATCH",
        "/v1/organization",
        Access::Roles(ADMIN, Some(Scope::OrganizationWrite)),
    ),
    rule(
        "GET",
        "/v1/coaches",
        Access::Roles(ADMIN, Some(Scope::CoachesRead)),
    ),
    rule(
        "POST",
        "/v1/coaches",
        Access::Roles(ADMIN, Some(Scope::CoachesWrite)),
    ),
    rule(
        "GET",
        "/v1/coaches/{id}",
        Access::Roles(ADMIN, Some(Scope::CoachesRead)),
    ),
    rule(
        "PATCH",
        "/v1/coaches/{id}",
        Access::Roles(ADMIN, Some(Scope::CoachesWrite)),
    ),
    rule(
        "DELETE",
        "/v1/coaches/{id}",
        Access::Roles(ADMIN, Some(Scope::CoachesWrite)),
    ),
    // A token never mints or lists tokens: only a signed-in admin does.
    rule("GET", "/v1/service-tokens", Access::Roles(ADMIN, None)),
    rule("POST", "/v1/service-tokens", Access::Roles(ADMIN, None)),
    rule(
        "DELETE",
        "/v1/service-tokens/{id}",
        Access::Roles(ADMIN, None),
    ),
];

pub fn rule_for(method: &str, path_pattern: &str) -> Option<&'static RouteRule> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path_pattern)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No valid credentials (401).
    Unauthenticated,
    /// Valid credentials, but this role or token may not call this route (403).
    Forbidden,
}

pub fn decide(access: Access, principal: Option<&Principal>) -> Decision {
    match (access, principal) {
        (Access::Public, _) => Decision::Allow,
        (_, None) => Decision::Unauthenticated,
        (Access::Authenticated, Some(_)) => Decision::Allow,
        (Access::Roles(roles, scope), Some(p)) => {
            if !roles.contains(&p.role) {
                return Decision::Forbidden;
            }
            match (&p.service_token, scope) {
                (None, _) => Decision::Allow,
                (Some(token), Some(needed)) if token.scopes.contains(&needed) => Decision::Allow,
                (Some(_), _) => Decision::Forbidden,
            }
        }
    }
}

/// Whether a record of `organization_id` is within the principal's reach at all.
pub fn same_organization(principal: &Principal, organization_id: Uuid) -> bool {
    principal.organization_id == organization_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::ServiceTokenGrant;

    fn user(role: Role) -> Principal {
        Principal {
            user_id: Uuid::now_v7(),
            organization_id: Uuid::now_v7(),
            role,
            service_token: None,
        }
    }

    fn token(scopes: Vec<Scope>) -> Principal {
        Principal {
            service_token: Some(ServiceTokenGrant {
                id: Uuid::now_v7(),
                scopes,
            }),
            ..user(Role::Admin)
        }
    }

    #[test]
    fn routes_are_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }

    #[test]
    fn roles_and_scopes_decide() {
        let coaches = rule_for("GET", "/v1/coaches").unwrap().access;
        assert_eq!(decide(coaches, None), Decision::Unauthenticated);
        assert_eq!(
            decide(coaches, Some(&user(Role::Coach))),
            Decision::Forbidden
        );
        assert_eq!(decide(coaches, Some(&user(Role::Admin))), Decision::Allow);
        assert_eq!(
            decide(coaches, Some(&token(vec![Scope::CoachesRead]))),
            Decision::Allow
        );
        assert_eq!(
            decide(coaches, Some(&token(vec![Scope::ClientsImport]))),
            Decision::Forbidden
        );
        let tokens = rule_for("POST", "/v1/service-tokens").unwrap().access;
        assert_eq!(
            decide(tokens, Some(&token(Scope::ALL.to_vec()))),
            Decision::Forbidden
        );
        let me = rule_for("GET", "/v1/me").unwrap().access;
        assert_eq!(decide(me, Some(&user(Role::Client))), Decision::Allow);
        assert_eq!(decide(me, None), Decision::Unauthenticated);
        assert_eq!(decide(Access::Public, None), Decision::Allow);
    }
}
