//! The string rules of Kubernetes' API machinery (k8s.io/apimachinery/pkg/util/validation,
//! v1.24): names, label keys and values, port names, environment variable names, config keys,
//! percentages and CIDRs. Each returns the messages the API server gives, so a refusal here
//! reads like the server's would.

use std::net::IpAddr;

pub const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
pub const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
pub const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const QUALIFIED_NAME_MSG: &str = "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
pub const ENV_VAR_NAME_MSG: &str = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";
const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const WILDCARD_MSG: &str = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const PERCENT_MSG: &str = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

fn max_len(n: usize) -> String {
    format!("must be no more than {n} characters")
}

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn dns_label_shape(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| lower_alnum(c) || c == '-')
        && s.starts_with(lower_alnum)
        && s.ends_with(lower_alnum)
}

/// `IsDNS1123Label`.
pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !dns_label_shape(s) {
        errs.push(DNS1123_LABEL_MSG.into());
    }
    errs
}

/// `IsDNS1123Subdomain`.
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push(max_len(253));
    }
    if !s.split('.').all(dns_label_shape) {
        errs.push(DNS1123_SUBDOMAIN_MSG.into());
    }
    errs
}

/// `IsDNS1035Label`.
pub fn dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !dns_label_shape(s) || !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        errs.push(DNS1035_LABEL_MSG.into());
    }
    errs
}

/// An Ingress rule's host: a DNS name (`*.` allowed first), not an IP address.
pub fn ingress_host(s: &str) -> Vec<String> {
    if s.parse::<IpAddr>().is_ok() {
        return vec!["must be a DNS name, not an IP address".into()];
    }
    wildcard_or_subdomain(s)
}

/// `IsWildcardDNS1123Subdomain` when the name has a `*`, else `IsDNS1123Subdomain`.
pub fn wildcard_or_subdomain(s: &str) -> Vec<String> {
    if !s.contains('*') {
        return dns1123_subdomain(s);
    }
    match s.strip_prefix("*.") {
        Some(rest) if !rest.contains('*') => {
            let mut errs: Vec<String> =
                dns1123_subdomain(rest).into_iter().filter(|m| m.starts_with("must be no")).collect();
            if !rest.split('.').all(dns_label_shape) {
                errs.push(WILDCARD_MSG.into());
            }
            errs
        }
        _ => vec![WILDCARD_MSG.into()],
    }
}

fn name_part_ok(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric();
    !s.is_empty() && s.chars().all(|c| ok(c) || matches!(c, '-' | '_' | '.')) && s.starts_with(ok) && s.ends_with(ok)
}

/// `IsQualifiedName`: label keys, annotation keys (lower-cased first), node selector keys.
pub fn qualified_name(s: &str) -> Vec<String> {
    let parts: Vec<&str> = s.split('/').collect();
    let (prefix, name) = match parts.as_slice() {
        [name] => (None, *name),
        [prefix, name] => (Some(*prefix), *name),
        _ => return vec![QUALIFIED_NAME_MSG.into()],
    };
    let mut errs = Vec::new();
    if let Some(p) = prefix {
        if p.is_empty() {
            errs.push("prefix part must be non-empty".into());
        } else {
            errs.extend(dns1123_subdomain(p).into_iter().map(|m| format!("prefix part {m}")));
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len(63)));
    }
    if !name.is_empty() && !name_part_ok(name) {
        errs.push(NAME_PART_MSG.into());
    }
    errs
}

/// `IsValidLabelValue`.
pub fn label_value(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !s.is_empty() && !name_part_ok(s) {
        errs.push(LABEL_VALUE_MSG.into());
    }
    errs
}

/// `IsValidPortNum`.
pub fn port_num(n: i64) -> Vec<String> {
    match (1..=65535).contains(&n) {
        true => Vec::new(),
        false => vec!["must be between 1 and 65535, inclusive".into()],
    }
}

