//! CronJob schedules as Kubernetes v1.24 reads them: `cron.ParseStandard` of
//! github.com/robfig/cron/v3 (five fields, names for months and weekdays, `@daily`-style
//! descriptors, `@every <duration>`), with its error messages.

const MONTHS: &[&str] = &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Bounds {
    min: u64,
    max: u64,
    /// Names and the number each stands for.
    names: &'static [&'static str],
    first_name: u64,
}

const FIELDS: [Bounds; 5] = [
    Bounds { min: 0, max: 59, names: &[], first_name: 0 },
    Bounds { min: 0, max: 23, names: &[], first_name: 0 },
    Bounds { min: 1, max: 31, names: &[], first_name: 0 },
    Bounds { min: 1, max: 12, names: MONTHS, first_name: 1 },
    Bounds { min: 0, max: 6, names: DAYS, first_name: 0 },
];

/// `Ok` when the API server accepts `spec` as a schedule, else robfig/cron's message.
pub fn parse_standard(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        // v1.24 reads a time zone here from the server's own zone database; which zones exist
        // is the server's, and a zone without a following space crashes its parser.
        return Err("a time zone in the schedule (TZ= or CRON_TZ=) is not checked offline; Kubernetes does not support it (and the chart has no timeZone parameter)".into());
    }
    if let Some(descriptor) = spec.strip_prefix('@') {
        return parse_descriptor(descriptor, spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
    }
    for (field, bounds) in fields.iter().zip(FIELDS.iter()) {
        for expr in field.split(',').filter(|e| !e.is_empty()) {
            range(expr, bounds)?;
        }
    }
    Ok(())
}

fn range(expr: &str, r: &Bounds) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let (start, mut end) = if low_high[0] == "*" || low_high[0] == "?" {
        (r.min, r.max)
    } else {
        let start = int_or_name(low_high[0], r)?;
        match low_high.len() {
            1 => (start, start),
            2 => (start, int_or_name(low_high[1], r)?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            if low_high.len() == 1 {
                end = r.max;
            }
            int(range_and_step[1])?
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < r.min {
        return Err(format!("beginning of range ({start}) below minimum ({}): {expr}", r.min));
    }
    if end > r.max {
        return Err(format!("end of range ({end}) above maximum ({}): {expr}", r.max));
    }
    if start > end {
        return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

fn int_or_name(expr: &str, r: &Bounds) -> Result<u64, String> {
    let lower = expr.to_ascii_lowercase();
    if let Some(i) = r.names.iter().position(|n| *n == lower) {
        return Ok(r.first_name + i as u64);
    }
    int(expr)
}

/// Go's `strconv.Atoi`, then the parser's refusal of negative numbers.
fn int(expr: &str) -> Result<u64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax"));
    }
    let Ok(n) = expr.parse::<i64>() else {
        return Err(format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: value out of range"));
    };
    u64::try_from(n).map_err(|_| format!("negative number ({n}) not allowed: {expr}"))
}

fn parse_descriptor(descriptor: &str, spec: &str) -> Result<(), String> {
    if matches!(descriptor, "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly") {
        return Ok(());
    }
    if let Some(d) = spec.strip_prefix("@every ") {
        return match go_duration(d) {
            true => Ok(()),
            false => Err(format!("failed to parse duration {spec}: time: invalid duration {d:?}")),
        };
    }
    Err(format!("unrecognized descriptor: {spec}"))
}

/// Go's `time.ParseDuration` grammar: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`.
fn go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    let re = regex::Regex::new(r"^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$").expect("static regex");
    re.is_match(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_kubernetes_accepts() {
        for ok in [
            "0 0 * * *",
            "*/5 * * * *",
            "0 2 * * 1-5",
            "@daily",
            "0 0 1,15 * MON",
            "5/15 * * JAN-dec ?",
            "@every 1h30m",
        ] {
            assert_eq!(parse_standard(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_with_robfig_messages() {
        assert_eq!(parse_standard("61 * * * *").unwrap_err(), "end of range (61) above maximum (59): 61");
        assert_eq!(parse_standard("0 0 * *").unwrap_err(), "expected exactly 5 fields, found 4: [0 0 * *]");
        assert_eq!(parse_standard("0 0 0 * *").unwrap_err(), "beginning of range (0) below minimum (1): 0");
        assert_eq!(parse_standard("5-1 * * * *").unwrap_err(), "beginning of range (5) beyond end of range (1): 5-1");
        assert_eq!(parse_standard("*/0 * * * *").unwrap_err(), "step of range should be a positive number: */0");
        assert!(parse_standard("x * * * *").unwrap_err().starts_with("failed to parse int from x"));
        assert_eq!(parse_standard("@often").unwrap_err(), "unrecognized descriptor: @often");
        assert!(parse_standard("").is_err() && parse_standard("@every x").is_err());
    }
}
