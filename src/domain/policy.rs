//! The one place that says who may call what.
//!
//! Every route of the API is in `ROUTES` with its access rule. A request is authorized by the
//! middleware in `api/authorize.rs` against this table before any handler runs; a handler that
//! needs a principal cannot get one for a route missing from the table (deny by default), and
//! a test fails when a route of the OpenAPI document is missing here.
//!
//! Object-level rules (which records of the organization a principal may touch) are the pure
//! functions at the end; the query layer applies them and answers 404 for anything out of reach.

use super::identity::{Principal, Role, Scope};
use super::ids::{ClientId, OrganizationId, UserId};

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
const STAFF: &[Role] = &[Role::Admin, Role::Coach];
const ANYONE: &[Role] = &[Role::Admin, Role::Coach, Role::Client];

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
    rule("GET", "/problems/{problem}", Access::Public),
    rule("POST", "/v1/auth/login", Access::Public),
    rule("POST", "/v1/auth/refresh", Access::Public),
    rule("POST", "/v1/auth/logout", Access::Public),
    rule("POST", "/v1/auth/invitations/accept", Access::Public),
    rule("GET", "/v1/me", Access::Authenticated),
    // Signs a person out everywhere; a service token is not a sign-in (403).
    rule("POST", "/v1/auth/logout-all", Access::Roles(ANYONE, None)),
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
    rule("GET", "/v1/audit-events", Access::Roles(ADMIN, None)),
    // Webhooks carry a signing secret: only a signed-in admin manages them.
    rule("GET", "/v1/webhooks", Access::Roles(ADMIN, None)),
    rule("POST", "/v1/webhooks", Access::Roles(ADMIN, None)),
    rule("GET", "/v1/webhooks/{id}", Access::Roles(ADMIN, None)),
    rule("PATCH", "/v1/webhooks/{id}", Access::Roles(ADMIN, None)),
    rule("DELETE", "/v1/webhooks/{id}", Access::Roles(ADMIN, None)),
    rule(
        "GET",
        "/v1/webhooks/{id}/deliveries",
        Access::Roles(ADMIN, None),
    ),
    rule("POST", "/v1/webhooks/{id}/test", Access::Roles(ADMIN, None)),
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
    // A password reset hands over an account: only a signed-in admin, never a token.
    rule(
        "POST",
        "/v1/coaches/{id}/invitation",
        Access::Roles(ADMIN, None),
    ),
    // A token never mints or lists tokens: only a signed-in admin does.
    rule("GET", "/v1/service-tokens", Access::Roles(ADMIN, None)),
    rule("POST", "/v1/service-tokens", Access::Roles(ADMIN, None)),
    rule(
        "DELETE",
        "/v1/service-tokens/{id}",
        Access::Roles(ADMIN, None),
    ),
    rule(
        "GET",
        "/v1/programs",
        Access::Roles(ANYONE, Some(Scope::ProgramsRead)),
    ),
    rule(
        "POST",
        "/v1/programs",
        Access::Roles(STAFF, Some(Scope::ProgramsWrite)),
    ),
    rule(
        "GET",
        "/v1/programs/{id}",
        Access::Roles(ANYONE, Some(Scope::ProgramsRead)),
    ),
    rule(
        "PUT",
        "/v1/programs/{id}",
        Access::Roles(STAFF, Some(Scope::ProgramsWrite)),
    ),
    rule(
        "GET",
        "/v1/clients",
        Access::Roles(STAFF, Some(Scope::ClientsRead)),
    ),
    rule(
        "POST",
        "/v1/clients",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "PATCH",
        "/v1/clients/{client_id}",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    // Erasure is final and removes her record: a signed-in admin only (not a coach, not a
    // token). What it keeps and what it removes is in `db::erasure`.
    rule(
        "DELETE",
        "/v1/clients/{client_id}",
        Access::Roles(ADMIN, None),
    ),
    rule(
        "POST",
        "/v1/clients/{client_id}/invitation",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/export",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "POST",
        "/v1/clients/{client_id}/plan",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/fhir",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "GET",
        "/v1/programs/{id}/fhir",
        Access::Roles(ANYONE, Some(Scope::ProgramsRead)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/plan",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/plan/today",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "PUT",
        "/v1/clients/{client_id}/plan/jogging-gate",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    rule(
        "DELETE",
        "/v1/clients/{client_id}/plan/jogging-gate",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    rule(
        "PUT",
        "/v1/clients/{client_id}/caesarean-scar-clearance",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    rule(
        "DELETE",
        "/v1/clients/{client_id}/caesarean-scar-clearance",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/plan/recommendation",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/plan/transitions",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "POST",
        "/v1/clients/{client_id}/plan/transitions",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/sessions",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "POST",
        "/v1/clients/{client_id}/sessions",
        Access::Roles(ANYONE, Some(Scope::ClientsWrite)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/readiness-tests",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/symptom-reports",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "POST",
        "/v1/clients/{client_id}/symptom-reports",
        Access::Roles(ANYONE, Some(Scope::ClientsWrite)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/symptom-reports/{report_id}",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/check-ins",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "POST",
        "/v1/clients/{client_id}/check-ins",
        Access::Roles(ANYONE, Some(Scope::ClientsWrite)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/timeline",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    // Each caller's own reach: her records, a coach's clients, the practice.
    rule(
        "GET",
        "/v1/sync",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "GET",
        "/v1/flags",
        Access::Roles(STAFF, Some(Scope::ClientsRead)),
    ),
    rule(
        "POST",
        "/v1/imports/clients",
        Access::Roles(STAFF, Some(Scope::ClientsImport)),
    ),
    rule(
        "POST",
        "/v1/flags/{id}/resolve",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    rule(
        "POST",
        "/v1/clients/{client_id}/readiness-tests",
        Access::Roles(ANYONE, Some(Scope::ClientsWrite)),
    ),
    rule(
        "GET",
        "/v1/clients/{client_id}/assessments",
        Access::Roles(ANYONE, Some(Scope::ClientsRead)),
    ),
    rule(
        "POST",
        "/v1/clients/{client_id}/assessments",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
    rule(
        "POST",
        "/v1/clients/{client_id}/readiness-tests/{id}/confirm",
        Access::Roles(STAFF, Some(Scope::ClientsWrite)),
    ),
];

/// Routes that cost the database much more than a read of one record: limited per caller and
/// per IP address (`EXPENSIVE_REQUESTS_PER_MINUTE`), 429 with `Retry-After` beyond.
pub const EXPENSIVE: &[(&str, &str)] = &[
    ("POST", "/v1/imports/clients"),
    ("GET", "/v1/clients/{client_id}/export"),
    ("GET", "/v1/clients/{client_id}/fhir"),
    ("GET", "/v1/audit-events"),
    ("POST", "/v1/webhooks/{id}/test"),
];

pub fn is_expensive(method: &str, path_pattern: &str) -> bool {
    EXPENSIVE
        .iter()
        .any(|(m, p)| *m == method && *p == path_pattern)
}

/// The rule for a request, found from its path: a route's pattern matches when every segment
/// is equal or is a `{name}` given a non-empty segment, as the router matches them (it would
/// try each route's regex, and this runs before routing, on every request).
pub fn rule_for(method: &str, path: &str) -> Option<&'static RouteRule> {
    ROUTES
        .iter()
        .find(|r| r.method == method && pattern_matches(r.path, path))
}

fn pattern_matches(pattern: &str, path: &str) -> bool {
    // Most routes differ from the path before their first `{name}`: compare that part first.
    let fixed = &pattern[..pattern.find('{').unwrap_or(pattern.len())];
    if !path.starts_with(fixed) {
        return false;
    }
    let (mut pattern, mut path) = (pattern.split('/'), path.split('/'));
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some(p), Some(s)) if p == s || (p.starts_with('{') && !s.is_empty()) => {}
            _ => return false,
        }
    }
}

/// A password reset hands an account to whoever holds the token: only a signed-in person asks
/// for one, never a service token (a leaked script token must not become a takeover).
pub fn may_reset_passwords(principal: &Principal) -> bool {
    principal.service_token.is_none()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// No valid credentials (401).
    Unauthenticated,
    /// Valid credentials, but this role or token may not call this route (403).
    Forbidden,
}

pub fn verdict(access: Access, principal: Option<&Principal>) -> Verdict {
    match (access, principal) {
        (Access::Public, _) => Verdict::Allow,
        (_, None) => Verdict::Unauthenticated,
        (Access::Authenticated, Some(_)) => Verdict::Allow,
        (Access::Roles(roles, scope), Some(p)) => {
            if !roles.contains(&p.role) {
                return Verdict::Forbidden;
            }
            match (&p.service_token, scope) {
                (None, _) => Verdict::Allow,
                (Some(token), Some(needed)) if token.scopes.contains(&needed) => Verdict::Allow,
                (Some(_), _) => Verdict::Forbidden,
            }
        }
    }
}

/// Who a client record belongs to: what access to her depends on.
#[derive(Debug, Clone, Copy)]
pub struct ClientOwnership {
    pub id: ClientId,
    pub organization_id: OrganizationId,
    pub coach_id: Option<UserId>,
}

/// May this principal touch this client? An admin (or her service token): any client of her
/// organization. A coach: her own clients. A client: herself.
pub fn may_access_client(principal: &Principal, client: &ClientOwnership) -> bool {
    if principal.organization_id != client.organization_id {
        return false;
    }
    match principal.role {
        Role::Admin => true,
        Role::Coach => client.coach_id == Some(principal.user_id),
        Role::Client => principal.client_id == Some(client.id),
    }
}

/// The coach a client list is limited to, if any (a coach sees only her own clients).
pub fn client_list_restriction(principal: &Principal) -> Option<UserId> {
    (principal.role == Role::Coach).then_some(principal.user_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::ServiceTokenGrant;

    #[test]
    fn each_route_is_found_as_itself_so_the_request_span_names_the_router_s_pattern() {
        for rule in ROUTES {
            // The pattern itself, and a path with a value in each `{name}` segment.
            let concrete: String = rule
                .path
                .split('/')
                .map(|s| if s.starts_with('{') { "0f8e3c1a" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            for path in [rule.path, concrete.as_str()] {
                let found = rule_for(rule.method, path).expect("a rule");
                assert!(
                    (found.method, found.path) == (rule.method, rule.path),
                    "{} {path} finds {} before {}",
                    rule.method,
                    found.path,
                    rule.path
                );
            }
        }
    }

    fn user(role: Role) -> Principal {
        Principal {
            user_id: UserId::generate(),
            organization_id: OrganizationId::generate(),
            role,
            client_id: None,
            service_token: None,
        }
    }

    fn token(scopes: Vec<Scope>) -> Principal {
        Principal {
            service_token: Some(ServiceTokenGrant {
                id: uuid::Uuid::now_v7(),
                scopes,
            }),
            ..user(Role::Admin)
        }
    }

    #[test]
    fn client_access_follows_role_and_ownership() {
        let coach = user(Role::Coach);
        let client = ClientOwnership {
            id: ClientId::generate(),
            organization_id: coach.organization_id,
            coach_id: Some(coach.user_id),
        };
        assert!(may_access_client(&coach, &client));
        let other_coach = Principal {
            user_id: UserId::generate(),
            ..coach.clone()
        };
        assert!(!may_access_client(&other_coach, &client));
        let admin = Principal {
            role: Role::Admin,
            ..other_coach.clone()
        };
        assert!(may_access_client(&admin, &client));
        let foreign_admin = Principal {
            organization_id: OrganizationId::generate(),
            ..admin.clone()
        };
        assert!(!may_access_client(&foreign_admin, &client));
        let herself = Principal {
            role: Role::Client,
            client_id: Some(client.id),
            ..other_coach.clone()
        };
        assert!(may_access_client(&herself, &client));
        let someone_else = Principal {
            client_id: Some(ClientId::generate()),
            ..herself.clone()
        };
        assert!(!may_access_client(&someone_else, &client));
        assert_eq!(client_list_restriction(&coach), Some(coach.user_id));
        assert_eq!(client_list_restriction(&admin), None);
    }

    #[test]
    fn a_path_finds_its_own_route_and_no_other() {
        for r in ROUTES {
            let path: Vec<String> = r
                .path
                .split('/')
                .map(|s| {
                    if s.starts_with('{') {
                        "x1".into()
                    } else {
                        s.to_string()
                    }
                })
                .collect();
            let found = rule_for(r.method, &path.join("/")).unwrap();
            assert_eq!((found.method, found.path), (r.method, r.path));
        }
        let today = rule_for("GET", "/v1/clients/me/plan/today").unwrap();
        assert_eq!(today.path, "/v1/clients/{client_id}/plan/today");
        for path in [
            "/v1/clients/me/plan/today/",
            "/v1/clients//plan/today",
            "/v1/clients/me/plan/today/x",
            "/v1/clients/me/plan",
            "v1/me",
            "",
        ] {
            assert!(
                rule_for("GET", path).is_none_or(|r| r.path != today.path),
                "{path}"
            );
        }
        assert!(rule_for("GET", "/v1/clients/me/plan/").is_none());
        assert!(rule_for("PUT", "/v1/me").is_none());
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
        assert_eq!(verdict(coaches, None), Verdict::Unauthenticated);
        assert_eq!(
            verdict(coaches, Some(&user(Role::Coach))),
            Verdict::Forbidden
        );
        assert_eq!(verdict(coaches, Some(&user(Role::Admin))), Verdict::Allow);
        assert_eq!(
            verdict(coaches, Some(&token(vec![Scope::CoachesRead]))),
            Verdict::Allow
        );
        assert_eq!(
            verdict(coaches, Some(&token(vec![Scope::ClientsImport]))),
            Verdict::Forbidden
        );
        let tokens = rule_for("POST", "/v1/service-tokens").unwrap().access;
        assert_eq!(
            verdict(tokens, Some(&token(Scope::ALL.to_vec()))),
            Verdict::Forbidden
        );
        let me = rule_for("GET", "/v1/me").unwrap().access;
        assert_eq!(verdict(me, Some(&user(Role::Client))), Verdict::Allow);
        assert_eq!(verdict(me, None), Verdict::Unauthenticated);
        assert_eq!(verdict(Access::Public, None), Verdict::Allow);
    }
}
