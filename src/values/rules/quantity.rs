//! Kubernetes quantities (k8s.io/apimachinery/pkg/api/resource), enough to compare a request
//! with its limit and to tell negative or fractional ones: values are held in nano-units.

/// A parsed quantity, in units of 10^-9 (bytes or cores); `None` when out of the range we hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i128);

impl Quantity {
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// Whole units (no milli part): extended resources such as GPUs must be integers.
    pub fn is_integer(self) -> bool {
        self.0 % 1_000_000_000 == 0
    }
}

/// Parses `500m`, `2Gi`, `1.5`, `1e3` or a JSON number's text.
pub fn parse(s: &str) -> Option<Quantity> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'-') => (-1i128, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    };
    let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (num, suffix) = rest.split_at(num_end);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    // Digits as an integer with `scale` decimal places.
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return None;
    }
    let mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    let scale = frac.len() as i32;
    let (base, exp): (i128, i32) = match suffix {
        "" => (1, 0),
        "n" => (1, -9),
        "u" => (1, -6),
        "m" => (1, -3),
        "k" => (1, 3),
        "M" => (1, 6),
        "G" => (1, 9),
        "T" => (1, 12),
        "P" => (1, 15),
        "E" => (1, 18),
        "Ki" => (1 << 10, 0),
        "Mi" => (1 << 20, 0),
        "Gi" => (1 << 30, 0),
        "Ti" => (1 << 40, 0),
        "Pi" => (1 << 50, 0),
        "Ei" => (1 << 60, 0),
        e if e.starts_with(['e', 'E']) => (1, e[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    // value = mantissa * base * 10^(exp - scale), in nano-units: * 10^9.
    let pow = exp - scale + 9;
    let mut v = mantissa.checked_mul(base)?;
    if pow >= 0 {
        v = v.checked_mul(10i128.checked_pow(u32::try_from(pow).ok()?)?)?;
    } else {
        // Below a nano-unit rounds up, as Kubernetes rounds sub-nano quantities up.
        let d = 10i128.checked_pow(u32::try_from(-pow).ok()?).unwrap_or(i128::MAX);
        v = if v == 0 { 0 } else { (v + d - 1) / d };
    }
    Some(Quantity(sign * v))
}

/// The quantity a JSON value holds (a string, or a number as its text).
pub fn of(v: &serde_json::Value) -> Option<Quantity> {
    match v {
        serde_json::Value::String(s) => parse(s),
        serde_json::Value::Number(n) => parse(&n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_across_suffixes() {
        let q = |s| parse(s).unwrap();
        assert_eq!(q("2"), q("2000m"));
        assert!(q("1500m") < q("2"));
        assert_eq!(q("1Gi"), q("1024Mi"));
        assert!(q("1G") < q("1Gi"));
        assert_eq!(q("1e3"), q("1k"));
        assert!(q("-1").is_negative() && q("0").is_zero());
        assert!(q("2").is_integer() && !q("500m").is_integer());
        assert_eq!(parse("lots"), None);
        assert_eq!(parse("1.2.3"), None);
    }
}
