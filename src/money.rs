//! Exact money: Stripe's currency exponents and conversions between decimal amounts and the
//! integer minor units Stripe's API uses.
//!
//! Rules (Stripe's "Supported currencies" page, <https://docs.stripe.com/currencies>):
//! - only Stripe's presentment currencies ([`SUPPORTED`]) are accepted: any other code, even a
//!   well-formed ISO 4217 one, is an [`MoneyError::UnknownCurrency`] error, never guessed to
//!   have two decimals;
//! - every supported currency is two-decimal unless listed otherwise;
//! - zero-decimal: BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF;
//! - three-decimal: BHD JOD KWD OMR TND, and the last digit of the minor amount must be 0;
//! - special cases: ISK and UGX are represented with two decimals but can only be charged in
//!   whole units (minor amount divisible by 100); HUF and TWD charge with two decimals but
//!   manual payouts must be whole units (divisible by 100).
//!
//! Nothing here uses floating point. A value that cannot be represented is an error; rounding
//! only happens through the explicit [`to_minor_rounded`].

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

/// Why an amount or currency was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MoneyError {
    /// Not a three-letter alphabetic ISO 4217 code.
    InvalidCurrency { currency: String },
    /// A well-formed code that is not one of Stripe's presentment currencies ([`SUPPORTED`]):
    /// its exponent and charge rules are unknown, so nothing is converted in it.
    UnknownCurrency { currency: String },
    /// Not a decimal number (e.g. `"1,50"`, `"abc"`, `"1e3"`, empty).
    InvalidAmount { amount: String },
    /// The amount has more decimals than the currency has.
    TooPrecise {
        amount: String,
        currency: String,
        exponent: u32,
    },
    /// The minor amount is not a multiple of what Stripe accepts for this currency
    /// (10 for three-decimal currencies, 100 for ISK and UGX).
    NotAMultiple {
        amount: String,
        currency: String,
        multiple: i64,
    },
    /// Beyond the integer range of minor units.
    Overflow { amount: String },
    /// Below Stripe's minimum charge amount for this currency.
    BelowMinimum { currency: String, minimum: String },
    /// Above Stripe's maximum charge amount for this currency.
    AboveMaximum { currency: String, maximum: String },
    /// Zero or negative where a charge needs a positive amount.
    NotPositive { amount: String },
}

impl MoneyError {
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::InvalidCurrency { .. } => "invalid_currency",
            MoneyError::UnknownCurrency { .. } => "unknown_currency",
            MoneyError::InvalidAmount { .. } => "invalid_amount",
            MoneyError::TooPrecise { .. } => "amount_too_precise",
            MoneyError::NotAMultiple { .. } => "amount_not_a_multiple",
            MoneyError::Overflow { .. } => "amount_overflow",
            MoneyError::BelowMinimum { .. } => "amount_below_minimum",
            MoneyError::AboveMaximum { .. } => "amount_above_maximum",
            MoneyError::NotPositive { .. } => "amount_not_positive",
        }
    }
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::InvalidCurrency { currency } => write!(
                f,
                "invalid currency {currency:?}: expected a three-letter ISO 4217 code such as \"usd\""
            ),
            MoneyError::UnknownCurrency { currency } => write!(
                f,
                "unknown currency {currency}: not one of the currencies Stripe charges in (https://docs.stripe.com/currencies)"
            ),
            MoneyError::InvalidAmount { amount } => write!(
                f,
                "invalid amount {amount:?}: expected a plain decimal number such as \"12.34\""
            ),
            MoneyError::TooPrecise {
                amount,
                currency,
                exponent,
            } => write!(
                f,
                "amount {amount} has more decimals than {currency} allows ({exponent}); round it explicitly"
            ),
            MoneyError::NotAMultiple {
                amount,
                currency,
                multiple,
            } => write!(
                f,
                "amount {amount} {currency} is not accepted by Stripe: the amount in minor units must be a multiple of {multiple}"
            ),
            MoneyError::Overflow { amount } => write!(
                f,
                "amount {amount} has too many digits to be represented exactly in minor units"
            ),
            MoneyError::BelowMinimum { currency, minimum } => write!(
                f,
                "amount is below Stripe's minimum charge of {minimum} {currency}"
            ),
            MoneyError::AboveMaximum { currency, maximum } => write!(
                f,
                "amount is above Stripe's maximum charge of {maximum} {currency}"
            ),
            MoneyError::NotPositive { amount } => {
                write!(f, "amount {amount} must be greater than zero")
            }
        }
    }
}

