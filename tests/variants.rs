//! The built-in variants, rendered by the real binary and checked the way an API server would
//! check them (strict decoding against the v1.24 OpenAPI schema, merge-key uniqueness, selector
//! and reference rules), plus the numbers each preset promises.

mod support {
    use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Number, Value};
    use std::process::{Command, Output};

    /// Runs the binary and returns what it did.
    pub fn run(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor")).args(args).output().expect("the binary starts")
    }

    /// Runs the binary, asserting success with nothing on stderr; returns stdout.
    pub fn stdout_of(args: &[&str]) -> String {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "`{}` failed ({}):\n{stderr}", args.join(" "), out.status);
        assert!(stderr.is_empty(), "`{}` wrote to stderr:\n{stderr}", args.join(" "));
        String::from_utf8(out.stdout).expect("stdout is UTF-8")
    }

    /// `render ... -o json`, parsed strictly (duplicate keys refused); the List's items. The YAML
    /// rendering of the same request must parse (again refusing duplicates) to the same items.
    pub fn render(args: &[&str]) -> Vec<Value> {
        let mut json_args = vec!["render"];
        json_args.extend_from_slice(args);
        let mut yaml_args = json_args.clone();
        json_args.extend(["-o", "json"]);
        yaml_args.extend(["-o", "yaml"]);
        let list = strict_json(&stdout_of(&json_args)).unwrap_or_else(|e| panic!("{json_args:?}: {e}"));
        assert_eq!(list["kind"], "List", "-o json prints a v1 List");
        let items = list["items"].as_array().cloned().expect("a List has items");
        let yaml = stdout_of(&yaml_args);
        let docs = dimtensor::yaml::parse_documents(&yaml, "render output")
            .unwrap_or_else(|e| panic!("{yaml_args:?} is not valid, duplicate-free YAML: {e}"));
        assert_eq!(docs, items, "{yaml_args:?} and -o json disagree");
        items
    }

    /// The one object of `kind` named `name`.
    pub fn find<'a>(items: &'a [Value], kind: &str, name: &str) -> &'a Value {
        let hits: Vec<&Value> = items.iter().filter(|o| o["kind"] == kind && o["metadata"]["name"] == name).collect();
        assert_eq!(hits.len(), 1, "expected exactly one {kind}/{name} in {:?}", ids(items));
        hits[0]
    }

    /// `Kind/name` of every object, in order.
    pub fn ids(items: &[Value]) -> Vec<String> {
        items.iter().map(|o| format!("{}/{}", str_of(&o["kind"]), str_of(&o["metadata"]["name"]))).collect()
    }

    pub fn str_of(v: &Value) -> &str {
        v.as_str().unwrap_or("")
    }

    /// The pod template of a workload, and the JSON pointer it sits at.
    pub fn pod_template(o: &Value) -> Option<(&'static str, &Value)> {
        match str_of(&o["kind"]) {
            "Deployment" | "Job" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
                Some(("/spec/template", &o["spec"]["template"]))
            }
            "CronJob" => Some(("/spec/jobTemplate/spec/template", &o["spec"]["jobTemplate"]["spec"]["template"])),
            _ => None,
        }
    }

    /// The single container of the single workload in a render.
    pub fn the_container(o: &Value) -> &Value {
        let (_, t) = pod_template(o).expect("a workload");
        let cs = t["spec"]["containers"].as_array().expect("containers");
        assert_eq!(cs.len(), 1, "one container");
        &cs[0]
    }

    /// JSON parsing that refuses duplicate keys (serde_json silently keeps the last one).
    pub fn strict_json(text: &str) -> Result<Value, serde_json::Error> {
        serde_json::from_str::<Strict>(text).map(|s| s.0)
    }

    struct Strict(Value);

    impl<'de> Deserialize<'de> for Strict {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(StrictVisitor).map(Strict)
        }
    }

    struct StrictVisitor;

    impl<'de> Visitor<'de> for StrictVisitor {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::Number(v.into()))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::Number(v.into()))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
            Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("not a finite number"))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_string()))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Strict(v)) = seq.next_element()? {
                out.push(v);
            }
            Ok(Value::Array(out))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while let Some(k) = map.next_key::<String>()? {
                if out.contains_key(&k) {
                    return Err(A::Error::custom(format!("duplicate key `{k}`")));
                }
                let Strict(v) = map.next_value()?;
                out.insert(k, v);
            }
            Ok(Value::Object(out))
        }
    }
}

/// What the API server refuses (or what leaves an object dangling) that the schema cannot say:
/// merge-key duplicates, selector rules, Job/CronJob restrictions, references and HPA ownership.
mod checks {
    use super::support::{pod_template, str_of};
    use serde_json::Value;
    use std::collections::HashSet;

    /// Objects the render refers to but does not create, each documented in overlays/README.md.
    pub const EXTERNAL: &[(&str, &str)] = &[("Secret", "dimtensor-tls")];

    pub const VERSION_LABEL: &str = "app.kubernetes.io/version";

