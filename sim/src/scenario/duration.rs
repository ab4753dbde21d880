//! Durations in scenario files: strings such as `"150ms"` or `"1.5s"`, read with
//! [`parse_duration`] and written with [`format_duration`].

pub(super) const NS_PER_US: u64 = 1_000;
pub(super) const NS_PER_MS: u64 = 1_000_000;
pub(super) const NS_PER_S: u64 = 1_000_000_000;
const NS_PER_M: u64 = 60 * NS_PER_S;
const NS_PER_H: u64 = 60 * NS_PER_M;
pub(super) const MAX_DURATION_NS: u64 = 24 * NS_PER_H;

/// Units from largest to smallest.
const UNITS: [(&str, u64); 6] = [
    ("h", NS_PER_H),
    ("m", NS_PER_M),
    ("s", NS_PER_S),
    ("ms", NS_PER_MS),
    ("us", NS_PER_US),
    ("ns", 1),
];

const DURATION_HINT: &str =
    "expected a number followed by a unit (ns, us, ms, s, m, h), such as \"150ms\" or \"1.5s\"";

/// Parse a duration string like "150ms", "1.5s", "250us", "10ns", "2m", "1h", "0s" into
/// nanoseconds. The number may have a decimal fraction, but the result must be a whole
/// number of nanoseconds; spaces, signs and values beyond `u64::MAX` ns are errors.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("\"{s}\" is not a valid duration: {why}; {DURATION_HINT}");
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    if s.starts_with(['+', '-']) {
        return Err(bad("a sign is not allowed"));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(bad("spaces are not allowed"));
    }
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(num_end);
    if num.is_empty() {
        return Err(bad("it does not start with a number"));
    }
    if unit.is_empty() {
        return Err(bad("the unit is missing"));
    }
    let Some(&(_, mult)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(bad(&format!("unknown unit \"{unit}\"")));
    };
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty() || frac.contains('.') || (num.contains('.') && frac.is_empty()) {
        return Err(bad(&format!("malformed number \"{num}\"")));
    }
    let too_large = || bad("it is too large (at most 18446744073709551615ns, about 584 years)");
    let mut int_value: u128 = 0;
    for d in int.bytes() {
        int_value = int_value * 10 + u128::from(d - b'0');
        if int_value > u128::from(u64::MAX) {
            return Err(too_large());
        }
    }
    let frac = frac.trim_end_matches('0');
    let not_whole = || bad("it is not a whole number of nanoseconds");
    // A fraction with more than 19 significant digits can never give whole nanoseconds
    // with the units above (the largest, 1h, is 2^13 * 3^2 * 5^11 ns).
    if frac.len() > 19 {
        return Err(not_whole());
    }
    let mut frac_value: u128 = 0;
    let mut scale: u128 = 1;
    for d in frac.bytes() {
        frac_value = frac_value * 10 + u128::from(d - b'0');
        scale *= 10;
    }
    let mult = u128::from(mult);
    let frac_ns = frac_value * mult;
    if !frac_ns.is_multiple_of(scale) {
        return Err(not_whole());
    }
    let total = int_value * mult + frac_ns / scale;
    u64::try_from(total).map_err(|_| too_large())
}

/// Format nanoseconds as the shortest exact duration string ("1.5s", "150ms", "250us",
/// "10ns", "2m", "0s"). Never uses a number below 1 ("0.15s" is written "150ms"); on a
/// tie in length, the form with fewer decimals wins, then the larger unit.
pub fn format_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let mut best = format!("{ns}ns");
    let mut best_key = (best.len(), 0usize);
    for (unit, mult) in UNITS {
        let int = ns / mult;
        if int == 0 {
            continue;
        }
        let mut rem = u128::from(ns % mult);
        let mult = u128::from(mult);
        let mut digits = String::new();
        let mut terminates = true;
        while rem != 0 {
            if digits.len() >= 13 {
                terminates = false;
                break;
            }
            rem *= 10;
            let digit = u32::try_from(rem / mult).unwrap_or(0);
            digits.push(char::from_digit(digit, 10).unwrap_or('0'));
            rem %= mult;
        }
        if !terminates {
            continue;
        }
        let text = if digits.is_empty() {
            format!("{int}{unit}")
        } else {
            format!("{int}.{digits}{unit}")
        };
        let key = (text.len(), digits.len());
        if key < best_key {
            best_key = key;
            best = text;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_duration_cases() {
        let ok = [
            ("0s", 0),
            ("10ns", 10),
            ("250us", 250_000),
            ("150ms", 150_000_000),
            ("1.5s", 1_500_000_000),
            ("2m", 120_000_000_000),
            ("1h", 3_600_000_000_000),
            ("0.5us", 500),
            ("1.25m", 75_000_000_000),
            ("1.000s", 1_000_000_000),
            ("007ms", 7_000_000),
            ("18446744073709551615ns", u64::MAX),
            ("18446744073.709551615s", u64::MAX),
        ];
        for (s, ns) in ok {
            assert_eq!(parse_duration(s), Ok(ns), "{s}");
        }
        let bad = [
            ("0.5ns", "whole number of nanoseconds"),
            ("1.0000000001ms", "whole number of nanoseconds"),
            ("18446744073709551616ns", "too large"),
            ("5124096h", "too large"),
            ("99999999999999999999999999999999999999999s", "too large"),
            ("", "empty"),
            ("150", "unit is missing"),
            ("ms", "does not start with a number"),
            ("-1s", "sign"),
            ("+1s", "sign"),
            ("1 s", "spaces"),
            ("150 parsecs", "spaces"),
            ("150parsecs", "unknown unit \"parsecs\""),
            ("1.s", "malformed"),
            (".5s", "malformed"),
            ("1.2.3s", "malformed"),
            ("1µs", "unknown unit"),
        ];
        for (s, phrase) in bad {
            match parse_duration(s) {
                Ok(v) => panic!("{s:?} parsed as {v}"),
                Err(m) => assert!(m.contains(phrase), "{s:?}: {m}"),
            }
        }
    }

    #[test]
    fn format_duration_cases() {
        let cases = [
            (0, "0s"),
            (10, "10ns"),
            (250_000, "250us"),
            (150_000_000, "150ms"),
            (1_500_000_000, "1.5s"),
            (60_000_000_000, "1m"),
            (90_000_000_000, "90s"),
            (120_000_000_000, "2m"),
            (5_400_000_000_000, "90m"),
            (86_400_000_000_000, "24h"),
            (1_001_000_000, "1001ms"),
            (1_250_000, "1250us"),
            (2_500_000, "2.5ms"),
        ];
        for (ns, s) in cases {
            assert_eq!(format_duration(ns), s, "{ns}");
        }
        for s in [
            "0s", "10ns", "250us", "150ms", "1.5s", "2m", "24h", "90m", "2.5ms", "3.5us", "12s",
        ] {
            assert_eq!(
                parse_duration(s).map(format_duration),
                Ok(s.to_string()),
                "{s}"
            );
        }
        for ns in [
            1,
            999,
            1_000_001,
            59_999_999_999,
            3_600_000_000_001,
            u64::MAX,
        ] {
            assert_eq!(parse_duration(&format_duration(ns)), Ok(ns), "{ns}");
        }
    }
}