impl std::error::Error for MoneyError {}

/// Zero-decimal currencies: the amount is in whole units.
pub const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF",
    "XOF", "XPF",
];

/// Three-decimal currencies: amounts in thousandths, last digit must be 0.
pub const THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// Two-decimal in the API, but only whole units can be charged (minor amount divisible by 100).
/// Stripe lists UGX among zero-decimal currencies too, but its special-case rule (send 500 to
/// charge 5 UGX) is the one the API enforces.
pub const WHOLE_UNITS_ONLY: &[&str] = &["ISK", "UGX"];

/// Two-decimal for charges, but manual payouts must be whole units (divisible by 100).
pub const WHOLE_UNIT_PAYOUTS: &[&str] = &["HUF", "TWD"];

/// Currencies Stripe accepts as presentment (charge) currencies, from the docs' list, plus the
/// three-decimal ones offered to some account countries. This is the one list of known
/// currencies: [`Currency::new`] refuses every other code. Sorted (a test checks it).
pub const SUPPORTED: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHF", "CLP", "CNY", "COP", "CRC", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ETB",
    "EUR", "FJD", "FKP", "GBP", "GEL", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG",
    "HUF", "IDR", "ILS", "INR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
    "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB",
    "RWF", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "STD", "SZL", "THB",
    "TJS", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VND",
    "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW",
];

/// Stripe's minimum charge amounts, in minor units of the currency itself (the docs' table is
/// by settlement currency; for a charge in that same currency this is the minimum).
const MINIMUMS: &[(&str, i64)] = &[
    ("AED", 200),
    ("ARS", 50),
    ("AUD", 50),
    ("BGN", 100),
    ("BRL", 50),
    ("CAD", 50),
    ("CHF", 50),
    ("COP", 50),
    ("CZK", 1500),
    ("DKK", 250),
    ("EUR", 50),
    ("GBP", 30),
    ("HKD", 400),
    ("HUF", 17500),
    ("IDR", 50),
    ("ILS", 50),
    ("INR", 50),
    ("JPY", 50),
    ("KRW", 50),
    ("MXN", 1000),
    ("MYR", 200),
    ("NOK", 300),
    ("NZD", 50),
    ("PHP", 50),
    ("PLN", 200),
    ("RON", 200),
    ("RUB", 50),
    ("SEK", 300),
    ("SGD", 50),
    ("THB", 1000),
    ("USD", 50),
    ("ZAR", 50),
];

/// Maximum number of digits of the `amount` field (non-card limits, which hold for every
/// payment method; card networks may allow more but never less than this).
const MAX_DIGITS: &[(&str, u32)] = &[("IDR", 12), ("COP", 10), ("INR", 9)];
const DEFAULT_MAX_DIGITS: u32 = 8;

/// A currency with Stripe's rules attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
    exponent: u32,
    charge_multiple: i64,
    payout_multiple: i64,
}

impl Currency {
    /// Looks up a currency by its ISO code, in any case (Stripe writes it in lower case).
    /// A code that is not three ASCII letters is [`MoneyError::InvalidCurrency`]; a well-formed
    /// code missing from [`SUPPORTED`] is [`MoneyError::UnknownCurrency`]: its decimals are
    /// never guessed.
    pub fn new(code: &str) -> Result<Currency, MoneyError> {
        let invalid = || MoneyError::InvalidCurrency {
            currency: code.chars().take(16).collect(),
        };
        let &[a, b, c] = code.as_bytes() else {
            return Err(invalid());
        };
        let code = [a, b, c];
        if !code.iter().all(u8::is_ascii_alphabetic) {
            return Err(invalid());
        }
        let code = code.map(|b| b.to_ascii_uppercase());
        let upper = std::str::from_utf8(&code).unwrap_or("");
        if SUPPORTED.binary_search(&upper).is_err() {
            return Err(MoneyError::UnknownCurrency {
                currency: upper.to_owned(),
            });
        }
        let (exponent, charge_multiple, payout_multiple) = if ZERO_DECIMAL.contains(&upper) {
            (0, 1, 1)
        } else if THREE_DECIMAL.contains(&upper) {
            (3, 10, 10)
        } else if WHOLE_UNITS_ONLY.contains(&upper) {
            (2, 100, 100)
        } else if WHOLE_UNIT_PAYOUTS.contains(&upper) {
            (2, 1, 100)
        } else {
            (2, 1, 1)
        };
        Ok(Currency {
            code,
            exponent,
            charge_multiple,
            payout_multiple,
        })
    }