    /// Every problem found in a render, as `Kind/name: what`.
    pub fn problems(items: &[Value]) -> Vec<String> {
        let mut p = Vec::new();
        let exists = |kind: &str, name: &str| {
            EXTERNAL.contains(&(kind, name)) || items.iter().any(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        };
        let mut seen = HashSet::new();
        for o in items {
            let id = format!("{}/{}", str_of(&o["kind"]), str_of(&o["metadata"]["name"]));
            let mut say = |m: String| p.push(format!("{id}: {m}"));
            if !seen.insert((
                str_of(&o["apiVersion"]).to_string(),
                id.clone(),
                str_of(&o["metadata"]["namespace"]).to_string(),
            )) {
                say("defined twice".into());
            }
            names_and_labels(o, &mut say);
            match str_of(&o["kind"]) {
                "Deployment" => deployment(o, items, &mut say),
                "Job" => job_spec(&o["spec"], "/spec", &mut say),
                "CronJob" => {
                    for f in ["replicas", "strategy", "revisionHistoryLimit", "selector"] {
                        if !o["spec"][f].is_null() {
                            say(format!("/spec/{f} is a Deployment field, not a CronJob's"));
                        }
                    }
                    job_spec(&o["spec"]["jobTemplate"]["spec"], "/spec/jobTemplate/spec", &mut say);
                }
                "Service" => service(o, &mut say),
                "HorizontalPodAutoscaler" => hpa(o, items, &mut say),
                "PodDisruptionBudget" => {
                    no_version_in(&o["spec"]["selector"]["matchLabels"], "/spec/selector", &mut say)
                }
                "NetworkPolicy" => {
                    no_version_in(&o["spec"]["podSelector"]["matchLabels"], "/spec/podSelector", &mut say)
                }
                "Ingress" => ingress(o, &exists, &mut say),
                _ => {}
            }
            if let Some((at, t)) = pod_template(o) {
                pod_spec(&t["spec"], &format!("{at}/spec"), &exists, &mut say);
            }
        }
        p
    }

    fn names_and_labels(o: &Value, say: &mut dyn FnMut(String)) {
        let name = str_of(&o["metadata"]["name"]);
        let max = match str_of(&o["kind"]) {
            // The CronJob controller appends an 11-character suffix to name its Jobs.
            "CronJob" => 52,
            "Service" | "Job" => 63,
            _ => 253,
        };
        if name.is_empty() || name.len() > max || !is_dns_name(name) {
            say(format!("metadata.name `{name}` is not a valid name (at most {max} characters, lowercase DNS)"));
        }
        if o["kind"] == "Service" && !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            say("a Service name must start with a letter".into());
        }
        for path in ["labels", "annotations"] {
            if let Some(m) = o["metadata"][path].as_object() {
                for (k, v) in m {
                    if !v.is_string() {
                        say(format!("metadata.{path}.{k} is not a string"));
                    } else if path == "labels" && !is_label_value(str_of(v)) {
                        say(format!("label {k}={v} is not a valid label value"));
                    }
                }
            }
        }
    }

    fn is_dns_name(s: &str) -> bool {
        s.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
    }

    fn is_label_value(s: &str) -> bool {
        s.len() <= 63
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && s.chars().next().map_or(true, |c| c.is_ascii_alphanumeric())
            && s.chars().last().map_or(true, |c| c.is_ascii_alphanumeric())
    }

    fn no_version_in(labels: &Value, at: &str, say: &mut dyn FnMut(String)) {
        if !labels[VERSION_LABEL].is_null() {
            say(format!("{at} holds {VERSION_LABEL}: an upgrade would change an immutable or matching field"));
        }
    }

