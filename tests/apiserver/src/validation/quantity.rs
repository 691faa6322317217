//! `resource.Quantity` as validation uses it: parse, compare, and print canonically (`2000m`
//! prints as `2`, `1024Mi` as `1Gi`), since refusals quote `quantity.String()`.

/// A quantity in nano-units, with the format its suffix chose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    pub nanos: i128,
    binary: bool,
    exponent: bool,
}

impl Quantity {
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }
    pub fn is_positive(&self) -> bool {
        self.nanos > 0
    }
    pub fn is_integer(&self) -> bool {
        self.nanos % 1_000_000_000 == 0
    }
}

pub fn parse(s: &str) -> Option<Quantity> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (num, suffix) = rest.split_at(end);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return None;
    }
    let mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    let (mult, pow10, binary, exponent): (i128, i32, bool, bool) = match suffix {
        "" => (1, 0, false, false),
        "n" => (1, -9, false, false),
        "u" => (1, -6, false, false),
        "m" => (1, -3, false, false),
        "k" => (1, 3, false, false),
        "M" => (1, 6, false, false),
        "G" => (1, 9, false, false),
        "T" => (1, 12, false, false),
        "P" => (1, 15, false, false),
        "E" => (1, 18, false, false),
        "Ki" => (1 << 10, 0, true, false),
        "Mi" => (1 << 20, 0, true, false),
        "Gi" => (1 << 30, 0, true, false),
        "Ti" => (1 << 40, 0, true, false),
        "Pi" => (1 << 50, 0, true, false),
        "Ei" => (1 << 60, 0, true, false),
        e if e.len() > 1 && e.starts_with(['e', 'E']) => (1, e[1..].parse().ok()?, false, true),
        _ => return None,
    };
    let pow = pow10 - frac.len() as i32 + 9;
    let mut v = mantissa.checked_mul(mult)?;
    if pow >= 0 {
        v = v.checked_mul(10i128.checked_pow(u32::try_from(pow).ok()?)?)?;
    } else {
        let d = 10i128.checked_pow(u32::try_from(-pow).ok()?).unwrap_or(i128::MAX);
        v = if v == 0 { 0 } else { (v + d - 1) / d };
    }
    Some(Quantity { nanos: if neg { -v } else { v }, binary, exponent })
}

/// The quantity a JSON value holds (string or number).
pub fn of(v: &serde_json::Value) -> Option<Quantity> {
    match v {
        serde_json::Value::String(s) => parse(s),
        serde_json::Value::Number(n) => parse(&n.to_string()),
        _ => None,
    }
}

impl std::fmt::Display for Quantity {
    /// `Quantity.String()`: the largest suffix that keeps the value whole.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let n = self.nanos.unsigned_abs();
        if n == 0 {
            return write!(f, "0");
        }
        if self.binary && n % 1_000_000_000 == 0 {
            let whole = n / 1_000_000_000;
            for (shift, suffix) in [(60, "Ei"), (50, "Pi"), (40, "Ti"), (30, "Gi"), (20, "Mi"), (10, "Ki")] {
                if whole % (1 << shift) == 0 {
                    return write!(f, "{sign}{}{suffix}", whole >> shift);
                }
            }
            if whole < 1024 {
                return write!(f, "{sign}{whole}");
            }
        }
        let decimal: [(u32, &str); 10] =
            [(27, "E"), (24, "P"), (21, "T"), (18, "G"), (15, "M"), (12, "k"), (9, ""), (6, "m"), (3, "u"), (0, "n")];
        for (pow, suffix) in decimal {
            let unit = 10u128.pow(pow);
            if n % unit == 0 {
                let v = n / unit;
                if self.exponent && pow >= 9 {
                    let e = pow - 9;
                    return match e {
                        0 => write!(f, "{sign}{v}"),
                        e => write!(f, "{sign}{v}e{e}"),
                    };
                }
                return write!(f, "{sign}{v}{suffix}");
            }
        }
        write!(f, "{sign}{n}n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_strings() {
        let s = |q: &str| parse(q).unwrap().to_string();
        assert_eq!(s("2"), "2");
        assert_eq!(s("2000m"), "2");
        assert_eq!(s("1500m"), "1500m");
        assert_eq!(s("1024Mi"), "1Gi");
        assert_eq!(s("1536Mi"), "1536Mi");
        assert_eq!(s("0.5"), "500m");
        assert_eq!(s("1000"), "1k");
        assert_eq!(s("-1"), "-1");
        assert!(parse("2").unwrap().nanos > parse("1").unwrap().nanos);
    }
}