    /// The upper-case ISO code.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// The lower-case code, as Stripe's API writes it.
    pub fn stripe_code(&self) -> String {
        self.code().to_ascii_lowercase()
    }

    /// Decimal places of the minor unit in Stripe's API (0, 2 or 3).
    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    /// Charges must be a multiple of this many minor units (1, 10 or 100).
    pub fn charge_multiple(&self) -> i64 {
        self.charge_multiple
    }

    /// Manual payouts must be a multiple of this many minor units.
    pub fn payout_multiple(&self) -> i64 {
        self.payout_multiple
    }

    /// Stripe's minimum charge in minor units, where Stripe documents one for this currency.
    pub fn minimum_charge(&self) -> Option<i64> {
        MINIMUMS
            .iter()
            .find(|(c, _)| *c == self.code())
            .map(|(_, m)| *m)
    }

    /// Stripe's maximum charge in minor units (from the digit limit of the `amount` field).
    pub fn maximum_charge(&self) -> i64 {
        let digits = MAX_DIGITS
            .iter()
            .find(|(c, _)| *c == self.code())
            .map_or(DEFAULT_MAX_DIGITS, |(_, d)| *d);
        10i64.saturating_pow(digits).saturating_sub(1)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Decimal places of `currency` in Stripe's API; an error for a code not in [`SUPPORTED`].
pub fn exponent(currency: &str) -> Result<u32, MoneyError> {
    Currency::new(currency).map(|c| c.exponent())
}

/// A syntactically valid decimal string, split into its parts.
struct DecimalText<'a> {
    negative: bool,
    /// Integer digits without leading zeros (may be empty for zero).
    int: &'a str,
    /// Fraction digits without trailing zeros (may be empty).
    frac: &'a str,
}

/// Checks the syntax of a plain decimal string: optional `-`, digits, optional `.` and digits.
/// No exponents, thousands separators, `+`, spaces or empty parts.
fn split_decimal(amount: &str) -> Result<DecimalText<'_>, MoneyError> {
    let invalid = || MoneyError::InvalidAmount {
        amount: amount.chars().take(40).collect(),
    };
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || frac.is_some_and(|f| f.is_empty() || !all_digits(f)) {
        return Err(invalid());
    }
    Ok(DecimalText {
        negative,
        int: int.trim_start_matches('0'),
        frac: frac.unwrap_or("").trim_end_matches('0'),
    })
}

fn overflow(amount: &str) -> MoneyError {
    MoneyError::Overflow {
        amount: amount.chars().take(40).collect(),
    }
}

/// Parses a plain decimal string exactly (trailing zeros after the point do not count).
/// Values needing more than 28 significant digits are refused, never rounded.
pub fn parse_decimal(amount: &str) -> Result<Decimal, MoneyError> {
    let text = split_decimal(amount)?;
    let sign = if text.negative { "-" } else { "" };
    let int = if text.int.is_empty() { "0" } else { text.int };
    let canonical = if text.frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{}", text.frac)
    };
    Decimal::from_str_exact(&canonical).map_err(|_| overflow(amount))
}