    fn deployment(o: &Value, items: &[Value], say: &mut dyn FnMut(String)) {
        let sel = &o["spec"]["selector"]["matchLabels"];
        let tpl = &o["spec"]["template"]["metadata"]["labels"];
        match sel.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, v) in m {
                    if tpl[k] != *v {
                        say(format!("selector {k}={v} is not among the template labels (API: `selector` does not match template `labels`)"));
                    }
                }
            }
            _ => say("/spec/selector/matchLabels is missing or empty".into()),
        }
        no_version_in(sel, "/spec/selector", say);
        let scaled = items.iter().any(|h| {
            h["kind"] == "HorizontalPodAutoscaler"
                && h["spec"]["scaleTargetRef"]["kind"] == "Deployment"
                && h["spec"]["scaleTargetRef"]["name"] == o["metadata"]["name"]
        });
        if scaled && !o["spec"]["replicas"].is_null() {
            say("spec.replicas is set although an HPA scales this Deployment (every apply would reset it)".into());
        }
    }

    fn job_spec(spec: &Value, at: &str, say: &mut dyn FnMut(String)) {
        for f in ["replicas", "strategy", "revisionHistoryLimit"] {
            if !spec[f].is_null() {
                say(format!("{at}/{f} is a Deployment field, not a Job's"));
            }
        }
        if !spec["selector"].is_null() && spec["manualSelector"] != true {
            say(format!("{at}/selector is set without manualSelector: the API server refuses it"));
        }
        let tpl = &spec["template"];
        no_version_in(&tpl["metadata"]["labels"], &format!("{at}/template/metadata/labels"), say);
        let rp = str_of(&tpl["spec"]["restartPolicy"]);
        if rp != "Never" && rp != "OnFailure" {
            say(format!("{at}/template/spec/restartPolicy is `{rp}`; a Job needs Never or OnFailure"));
        }
        if spec["completionMode"] == "Indexed" && !spec["completions"].is_u64() {
            say(format!("{at}: an Indexed Job needs completions"));
        }
    }

    fn service(o: &Value, say: &mut dyn FnMut(String)) {
        let ports = o["spec"]["ports"].as_array().cloned().unwrap_or_default();
        if ports.is_empty() {
            say("a Service needs at least one port".into());
        }
        let mut keys = HashSet::new();
        for p in &ports {
            if !p["port"].is_u64() {
                say(format!("Service port {p} has no numeric `port`"));
            }
            let proto = p["protocol"].as_str().unwrap_or("TCP").to_string();
            if !keys.insert((p["port"].clone(), proto.clone())) {
                say(format!("Service port {}/{proto} appears twice", p["port"]));
            }
            if ports.len() > 1 && p["name"].as_str().map_or(true, str::is_empty) {
                say("a Service with several ports must name each".into());
            }
        }
        no_version_in(&o["spec"]["selector"], "/spec/selector", say);
    }

    fn hpa(o: &Value, items: &[Value], say: &mut dyn FnMut(String)) {
        let r = &o["spec"]["scaleTargetRef"];
        let target = items.iter().find(|d| {
            d["kind"] == r["kind"] && d["apiVersion"] == r["apiVersion"] && d["metadata"]["name"] == r["name"]
        });
        match target {
            Some(d) if d["kind"] == "Deployment" => {
                // Utilization targets need a request for that resource in every container.
                let cs = d["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
                for m in o["spec"]["metrics"].as_array().into_iter().flatten() {
                    let res = str_of(&m["resource"]["name"]);
                    if m["type"] == "Resource" && cs.iter().any(|c| c["resources"]["requests"][res].is_null()) {
                        say(format!("scales on {res} utilization, but a container requests no {res}"));
                    }
                }
            }
            Some(d) => say(format!("scaleTargetRef names a {}, not a Deployment", d["kind"])),
            None => say(format!("scaleTargetRef {r} names nothing in the render")),
        }
    }

    fn ingress(o: &Value, exists: &dyn Fn(&str, &str) -> bool, say: &mut dyn FnMut(String)) {
        for rule in o["spec"]["rules"].as_array().into_iter().flatten() {
            for path in rule["http"]["paths"].as_array().into_iter().flatten() {
                refers(&path["backend"]["service"], "Service", "name", "/spec/rules", exists, say);
            }
        }
        for tls in o["spec"]["tls"].as_array().into_iter().flatten() {
            refers(tls, "Secret", "secretName", "/spec/tls", exists, say);
        }
    }

    fn unique_by(list: &Value, key: &dyn Fn(&Value) -> String, what: &str, at: &str, say: &mut dyn FnMut(String)) {
        let mut seen = HashSet::new();
        for e in list.as_array().into_iter().flatten() {
            let k = key(e);
            if !seen.insert(k.clone()) {
                say(format!("{at}: duplicate {what} `{k}`"));
            }
        }
    }

    fn pod_spec(spec: &Value, at: &str, exists: &dyn Fn(&str, &str) -> bool, say: &mut dyn FnMut(String)) {
        let name_of = |e: &Value| str_of(&e["name"]).to_string();
        let containers: Vec<&Value> =
            ["initContainers", "containers"].iter().flat_map(|f| spec[*f].as_array().into_iter().flatten()).collect();
        if spec["containers"].as_array().map_or(true, Vec::is_empty) {
            say(format!("{at}/containers is empty"));
        }
        let mut names = HashSet::new();
        for c in &containers {
            if !names.insert(name_of(c)) {
                say(format!("{at}: duplicate container name `{}`", name_of(c)));
            }
        }
        unique_by(&spec["volumes"], &name_of, "volume name", &format!("{at}/volumes"), say);
        let volumes: HashSet<String> = spec["volumes"].as_array().into_iter().flatten().map(name_of).collect();
        for c in &containers {
            let cat = format!("{at}/containers[{}]", name_of(c));
            if name_of(c).is_empty() {
                say(format!("{cat}: no name"));
            }
            if str_of(&c["image"]).is_empty() {
                say(format!("{cat}: no image"));
            }
            unique_by(&c["env"], &name_of, "env name", &cat, say);
            let port_key = |p: &Value| format!("{}/{}", p["containerPort"], p["protocol"].as_str().unwrap_or("TCP"));
            unique_by(&c["ports"], &port_key, "containerPort/protocol", &cat, say);
            let named: Vec<&Value> =
                c["ports"].as_array().into_iter().flatten().filter(|p| p["name"].is_string()).collect();
            unique_by(&Value::Array(named.iter().map(|p| (*p).clone()).collect()), &name_of, "port name", &cat, say);
            if named.iter().any(|p| str_of(&p["name"]).len() > 15) {
                say(format!("{cat}: a port name is longer than 15 characters"));
            }
            unique_by(&c["volumeMounts"], &|m| str_of(&m["mountPath"]).to_string(), "mountPath", &cat, say);
            for m in c["volumeMounts"].as_array().into_iter().flatten() {
                if !volumes.contains(str_of(&m["name"])) {
                    say(format!("{cat}: volumeMount `{}` names no volume", str_of(&m["name"])));
                }
            }
            for e in c["envFrom"].as_array().into_iter().flatten() {
                refers(&e["configMapRef"], "ConfigMap", "name", &cat, exists, say);
                refers(&e["secretRef"], "Secret", "name", &cat, exists, say);
            }
            for e in c["env"].as_array().into_iter().flatten() {
                refers(&e["valueFrom"]["configMapKeyRef"], "ConfigMap", "name", &cat, exists, say);
                refers(&e["valueFrom"]["secretKeyRef"], "Secret", "name", &cat, exists, say);
            }
        }
        for v in spec["volumes"].as_array().into_iter().flatten() {
            refers(&v["configMap"], "ConfigMap", "name", at, exists, say);
            refers(&v["secret"], "Secret", "secretName", at, exists, say);
            refers(&v["persistentVolumeClaim"], "PersistentVolumeClaim", "claimName", at, exists, say);
        }
        for s in spec["imagePullSecrets"].as_array().into_iter().flatten() {
            refers(s, "Secret", "name", at, exists, say);
        }
        let sa = str_of(&spec["serviceAccountName"]);
        if !sa.is_empty() && !exists("ServiceAccount", sa) {
            say(format!("{at}: serviceAccountName `{sa}` is neither rendered nor documented as external"));
        }
        let aff = &spec["affinity"];
        for kind in ["podAffinity", "podAntiAffinity"] {
            for rule in aff[kind]["preferredDuringSchedulingIgnoredDuringExecution"].as_array().into_iter().flatten() {
                no_version_in(&rule["podAffinityTerm"]["labelSelector"]["matchLabels"], &format!("{at}/affinity"), say);
            }
            for rule in aff[kind]["requiredDuringSchedulingIgnoredDuringExecution"].as_array().into_iter().flatten() {
                no_version_in(&rule["labelSelector"]["matchLabels"], &format!("{at}/affinity"), say);
            }
        }
    }

    fn refers(
        r: &Value,
        kind: &str,
        field: &str,
        at: &str,
        exists: &dyn Fn(&str, &str) -> bool,
        say: &mut dyn FnMut(String),
    ) {
        if r.is_null() || r["optional"] == true {
            return;
        }
        let name = str_of(&r[field]);
        if !exists(kind, name) {
            say(format!("{at}: {kind} `{name}` is neither rendered nor documented as external"));
        }
    }
}

