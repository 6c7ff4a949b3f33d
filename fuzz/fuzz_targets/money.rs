//! Money conversion (`money::to_minor`, `to_minor_rounded`, `parse_decimal`,
//! `decimal_to_minor`, `from_minor`/`format_minor`), differential against an
//! arbitrary-precision reference (`bigdecimal`) and an independent currency table.
//!
//! Invariants: every conversion gives exactly the reference's value, or the reference's error
//! class (invalid syntax, too precise, not a multiple, overflow); nothing is ever rounded
//! silently; `format_minor` reads back to the same minor amount; no panic.
#![no_main]

use std::str::FromStr;

use bigdecimal::{num_bigint::BigInt, BigDecimal, RoundingMode};
use libfuzzer_sys::fuzz_target;
use rust_decimal::RoundingStrategy;
use stripe_bridge::money::{
    decimal_to_minor, format_minor, from_minor, parse_decimal, to_minor, to_minor_rounded,
};
use stripe_bridge::Currency;

/// (code as given, exponent, charge multiple); `None`: not a currency Stripe knows.
const TABLE: &[(&str, Option<(u32, i64)>)] = &[
    ("usd", Some((2, 1))),
    ("JPY", Some((0, 1))),
    ("kwd", Some((3, 10))),
    ("ISK", Some((2, 100))),
    ("huf", Some((2, 1))),
    ("bhd", Some((3, 10))),
    ("ugx", Some((2, 100))),
    ("krw", Some((0, 1))),
    ("xyz", None),
    ("u$d", None),
];

const STRATEGIES: &[(RoundingStrategy, RoundingMode)] = &[
    (
        RoundingStrategy::MidpointNearestEven,
        RoundingMode::HalfEven,
    ),
    (RoundingStrategy::MidpointAwayFromZero, RoundingMode::HalfUp),
    (RoundingStrategy::MidpointTowardZero, RoundingMode::HalfDown),
    (RoundingStrategy::ToZero, RoundingMode::Down),
    (RoundingStrategy::AwayFromZero, RoundingMode::Up),
    (RoundingStrategy::ToNegativeInfinity, RoundingMode::Floor),
    (RoundingStrategy::ToPositiveInfinity, RoundingMode::Ceiling),
];

/// `-?[0-9]+(\.[0-9]+)?`, checked by hand.
fn plain_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits)
}

fn to_i64(v: &BigDecimal) -> Option<i64> {
    let (int, scale) = v.with_scale(0).into_bigint_and_exponent();
    debug_assert_eq!(scale, 0);
    i64::try_from(int).ok()
}

/// The reference `to_minor`: `Ok(minor)` or the error code.
fn reference_minor(amount: &str, exp: u32, multiple: i64) -> Result<i64, &'static str> {
    if !plain_decimal(amount) {
        return Err("invalid_amount");
    }
    let v = BigDecimal::from_str(amount).expect("plain decimal") * BigInt::from(10).pow(exp);
    if !v.is_integer() {
        return Err("amount_too_precise");
    }
    let minor = to_i64(&v).ok_or("amount_overflow")?;
    if minor % multiple != 0 {
        return Err("amount_not_a_multiple");
    }
    Ok(minor)
}

fn reference_rounded(amount: &str, exp: u32, multiple: i64, mode: RoundingMode) -> Option<i64> {
    let v = BigDecimal::from_str(amount).ok()? * BigInt::from(10).pow(exp);
    let units = (v / BigDecimal::from(multiple)).with_scale_round(0, mode);
    to_i64(&(units * BigDecimal::from(multiple)))
}

/// Whether `rust_decimal` can hold `v` exactly: at most 28 decimal places and a 96-bit
/// mantissa once trailing zeros are dropped.
fn representable(v: &BigDecimal) -> bool {
    let (mantissa, scale) = v.normalized().into_bigint_and_exponent();
    let mantissa = if scale < 0 {
        mantissa * BigInt::from(10).pow(scale.unsigned_abs() as u32)
    } else {
        mantissa
    };
    scale <= 28 && mantissa.magnitude().bits() <= 96
}

/// Minor units as the exact decimal text with `exp` places, by string arithmetic.
fn reference_format(minor: i64, exp: u32) -> String {
    let digits = i128::from(minor).unsigned_abs().to_string();
    let exp = exp as usize;
    let padded = format!("{digits:0>width$}", width = exp + 1);
    let (int, frac) = padded.split_at(padded.len() - exp);
    let sign = if minor < 0 { "-" } else { "" };
    if exp == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

fuzz_target!(|data: &[u8]| {
    let [c, s, m0, m1, m2, m3, m4, m5, m6, m7, rest @ ..] = data else {
        return;
    };
    let (code, rules) = TABLE[usize::from(*c) % TABLE.len()];
    let (strategy, mode) = STRATEGIES[usize::from(*s) % STRATEGIES.len()];
    let minor = i64::from_le_bytes([*m0, *m1, *m2, *m3, *m4, *m5, *m6, *m7]);
    let Ok(amount) = std::str::from_utf8(rest) else {
        return;
    };
    let Some((exp, multiple)) = rules else {
        assert!(Currency::new(code).is_err());
        assert!(to_minor(amount, code).is_err());
        assert!(from_minor(minor, code).is_err());
        return;
    };
    let currency = Currency::new(code).expect("known currency");
    assert_eq!(
        (currency.exponent(), currency.charge_multiple()),
        (exp, multiple)
    );

    // to_minor: exactly the reference.
    let ours = to_minor(amount, code).map_err(|e| e.code());
    assert_eq!(
        ours,
        reference_minor(amount, exp, multiple),
        "to_minor({amount:?}, {code})"
    );

    // parse_decimal: the same value, refused only when rust_decimal cannot hold it.
    let parsed = parse_decimal(amount);
    if plain_decimal(amount) {
        let want = BigDecimal::from_str(amount).expect("plain");
        match &parsed {
            Ok(d) => {
                let got = BigDecimal::from_str(&d.to_string()).expect("decimal text");
                assert_eq!(got, want, "parse_decimal({amount:?})");
                // The Decimal path converts as the text path does.
                let via = decimal_to_minor(*d, &currency).map_err(|e| e.code());
                assert_eq!(via, ours, "decimal_to_minor({d})");
            }
            Err(e) => {
                assert_eq!(e.code(), "amount_overflow");
                assert!(!representable(&want), "refused a representable {amount:?}");
            }
        }
        // Rounded: the reference rounding, or an overflow when it does not fit i64.
        let rounded = to_minor_rounded(amount, code, strategy).ok();
        assert_eq!(
            rounded,
            reference_rounded(amount, exp, multiple, mode),
            "to_minor_rounded({amount:?}, {code}, {strategy:?})"
        );
    } else {
        assert_eq!(parsed.map_err(|e| e.code()), Err("invalid_amount"));
        assert!(to_minor_rounded(amount, code, strategy).is_err());
    }

    // Minor units to text and back.
    let text = format_minor(minor, &currency);
    assert_eq!(text, reference_format(minor, exp));
    assert_eq!(
        from_minor(minor, code).map(|d| d.to_string()),
        Ok(text.clone())
    );
    if minor % multiple == 0 {
        assert_eq!(to_minor(&text, code), Ok(minor));
    }
});