/// Converts an exact decimal amount in major units to Stripe's minor units.
///
/// `"12.34"` USD -> 1234, `"500"` JPY -> 500, `"5"` ISK -> 500, `"1.230"` KWD -> 1230.
/// Errors when the currency is not one of Stripe's ([`MoneyError::UnknownCurrency`]), or the
/// amount has more decimals than the currency or breaks its multiple rule.
pub fn to_minor(amount: &str, currency: &str) -> Result<i64, MoneyError> {
    let currency = Currency::new(currency)?;
    let text = split_decimal(amount)?;
    let exponent = currency.exponent();
    if text.frac.len() > exponent as usize {
        return Err(MoneyError::TooPrecise {
            amount: amount.chars().take(40).collect(),
            currency: currency.code().to_owned(),
            exponent,
        });
    }
    // Integer arithmetic on the digits: exact by construction.
    let digits_value = |digits: &str| -> Option<i128> {
        digits.bytes().try_fold(0i128, |acc, b| {
            acc.checked_mul(10)?
                .checked_add(i128::from(b.wrapping_sub(b'0')))
        })
    };
    if text.int.len() > 20 {
        return Err(overflow(amount));
    }
    let int = digits_value(text.int).ok_or_else(|| overflow(amount))?;
    let frac = digits_value(text.frac).ok_or_else(|| overflow(amount))?;
    let frac_scale = 10i128.pow(exponent.saturating_sub(text.frac.len() as u32));
    let magnitude = int
        .checked_mul(10i128.pow(exponent))
        .and_then(|v| v.checked_add(frac.checked_mul(frac_scale)?))
        .ok_or_else(|| overflow(amount))?;
    let signed = if text.negative {
        magnitude.checked_neg().ok_or_else(|| overflow(amount))?
    } else {
        magnitude
    };
    let minor = i64::try_from(signed).map_err(|_| overflow(amount))?;
    check_multiple(minor, &currency, amount)?;
    Ok(minor)
}

fn check_multiple(minor: i64, currency: &Currency, shown: &str) -> Result<(), MoneyError> {
    if minor.checked_rem(currency.charge_multiple()) != Some(0) {
        return Err(MoneyError::NotAMultiple {
            amount: shown.chars().take(40).collect(),
            currency: currency.code().to_owned(),
            multiple: currency.charge_multiple(),
        });
    }
    Ok(())
}

/// [`to_minor`] for a [`Decimal`].
pub fn decimal_to_minor(value: Decimal, currency: &Currency) -> Result<i64, MoneyError> {
    to_minor(&value.normalize().to_string(), currency.code())
}

/// Like [`to_minor`], but rounds to what the currency accepts with an explicit strategy
/// (e.g. `"5.124"` KWD with `MidpointNearestEven` -> 5120, `"5.50"` ISK with `ToZero` -> 500).
/// An unknown currency is an error, as in [`to_minor`].
pub fn to_minor_rounded(
    amount: &str,
    currency: &str,
    strategy: RoundingStrategy,
) -> Result<i64, MoneyError> {
    let currency = Currency::new(currency)?;
    let text = split_decimal(amount)?;
    if text.int.len() > 20 {
        return Err(overflow(amount));
    }
    // Keep enough fraction digits for a correct rounding decision within Decimal's 28 digits;
    // a dropped non-zero tail becomes a final 1 (a sticky digit), so the direction is kept.
    let room = 26usize.saturating_sub(text.int.len()).max(4);
    let (kept, sticky) = match text.frac.get(..room) {
        Some(kept) if kept.len() < text.frac.len() => (kept, "1"),
        _ => (text.frac, ""),
    };
    let sign = if text.negative { "-" } else { "" };
    let int = if text.int.is_empty() { "0" } else { text.int };
    let literal = if kept.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{kept}{sticky}")
    };
    let value = Decimal::from_str_exact(&literal).map_err(|_| overflow(amount))?;
    let multiple = Decimal::from(currency.charge_multiple());
    let rounded = scale_up(value, currency.exponent())
        .and_then(|v| v.checked_div(multiple))
        .map(|v| v.round_dp_with_strategy(0, strategy))
        .and_then(|v| v.checked_mul(multiple))
        .ok_or_else(|| overflow(amount))?;
    decimal_to_i64(rounded).ok_or_else(|| overflow(amount))
}