/// Strict decoding against the API server's own OpenAPI v2 schema (schema/openapi-v2.json):
/// unknown fields, missing required fields and wrong scalar types are what `kubectl apply`
/// refuses before the object is stored.
mod schema {
    use serde_json::Value;
    use std::sync::OnceLock;

    fn doc() -> &'static Value {
        static DOC: OnceLock<Value> = OnceLock::new();
        DOC.get_or_init(|| {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/openapi-v2.json");
            let text = std::fs::read_to_string(path).expect("schema/openapi-v2.json is in the repository");
            serde_json::from_str(&text).expect("the schema is JSON")
        })
    }

    fn split_api_version(av: &str) -> (&str, &str) {
        av.split_once('/').unwrap_or(("", av))
    }

    /// The definition name whose group-version-kind is the object's.
    fn definition_for(o: &Value) -> Option<String> {
        let (group, version) = split_api_version(o["apiVersion"].as_str()?);
        let kind = o["kind"].as_str()?;
        doc()["definitions"].as_object()?.iter().find_map(|(name, d)| {
            d["x-kubernetes-group-version-kind"]
                .as_array()?
                .iter()
                .any(|g| g["group"] == group && g["version"] == version && g["kind"] == kind)
                .then(|| name.clone())
        })
    }

    /// True when the schema serves the kind only under /namespaces/{namespace}/.
    pub fn is_namespaced(o: &Value) -> bool {
        let (group, _) = split_api_version(o["apiVersion"].as_str().unwrap_or(""));
        let paths = doc()["paths"].as_object().expect("paths");
        paths.iter().any(|(p, ops)| {
            p.contains("{namespace}")
                && ops.as_object().into_iter().flatten().any(|(_, op)| {
                    op["x-kubernetes-group-version-kind"]["group"] == group
                        && op["x-kubernetes-group-version-kind"]["kind"] == o["kind"]
                })
        })
    }

    /// Every way `o` departs from its schema, as `pointer: what`.
    pub fn problems(o: &Value) -> Vec<String> {
        let mut out = Vec::new();
        match definition_for(o) {
            Some(def) => walk(o, &serde_json::json!({"$ref": format!("#/definitions/{def}")}), "", &mut out),
            None => out.push(format!("{} {} is not served by the API server", o["apiVersion"], o["kind"])),
        }
        out
    }

    fn walk(v: &Value, s: &Value, at: &str, out: &mut Vec<String>) {
        if let Some(r) = s["$ref"].as_str() {
            let name = r.trim_start_matches("#/definitions/");
            // Quantities are written as numbers as often as strings ("nvidia.com/gpu: 1").
            if name.ends_with("resource.Quantity") {
                if !(v.is_string() || v.is_number()) {
                    out.push(format!("{at}: expected a quantity, found {v}"));
                }
                return;
            }
            return walk(v, &doc()["definitions"][name], at, out);
        }
        let ok = match s["type"].as_str() {
            Some("object") => v.is_object(),
            Some("array") => v.is_array(),
            Some("string") if s["format"] == "int-or-string" => v.is_string() || v.is_i64() || v.is_u64(),
            Some("string") => v.is_string(),
            Some("integer") => v.is_i64() || v.is_u64(),
            Some("number") => v.is_number(),
            Some("boolean") => v.is_boolean(),
            _ => true,
        };
        if !ok {
            out.push(format!("{at}: expected {}, found {v}", s["type"]));
            return;
        }
        if let Some(items) = v.as_array() {
            for (i, item) in items.iter().enumerate() {
                walk(item, &s["items"], &format!("{at}/{i}"), out);
            }
        }
        let Some(map) = v.as_object() else { return };
        for req in s["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !map.contains_key(req) {
                out.push(format!("{at}: required field `{req}` is missing"));
            }
        }
        let (props, extra) = (s["properties"].as_object(), &s["additionalProperties"]);
        if props.is_none() && extra.is_null() {
            return;
        }
        for (k, child) in map {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => walk(child, ps, &format!("{at}/{k}"), out),
                None if !extra.is_null() => walk(child, extra, &format!("{at}/{k}"), out),
                None => out.push(format!("{at}: unknown field `{k}`")),
            }
        }
    }
}