/// `IsValidPortName` (an IANA service name), with v1.24's messages.
pub fn port_name(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 15 {
        errs.push(max_len(15));
    }
    if !s.chars().all(|c| lower_alnum(c) || c == '-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !s.chars().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter or number (a-z, 0-9)".into());
    }
    if s.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

/// `IsEnvVarName` as v1.24 has it: newer servers (relaxed validation, GA in 1.34) take any
/// printable ASCII but `=`; see [`env_var_name_any_server`].
pub fn env_var_name(s: &str) -> Vec<String> {
    let first_ok = |c: char| c.is_ascii_alphabetic() || matches!(c, '-' | '.' | '_');
    let ok = s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) && s.starts_with(first_ok);
    let mut errs = Vec::new();
    if !ok {
        errs.push(ENV_VAR_NAME_MSG.into());
    }
    if s == "." || s == ".." || s.starts_with("..") {
        errs.push("must not be '.' or '..', or start with '..'".into());
    }
    errs
}

/// What no server accepts as an environment variable name: empty, `=`, or not printable ASCII.
pub fn env_var_name_any_server(s: &str) -> Vec<String> {
    match !s.is_empty() && s.chars().all(|c| (' '..='~').contains(&c) && c != '=') {
        true => Vec::new(),
        false => vec!["must consist only of printable ASCII characters other than '='".into()],
    }
}

/// `IsConfigMapKey`: keys of ConfigMap and Secret data.
pub fn config_key(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push(max_len(253));
    }
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
        errs.push(CONFIG_KEY_MSG.into());
    }
    if s == "." || s == ".." || s.starts_with("..") {
        errs.push("must not be '.' or '..', or start with '..'".into());
    }
    errs
}

/// `IsValidPercent`: digits then `%`.
pub fn percent(s: &str) -> Vec<String> {
    let digits = s.strip_suffix('%').unwrap_or("");
    match !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        true => Vec::new(),
        false => vec![PERCENT_MSG.into()],
    }
}

/// A CIDR such as `10.0.0.0/8` (spaces around it are tolerated, as the server tolerates them).
pub fn cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.trim().split_once('/') else { return false };
    let Ok(ip) = ip.parse::<IpAddr>() else { return false };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    !bits.is_empty()
        && bits.len() <= 3
        && bits.bytes().all(|b| b.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|b| b <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(dns1123_subdomain("a.b-c").is_empty());
        assert_eq!(dns1123_subdomain("My-App"), vec![DNS1123_SUBDOMAIN_MSG.to_string()]);
        assert!(!dns1035_label("1abc").is_empty() && dns1123_label("1abc").is_empty());
        assert_eq!(dns1123_label(&"a".repeat(64)), vec![max_len(63)]);
        assert!(ingress_host("*.example.com").is_empty() && !ingress_host("10.0.0.1").is_empty());
    }

    #[test]
    fn label_keys_and_values() {
        assert!(qualified_name("app.kubernetes.io/name").is_empty());
        assert!(!qualified_name("a b").is_empty() && !qualified_name("a/b/c").is_empty());
        assert_eq!(qualified_name("Example.com/x"), vec![format!("prefix part {DNS1123_SUBDOMAIN_MSG}")]);
        assert!(label_value("").is_empty() && label_value("My_Value.1").is_empty());
        assert!(!label_value("-x").is_empty() && !label_value(&"v".repeat(64)).is_empty());
    }

    #[test]
    fn ports_and_env() {
        assert!(port_name("http").is_empty());
        assert_eq!(port_name("9000"), vec!["must contain at least one letter or number (a-z, 0-9)".to_string()]);
        assert!(!port_name("metrics-http-long").is_empty() && !port_name("a--b").is_empty());
        assert!(env_var_name("MY_VAR.1").is_empty() && !env_var_name("1BAD").is_empty());
        assert!(env_var_name_any_server("1 BAD").is_empty() && !env_var_name_any_server("A=B").is_empty());
        assert!(percent("25%").is_empty() && !percent("25").is_empty() && !percent("%").is_empty());
        assert!(cidr("10.0.0.0/8") && cidr(" ::1/128 ") && !cidr("10.0.0.0") && !cidr("10.0.0.0/33"));
    }
}
