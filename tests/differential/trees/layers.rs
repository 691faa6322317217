//! Kustomization layers: the base's own transformers, components and overlays.

use super::patches;
use super::{yaml, Rng, World};
use serde_json::{json, Map, Value};

const LABEL_VALUES: &[&str] = &["ml", "data", "core", "prod", "blue", "v2"];

fn pairs(rng: &mut Rng, keys: &[&str]) -> Value {
    let mut m = Map::new();
    for _ in 0..1 + rng.below(2) {
        m.insert(rng.pick(keys).to_string(), json!(*rng.pick(LABEL_VALUES)));
    }
    Value::Object(m)
}

/// Names, namespace, labels, annotations, images and replicas: what every layer may set.
fn common(rng: &mut Rng, world: &World, k: &mut Map<String, Value>, component: bool) {
    if !component && rng.chance(25) {
        k.insert("namePrefix".into(), json!(*rng.pick(&["dev-", "prod-", "team-"])));
    }
    if !component && rng.chance(15) {
        k.insert("nameSuffix".into(), json!(*rng.pick(&["-v2", "-east"])));
    }
    if !component && rng.chance(20) {
        k.insert("namespace".into(), json!(*rng.pick(&["ml", "staging"])));
    }
    if rng.chance(15) {
        k.insert("commonLabels".into(), pairs(rng, &["team", "env", "app"]));
    }
    if rng.chance(30) {
        let mut entries = Vec::new();
        for _ in 0..1 + rng.below(2) {
            let mut e = json!({"pairs": pairs(rng, &["team", "env", "tier", "app"])});
            if rng.chance(40) {
                e["includeSelectors"] = json!(true);
            }
            if rng.chance(40) {
                e["includeTemplates"] = json!(true);
            }
            entries.push(e);
        }
        k.insert("labels".into(), Value::Array(entries));
    }
    if rng.chance(25) {
        k.insert("commonAnnotations".into(), pairs(rng, &["owner", "example.com/note", "team"]));
    }
    if rng.chance(30) {
        let mut images = Vec::new();
        let known: Vec<&String> = world.resources.iter().flat_map(|m| m.images.iter()).collect();
        for _ in 0..1 + rng.below(2) {
            let name = match known.is_empty() || rng.chance(15) {
                true => "unused/image".to_string(),
                false => rng.pick(&known).to_string(),
            };
            let mut e = json!({"name": name});
            match rng.below(4) {
                0 => e["newTag"] = json!(*rng.pick(&["1.27", "2.0.1", "latest"])),
                1 => e["newName"] = json!(*rng.pick(&["mirror.example.com/app", "nginx"])),
                2 => {
                    e["newName"] = json!("mirror.example.com/app");
                    e["newTag"] = json!("3.1");
                }
                _ => e["digest"] = json!("sha256:4f3c0c4ea25e4b6bb9d8dc4a7bfa2c3e0f1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"),
            }
            images.push(e);
        }
        k.insert("images".into(), Value::Array(images));
    }
    let deployments = world.of_kind("Deployment");
    if !deployments.is_empty() && rng.chance(15) {
        k.insert("replicas".into(), json!([{"name": deployments[0].name, "count": 1 + rng.below(5)}]));
    }
}

fn literals(rng: &mut Rng) -> Value {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(3) {
        out.push(format!(
            "{}={}",
            rng.pick(&["mode", "level", "region", "feature"]),
            rng.pick(&["fast", "3", "eu", "on-demand"])
        ));
    }
    out.sort();
    out.dedup_by(|a, b| a.split('=').next() == b.split('=').next());
    json!(out)
}

fn options(rng: &mut Rng) -> Option<Value> {
    let mut o = Map::new();
    if rng.chance(35) {
        o.insert("disableNameSuffixHash".into(), json!(true));
    }
    if rng.chance(20) {
        o.insert("labels".into(), json!({"generated": "yes-please"}));
    }
    (!o.is_empty()).then_some(Value::Object(o))
}