use checks::VERSION_LABEL;
use serde_json::{json, Value};
use support::*;

const VARIANTS: &[&str] = &["inference", "training", "batch", "cronjob"];

/// `render` arguments for each variant and the base.
fn all_renders() -> Vec<Vec<&'static str>> {
    let mut out: Vec<Vec<&str>> = VARIANTS.iter().map(|v| vec!["--overlay", v]).collect();
    out.push(vec![]);
    out
}

/// Schema and API-rule problems of a render; empty means an API server would take it.
fn refusals(items: &[Value]) -> Vec<String> {
    let mut p = checks::problems(items);
    for o in items {
        let id = format!("{}/{}", str_of(&o["kind"]), str_of(&o["metadata"]["name"]));
        p.extend(schema::problems(o).into_iter().map(|e| format!("{id}{e}")));
    }
    p
}

fn assert_accepted(args: &[&str]) -> Vec<Value> {
    let items = render(args);
    assert!(!items.is_empty(), "{args:?} rendered nothing");
    let p = refusals(&items);
    assert!(p.is_empty(), "render {args:?} would be refused:\n  {}", p.join("\n  "));
    items
}

// ---------------------------------------------------------------------------------------------
// What the API server would refuse

#[test]
fn every_variant_and_the_base_pass_the_api_checks() {
    for args in all_renders() {
        assert_accepted(&args);
    }
}

#[test]
fn every_variant_passes_the_api_checks_under_a_release_name_and_namespace() {
    for args in all_renders() {
        let mut a = vec!["prod", "-n", "ml"];
        a.extend(args);
        assert_accepted(&a);
    }
}

