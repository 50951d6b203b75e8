//! Number formatting for people: digit grouping and short scales.

/// Groups the digits of a non-negative integer's text in threes:
/// `18146500608` becomes `18,146,500,608`.
pub fn grouped(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (position, digit) in digits.chars().enumerate() {
        if position > 0 && (digits.len() - position).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// [`grouped`] for a `u64`.
pub fn grouped_u64(value: u64) -> String {
    grouped(&value.to_string())
}

/// A count in the largest unit that keeps it at or above 1: `6.048 G`.
pub fn short_scale(value: u64) -> String {
    const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];

    let value = value as f64;
    UNITS
        .iter()
        .find(|(scale, _)| value >= *scale)
        .map(|(scale, unit)| format!("{:.3} {unit}", value / scale))
        .unwrap_or_else(|| format!("{value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_in_threes() {
        assert_eq!(grouped("18146500608"), "18,146,500,608");
        assert_eq!(grouped("999"), "999");
        assert_eq!(grouped("1000"), "1,000");
        assert_eq!(grouped("0"), "0");
    }

    #[test]
    fn short_scale_picks_the_unit() {
        assert_eq!(short_scale(6_048_186_368), "6.048 G");
        assert_eq!(short_scale(999), "999");
        assert_eq!(short_scale(54_413_955), "54.414 M");
    }
}