/// configMapGenerator / secretGenerator entries: new ones, or merges into what lies below.
fn generators(
    rng: &mut Rng,
    world: &World,
    k: &mut Map<String, Value>,
    dir: &str,
    files: &mut Vec<(String, String)>,
    fresh_name: &str,
) {
    let mut cms = Vec::new();
    if rng.chance(35) {
        let mut g = json!({"name": fresh_name, "literals": literals(rng)});
        if rng.chance(25) {
            files.push((format!("{dir}/app.properties"), "threads=4\nmode=batch\n".into()));
            g["files"] = json!(["app.properties"]);
        }
        if let Some(o) = options(rng) {
            g["options"] = o;
        }
        cms.push(g);
    }
    let below: Vec<String> =
        world.generated.iter().cloned().chain(world.of_kind("ConfigMap").iter().map(|m| m.name.clone())).collect();
    if !below.is_empty() && rng.chance(30) {
        let mut g = json!({"name": *rng.pick(&below), "behavior": *rng.pick(&["merge", "merge", "replace"]), "literals": literals(rng)});
        if let Some(o) = options(rng) {
            g["options"] = o;
        }
        cms.push(g);
    }
    if !cms.is_empty() {
        k.insert("configMapGenerator".into(), Value::Array(cms));
    }
    if rng.chance(15) {
        let mut g = json!({"name": format!("{fresh_name}-secret"), "literals": ["password=hunter2"]});
        if rng.chance(30) {
            files.push((format!("{dir}/secret.env"), "API_KEY=abc123\n# a comment\nREGION=eu\n".into()));
            g["envs"] = json!(["secret.env"]);
        }
        if rng.chance(30) {
            g["type"] = json!("kubernetes.io/basic-auth");
            g["literals"] = json!(["password=hunter2", "username=admin"]);
        }
        k.insert("secretGenerator".into(), json!([g]));
    }
    if rng.chance(10) {
        let mut o = json!({"labels": {"generated-by": "kustomize"}});
        if rng.chance(50) {
            o["disableNameSuffixHash"] = json!(true);
        }
        k.insert("generatorOptions".into(), o);
    }
}

/// The base kustomization's own generators and transformers (resources are already listed).
pub fn base_transformers(
    rng: &mut Rng,
    world: &mut World,
    k: &mut Map<String, Value>,
    files: &mut Vec<(String, String)>,
) {
    generators(rng, world, k, "base", files, "settings");
    let has_settings = k
        .get("configMapGenerator")
        .and_then(Value::as_array)
        .is_some_and(|gs| gs.iter().any(|g| g["name"] == "settings"));
    if world.settings && !has_settings {
        let entry = json!({"name": "settings", "literals": literals(rng)});
        match k.get_mut("configMapGenerator").and_then(Value::as_array_mut) {
            Some(gs) => gs.push(entry),
            None => {
                k.insert("configMapGenerator".into(), json!([entry]));
            }
        }
    }
    if let Some(Value::Array(gens)) = k.get("configMapGenerator") {
        world.generated = gens.iter().filter_map(|g| g["name"].as_str().map(str::to_string)).collect();
    }

    common(rng, world, k, false);
    if rng.chance(25) {
        patches::add(rng, world, k, "base", files);
    }
}

/// Zero to two components under `components/`; returns their directories.
pub fn components(rng: &mut Rng, world: &World, files: &mut Vec<(String, String)>) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..[0, 0, 1, 1, 2][rng.below(5)] {
        let dir = format!("comp{i}");
        let mut k = Map::new();
        k.insert("apiVersion".into(), json!("kustomize.config.k8s.io/v1alpha1"));
        k.insert("kind".into(), json!("Component"));
        common(rng, world, &mut k, true);
        generators(rng, world, &mut k, &dir, files, &format!("comp{i}-settings"));
        if rng.chance(70) {
            patches::add(rng, world, &mut k, &dir, files);
        }
        if rng.chance(15) {
            patches::replacements(rng, world, &mut k);
        }
        if rng.chance(15) {
            let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": format!("{dir}-pdb")},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"component": dir}}}});
            files.push((format!("{dir}/pdb.yaml"), yaml(&pdb)));
            k.insert("resources".into(), json!(["pdb.yaml"]));
        }
        if k.len() == 2 {
            k.insert("commonAnnotations".into(), json!({"component": dir}));
        }
        files.push((format!("{dir}/kustomization.yaml"), yaml(&Value::Object(k))));
        out.push(dir);
    }
    out
}

/// An overlay in `dir` over `resources`, with `components`.
pub fn overlay(
    rng: &mut Rng,
    world: &World,
    dir: &str,
    resources: &[&str],
    components: &[String],
    files: &mut Vec<(String, String)>,
) {
    let mut k = Map::new();
    if rng.chance(50) {
        k.insert("apiVersion".into(), json!("kustomize.config.k8s.io/v1beta1"));
        k.insert("kind".into(), json!("Kustomization"));
    }
    k.insert("resources".into(), json!(resources));
    if !components.is_empty() {
        k.insert("components".into(), json!(components));
    }
    generators(rng, world, &mut k, dir, files, &format!("{dir}-settings"));
    common(rng, world, &mut k, false);
    if rng.chance(75) {
        patches::add(rng, world, &mut k, dir, files);
    }
    if rng.chance(25) {
        patches::replacements(rng, world, &mut k);
    }
    if dir == "overlay" && rng.chance(10) {
        let order = match rng.chance(50) {
            true => json!({"order": "fifo"}),
            false => {
                json!({"order": "legacy", "legacySortOptions": {"orderFirst": ["Service"], "orderLast": ["ConfigMap"]}})
            }
        };
        k.insert("sortOptions".into(), order);
    }
    files.push((format!("{dir}/kustomization.yaml"), yaml(&Value::Object(k))));
}