/// Converts minor units to an exact decimal in major units, with the currency's scale
/// (1234 USD -> 12.34; 500 JPY -> 500; 1230 KWD -> 1.230). An unknown currency is an error.
pub fn from_minor(minor: i64, currency: &str) -> Result<Decimal, MoneyError> {
    Ok(minor_to_decimal(minor, &Currency::new(currency)?))
}

/// [`from_minor`] for a known [`Currency`].
pub fn minor_to_decimal(minor: i64, currency: &Currency) -> Decimal {
    // Exponents are 0..=3, well within Decimal's scale limit of 28: this cannot fail.
    Decimal::new(minor, currency.exponent())
}

/// Minor units formatted as a decimal string with the currency's scale ("12.34", "500", "1.230").
pub fn format_minor(minor: i64, currency: &Currency) -> String {
    minor_to_decimal(minor, currency).to_string()
}

/// Checks a charge amount (minor units) against Stripe's rules for the currency: positive,
/// a valid multiple, not below the documented minimum, not above the maximum.
pub fn check_charge_amount(minor: i64, currency: &Currency) -> Result<(), MoneyError> {
    let shown = || format_minor(minor, currency);
    if minor <= 0 {
        return Err(MoneyError::NotPositive { amount: shown() });
    }
    if minor.checked_rem(currency.charge_multiple()) != Some(0) {
        return Err(MoneyError::NotAMultiple {
            amount: shown(),
            currency: currency.code().to_owned(),
            multiple: currency.charge_multiple(),
        });
    }
    if let Some(min) = currency.minimum_charge() {
        if minor < min {
            return Err(MoneyError::BelowMinimum {
                currency: currency.code().to_owned(),
                minimum: format_minor(min, currency),
            });
        }
    }
    let max = currency.maximum_charge();
    if minor > max {
        return Err(MoneyError::AboveMaximum {
            currency: currency.code().to_owned(),
            maximum: format_minor(max, currency),
        });
    }
    Ok(())
}

fn scale_up(value: Decimal, exponent: u32) -> Option<Decimal> {
    value.checked_mul(Decimal::from(10i64.pow(exponent)))
}