#[test]
fn the_checks_catch_what_they_claim_to() {
    // Guards against a checker that passes everything: feed it known-bad objects.
    let mut items = render(&["--overlay", "inference"]);
    let dep = items.iter_mut().find(|o| o["kind"] == "Deployment").expect("a Deployment");
    dep["spec"]["replicas"] = json!(3);
    dep["spec"]["selector"]["matchLabels"][VERSION_LABEL] = json!("4.2.0");
    dep["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]);
    dep["spec"]["template"]["spec"]["containers"][0]["bogus"] = json!(true);
    dep["spec"]["template"]["spec"]["serviceAccountName"] = json!("nobody");
    let p = refusals(&items).join("\n");
    for want in [
        "spec.replicas is set",
        "holds app.kubernetes.io/version",
        "duplicate env name `A`",
        "unknown field `bogus`",
        "`nobody`",
        "not among the template labels",
    ] {
        assert!(p.contains(want), "checker missed `{want}`:\n{p}");
    }
    assert!(strict_json(r#"{"a": 1, "a": 2}"#).is_err(), "strict JSON must refuse duplicate keys");
}

/// Overlays switching on every component that fits a workload kind, written over `init`'s tree.
const COMBINATIONS: &[(&str, &str)] = &[
    ("all-deployment", "autoscaling, gpu, ingress, persistence, config, secret, pod-disruption-budget, network-policy"),
    ("all-job", "job, gpu, persistence, config, secret, pod-disruption-budget, network-policy"),
    ("all-cronjob", "cronjob, gpu, persistence, config, secret"),
];

#[test]
fn every_component_combination_passes_the_api_checks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    stdout_of(&["init", &root.display().to_string()]);
    for (name, components) in COMBINATIONS {
        let list: Vec<String> = components.split(", ").map(|c| format!("../components/{c}")).collect();
        let overlay = root.join("overlays").join(name);
        std::fs::create_dir_all(&overlay).expect("mkdir");
        let k = format!("resources: [../../base]\ncomponents: [{}]\n", list.join(", "));
        std::fs::write(overlay.join("kustomization.yaml"), k).expect("write");
        let o = overlay.display().to_string();
        let items = assert_accepted(&["--overlay", &o]);
        assert_accepted(&["prod", "-n", "ml", "--overlay", &o]);
        let kinds: Vec<&str> = items.iter().map(|i| str_of(&i["kind"])).collect();
        for k in ["ConfigMap", "Secret", "PersistentVolumeClaim"] {
            assert!(kinds.contains(&k), "{name}: no {k} in {kinds:?}");
        }
    }
}

#[test]
fn job_and_cronjob_variants_have_no_service_ports_or_probes() {
    for v in ["training", "batch", "cronjob"] {
        let items = render(&["--overlay", v]);
        let kinds: Vec<&str> = items.iter().map(|o| str_of(&o["kind"])).collect();
        for absent in ["Service", "Deployment", "HorizontalPodAutoscaler", "Ingress"] {
            assert!(!kinds.contains(&absent), "{v} renders a {absent}: {kinds:?}");
        }
        let workload = items.iter().find(|o| pod_template(o).is_some()).expect("a workload");
        let c = the_container(workload);
        for f in ["ports", "livenessProbe", "readinessProbe", "startupProbe"] {
            assert!(c[f].is_null(), "{v}: container has {f}");
        }
    }
}

#[test]
fn version_label_stays_out_of_selectors_and_job_templates() {
    for args in all_renders() {
        for o in render(&args) {
            if let Some((at, t)) = pod_template(&o) {
                if o["kind"] != "Deployment" {
                    assert!(t["metadata"]["labels"][VERSION_LABEL].is_null(), "{args:?} {} {at}", o["kind"]);
                }
            }
            let text = o["spec"]["selector"].to_string();
            assert!(!text.contains(VERSION_LABEL), "{args:?} {} selector: {text}", o["kind"]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The numbers each preset promises

#[test]
fn base_is_the_charts_default_render() {
    let items = render(&[]);
    assert_eq!(ids(&items), ["ServiceAccount/dimtensor", "Service/dimtensor", "Deployment/dimtensor"]);
    let d = find(&items, "Deployment", "dimtensor");
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    );
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "dimtensor");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(
        pod["securityContext"],
        json!({"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000})
    );
    let c = the_container(d);
    assert_eq!(c["image"], "docker.io/dimtensor:latest");
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["ports"], json!([{"name": "http", "containerPort": 8080, "protocol": "TCP"}]));
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"cpu": "2000m", "memory": "8Gi"}})
    );
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(c["livenessProbe"]["initialDelaySeconds"], 10);
    assert_eq!(c["livenessProbe"]["periodSeconds"], 30);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(c["readinessProbe"]["initialDelaySeconds"], 5);
    assert_eq!(c["startupProbe"]["failureThreshold"], 12);
    let sc = &c["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["runAsUser"], 1000);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    let s = find(&items, "Service", "dimtensor");
    assert_eq!(s["spec"]["type"], "ClusterIP");
    assert_eq!(s["spec"]["ports"], json!([{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]));
    assert_eq!(
        s["spec"]["selector"], d["spec"]["selector"]["matchLabels"],
        "the Service selects the Deployment's pods"
    );
}

#[test]
fn inference_preset() {
    let items = render(&["--overlay", "inference"]);
    assert_eq!(
        ids(&items),
        ["ServiceAccount/dimtensor", "Service/dimtensor", "Deployment/dimtensor", "HorizontalPodAutoscaler/dimtensor"]
    );
    let d = find(&items, "Deployment", "dimtensor");
    assert!(d["spec"]["replicas"].is_null(), "the HPA owns the replica count");
    assert_eq!(the_container(d)["image"], "docker.io/dimtensor:4.2.0-cpu-full");
    let t = &d["spec"]["template"];
    assert_eq!(
        t["metadata"]["annotations"],
        json!({"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"})
    );
    let pref = &t["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
    assert_eq!(pref[0]["podAffinityTerm"]["topologyKey"], "kubernetes.io/hostname");
    // The chart's preset spreads over every dimtensor pod (a release name adds its instance).
    assert_eq!(
        pref[0]["podAffinityTerm"]["labelSelector"]["matchLabels"],
        json!({"app.kubernetes.io/name": "dimtensor"})
    );
    assert!(t["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"].is_null());
    let h = find(&items, "HorizontalPodAutoscaler", "dimtensor");
    assert_eq!(h["apiVersion"], "autoscaling/v2");
    assert_eq!(
        h["spec"]["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "dimtensor"})
    );
    assert_eq!(h["spec"]["minReplicas"], 2);
    assert_eq!(h["spec"]["maxReplicas"], 10);
    let util = |res: &str| {
        h["spec"]["metrics"].as_array().expect("metrics").iter().find(|m| m["resource"]["name"] == res).map(|m| {
            assert_eq!(m["resource"]["target"]["type"], "Utilization");
            m["resource"]["target"]["averageUtilization"].clone()
        })
    };
    assert_eq!(util("cpu"), Some(json!(70)));
    assert_eq!(util("memory"), Some(json!(80)));
    for o in &items {
        assert_eq!(o["metadata"]["labels"]["app.kubernetes.io/component"], "inference", "{}", o["kind"]);
    }
}

#[test]
fn training_preset() {
    let items = render(&["--overlay", "training"]);
    assert_eq!(ids(&items), ["ServiceAccount/dimtensor", "Job/dimtensor"]);
    let j = find(&items, "Job", "dimtensor");
    assert_eq!(j["apiVersion"], "batch/v1");
    assert_eq!(j["spec"]["backoffLimit"], 2);
    assert_eq!(j["spec"]["ttlSecondsAfterFinished"], 172800);
    let pod = &j["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["nodeSelector"], json!({"accelerator": "nvidia-gpu"}));
    assert_eq!(pod["tolerations"], json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]));
    let c = the_container(j);
    assert_eq!(c["image"], "docker.io/dimtensor:4.2.0-ml");
    let r = &c["resources"];
    assert_eq!(r["requests"]["nvidia.com/gpu"], 1);
    assert_eq!(r["limits"]["nvidia.com/gpu"], 1);
    assert_eq!(r["limits"]["cpu"], "4000m");
    assert_eq!(r["limits"]["memory"], "16Gi");
    assert_eq!(j["metadata"]["labels"]["app.kubernetes.io/component"], "training");
}

#[test]
fn batch_preset() {
    let items = render(&["--overlay", "batch"]);
    assert_eq!(ids(&items), ["ServiceAccount/dimtensor", "ConfigMap/dimtensor", "Job/dimtensor"]);
    let j = find(&items, "Job", "dimtensor");
    assert_eq!(j["spec"]["completionMode"], "Indexed");
    assert_eq!(j["spec"]["parallelism"], 10);
    assert_eq!(j["spec"]["completions"], 100);
    let pod = &j["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "OnFailure");
    let c = the_container(j);
    let env = c["env"].as_array().expect("env");
    let idx = env.iter().find(|e| e["name"] == "JOB_COMPLETION_INDEX").expect("JOB_COMPLETION_INDEX env");
    assert_eq!(
        idx["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    let mount = c["volumeMounts"].as_array().expect("mounts").iter().find(|m| m["mountPath"] == "/config").cloned();
    let mount = mount.expect("a mount at /config");
    let vol =
        pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == mount["name"]).expect("its volume");
    assert_eq!(vol["configMap"]["name"], "dimtensor");
    let cm = find(&items, "ConfigMap", "dimtensor");
    let cfg: Value =
        serde_json::from_str(str_of(&cm["data"]["physics_params.json"])).expect("physics_params.json is JSON");
    assert_eq!(cfg["gravity"], json!(9.81));
}

#[test]
fn cronjob_preset() {
    let items = render(&["--overlay", "cronjob"]);
    assert_eq!(ids(&items), ["ServiceAccount/dimtensor", "CronJob/dimtensor"]);
    let cj = find(&items, "CronJob", "dimtensor");
    assert_eq!(cj["apiVersion"], "batch/v1");
    let s = &cj["spec"];
    assert_eq!(s["schedule"], "0 0 * * *");
    assert_eq!(s["concurrencyPolicy"], "Forbid");
    assert_eq!(s["successfulJobsHistoryLimit"], 3);
    assert_eq!(s["failedJobsHistoryLimit"], 1);
    assert_eq!(s["startingDeadlineSeconds"], 300);
    assert_eq!(s["suspend"], false);
    let rp = str_of(&s["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"]);
    assert!(rp == "Never" || rp == "OnFailure", "{rp}");
    assert_eq!(cj["metadata"]["labels"]["app.kubernetes.io/component"], "analysis");
}

// ---------------------------------------------------------------------------------------------
// Release name, namespace, init, overlays, determinism

#[test]
fn release_name_renames_consistently() {
    let items = render(&["prod", "--overlay", "inference"]);
    for o in &items {
        assert_eq!(o["metadata"]["name"], "prod-dimtensor", "{}", o["kind"]);
        assert_eq!(o["metadata"]["labels"]["app.kubernetes.io/instance"], "prod", "{}", o["kind"]);
    }
    let d = find(&items, "Deployment", "prod-dimtensor");
    let h = find(&items, "HorizontalPodAutoscaler", "prod-dimtensor");
    assert_eq!(h["spec"]["scaleTargetRef"]["name"], "prod-dimtensor");
    assert_eq!(d["spec"]["template"]["spec"]["serviceAccountName"], "prod-dimtensor");
    let want = json!({"app.kubernetes.io/name": "dimtensor", "app.kubernetes.io/instance": "prod"});
    assert_eq!(d["spec"]["selector"]["matchLabels"], want);
    assert_eq!(find(&items, "Service", "prod-dimtensor")["spec"]["selector"], want);
    let t = &d["spec"]["template"];
    assert_eq!(t["metadata"]["labels"]["app.kubernetes.io/instance"], "prod");
    let term = &t["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(term["podAffinityTerm"]["labelSelector"]["matchLabels"], want);
    let text = serde_json::to_string(&items).expect("JSON");
    assert!(!text.contains("\"app.kubernetes.io/instance\":\"dimtensor\""), "a stale instance label remains");
}

#[test]
fn release_name_renames_job_variants_consistently() {
    for v in ["training", "batch", "cronjob"] {
        let items = render(&["prod", "--overlay", v]);
        let w = items.iter().find(|o| pod_template(o).is_some()).expect("a workload");
        assert_eq!(w["metadata"]["name"], "prod-dimtensor", "{v}");
        let (_, t) = pod_template(w).expect("template");
        assert_eq!(t["spec"]["serviceAccountName"], "prod-dimtensor", "{v}");
        assert_eq!(t["metadata"]["labels"]["app.kubernetes.io/instance"], "prod", "{v}");
    }
}

#[test]
fn longest_release_name_still_gives_a_valid_cronjob_name() {
    let release = "a".repeat(53);
    let items = render(&[release.as_str(), "--overlay", "cronjob"]);
    let p = checks::problems(&items);
    assert!(p.is_empty(), "{p:?}");
}

#[test]
fn namespace_flag_puts_every_namespaced_object_in_it() {
    for args in all_renders() {
        let mut a = vec!["-n", "ml"];
        a.extend(args.iter().copied());
        for o in render(&a) {
            if schema::is_namespaced(&o) {
                assert_eq!(o["metadata"]["namespace"], "ml", "{a:?} {}", o["kind"]);
            } else {
                assert!(o["metadata"]["namespace"].is_null(), "{a:?} cluster-scoped {}", o["kind"]);
            }
        }
    }
    // Without -n nothing is pinned, exactly as `kubectl kustomize` prints it.
    for o in render(&["--overlay", "inference"]) {
        assert!(o["metadata"]["namespace"].is_null(), "{}", o["kind"]);
    }
}

#[test]
fn init_writes_files_that_render_like_the_builtins() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("deploy");
    let root_s = root.display().to_string();
    stdout_of(&["init", &root_s]);
    for v in VARIANTS {
        let on_disk = root.join("overlays").join(v).display().to_string();
        assert_eq!(
            stdout_of(&["render", "--overlay", &on_disk]),
            stdout_of(&["render", "--overlay", v]),
            "init's overlays/{v} renders differently from the built-in"
        );
    }
    let base = root.join("base").display().to_string();
    assert_eq!(stdout_of(&["render", "--overlay", &base]), stdout_of(&["render"]));
    // A second init must not overwrite what the user may have edited.
    let again = run(&["init", &root_s]);
    assert_eq!(again.status.code(), Some(2), "init over existing files must fail");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn overlays_lists_every_variant_and_component_with_a_description() {
    let text = stdout_of(&["overlays"]);
    let components_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/overlays/components");
    let mut components: Vec<String> = std::fs::read_dir(components_dir)
        .expect("overlays/components")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("kustomization.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    components.sort();
    assert!(components.len() >= 10, "{components:?}");
    let (variants_part, components_part) = text.split_once("COMPONENTS").expect("a COMPONENTS section");
    let described = |part: &str, name: &str| {
        part.lines().any(|l| {
            let mut words = l.split_whitespace();
            words.next() == Some(name) && words.next().is_some()
        })
    };
    for v in VARIANTS {
        assert!(described(variants_part, v), "variant {v} missing or undescribed:\n{text}");
    }
    for c in &components {
        assert!(described(components_part, c), "component {c} missing or undescribed:\n{text}");
    }
}

#[test]
fn render_is_deterministic() {
    for args in all_renders() {
        for output in ["yaml", "json"] {
            let mut a = vec!["render"];
            a.extend(args.iter().copied());
            a.extend(["-o", output]);
            assert_eq!(stdout_of(&a), stdout_of(&a), "{a:?} differs between runs");
        }
    }
}

/// The built-in trees are ordinary kustomizations: `kubectl kustomize` (the pinned reference,
/// `DIMTENSOR_KUBECTL`) renders each the same as we do. Skipped without it, except in CI.
#[test]
fn every_builtin_overlay_renders_as_kubectl_kustomize_does() {
    let Ok(kubectl) = std::env::var("DIMTENSOR_KUBECTL") else {
        assert!(std::env::var_os("CI").is_none(), "CI must set DIMTENSOR_KUBECTL");
        eprintln!("skipped: DIMTENSOR_KUBECTL is not set");
        return;
    };
    let root = env!("CARGO_MANIFEST_DIR");
    for dir in VARIANTS.iter().map(|v| format!("{root}/overlays/{v}")).chain([format!("{root}/base")]) {
        let out = std::process::Command::new(&kubectl).args(["kustomize", &dir]).output().expect("kubectl runs");
        assert!(out.status.success(), "kubectl kustomize {dir}: {}", String::from_utf8_lossy(&out.stderr));
        let theirs =
            dimtensor::yaml::parse_documents(&String::from_utf8_lossy(&out.stdout), "kustomize").expect("YAML");
        let ours =
            dimtensor::yaml::parse_documents(&stdout_of(&["render", "--overlay", &dir]), "render").expect("YAML");
        assert_eq!(ours, theirs, "{dir}: our render differs from kubectl kustomize");
    }
}
