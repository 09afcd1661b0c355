//! Who is calling and what they may do: passwords, access tokens, opaque secrets, the
//! principal of a request, and the one policy that answers "may this principal do this?".

pub mod invitations;
pub mod jwt;
pub mod password;
pub mod policy;
pub mod principal;
pub mod secrets;
pub mod sessions;
pub mod throttle;
pub mod validity;

pub use principal::Principal;