fn decimal_to_i64(value: Decimal) -> Option<i64> {
    let value = value.trunc();
    i64::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exponents_follow_stripe() {
        assert_eq!(exponent("usd").unwrap(), 2);
        assert_eq!(exponent("JPY").unwrap(), 0);
        assert_eq!(exponent("krw").unwrap(), 0);
        assert_eq!(exponent("kwd").unwrap(), 3);
        assert_eq!(exponent("isk").unwrap(), 2);
        assert_eq!(exponent("ugx").unwrap(), 2);
        assert_eq!(exponent("huf").unwrap(), 2);
        assert_eq!(exponent("twd").unwrap(), 2);
    }

    /// The exponent each supported currency must have, written out independently of the
    /// tables above (Stripe's currencies page): zero-decimal, three-decimal, else two.
    fn expected_exponent(code: &str) -> u32 {
        const ZERO: &str = "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF";
        const THREE: &str = "BHD JOD KWD OMR TND";
        if ZERO.split(' ').any(|c| c == code) {
            0
        } else if THREE.split(' ').any(|c| c == code) {
            3
        } else {
            2
        }
    }

    #[test]
    fn every_supported_currency_is_accepted_with_its_exponent() {
        assert_eq!(SUPPORTED.len(), 139);
        assert!(
            SUPPORTED.windows(2).all(|w| w[0] < w[1]),
            "SUPPORTED is sorted and has no duplicates (Currency::new searches it)"
        );
        for table in [
            ZERO_DECIMAL,
            THREE_DECIMAL,
            WHOLE_UNITS_ONLY,
            WHOLE_UNIT_PAYOUTS,
        ] {
            for code in table {
                assert!(
                    SUPPORTED.contains(code),
                    "{code} has rules but is not in SUPPORTED"
                );
            }
        }
        let limited = MINIMUMS
            .iter()
            .map(|(c, _)| c)
            .chain(MAX_DIGITS.iter().map(|(c, _)| c));
        for code in limited {
            assert!(
                SUPPORTED.contains(code),
                "{code} has limits but is not in SUPPORTED"
            );
        }
        for &code in SUPPORTED {
            let lower = code.to_ascii_lowercase();
            let mixed: String = code
                .chars()
                .enumerate()
                .map(|(i, ch)| if i == 1 { ch.to_ascii_lowercase() } else { ch })
                .collect();
            for spelling in [code, lower.as_str(), mixed.as_str()] {
                let currency = Currency::new(spelling).unwrap();
                assert_eq!(currency.code(), code);
                assert_eq!(currency.stripe_code(), lower);
                assert_eq!(currency.exponent(), expected_exponent(code), "{code}");
                assert_eq!(
                    exponent(spelling).unwrap(),
                    expected_exponent(code),
                    "{code}"
                );
            }
        }
    }

    #[test]
    fn unknown_currencies_are_refused_everywhere() {
        // Well-formed ISO-style codes Stripe does not charge in: XCG (Caribbean guilder), the
        // replaced SLL and HRK, precious metals, test and "no currency" codes, made-up ones.
        for code in ["xcg", "SLL", "hrk", "XAU", "xts", "XXX", "abc", "Zzz"] {
            let unknown = MoneyError::UnknownCurrency {
                currency: code.to_ascii_uppercase(),
            };
            assert_eq!(Currency::new(code), Err(unknown.clone()), "{code}");
            assert_eq!(exponent(code), Err(unknown.clone()));
            assert_eq!(to_minor("12.34", code), Err(unknown.clone()));
            assert_eq!(to_minor("12", code), Err(unknown.clone()));
            assert_eq!(
                to_minor_rounded("12.345", code, RoundingStrategy::MidpointNearestEven),
                Err(unknown.clone())
            );
            assert_eq!(from_minor(1234, code), Err(unknown.clone()));
            assert_eq!(unknown.code(), "unknown_currency");
            assert!(unknown
                .to_string()
                .starts_with(&format!("unknown currency {}: ", code.to_ascii_uppercase())));
        }
        // The syntax check comes first: a malformed code is invalid, not unknown.
        assert!(matches!(
            Currency::new("xc"),
            Err(MoneyError::InvalidCurrency { .. })
        ));
    }

    #[test]
    fn invalid_currency_codes() {
        for c in ["", "us", "usdd", "12a", "u$d", "ÜSD"] {
            assert!(
                matches!(Currency::new(c), Err(MoneyError::InvalidCurrency { .. })),
                "{c:?}"
            );
        }
    }

    #[test]
    fn to_minor_exact() {
        assert_eq!(to_minor("12.34", "usd").unwrap(), 1234);
        assert_eq!(to_minor("12.3", "usd").unwrap(), 1230);
        assert_eq!(to_minor("12", "usd").unwrap(), 1200);
        assert_eq!(to_minor("0.50", "eur").unwrap(), 50);
        assert_eq!(to_minor("12.340000", "usd").unwrap(), 1234);
        assert_eq!(to_minor("500", "jpy").unwrap(), 500);
        assert_eq!(to_minor("500.0", "jpy").unwrap(), 500);
        assert_eq!(to_minor("1.23", "kwd").unwrap(), 1230);
        assert_eq!(to_minor("5", "isk").unwrap(), 500);
        assert_eq!(to_minor("5", "ugx").unwrap(), 500);
        assert_eq!(to_minor("10.45", "huf").unwrap(), 1045);
        assert_eq!(to_minor("-1.50", "usd").unwrap(), -150);
        // 0.1 + 0.2 is exact here.
        assert_eq!(to_minor("0.30", "usd").unwrap(), 30);
    }

    #[test]
    fn to_minor_refuses_what_cannot_be_represented() {
        assert!(matches!(
            to_minor("12.345", "usd"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            to_minor("500.5", "jpy"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            to_minor("1.2345", "kwd"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            to_minor("1.234", "kwd"),
            Err(MoneyError::NotAMultiple { multiple: 10, .. })
        ));
        assert!(matches!(
            to_minor("5.50", "isk"),
            Err(MoneyError::NotAMultiple { multiple: 100, .. })
        ));
        assert!(matches!(
            to_minor("5.01", "ugx"),
            Err(MoneyError::NotAMultiple { multiple: 100, .. })
        ));
        assert!(matches!(
            to_minor("99999999999999999999", "usd"),
            Err(MoneyError::Overflow { .. })
        ));
        assert!(matches!(
            to_minor("79228162514264337593543950336", "usd"),
            Err(MoneyError::Overflow { .. })
        ));
        // More than 28 significant digits: exact 1, and a tiny fraction that is too precise.
        assert_eq!(
            to_minor("1.00000000000000000000000000000", "usd").unwrap(),
            100
        );
        assert!(matches!(
            to_minor("0.00000000000000000000000000001", "usd"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert_eq!(
            parse_decimal("1.00000000000000000000000000000").unwrap(),
            Decimal::ONE
        );
        assert_eq!(to_minor("-0", "usd").unwrap(), 0);
        assert_eq!(to_minor("007.50", "usd").unwrap(), 750);
        assert_eq!(to_minor("92233720368547758.07", "usd").unwrap(), i64::MAX);
        assert!(matches!(
            to_minor("92233720368547758.08", "usd"),
            Err(MoneyError::Overflow { .. })
        ));
        assert_eq!(to_minor("-92233720368547758.08", "usd").unwrap(), i64::MIN);
        for bad in [
            "", "abc", "1,50", "1e3", "+1", " 1", "1.", ".5", "--1", "1.2.3", "NaN", "١",
        ] {
            assert!(
                matches!(to_minor(bad, "usd"), Err(MoneyError::InvalidAmount { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn explicit_rounding() {
        use RoundingStrategy::*;
        assert_eq!(
            to_minor_rounded("5.124", "kwd", MidpointNearestEven).unwrap(),
            5120
        );
        assert_eq!(
            to_minor_rounded("5.125", "kwd", MidpointAwayFromZero).unwrap(),
            5130
        );
        assert_eq!(
            to_minor_rounded("12.345", "usd", MidpointNearestEven).unwrap(),
            1234
        );
        assert_eq!(
            to_minor_rounded("12.345", "usd", MidpointAwayFromZero).unwrap(),
            1235
        );
        assert_eq!(to_minor_rounded("5.50", "isk", ToZero).unwrap(), 500);
        assert_eq!(to_minor_rounded("500.5", "jpy", AwayFromZero).unwrap(), 501);
        // Huge inputs are overflow errors, never panics.
        for big in [
            "79228162514264337593543950.335",
            "792281625142643375935439503.35",
        ] {
            for code in ["kwd", "isk", "usd"] {
                assert!(matches!(
                    to_minor_rounded(big, code, MidpointNearestEven),
                    Err(MoneyError::Overflow { .. })
                ));
            }
        }
        // A long tail beyond Decimal's precision still rounds in the right direction.
        let above_half = format!("0.005{}1", "0".repeat(40));
        assert_eq!(
            to_minor_rounded(&above_half, "usd", MidpointNearestEven).unwrap(),
            1
        );
        assert_eq!(
            to_minor_rounded("0.005", "usd", MidpointNearestEven).unwrap(),
            0
        );
    }

    #[test]
    fn from_minor_keeps_scale() {
        assert_eq!(from_minor(1234, "usd").unwrap().to_string(), "12.34");
        assert_eq!(from_minor(5, "usd").unwrap().to_string(), "0.05");
        assert_eq!(from_minor(-5, "usd").unwrap().to_string(), "-0.05");
        assert_eq!(from_minor(500, "jpy").unwrap().to_string(), "500");
        assert_eq!(from_minor(1230, "kwd").unwrap().to_string(), "1.230");
        assert_eq!(from_minor(500, "isk").unwrap().to_string(), "5.00");
        assert_eq!(
            from_minor(i64::MAX, "usd").unwrap().to_string(),
            "92233720368547758.07"
        );
    }

    #[test]
    fn charge_limits() {
        let usd = Currency::new("usd").unwrap();
        assert!(check_charge_amount(50, &usd).is_ok());
        assert_eq!(
            check_charge_amount(49, &usd),
            Err(MoneyError::BelowMinimum {
                currency: "USD".into(),
                minimum: "0.50".into()
            })
        );
        assert!(check_charge_amount(99_999_999, &usd).is_ok());
        assert_eq!(
            check_charge_amount(100_000_000, &usd),
            Err(MoneyError::AboveMaximum {
                currency: "USD".into(),
                maximum: "999999.99".into()
            })
        );
        assert!(matches!(
            check_charge_amount(0, &usd),
            Err(MoneyError::NotPositive { .. })
        ));
        let idr = Currency::new("idr").unwrap();
        assert!(check_charge_amount(999_999_999_999, &idr).is_ok());
        let jpy = Currency::new("jpy").unwrap();
        assert!(check_charge_amount(49, &jpy).is_err());
        assert!(check_charge_amount(50, &jpy).is_ok());
        let kwd = Currency::new("kwd").unwrap();
        assert!(matches!(
            check_charge_amount(1235, &kwd),
            Err(MoneyError::NotAMultiple { .. })
        ));
        // No documented minimum: only positivity and the maximum apply.
        assert!(check_charge_amount(1, &Currency::new("ugx").unwrap()).is_err());
        assert!(check_charge_amount(100, &Currency::new("ugx").unwrap()).is_ok());
        assert_eq!(Currency::new("huf").unwrap().payout_multiple(), 100);
        assert_eq!(Currency::new("huf").unwrap().charge_multiple(), 1);
    }

    fn any_currency() -> impl Strategy<Value = &'static str> {
        prop::sample::select(SUPPORTED)
    }

    proptest! {
        #[test]
        fn round_trip_minor_decimal_minor(code in any_currency(), units in -10_000_000_000_000i64..10_000_000_000_000i64) {
            let currency = Currency::new(code).unwrap();
            let minor = units * currency.charge_multiple();
            let text = format_minor(minor, &currency);
            prop_assert_eq!(to_minor(&text, code).unwrap(), minor);
            let decimals = text.split_once('.').map_or(0, |(_, f)| f.len());
            prop_assert_eq!(decimals, currency.exponent() as usize);
        }

        #[test]
        fn round_trip_decimal_minor_decimal(code in any_currency(), int in 0u64..1_000_000_000u64, frac in 0u32..1000) {
            let currency = Currency::new(code).unwrap();
            let exp = currency.exponent();
            let frac = if exp == 0 { 0 } else { frac % 10u32.pow(exp) };
            let text = if exp == 0 { int.to_string() } else { format!("{int}.{frac:0width$}", width = exp as usize) };
            match to_minor(&text, code) {
                Ok(minor) => {
                    prop_assert_eq!(format_minor(minor, &currency), text);
                    prop_assert_eq!(minor % currency.charge_multiple(), 0);
                }
                Err(MoneyError::NotAMultiple { .. }) => {
                    prop_assert!(currency.charge_multiple() > 1);
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }

        #[test]
        fn never_panics_on_any_string(s in ".{0,40}", code in "[a-zA-Z]{0,4}") {
            let _ = to_minor(&s, &code);
            let _ = to_minor_rounded(&s, &code, RoundingStrategy::MidpointNearestEven);
        }

        #[test]
        fn a_code_is_accepted_exactly_when_stripe_supports_it(code in "[a-zA-Z]{3}") {
            let upper = code.to_ascii_uppercase();
            match Currency::new(&code) {
                Ok(c) => {
                    prop_assert!(SUPPORTED.contains(&upper.as_str()));
                    prop_assert_eq!(c.code(), upper.as_str());
                }
                Err(MoneyError::UnknownCurrency { currency }) => {
                    prop_assert!(!SUPPORTED.contains(&upper.as_str()));
                    prop_assert_eq!(currency, upper);
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }

        #[test]
        fn too_precise_is_error_never_rounded(code in any_currency(), int in 0u64..1_000_000u64, extra in 1u32..9) {
            let currency = Currency::new(code).unwrap();
            let text = format!("{int}.{}{extra}", "0".repeat(currency.exponent() as usize));
            let is_too_precise = matches!(to_minor(&text, code), Err(MoneyError::TooPrecise { .. }));
            prop_assert!(is_too_precise);
        }
    }
}
