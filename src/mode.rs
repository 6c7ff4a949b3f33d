//! Which events a deployment accepts: test or live mode, and (Connect platforms) which accounts.
//!
//! An event of another mode or account is still acknowledged (Stripe would retry a refusal for
//! days), but its record is `ignored` with the reason, so it is never merged into an order.

use std::collections::BTreeSet;
use std::fmt;

/// The word for events that carry no `account` (the platform's own), in an account list.
pub const PLATFORM: &str = "platform";

/// A mode/account configuration that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeError {
    pub message: String,
}

impl ModeError {
    pub fn code(&self) -> &'static str {
        "invalid_mode"
    }
}

impl fmt::Display for ModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ModeError {}

/// The events a deployment accepts. The default accepts every mode and account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModeGuard {
    /// `Some(false)`: test mode only; `Some(true)`: live mode only; `None`: both.
    pub livemode: Option<bool>,
    /// The accepted `account` values (`acct_…`, and [`PLATFORM`] for events without one);
    /// `None`: any.
    pub accounts: Option<BTreeSet<String>>,
}

impl ModeGuard {
    /// From configuration text: `mode` is `test`, `live` or `any` (empty: any); `accounts` a
    /// comma-separated list of `acct_…` ids and `platform` (empty: any).
    pub fn parse(mode: &str, accounts: &str) -> Result<ModeGuard, ModeError> {
        let livemode = match mode.trim() {
            "" | "any" => None,
            "test" => Some(false),
            "live" => Some(true),
            _ => {
                return Err(ModeError {
                    message: "the mode must be test, live or any".to_owned(),
                })
            }
        };
        let list: BTreeSet<String> = accounts
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = list
            .iter()
            .find(|a| *a != PLATFORM && !a.starts_with("acct_"))
        {
            let shown: String = bad.chars().take(40).collect();
            return Err(ModeError {
                message: format!("accounts must be acct_… ids or {PLATFORM}; {shown:?} is neither"),
            });
        }
        Ok(ModeGuard {
            livemode,
            accounts: (!list.is_empty()).then_some(list),
        })
    }

    /// Why an event of this mode and account is not accepted, or `None` when it is.
    pub fn refusal(&self, livemode: bool, account: Option<&str>) -> Option<String> {
        if let Some(want) = self.livemode.filter(|want| *want != livemode) {
            let (got, want) = if want {
                ("test", "live")
            } else {
                ("live", "test")
            };
            return Some(format!(
                "a {got}-mode event; this deployment accepts {want} mode only"
            ));
        }
        let accounts = self.accounts.as_ref()?;
        let account = account.unwrap_or(PLATFORM);
        if accounts.contains(account) {
            return None;
        }
        Some(if account == PLATFORM {
            "a platform event; this deployment accepts connected accounts only".to_owned()
        } else {
            "an event of a connected account this deployment does not accept".to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_accounts() {
        let any = ModeGuard::default();
        assert_eq!(any.refusal(true, Some("acct_1")), None);
        let test = ModeGuard::parse("test", "").unwrap();
        assert_eq!(test.refusal(false, None), None);
        assert!(test.refusal(true, None).unwrap().contains("live-mode"));
        let live = ModeGuard::parse(" live ", "acct_1, platform").unwrap();
        assert_eq!(live.refusal(true, None), None);
        assert_eq!(live.refusal(true, Some("acct_1")), None);
        assert!(live.refusal(true, Some("acct_2")).is_some());
        assert!(live.refusal(false, Some("acct_1")).is_some());
        let connect = ModeGuard::parse("any", "acct_9").unwrap();
        assert!(connect.refusal(false, None).unwrap().contains("platform"));
        assert!(ModeGuard::parse("production", "").is_err());
        let err = ModeGuard::parse("", "acct_1,cus_SECRETISH").unwrap_err();
        assert_eq!(err.code(), "invalid_mode");
    }
}
